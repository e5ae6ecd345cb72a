"""The PgBouncer configuration file, rendered from the environment config (pure function).

Two logical databases: ``<name>`` pools to the primary and ``<name>_ro`` to the first read
replica (or to the primary when there is none), so the datalayer's read URL never changes
shape. No credential appears here: the container writes ``userlist.txt`` from secrets that
ECS injects at start.
"""

from __future__ import annotations

from infra.config import EnvironmentConfig

LISTEN_PORT = 6432
CONFIG_DIR = "/etc/pgbouncer"
TLS_DIR = "/etc/pgbouncer-tls"
NLB_IDLE_TIMEOUT_SECONDS = 350
"""Network Load Balancers drop a TCP flow idle this long; keepalives must start earlier."""


def read_database_name(config: EnvironmentConfig) -> str:
    """The logical database that pools to the read replica."""
    return f"{config.database.database_name}_ro"


def render_ini(config: EnvironmentConfig, *, primary_host: str, replica_host: str) -> str:
    """pgbouncer.ini for ``config``; hosts may be CloudFormation tokens."""
    pool = config.pgbouncer
    db = config.database
    settings = {
        "listen_addr": "0.0.0.0",  # noqa: S104 - inside the task; the security group limits who connects
        "listen_port": LISTEN_PORT,
        "unix_socket_dir": "",
        "auth_type": "scram-sha-256",
        "auth_file": f"{CONFIG_DIR}/userlist.txt",
        "admin_users": db.master_username,
        "stats_users": db.master_username,
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
        f"{db.database_name} = host={primary_host} port=5432 dbname={db.database_name}",
        f"{read_database_name(config)} = host={replica_host} port=5432 dbname={db.database_name}",
        "",
        "[pgbouncer]",
        *(f"{key} = {value}" for key, value in settings.items()),
    ]
    return "\n".join(lines) + "\n"


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
