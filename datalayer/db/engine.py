"""Engines, sessions and the unit of work.

:class:`Database` owns one async engine for the primary and one per read replica
(``DATABASE_READ_URLS`` / ``DATABASE_READ_URL``); :mod:`datalayer.db.routing` picks the
server of each read. ``transaction()`` is the unit of work: it commits on success, rolls
back on any error, and turns driver errors into the datalayer's error tree.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import event, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import PoolProxiedConnection

from datalayer.cache import CacheKey, Loaded, PendingInvalidations, TieredCache, freeze
from datalayer.db.credentials import (
    SecretsManagerCredentials,
    credentials_provider,
    install_credentials,
)
from datalayer.db.driver import DRIVER_ERRORS, TIMEOUTS_PER_TRANSACTION, lend, translated_errors
from datalayer.db.liveness import install_liveness_check
from datalayer.db.retry import DEFAULT_READ_RETRY, ReadRetryPolicy
from datalayer.db.routing import (
    ConsistencyScope,
    ReadRouter,
    Replica,
    RoutingPolicy,
    commit_position,
    consistency_scope,
    parse_lsn,
)
from datalayer.errors import DataLayerError, UnavailableError
from datalayer.settings import Settings

if TYPE_CHECKING:
    from pydantic import TypeAdapter

T = TypeVar("T")
R = TypeVar("R")

INVALIDATIONS = "invalidations"
"""``session.info`` key of the unit of work's :class:`~datalayer.cache.PendingInvalidations`."""
ON_REPLICA = "on_replica"
"""``session.info`` key set to ``True`` when a read transaction runs on a replica."""

_REPLAY_POSITION_SQL = "SELECT pg_last_wal_replay_lsn()::text"


def async_url(url: str) -> str:
    """The URL with the async psycopg 3 driver."""
    return make_url(url).set(drivername="postgresql+psycopg").render_as_string(hide_password=False)


def session_timeouts(settings: Settings) -> dict[str, int]:
    """Server settings (milliseconds) every session of the application runs with."""
    timeouts = {
        "statement_timeout": settings.database_statement_timeout_ms,
        "idle_in_transaction_session_timeout": settings.database_idle_in_transaction_timeout_ms,
    }
    return {name: value for name, value in timeouts.items() if value}


def create_engine_for(
    url: str,
    settings: Settings,
    *,
    application_name: str,
    credentials: SecretsManagerCredentials | None = None,
) -> AsyncEngine:
    """An async engine with the pool, timeouts and credentials of ``settings``.

    Every connection gets ``DATABASE_CONNECT_TIMEOUT_S``; one the server has closed is
    replaced when the pool hands it out (:mod:`datalayer.db.liveness`). The statement and
    idle-in-transaction timeouts go in the startup ``options``; PgBouncer refuses (or
    drops) that parameter, so in PgBouncer mode they are set at the start of every
    transaction instead, in one ``set_config`` round trip, and server-side prepared
    statements are off. With ``DATABASE_SECRET_ARN`` set (or ``credentials`` given), user
    and password come from the secret (see :func:`install_credentials`).
    """
    connect_args: dict[str, Any] = {
        "application_name": application_name,
        "connect_timeout": settings.database_connect_timeout_s,
    }
    timeouts = session_timeouts(settings)
    if settings.database_pgbouncer:
        connect_args["prepare_threshold"] = None
    elif timeouts:
        connect_args["options"] = " ".join(f"-c {name}={ms}" for name, ms in timeouts.items())
    engine = create_async_engine(
        async_url(url),
        pool_size=settings.database_pool_size,
        max_overflow=settings.database_max_overflow,
        pool_timeout=settings.database_pool_timeout,
        pool_recycle=settings.database_pool_recycle,
        echo=settings.database_echo,
        connect_args=connect_args,
    )
    install_liveness_check(engine)
    if settings.database_pgbouncer and timeouts:
        _set_per_transaction(engine, timeouts)
    credentials = credentials or credentials_provider(settings)
    if credentials is not None:
        install_credentials(engine, credentials)
    return engine


