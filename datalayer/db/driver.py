"""A pooled psycopg connection lent for one read, without a session or a transaction.

A statement sent through the psycopg connection itself (a pipelined similarity search)
needs no ORM session: :func:`lend` checks the connection out of the engine's pool, yields
it idle (outside any transaction) and checks it back in, in one step each. The session
machinery it skips (the session, its transaction, their commit and close) cost several
times the checkout itself, on every search.

An engine whose timeouts are set at the start of every transaction (PgBouncer mode, see
:func:`~datalayer.db.engine.create_engine_for`) lends its connection inside a session's
transaction instead, so those timeouts hold for what is sent through it.
"""

from __future__ import annotations

import weakref
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager

import psycopg
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.pool import PoolProxiedConnection
from sqlalchemy.util import greenlet_spawn

from datalayer.errors import translate_db_error

DRIVER_ERRORS = (DBAPIError, SQLAlchemyError, psycopg.Error)
"""What psycopg and SQLAlchemy raise; the datalayer's callers see its own errors instead."""

TIMEOUTS_PER_TRANSACTION: weakref.WeakSet[Engine] = weakref.WeakSet()
"""Engines that set their timeouts when a transaction begins (PgBouncer mode)."""


@asynccontextmanager
async def lend(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> AsyncIterator[PoolProxiedConnection]:
    """A connection of ``engine``'s pool for the block; driver errors are translated as in
    a unit of work (``UnavailableError`` for a refused or lost connection ...)."""
    if engine.sync_engine in TIMEOUTS_PER_TRANSACTION:
        async with _in_transaction(sessions) as connection:
            yield connection
        return
    with translated_errors():
        connection = await engine.raw_connection()
    try:
        with translated_errors():
            yield connection
    finally:
        # The pool's reset (a rollback, no round trip on an idle connection) needs the
        # greenlet bridge, as every pool operation of an async engine does.
        await greenlet_spawn(connection.close)


@asynccontextmanager
async def _in_transaction(
    sessions: async_sessionmaker[AsyncSession],
) -> AsyncIterator[PoolProxiedConnection]:
    async with sessions() as session:
        with translated_errors():
            async with session.begin():
                yield await (await session.connection()).get_raw_connection()


@contextmanager
def translated_errors() -> Iterator[None]:
    """Driver and SQLAlchemy errors raised in the block become the datalayer's own
    (:func:`~datalayer.errors.translate_db_error`: values never echoed)."""
    try:
        yield
    except DRIVER_ERRORS as exc:
        raise translate_db_error(exc) from None


__all__ = ["DRIVER_ERRORS", "TIMEOUTS_PER_TRANSACTION", "lend", "translated_errors"]
