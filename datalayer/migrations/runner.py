"""Run, inspect and verify migrations: the API behind ``python -m datalayer migrate``.

Alembic is driven programmatically (no ``alembic.ini``): :func:`alembic_config` points it at
this package's ``env.py`` and versions, and every command gets its own connection.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Connection, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_random_exponential

from datalayer.errors import DataLayerError, MigrationError, translate_db_error
from datalayer.migrations.compare import (
    check_constraint_drift,
    compare_type,
    include_object,
    render,
    trigger_drift,
)
from datalayer.migrations.concurrent import build_concurrent_indexes, declared_indexes
from datalayer.migrations.history import APPLIED_KEY, HISTORY_TABLE, LOCK_TIMEOUT_KEY
from datalayer.models import Base
from datalayer.settings import Settings, get_settings

logger = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).parent


def sync_url(url: str) -> str:
    """The URL with the synchronous psycopg 3 driver (migrations run synchronously)."""
    return make_url(url).set(drivername="postgresql+psycopg").render_as_string(hide_password=False)


def alembic_config(script_location: Path = MIGRATIONS_DIR) -> Config:
    config = Config()
    config.set_main_option("script_location", str(script_location))
    config.set_main_option("version_locations", str(script_location / "versions"))
    config.set_main_option("path_separator", "os")
    return config


class LockNotAvailableError(MigrationError):
    """A migration gave up waiting for a table lock (``DATABASE_LOCK_TIMEOUT_MS``)."""


@contextmanager
def _connection(url: str, connect_timeout_s: int | None = None) -> Iterator[Connection]:
    connect_args = {"connect_timeout": connect_timeout_s} if connect_timeout_s else {}
    engine = create_engine(sync_url(url), poolclass=NullPool, connect_args=connect_args)
    try:
        with engine.connect() as connection:
            yield connection
    except DataLayerError:
        raise
    except Exception as exc:
        if _is_db_error(exc):
            if getattr(getattr(exc, "orig", None), "sqlstate", None) == "55P03":
                raise LockNotAvailableError("migration timed out waiting for a lock") from None
            raise translate_db_error(exc) from exc
        raise
    finally:
        engine.dispose()


def _is_db_error(exc: BaseException) -> bool:
    from sqlalchemy.exc import DBAPIError

    return isinstance(exc, DBAPIError)


def _run(
    url: str, fn: Any, revision: str, script_location: Path, settings: Settings | None
) -> list[str]:
    """Run one Alembic command; returns the revisions this run applied or reverted.

    Each DDL waits at most ``DATABASE_LOCK_TIMEOUT_MS`` for its table lock, so the
    application's queries never queue behind a blocked migration for longer. The whole run
    is one transaction: after a lock timeout nothing was changed, and the run is tried again
    ``DATABASE_LOCK_RETRIES`` times with jittered backoff before :class:`MigrationError`.
    """
    settings = settings or get_settings()
    attempts = settings.database_lock_retries + 1
    retrying = Retrying(
        stop=stop_after_attempt(attempts),
        wait=wait_random_exponential(multiplier=0.2, max=5),
        retry=retry_if_exception_type(LockNotAvailableError),
        before_sleep=lambda state: logger.warning(
            "migration blocked by a lock; retrying", extra={"attempt": state.attempt_number}
        ),
        reraise=True,
    )
    try:
        for attempt in retrying:
            with attempt:
                return _run_once(url, fn, revision, script_location, settings)
    except LockNotAvailableError:
        raise LockNotAvailableError(
            f"migration could not take its table locks within "
            f"{settings.database_lock_timeout_ms} ms in {attempts} attempts; nothing was "
            "changed: run it again when the blocking transactions have ended"
        ) from None
    raise AssertionError("unreachable: tenacity re-raises the last error")  # pragma: no cover


def _run_once(
    url: str, fn: Any, revision: str, script_location: Path, settings: Settings
) -> list[str]:
    config = alembic_config(script_location)
    with _connection(url, settings.database_connect_timeout_s) as connection:
        connection.info[APPLIED_KEY] = []
        connection.info[LOCK_TIMEOUT_KEY] = settings.database_lock_timeout_ms
        config.attributes["connection"] = connection
        script = ScriptDirectory.from_config(config)
        if fn is command.upgrade:
            # Malformed concurrent steps are refused before anything is written.
            declared_indexes(script, script.get_heads())
        try:
            fn(config, revision)
        except CommandError as exc:
            # An unknown or ambiguous revision: Alembic's message names it and nothing else.
            raise MigrationError(str(exc)) from None
        if connection.in_transaction():
            connection.commit()
        applied = list(connection.info[APPLIED_KEY])
        if fn is command.upgrade:
            _build_concurrent_steps(connection, script)
        return applied


def _build_concurrent_steps(connection: Connection, script: ScriptDirectory) -> list[str]:
    """After the transactional part committed: build (or repair) the applied versions'
    concurrent indexes, in autocommit (see :mod:`datalayer.migrations.concurrent`)."""
    heads = MigrationContext.configure(connection).get_current_heads()
    indexes = declared_indexes(script, heads)
    connection.commit()
    if not indexes:
        return []
    # The connection is closed right after this run, so its isolation level is not reset.
    connection.execution_options(isolation_level="AUTOCOMMIT")
    return build_concurrent_indexes(connection, indexes)


def upgrade(
    url: str,
    revision: str = "head",
    *,
    script_location: Path = MIGRATIONS_DIR,
    settings: Settings | None = None,
) -> list[str]:
    """Apply migrations up to ``revision``; returns the revisions applied by this call.

    Lock timeout, retries and connect timeout come from ``settings`` (default: the
    environment's).
    """
    return _run(url, command.upgrade, revision, script_location, settings)


def downgrade(
    url: str,
    revision: str,
    *,
    script_location: Path = MIGRATIONS_DIR,
    settings: Settings | None = None,
) -> list[str]:
    """Revert migrations down to ``revision`` (``base`` reverts everything)."""
    return _run(url, command.downgrade, revision, script_location, settings)


def revisions(*, script_location: Path = MIGRATIONS_DIR) -> list[str]:
    """Every version of the code, oldest first."""
    script = ScriptDirectory.from_config(alembic_config(script_location))
    return [revision.revision for revision in reversed(list(script.walk_revisions()))]


@dataclass(frozen=True)
class MigrationStatus:
    current: tuple[str, ...]
    head: str | None
    pending: tuple[str, ...]

    @property
    def up_to_date(self) -> bool:
        return not self.pending


def status(url: str, *, script_location: Path = MIGRATIONS_DIR) -> MigrationStatus:
    """Where the database is, where the code is, and what would be applied."""
    script = ScriptDirectory.from_config(alembic_config(script_location))
    with _connection(url) as connection:
        current = tuple(MigrationContext.configure(connection).get_current_heads())
    head = script.get_current_head()
    pending: list[str] = []
    if head is not None:
        for revision in script.iterate_revisions(head, current[0] if current else "base"):
            if revision.revision not in current:
                pending.append(revision.revision)
    return MigrationStatus(current=current, head=head, pending=tuple(reversed(pending)))


def check(url: str, *, script_location: Path = MIGRATIONS_DIR) -> list[str]:
    """Differences between the models and the database; empty when there is no drift.

    Reports pending versions, then what :mod:`datalayer.migrations.compare` compares:
    Alembic's autogenerate with server defaults, CHECK constraints against the models, and
    triggers against the names the applied versions declare.
    """
    state = status(url, script_location=script_location)
    problems = [f"pending migration {rev}" for rev in state.pending]
    script = ScriptDirectory.from_config(alembic_config(script_location))
    with _connection(url) as connection:
        context = MigrationContext.configure(
            connection,
            opts={
                "include_object": include_object,
                "compare_type": compare_type,
                "compare_server_default": True,
            },
        )
        problems.extend(_describe(entry) for entry in compare_metadata(context, Base.metadata))
        problems.extend(check_constraint_drift(connection, Base.metadata))
        problems.extend(trigger_drift(connection, _declared_triggers(script, state.current)))
    return problems


def _declared_triggers(script: ScriptDirectory, current: tuple[str, ...]) -> set[str]:
    """Trigger names in the ``CREATED`` objects of the applied versions."""
    names: set[str] = set()
    for head in current:
        for revision in script.iterate_revisions(head, "base"):
            created = getattr(revision.module, "CREATED", None)
            names.update(getattr(created, "triggers", ()))
    return names


def history(url: str, limit: int = 20) -> list[dict[str, Any]]:
    """The newest rows of the migration audit table."""
    with _connection(url) as connection:
        if not _history_exists(connection):
            return []
        rows = connection.execute(
            text(
                f"SELECT revision, direction, from_revisions, applied_at, applied_by, elapsed_ms "
                f"FROM {HISTORY_TABLE} ORDER BY id DESC LIMIT :limit"
            ),
            {"limit": limit},
        )
        return [dict(row._mapping) for row in rows]


def _describe(entry: Any) -> str:
    if isinstance(entry, list):
        return "; ".join(_describe(item) for item in entry)
    kind, *parts = entry
    if kind.startswith("modify_"):
        _, table, column, _, database, models = parts
        return f"{kind}: {table}.{column}: database {render(database)}, models {render(models)}"
    names = [str(getattr(part, "name", part)) for part in parts if part is not None]
    return f"{kind}: {' '.join(name for name in names if not name.startswith('{'))}"


def _history_exists(connection: Connection) -> bool:
    query = text("SELECT to_regclass(:table) IS NOT NULL")
    return bool(connection.execute(query, {"table": HISTORY_TABLE}).scalar())
