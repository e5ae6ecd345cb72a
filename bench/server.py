"""A throwaway embedded PostgreSQL for one benchmark run.

The server lives in a temporary directory (``fast=True``: no fsync, as for the tests), gets
a migrated ``bench`` database, and is stopped and deleted when the block exits, whatever
happens inside it.

``shared_buffers`` is raised from the local default (256MB) to :data:`SHARED_BUFFERS` with
``ALTER SYSTEM`` and a restart: a 100k x 1536 HNSW index is ~0.8 GB, and an index that does
not fit in shared buffers makes every search read most of its pages from the OS cache
(10-60 ms instead of a few ms). RDS sizes shared_buffers at ~25% of instance memory, so a
production instance holds the index; the benchmark should too.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

from datalayer.local.postgres import LocalPostgres
from datalayer.migrations import runner

DATABASE = "bench"
# Raised for the HNSW index build only (the bulk load's rebuild: EMBEDDING_INDEX_BUILD_MEMORY_MB),
# so the graph fits in memory
# (pgvector warns and builds far more slowly once it no longer fits).
INDEX_BUILD_MEMORY_MB = 2048
INDEX_BUILD_MAINTENANCE_WORK_MEM = f"{INDEX_BUILD_MEMORY_MB}MB"
SHARED_BUFFERS = "2GB"


@contextmanager
def bench_database(*, migrate: bool = True) -> Iterator[str]:
    """Start a server in a temporary directory; yields the URL of its ``bench`` database."""
    root = Path(tempfile.mkdtemp(prefix="datalayer-bench-"))
    server = LocalPostgres(root / "pg", fast=True)
    try:
        with psycopg.connect(server.start(), autocommit=True) as connection:
            connection.execute(f"ALTER SYSTEM SET shared_buffers = '{SHARED_BUFFERS}'")
        server.stop()
        server.start()
        url = server.ensure_database(DATABASE)
        if migrate:
            runner.upgrade(url)
        yield url
    finally:
        server.destroy()
        shutil.rmtree(root, ignore_errors=True)


def server_settings(url: str) -> dict[str, str]:
    """The server settings that shape the results (recorded with them)."""
    names = (
        "shared_buffers",
        "work_mem",
        "maintenance_work_mem",
        "max_parallel_maintenance_workers",
        "max_parallel_workers_per_gather",
        "effective_cache_size",
        "fsync",
        "synchronous_commit",
        "jit",
        "hnsw.max_scan_tuples",
        "hnsw.scan_mem_multiplier",
    )
    with psycopg.connect(url) as connection:
        connection.execute("LOAD 'vector'")
        return {
            name: str(connection.execute("SELECT current_setting(%s)", (name,)).fetchone()[0])  # type: ignore[index]
            for name in names
        }
