"""A primary with two streaming standbys, shared by the routing tests."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.services import ReplicaHarness, temporary_database


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
