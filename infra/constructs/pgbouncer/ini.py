"""The PgBouncer configuration file, rendered from the pooler's config (pure function).

Two logical databases: ``<name>`` pools to the primary and ``<name>_ro`` to the read host
(the first replica, or the primary when there is none). The hosts are placeholders the
container fills in at start from SSM parameters, so a replica added or removed in another
stack needs no change to this stack's template.

Clients are authenticated through ``auth_query``: PgBouncer asks PostgreSQL (as the auth
user, whose only right is the lookup function of migration 0002) for the client's password
verifier at each login, so rotating the application's password never needs a restart. The
auth file holds only the auth user and PgBouncer's own admin and stats users, each from a
secret of its own; the application user can neither PAUSE nor SHUTDOWN the pooler.
"""

from __future__ import annotations

from dataclasses import dataclass

from infra.config import PgBouncerConfig

LISTEN_PORT = 6432
CONFIG_DIR = "/etc/pgbouncer"
TLS_DIR = "/etc/pgbouncer-tls"
NLB_IDLE_TIMEOUT_SECONDS = 350
"""Network Load Balancers drop a TCP flow idle this long; keepalives must start earlier."""
PRIMARY_HOST = "@PRIMARY_HOST@"
READ_HOST = "@READ_HOST@"
AUTH_QUERY = "SELECT uname, phash FROM pgbouncer.user_lookup($1)"
"""The lookup function of migration 0002 (answers only for the application's login roles)."""


@dataclass(frozen=True)
class PoolerUsers:
    """Who PgBouncer knows by name: the auth_query user and its own console users."""

    auth_user: str
    admin_user: str = "pgbouncer_admin"
    stats_user: str = "pgbouncer_stats"


def read_database_name(database_name: str) -> str:
    """The logical database that pools to the read host."""
    return f"{database_name}_ro"


def render_ini(
    pool: PgBouncerConfig,
    *,
    database_name: str,
    users: PoolerUsers,
    primary_host: str = PRIMARY_HOST,
    read_host: str = READ_HOST,
) -> str:
    """pgbouncer.ini for ``pool``; hosts default to the placeholders filled in at start."""
    settings = {
        "listen_addr": "0.0.0.0",  # noqa: S104 - inside the task; the security group limits who connects
        "listen_port": LISTEN_PORT,
        "unix_socket_dir": "",
        "auth_type": "scram-sha-256",
        "auth_file": f"{CONFIG_DIR}/userlist.txt",
        "auth_user": users.auth_user,
        "auth_query": AUTH_QUERY,
        "admin_users": users.admin_user,
        "stats_users": users.stats_user,
        "pool_mode": pool.pool_mode,
        "default_pool_size": pool.default_pool_size,
        "min_pool_size": pool.min_pool_size,
        "reserve_pool_size": pool.reserve_pool_size,
        "reserve_pool_timeout": 3,
        "max_db_connections": pool.max_db_connections,
        "max_client_conn": pool.max_client_conn,
        "max_prepared_statements": pool.max_prepared_statements,
        "server_tls_sslmode": "require",
        "server_tls_protocols": "secure",
        "client_tls_sslmode": "require",
        "client_tls_protocols": "secure",
        "client_tls_key_file": f"{TLS_DIR}/server.key",
        "client_tls_cert_file": f"{TLS_DIR}/server.crt",
        "tcp_keepalive": 1,
        "tcp_keepidle": pool.tcp_keepidle_seconds,
        "tcp_keepintvl": 30,
        "tcp_keepcnt": 3,
        "server_login_retry": pool.server_login_retry_seconds,
        "server_connect_timeout": 5,
        "server_idle_timeout": 300,
        "server_lifetime": 3600,
        "query_wait_timeout": 30,
        "ignore_startup_parameters": "extra_float_digits",
        "log_connections": 0,
        "log_disconnections": 0,
        "log_pooler_errors": 1,
        "stats_period": 60,
    }
    lines = [
        "[databases]",
        f"{database_name} = host={primary_host} port=5432 dbname={database_name}",
        f"{read_database_name(database_name)} = host={read_host} port=5432 dbname={database_name}",
        "",
        "[pgbouncer]",
        *(f"{key} = {value}" for key, value in settings.items()),
    ]
    return "\n".join(lines) + "\n"


def health_check_command(users: PoolerUsers) -> str:
    """A readiness probe that names a user PgBouncer knows (no "no such user" per probe)."""
    return f"pg_isready -q -h 127.0.0.1 -p {LISTEN_PORT} -U {users.stats_user} -d pgbouncer"


def parse_ini(text: str) -> dict[str, dict[str, str]]:
    """Sections of a rendered file as ``{section: {key: value}}`` (used by the tests)."""
    sections: dict[str, dict[str, str]] = {}
    current: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith((";", "#")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
            continue
        key, _, value = line.partition("=")
        current[key.strip()] = value.strip()
    return sections
