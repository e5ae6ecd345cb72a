"""login roles for the application and PgBouncer

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02 15:50:00.000000

The application logs in as its own role (a member of the NOLOGIN privilege role of 0001),
never as the master user, and PgBouncer looks clients up through ``auth_query`` as a
role that can only call :data:`LOOKUP_FUNCTION`. The lookup reads the password verifier
from the catalogue at each login, so a password rotated in PostgreSQL is seen by PgBouncer
at the next client login, without a restart. It only answers for the application's login
role (not for "members of the application role": the role's creator and superusers are
members too), so the master user's verifier is never handed out.

Passwords are not set here (a migration must not depend on who runs it): the migration
job sets each login role's password from its own secret after upgrading. Roles are
cluster-wide, so downgrade leaves them in place but takes away LOGIN.
"""

from collections.abc import Sequence

from alembic import op
from sqlalchemy import Connection, text

from datalayer.errors import MigrationError
from datalayer.settings import get_settings

APP_ROLE = get_settings().database_app_role
APP_LOGIN_ROLE = "recipe_app_login"
PGBOUNCER_AUTH_ROLE = "pgbouncer_auth"
LOOKUP_SCHEMA = "pgbouncer"
LOOKUP_FUNCTION = f"{LOOKUP_SCHEMA}.user_lookup"

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _create_login_role(name: str) -> str:
    return f"""
        DO $$ BEGIN
            IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{name}') THEN
                CREATE ROLE {name} LOGIN;
            ELSE
                ALTER ROLE {name} LOGIN;
            END IF;
        END $$
        """


def upgrade() -> None:
    op.execute(_create_login_role(APP_LOGIN_ROLE))
    op.execute(_create_login_role(PGBOUNCER_AUTH_ROLE))
    op.execute(f"GRANT {APP_ROLE} TO {APP_LOGIN_ROLE}")
    op.execute(f"CREATE SCHEMA {LOOKUP_SCHEMA}")
    op.execute(
        f"""
        CREATE FUNCTION {LOOKUP_FUNCTION}(i_username text, OUT uname text, OUT phash text)
        RETURNS record LANGUAGE sql STABLE SECURITY DEFINER
        SET search_path = pg_catalog AS $$
            SELECT usename::text, passwd::text FROM pg_catalog.pg_shadow
             WHERE usename = i_username AND usename = '{APP_LOGIN_ROLE}' AND NOT usesuper
        $$
        """
    )
    op.execute(f"REVOKE ALL ON FUNCTION {LOOKUP_FUNCTION}(text) FROM PUBLIC")
    op.execute(f"GRANT USAGE ON SCHEMA {LOOKUP_SCHEMA} TO {PGBOUNCER_AUTH_ROLE}")
    op.execute(f"GRANT EXECUTE ON FUNCTION {LOOKUP_FUNCTION}(text) TO {PGBOUNCER_AUTH_ROLE}")


def downgrade() -> None:
    op.execute(f"DROP FUNCTION {LOOKUP_FUNCTION}(text)")
    op.execute(f"DROP SCHEMA {LOOKUP_SCHEMA}")
    op.execute(f"REVOKE {APP_ROLE} FROM {APP_LOGIN_ROLE}")
    op.execute(f"ALTER ROLE {APP_LOGIN_ROLE} NOLOGIN")
    op.execute(f"ALTER ROLE {PGBOUNCER_AUTH_ROLE} NOLOGIN")


def _state(connection: Connection) -> tuple[set[str], bool]:
    login_roles = {
        row[0]
        for row in connection.execute(
            text("SELECT rolname FROM pg_roles WHERE rolcanlogin AND rolname = ANY(:names)"),
            {"names": [APP_LOGIN_ROLE, PGBOUNCER_AUTH_ROLE]},
        )
    }
    lookup = connection.execute(
        text("SELECT to_regprocedure(:signature) IS NOT NULL"),
        {"signature": f"{LOOKUP_FUNCTION}(text)"},
    ).scalar_one()
    return login_roles, bool(lookup)


def validate_upgrade(connection: Connection) -> None:
    login_roles, lookup = _state(connection)
    missing = {APP_LOGIN_ROLE, PGBOUNCER_AUTH_ROLE} - login_roles
    if missing or not lookup:
        raise MigrationError(
            f"validation failed: login roles missing {sorted(missing)}, lookup function {lookup}"
        )


def validate_downgrade(connection: Connection) -> None:
    login_roles, lookup = _state(connection)
    if login_roles or lookup:
        raise MigrationError(
            f"validation failed: still able to log in {sorted(login_roles)}, lookup {lookup}"
        )