def _set_per_transaction(engine: AsyncEngine, timeouts: dict[str, int]) -> None:
    # Integers validated by the settings: safe to inline, and no bind parameters means no
    # prepared statement for PgBouncer to trip over.
    statement = "SELECT " + ", ".join(
        f"set_config('{name}', '{int(ms)}', true)" for name, ms in timeouts.items()
    )

    @event.listens_for(engine.sync_engine, "begin")
    def _apply(connection: Connection) -> None:
        connection.exec_driver_sql(statement)

    TIMEOUTS_PER_TRANSACTION.add(engine.sync_engine)


class Database:
    """The primary engine, the replica engines and the routing between them.

    ``transaction()`` runs on the primary; ``read_transaction()`` on a replica chosen by
    :class:`~datalayer.db.routing.ReadRouter` (or the primary: see that module).
    """

    read_retry: ReadRetryPolicy = DEFAULT_READ_RETRY

    def __init__(
        self,
        write_engine: AsyncEngine,
        read_engines: Sequence[AsyncEngine] = (),
        *,
        policy: RoutingPolicy | None = None,
        cache: TieredCache | None = None,
    ) -> None:
        self.write_engine = write_engine
        self.cache = cache
        self.replica_engines = list(read_engines)
        self.read_engine = self.replica_engines[0] if self.replica_engines else write_engine
        self._write_sessions = async_sessionmaker(write_engine, expire_on_commit=False)
        self.routing = ReadRouter(
            write_engine,
            [Replica(engine) for engine in self.replica_engines],
            policy or RoutingPolicy(),
        )

    @classmethod
    def connect(
        cls,
        url: str,
        settings: Settings,
        *,
        read_urls: Sequence[str] | None = None,
        cache: TieredCache | None = None,
    ) -> Database:
        """Build engines for ``url`` and the replicas; nothing connects until first use.

        ``read_urls`` defaults to the replicas of ``settings`` (``DATABASE_READ_URLS`` or
        ``DATABASE_READ_URL``); pass ``[]`` for none.
        """
        write = create_engine_for(url, settings, application_name="datalayer")
        replica_urls = settings.replica_urls() if read_urls is None else read_urls
        reads = [
            create_engine_for(read_url, settings, application_name="datalayer-read")
            for read_url in replica_urls
        ]
        database = cls(write, reads, policy=RoutingPolicy.from_settings(settings), cache=cache)
        database.read_retry = ReadRetryPolicy.from_settings(settings)
        return database

    @staticmethod
    def consistency_scope() -> ConsistencyScope:
        """A read-your-writes scope (one per request); see :func:`routing.consistency_scope`."""
        return consistency_scope()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session in one transaction on the primary, committed when the block exits.

        With replicas, the commit's WAL position is then recorded for read-your-writes.
        With a cache, ``session.info[INVALIDATIONS]`` holds the transaction's
        :class:`~datalayer.cache.PendingInvalidations`: applied (with the commit position
        when known) after COMMIT and before the block returns, discarded on rollback.
        """
        pending = None
        if self.cache is not None:
            pending = PendingInvalidations(self.cache)
        try:
            with self.routing.writing():
                if not self.routing.has_replicas:
                    async with _unit_of_work(self._write_sessions, pending) as session:
                        yield session
                else:
                    async with self._replicated(pending) as session:
                        yield session
        except BaseException:
            if pending is not None:
                pending.discard()
            raise
        if pending is not None:
            await pending.apply()

    @asynccontextmanager
    async def _replicated(
        self, pending: PendingInvalidations | None
    ) -> AsyncIterator[AsyncSession]:
        with translated_errors():
            async with self.write_engine.connect() as connection:
                bound = async_sessionmaker(connection, expire_on_commit=False)
                async with _unit_of_work(bound, pending) as session:
                    yield session
                try:
                    position: int | None = await commit_position(connection)
                except DRIVER_ERRORS:
                    position = None  # committed, but where is unknown: stay on the primary
                self.routing.record_write(position)
                if pending is not None and position is not None:
                    pending.at_position(position)

    async def cached_read(
        self,
        key: CacheKey,
        query: Callable[[AsyncSession], Awaitable[T]],
        *,
        adapter: TypeAdapter[T],
    ) -> T:
        """``await query(session)`` in a read transaction, through the cache when there is one.

        The answer is deeply read-only (:func:`~datalayer.cache.freeze`), with or without a
        cache, since a cached answer is shared by every caller of the process.

        On a replica the replay position is read *before* the query, so the fill carries a
        position no newer than the data it read: a fill from a replica that has not replayed
        a committed write is never cached over that write's invalidation.
        """
        if self.cache is None:
            async with self.read_transaction() as session:
                return freeze(await query(session))  # type: ignore[no-any-return]

        async def load() -> Loaded[T]:
            async with self.read_transaction() as session:
                position = None
                if session.info.get(ON_REPLICA):
                    replayed = (await session.execute(text(_REPLAY_POSITION_SQL))).scalar()
                    position = parse_lsn(str(replayed)) if replayed else 0
                return Loaded(await query(session), position)

        return await self.cache.get_or_load_at(key, load, adapter=adapter)

    @asynccontextmanager
    async def read_transaction(self) -> AsyncIterator[AsyncSession]:
        """A read transaction on a replica, or on the primary when the router says so.

        A replica that cannot be connected to is skipped (the read goes to the next one or
        the primary). A replica lost in the middle of a read raises ``UnavailableError``
        and is marked down, so a retry of the read goes elsewhere.
        """
        async with self._routed(
            self._replica_session, lambda: _unit_of_work(self._write_sessions)
        ) as session:
            yield session

    @asynccontextmanager
    async def driver_read(self) -> AsyncIterator[PoolProxiedConnection]:
        """A pooled connection for one read sent through psycopg itself, routed as
        :meth:`read_transaction` routes (replica failures included), without its session.

        The connection is idle: statements sent without a transaction run in autocommit
        or in an implicit one (a pipeline up to its Sync). See :mod:`datalayer.db.driver`.
        """
        async with self._routed(
            lambda replica: lend(replica.engine, replica.sessions),
            lambda: lend(self.write_engine, self._write_sessions),
        ) as connection:
            yield connection

    @asynccontextmanager
    async def _replica_session(self, replica: Replica) -> AsyncIterator[AsyncSession]:
        async with _unit_of_work(replica.sessions) as session:
            session.info[ON_REPLICA] = True
            await session.connection()  # connect now, so a dead replica is skipped
            yield session

    @asynccontextmanager
    async def _routed(
        self,
        on_replica: Callable[[Replica], AbstractAsyncContextManager[R]],
        on_primary: Callable[[], AbstractAsyncContextManager[R]],
    ) -> AsyncIterator[R]:
        """What ``on_replica`` opens on the first replica that connects, else ``on_primary``.

        A replica that fails before it is handed out is marked down and skipped; one lost
        while in use is marked down and the error raised (a retry then goes elsewhere).
        """
        for replica in self.routing.read_candidates():
            connected = False
            try:
                async with on_replica(replica) as opened:
                    connected = True
                    yield opened
                return
            except DataLayerError as exc:
                if connected and not isinstance(exc, UnavailableError):
                    raise
                self.routing.mark_down(replica)
                if connected:
                    raise
        async with on_primary() as opened:
            yield opened

    async def dispose(self) -> None:
        await self.routing.aclose()
        await self.write_engine.dispose()
        for engine in self.replica_engines:
            await engine.dispose()


@asynccontextmanager
async def _unit_of_work(
    sessions: async_sessionmaker[AsyncSession], pending: PendingInvalidations | None = None
) -> AsyncIterator[AsyncSession]:
    """Commit on success, roll back on error, translate driver errors (values not echoed)."""
    async with sessions() as session:
        if pending is not None:
            session.info[INVALIDATIONS] = pending
        with translated_errors():
            async with session.begin():
                yield session
