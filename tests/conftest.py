"""Session-wide real services and per-test databases (see tests/services.py)."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from datalayer.db import Database
from datalayer.settings import Settings, load_settings
from tests.services import PostgresHarness, RedisHarness, temporary_database

# Sampled recall re-runs searches exactly in the background, at random; the tests that
# measure it turn it on in their own settings.
os.environ.setdefault("VECTOR_RECALL_SAMPLE_RATE", "0")


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresHarness]:
    # Not under pytest's basetemp: a concurrent pytest run resets that tree to mode 0700,
    # which locks out the server's own system user.
    root = Path(tempfile.mkdtemp(prefix="datalayer-tests-"))
    harness = PostgresHarness(root)
    yield harness
    harness.stop()
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisHarness]:
    harness = RedisHarness(tmp_path_factory.mktemp("redis"))
    yield harness
    harness.stop()


@pytest.fixture
def database_url(postgres: PostgresHarness) -> Iterator[str]:
    """A fresh database migrated to head, dropped after the test."""
    with temporary_database(postgres, migrated=True) as url:
        yield url


@pytest.fixture
def empty_database_url(postgres: PostgresHarness) -> Iterator[str]:
    """A fresh database with no schema at all."""
    with temporary_database(postgres, migrated=False) as url:
        yield url


@pytest.fixture
def settings(database_url: str) -> Settings:
    return load_settings(database_url=database_url, database_pool_size=5)


@pytest.fixture
async def db(database_url: str, settings: Settings) -> AsyncIterator[Database]:
    database = Database.connect(database_url, settings)
    yield database
    await database.dispose()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    root = Path(__file__).parent
    for item in items:
        if root / "integration" in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.integration)
