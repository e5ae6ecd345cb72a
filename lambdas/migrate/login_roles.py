"""Set the passwords of the login roles that migration 0002 creates, from their secrets.

The password is turned into a SCRAM-SHA-256 verifier on the client (libpq's
``PQencryptPasswordConn``), so the plain text never reaches the server, its logs or
``pg_stat_statements``. Only the roles the migrations create may be set this way: a secret
naming any other user (the master user, say) is refused.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

from datalayer.errors import MigrationError

LOGIN_ROLES = frozenset({"recipe_app_login", "pgbouncer_auth"})
"""Login roles created by migration 0002 (names kept in step with it by a test)."""


def set_login_passwords(url: str, secrets: Iterable[Mapping[str, object]]) -> list[str]:
    """Give each secret's ``username`` its ``password``; returns the roles updated."""
    conninfo = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    updated: list[str] = []
    with psycopg.connect(conninfo, autocommit=True) as connection:
        for secret in secrets:
            username, password = secret.get("username"), secret.get("password")
            if username not in LOGIN_ROLES or not isinstance(password, str) or not password:
                raise MigrationError(f"not a login role secret of the migrations: {username!r}")
            verifier = connection.pgconn.encrypt_password(
                password.encode(), str(username).encode(), b"scram-sha-256"
            )
            connection.execute(
                sql.SQL("ALTER ROLE {} PASSWORD {}").format(
                    sql.Identifier(str(username)), sql.Literal(verifier.decode())
                )
            )
            updated.append(str(username))
    return updated
