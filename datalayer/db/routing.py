"""Read routing: replicas serve reads, the primary serves writes and fresh reads.

* Reads are spread round-robin over the replicas that are reachable and within
  ``max_lag_s`` of the primary; with none, they go to the primary.
* Read-your-writes: a committed write records the primary's WAL insert position in the
  current :class:`ConsistencyScope`. Until a replica has replayed that position (or
  ``read_your_writes_wait_s`` has passed) reads in the scope go to the primary.
* Reads inside a write transaction go to the primary.
* Replica health is learnt from a probe that runs in the background at most once per
  ``probe_interval_s``, and only while reads come in; a read that cannot connect to a replica
  marks it down at once and is served elsewhere.

Without an explicit scope, the first write in an asyncio task's context creates one there,
so read-your-writes then holds for that call chain (and tasks it starts afterwards).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
import weakref
from collections import deque
from collections.abc import Iterator, Sequence
from contextvars import ContextVar, Token
from dataclasses import dataclass
from types import TracebackType

import psycopg
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, async_sessionmaker

from datalayer.settings import Settings

logger = logging.getLogger(__name__)

_COMMIT_POSITION_SQL = "SELECT pg_current_wal_insert_lsn()::text"
_PRIMARY_POSITION_SQL = "SELECT pg_current_wal_lsn()::text"
_REPLICA_STATE_SQL = "SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn()::text"


@dataclass(frozen=True)
class RoutingPolicy:
    """Thresholds of the read router (see the module docstring)."""

    max_lag_s: float = 5.0
    read_your_writes_wait_s: float = 10.0
    probe_interval_s: float = 1.0
    probe_timeout_s: float = 2.0

    @classmethod
    def from_settings(cls, settings: Settings) -> RoutingPolicy:
        return cls(
            max_lag_s=settings.database_replica_max_lag_s,
            read_your_writes_wait_s=settings.database_read_your_writes_wait_s,
            probe_interval_s=settings.database_replica_probe_interval_s,
            probe_timeout_s=settings.database_replica_probe_timeout_s,
        )


@dataclass(frozen=True)
class ReplicaStatus:
    """What the router last learnt about one replica (for health reports)."""

    name: str
    reachable: bool
    lag_s: float | None
    replayed_lsn: int | None
    serving_reads: bool
    probed_at: float | None
    """``time.monotonic()`` of the last probe; None before the first."""


@dataclass(frozen=True)
class _WriteMark:
    lsn: int | None  # None: the commit position is unknown, stay on the primary
    committed_at: float


class ConsistencyScope:
    """One request's read-your-writes memory: the last commit position per database.

    Use as ``with consistency_scope():`` or ``async with consistency_scope():`` around a
    request; tasks started inside the block share it.
    """

    def __init__(self) -> None:
        self._marks: weakref.WeakKeyDictionary[ReadRouter, _WriteMark] = weakref.WeakKeyDictionary()
        self._tokens: list[Token[ConsistencyScope | None]] = []

    def __enter__(self) -> ConsistencyScope:
        self._tokens.append(_current_scope.set(self))
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        _current_scope.reset(self._tokens.pop())

    async def __aenter__(self) -> ConsistencyScope:
        return self.__enter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.__exit__(exc_type, exc, traceback)


_current_scope: ContextVar[ConsistencyScope | None] = ContextVar(
    "datalayer_consistency_scope", default=None
)
_writing: ContextVar[frozenset[int]] = ContextVar("datalayer_writing", default=frozenset())


def consistency_scope() -> ConsistencyScope:
    """A fresh read-your-writes scope, e.g. one per HTTP request."""
    return ConsistencyScope()


def parse_lsn(text: str) -> int:
    """``'16/B374D848'`` -> the WAL position as an integer."""
    high, _, low = text.partition("/")
    return (int(high, 16) << 32) | int(low, 16)


async def commit_position(connection: AsyncConnection) -> int:
    """The primary's WAL insert position, read on ``connection`` just after a commit.

    Read after the commit, so it is at or past the end of the commit record (a position
    read before the commit is not: a replica can have replayed up to it and still not the
    commit). In autocommit on the driver connection it costs one round trip: no BEGIN, no
    ROLLBACK when the connection returns to the pool.
    """
    raw = await connection.get_raw_connection()
    driver = raw.driver_connection
    if not isinstance(driver, psycopg.AsyncConnection):  # pragma: no cover - psycopg engines
        raise psycopg.InterfaceError("not a psycopg connection")
    await driver.set_autocommit(True)
    try:
        row = await (await driver.execute(_COMMIT_POSITION_SQL)).fetchone()
    finally:
        await driver.set_autocommit(False)
    if row is None:  # pragma: no cover - the function always returns a row
        raise psycopg.InterfaceError("no WAL position returned")
    return parse_lsn(str(row[0]))


class Replica:
    """One replica's engine and what the probes learnt about it."""

    def __init__(self, engine: AsyncEngine) -> None:
        url = engine.url
        self.name = f"{url.host}:{url.port}/{url.database}"
        self.engine = engine
        self.sessions = async_sessionmaker(engine, expire_on_commit=False)
        # Optimistic until the first probe: a replica that cannot be reached is found out
        # by the first read that tries it, which then goes elsewhere.
        self.reachable = True
        self.replayed_lsn: int | None = None
        self.lag_s: float | None = None
        self.probed_at: float | None = None
        self.failed_at = float("-inf")  # last time a read could not use it

    def serves(self, max_lag_s: float) -> bool:
        return self.reachable and (self.lag_s is None or self.lag_s <= max_lag_s)

    def has_replayed(self, lsn: int) -> bool:
        return self.replayed_lsn is not None and self.replayed_lsn >= lsn


