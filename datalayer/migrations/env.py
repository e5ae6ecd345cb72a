"""Alembic environment. Run through :mod:`datalayer.migrations.runner`, which passes the
connection in ``config.attributes["connection"]``.

Every run holds a transaction-scoped advisory lock, so concurrent runners serialise and each
version is applied exactly once; all versions of one run share one transaction, so a failure
anywhere (including a version's validation step) leaves schema and version table untouched.
A version's ``concurrent_steps()`` (indexes built CONCURRENTLY) cannot run in that
transaction: the runner builds them after the commit (:mod:`datalayer.migrations.concurrent`).
"""

from __future__ import annotations

from alembic import context

from datalayer.migrations import history
from datalayer.migrations.compare import compare_type, include_object
from datalayer.models import Base

config = context.config
connection = config.attributes.get("connection")
if connection is None or context.is_offline_mode():
    raise SystemExit("run migrations with `python -m datalayer migrate ...`")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    include_object=include_object,
    compare_type=compare_type,
    compare_server_default=True,
    transaction_per_migration=False,
    on_version_apply=history.validate_and_record,
)

with context.begin_transaction():
    history.lock_and_prepare(connection)
    context.run_migrations()
