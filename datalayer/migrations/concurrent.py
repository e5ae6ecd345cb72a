"""Non-transactional migration steps: indexes built with ``CREATE INDEX CONCURRENTLY``.

A version declares them with a ``concurrent_steps()`` function returning
:class:`ConcurrentIndex` objects. They cannot run inside the migration transaction, so the
runner builds them after the transactional part has committed, one statement each in
autocommit, under a session advisory lock (two runners never build the same index). A
failed concurrent build leaves an INVALID index behind; every later ``upgrade`` run checks
the concurrent indexes of all applied versions and drops and rebuilds any that is missing
or INVALID, so running ``migrate up`` again repairs it. The version's downgrade drops its
indexes in the ordinary transaction (a drop is quick; only the build needs to be online).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable
from dataclasses import dataclass

from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text

from datalayer.errors import MigrationError
from datalayer.migrations.history import MIGRATION_LOCK_KEY

LOCK_WAIT_S = 600.0  # how long a runner waits for another one's index builds

_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_COLUMNS = re.compile(r"^\s*(USING [a-z_]+ )?\(")


@dataclass(frozen=True)
class ConcurrentIndex:
    """An index a version builds online: ``CREATE [UNIQUE] INDEX CONCURRENTLY name ON table
    columns`` (``columns`` is the rest of the statement, e.g. ``"(expires_at) WHERE ..."``
    or ``"USING gin (user_id, search_vector)"``)."""

    name: str
    table: str
    columns: str
    unique: bool = False

    def __post_init__(self) -> None:
        for label, value in (("name", self.name), ("table", self.table)):
            if not _IDENTIFIER.match(value):
                raise MigrationError(f"concurrent index {label} {value!r} is not an identifier")
        if ";" in self.columns or not _COLUMNS.match(self.columns):
            raise MigrationError(
                f"concurrent index {self.name}: columns must start with '(' or 'USING method ('"
            )

    @property
    def create_statement(self) -> str:
        unique = "UNIQUE " if self.unique else ""
        return f"CREATE {unique}INDEX CONCURRENTLY {self.name} ON {self.table} {self.columns}"


def declared_indexes(script: ScriptDirectory, heads: Iterable[str]) -> list[ConcurrentIndex]:
    """The concurrent indexes of every version up to ``heads``, oldest version first."""
    found: list[ConcurrentIndex] = []
    for head in heads:
        for revision in reversed(list(script.iterate_revisions(head, "base"))):
            hook = getattr(revision.module, "concurrent_steps", None)
            if hook is None:
                continue
            steps = list(hook())
            if not all(isinstance(step, ConcurrentIndex) for step in steps):
                raise MigrationError(
                    f"version {revision.revision}: concurrent_steps() must return "
                    "ConcurrentIndex objects"
                )
            found.extend(steps)
    return found


def build_concurrent_indexes(
    connection: Connection, indexes: Iterable[ConcurrentIndex]
) -> list[str]:
    """Build every index of ``indexes`` that is missing or INVALID; returns the names built.

    ``connection`` must be in autocommit mode. Raises :class:`MigrationError` naming the
    index when a build fails (it is left INVALID and rebuilt by the next run).
    """
    built: list[str] = []
    _acquire(connection)
    try:
        for index in indexes:
            state = _state(connection, index.name)
            if state == "valid":
                continue
            if state == "invalid":
                connection.execute(text(f"DROP INDEX CONCURRENTLY IF EXISTS {index.name}"))
            try:
                connection.execute(text(index.create_statement))
            except Exception as exc:
                state_code = getattr(getattr(exc, "orig", None), "sqlstate", None)
                raise MigrationError(
                    f"concurrent build of index {index.name} failed (SQLSTATE {state_code}); "
                    "it is left INVALID: fix the cause and run the upgrade again to rebuild it"
                ) from None
            if _state(connection, index.name) != "valid":
                raise MigrationError(f"index {index.name} is not valid after its build")
            built.append(index.name)
    finally:
        connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK_KEY})
    return built


def _acquire(connection: Connection, wait_s: float = LOCK_WAIT_S) -> None:
    """Take the session advisory lock by polling, never by waiting inside a statement:
    another runner's CREATE INDEX CONCURRENTLY waits for every open statement to finish, so
    a blocking ``pg_advisory_lock`` here would deadlock with it."""
    deadline = time.monotonic() + wait_s
    try_lock = text("SELECT pg_try_advisory_lock(:key)")
    while not connection.execute(try_lock, {"key": MIGRATION_LOCK_KEY}).scalar():
        if time.monotonic() > deadline:
            raise MigrationError("another migration runner is still building indexes")
        time.sleep(0.2)


def _state(connection: Connection, name: str) -> str:
    valid = connection.execute(
        text(
            "SELECT i.indisvalid FROM pg_index AS i JOIN pg_class AS c ON c.oid = i.indexrelid "
            "JOIN pg_namespace AS n ON n.oid = c.relnamespace "
            "WHERE c.relname = :name AND n.nspname = current_schema()"
        ),
        {"name": name},
    ).scalar()
    if valid is None:
        return "missing"
    return "valid" if valid else "invalid"