class ReadRouter:
    """Chooses the server of each read; keeps replica health up to date."""

    def __init__(
        self, primary: AsyncEngine, replicas: Sequence[Replica], policy: RoutingPolicy
    ) -> None:
        self.primary = primary
        self.replicas = list(replicas)
        self.policy = policy
        self._turn = itertools.count()
        # (monotonic time, primary WAL position) samples, to tell how far behind a replica is.
        self._primary_positions: deque[tuple[float, int]] = deque()
        self._probe_task: asyncio.Task[None] | None = None
        self._last_probe_started = float("-inf")

    @property
    def has_replicas(self) -> bool:
        return bool(self.replicas)

    # -- writes ------------------------------------------------------------------------------
    @contextlib.contextmanager
    def writing(self) -> Iterator[None]:
        """Mark the current context as inside a write transaction of this database."""
        token = _writing.set(_writing.get() | {id(self)})
        try:
            yield
        finally:
            _writing.reset(token)

    def record_write(self, lsn: int | None) -> None:
        """Remember a commit at ``lsn`` (None: unknown) in the current consistency scope."""
        scope = _current_scope.get()
        if scope is None:
            scope = ConsistencyScope()
            _current_scope.set(scope)
        previous = scope._marks.get(self)
        if previous is not None and lsn is not None and previous.lsn is not None:
            lsn = max(lsn, previous.lsn)
        scope._marks[self] = _WriteMark(lsn, time.monotonic())

    # -- reads -------------------------------------------------------------------------------
    def read_candidates(self) -> list[Replica]:
        """Replicas to try for the next read, in order; empty means the primary."""
        if not self.replicas or id(self) in _writing.get():
            return []
        self._maybe_probe()
        candidates = [r for r in self.replicas if r.serves(self.policy.max_lag_s)]
        mark = self._pending_write()
        if mark is not None:
            lsn = mark.lsn
            candidates = [r for r in candidates if lsn is not None and r.has_replayed(lsn)]
        if len(candidates) > 1:
            start = next(self._turn) % len(candidates)
            candidates = candidates[start:] + candidates[:start]
        return candidates

    def mark_down(self, replica: Replica) -> None:
        """A read could not use ``replica``: send reads elsewhere until a probe succeeds."""
        if replica.reachable:
            logger.warning("read replica %s unreachable; reads go elsewhere", replica.name)
        replica.reachable = False
        replica.failed_at = time.monotonic()

    def _pending_write(self) -> _WriteMark | None:
        scope = _current_scope.get()
        mark = scope._marks.get(self) if scope is not None else None
        if scope is None or mark is None:
            return None
        if time.monotonic() - mark.committed_at > self.policy.read_your_writes_wait_s:
            del scope._marks[self]
            return None
        return mark

    # -- health ------------------------------------------------------------------------------
    def statuses(self) -> list[ReplicaStatus]:
        """What the last probes (and failed reads) say about each replica."""
        return [
            ReplicaStatus(
                name=r.name,
                reachable=r.reachable,
                lag_s=r.lag_s,
                replayed_lsn=r.replayed_lsn,
                serving_reads=r.serves(self.policy.max_lag_s),
                probed_at=r.probed_at,
            )
            for r in self.replicas
        ]

    def _maybe_probe(self) -> None:
        now = time.monotonic()
        if now - self._last_probe_started < self.policy.probe_interval_s:
            return
        loop = asyncio.get_running_loop()
        task = self._probe_task
        # A task of another (closed) event loop never finishes: forget it.
        if task is not None and not task.done() and task.get_loop() is loop:
            return
        self._last_probe_started = now
        self._probe_task = loop.create_task(self.probe(), name="datalayer-replica-probe")

    async def probe(self) -> None:
        """Probe the primary's WAL position and every replica once, each bounded in time."""
        started = time.monotonic()
        self._last_probe_started = started
        primary, *replicas = await asyncio.gather(
            self._bounded(self._primary_position()),
            *(self._bounded(self._replica_state(r)) for r in self.replicas),
        )
        if isinstance(primary, int):
            self._primary_positions.append((started, primary))
        horizon = started - (2 * self.policy.max_lag_s + self.policy.probe_interval_s)
        while len(self._primary_positions) > 1 and self._primary_positions[0][0] < horizon:
            self._primary_positions.popleft()
        for replica, state in zip(self.replicas, replicas, strict=True):
            self._update(replica, state, started)

    async def _bounded(self, probe: object) -> object:
        try:
            return await asyncio.wait_for(probe, self.policy.probe_timeout_s)  # type: ignore[arg-type]
        except (TimeoutError, Exception) as exc:
            return exc

    async def _primary_position(self) -> int:
        async with self.primary.connect() as connection:
            autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
            value = (await autocommit.exec_driver_sql(_PRIMARY_POSITION_SQL)).scalar_one()
        return parse_lsn(str(value))

    @staticmethod
    async def _replica_state(replica: Replica) -> tuple[bool, int | None]:
        async with replica.engine.connect() as connection:
            autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
            in_recovery, replayed = (await autocommit.exec_driver_sql(_REPLICA_STATE_SQL)).one()
        return bool(in_recovery), parse_lsn(replayed) if replayed else None

    def _update(self, replica: Replica, state: object, probed_at: float) -> None:
        replica.probed_at = probed_at
        if not isinstance(state, tuple) or not state[0] or state[1] is None:
            if replica.reachable:
                reason = "is not in recovery" if isinstance(state, tuple) else "did not answer"
                logger.warning("read replica %s %s; reads go elsewhere", replica.name, reason)
            replica.reachable = False
            return
        if replica.failed_at >= probed_at:
            return  # a read failed on it after this probe started: the probe's answer is stale
        if not replica.reachable:
            logger.info("read replica %s is back", replica.name)
        replica.reachable = True
        replica.replayed_lsn = state[1]
        replica.lag_s = self._lag(state[1], probed_at)

    def _lag(self, replayed: int, now: float) -> float | None:
        """Seconds since the primary first had WAL this replica has not replayed yet."""
        if not self._primary_positions:
            return None
        for sampled_at, position in self._primary_positions:
            if position > replayed:
                return max(0.0, now - sampled_at)
        return 0.0

    async def aclose(self) -> None:
        """Wait for a running probe (bounded by the probe timeout) before engines go away.

        Not cancelled: a connection attempt cancelled mid-authentication leaves the server
        backend waiting for ``authentication_timeout``, and on a standby such a backend
        holds up the replay of ``DROP DATABASE``.
        """
        task, self._probe_task = self._probe_task, None
        if task is not None and not task.done() and task.get_loop() is asyncio.get_running_loop():
            await task


__all__ = [
    "ConsistencyScope",
    "ReadRouter",
    "Replica",
    "ReplicaStatus",
    "RoutingPolicy",
    "commit_position",
    "consistency_scope",
    "parse_lsn",
]
