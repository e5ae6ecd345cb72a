"""Fault-injection fixtures: a TCP black hole and a dedicated PostgreSQL to restart."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.services import BlackHoleServer, RestartablePostgres


@pytest.fixture
def black_hole() -> Iterator[BlackHoleServer]:
    server = BlackHoleServer()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def restartable_postgres() -> Iterator[RestartablePostgres]:
    """A server of its own: these tests stop and restart it (never the shared one)."""
    root = Path(tempfile.mkdtemp(prefix="datalayer-faults-"))
    server = RestartablePostgres(root)
    yield server
    server.destroy()
    shutil.rmtree(root, ignore_errors=True)
