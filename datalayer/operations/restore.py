"""Restoring a backup with ``pg_restore``, in two stages.

A logical dump holds no index data, so a restore rebuilds every index, and the vector
indexes (HNSW) take most of its time. :func:`restore_base` restores everything else
(schema, data, the other indexes, constraints, triggers); :func:`build_vector_indexes` then
builds the vector indexes the manifest names, from the dump's own definitions, while the
caller may check the rest of the copy: reads are not blocked by ``CREATE INDEX``.

Both stages give their sessions enough ``maintenance_work_mem`` for an HNSW graph to fit
(pgvector builds far more slowly once it does not) and parallel index-build workers.
"""

from __future__ import annotations

import re
import tempfile
import time
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from psycopg.conninfo import make_conninfo

from datalayer.errors import InvalidInputError
from datalayer.operations.backup import DUMP_DIRECTORY, PHYSICAL, BackupManifest, libpq_url
from datalayer.operations.binaries import client_binary, run_client, run_client_async

# About 7 KB a row for 1536-d vectors: 2GB holds the graph of ~250k embeddings.
RESTORE_MAINTENANCE_WORK_MEM = "2GB"
RESTORE_INDEX_WORKERS = 2
_MEMORY = re.compile(r"^[1-9][0-9]{0,5}(kB|MB|GB)$")


@dataclass(frozen=True)
class RestoreOptions:
    """How a restore runs: parallel ``pg_restore`` jobs, and the index-build memory and
    parallel workers of its sessions (``maintenance_work_mem=None`` keeps the server's)."""

    jobs: int = 2
    maintenance_work_mem: str | None = RESTORE_MAINTENANCE_WORK_MEM
    index_workers: int = RESTORE_INDEX_WORKERS


def restore_backup(
    directory: Path, target_url: str, options: RestoreOptions | None = None
) -> float:
    """Restore the backup in ``directory`` into the (empty) database at ``target_url``,
    vector indexes included; returns the seconds it took."""
    chosen = options or RestoreOptions()
    base, vectors = split_contents(directory)
    started = time.perf_counter()
    for entries in (base, vectors):
        if entries:
            with _use_list(entries) as path:
                run_client(_command(directory, target_url, chosen, path))
    return round(time.perf_counter() - started, 3)


async def restore_base(
    directory: Path, target_url: str, options: RestoreOptions | None = None
) -> float:
    """Restore everything in ``directory`` but its vector indexes; returns the seconds."""
    base, _ = split_contents(directory)
    return await _restore_entries(directory, target_url, options or RestoreOptions(), base)


async def build_vector_indexes(
    directory: Path, target_url: str, options: RestoreOptions | None = None
) -> float:
    """Build the vector indexes of ``directory`` in the database :func:`restore_base`
    restored it into; returns the seconds (0 when the backup names none)."""
    _, vectors = split_contents(directory)
    return await _restore_entries(directory, target_url, options or RestoreOptions(), vectors)


def split_contents(directory: Path) -> tuple[list[str], list[str]]:
    """The dump's table of contents (``pg_restore --list``) as two use-lists: everything
    but the vector indexes the manifest names, and those indexes."""
    manifest = BackupManifest.load(directory)
    if manifest.format == PHYSICAL:
        raise InvalidInputError(
            "a physical backup cannot be restored into an existing server: it is a whole "
            "cluster (`backup validate` restores it into a scratch server of its own); "
            "restore into an existing server from a logical backup",
            field="backup",
        )
    listing = run_client(
        [str(client_binary("pg_restore")), "--list", str(directory / DUMP_DIRECTORY)]
    )
    base: list[str] = []
    vectors: list[str] = []
    for line in listing.splitlines():
        (vectors if _is_index(line, manifest.vector_indexes) else base).append(line)
    return base, vectors


def _is_index(line: str, names: Collection[str]) -> bool:
    # "3530; 1259 17731 INDEX public ix_name owner"; comment lines start with ';'.
    parts = line.split()
    return len(parts) >= 6 and parts[0].endswith(";") and parts[3] == "INDEX" and parts[5] in names


async def _restore_entries(
    directory: Path, target_url: str, options: RestoreOptions, entries: list[str]
) -> float:
    started = time.perf_counter()
    if entries:
        with _use_list(entries) as path:
            await run_client_async(_command(directory, target_url, options, path))
    return round(time.perf_counter() - started, 3)


@contextmanager
def _use_list(entries: list[str]) -> Iterator[Path]:
    """A temporary ``pg_restore --use-list`` file holding ``entries``."""
    with tempfile.TemporaryDirectory(prefix="datalayer-restore-") as directory:
        path = Path(directory) / "use.list"
        path.write_text("\n".join(entries) + "\n")
        yield path


def _command(
    directory: Path, target_url: str, options: RestoreOptions, use_list: Path
) -> list[str]:
    return [
        str(client_binary("pg_restore")),
        f"--jobs={options.jobs}",
        "--exit-on-error",
        "--no-password",
        f"--use-list={use_list}",
        f"--dbname={restore_dsn(target_url, options)}",
        str(directory / DUMP_DIRECTORY),
    ]


def restore_dsn(target_url: str, options: RestoreOptions) -> str:
    """The libpq connection string of ``target_url`` whose sessions get the restore's
    ``maintenance_work_mem`` and ``max_parallel_maintenance_workers``."""
    settings = [f"max_parallel_maintenance_workers={options.index_workers}"]
    if not 0 <= options.index_workers <= 64:
        raise InvalidInputError("index_workers must be 0 to 64", field="index_workers")
    if options.maintenance_work_mem is not None:
        if not _MEMORY.fullmatch(options.maintenance_work_mem):
            raise InvalidInputError(
                "maintenance_work_mem must look like 512MB or 1GB", field="memory"
            )
        settings.append(f"maintenance_work_mem={options.maintenance_work_mem}")
    return make_conninfo(
        libpq_url(target_url), options=" ".join(f"-c {setting}" for setting in settings)
    )
