"""Fixtures of the connection tests: a TCP black hole, a dedicated PostgreSQL to restart,
and a primary with two streaming standbys for the routing tests."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.services import (
    BlackHoleServer,
    ReplicaHarness,
    RestartablePostgres,
    temporary_database,
)


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


@pytest.fixture(scope="session")
def replicated() -> Iterator[ReplicaHarness]:
    root = Path(tempfile.mkdtemp(prefix="datalayer-replicas-"))
    harness = ReplicaHarness(root, replicas=2)
    yield harness
    harness.stop()
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def replicated_database(replicated: ReplicaHarness) -> Iterator[str]:
    """A fresh migrated database on the primary, already replayed by both standbys."""
    with temporary_database(replicated, migrated=True) as url:
        replicated.wait_for_replay()
        yield url
