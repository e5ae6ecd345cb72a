"""Query performance monitor: per-fingerprint count, total and p95 time, slow statements.

:meth:`QueryMonitor.install` hooks SQLAlchemy's cursor events on an engine. Each statement is
timed, grouped by its :func:`~datalayer.observability.fingerprint.fingerprint` (never its
parameters), published as ``QueryLatency`` and, over the threshold
(``DATABASE_SLOW_QUERY_MS``), counted as ``SlowQueries`` and logged with the fingerprint only.
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from collections import deque
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Final

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine, ExceptionContext, ExecutionContext
from sqlalchemy.ext.asyncio import AsyncEngine

from datalayer.metric_names import Metric
from datalayer.observability.emitter import Metrics
from datalayer.observability.emitter import metrics as default_metrics
from datalayer.observability.fingerprint import fingerprint

logger = logging.getLogger(__name__)

SAMPLES_KEPT: Final = 1024
"""Most recent durations kept per fingerprint for its p95."""
MAX_FINGERPRINTS: Final = 2000
"""Distinct fingerprints tracked; later newcomers are counted under :data:`OTHER`."""
OTHER: Final = "(other statements)"
_STARTED: Final = "_datalayer_query_started"


@dataclass(frozen=True)
class StatementStats:
    """What the monitor knows about one fingerprint (times in milliseconds)."""

    fingerprint_id: str
    sql: str
    count: int
    total_ms: float
    mean_ms: float
    p95_ms: float
    max_ms: float
    slow_count: int


class _Accumulator:
    __slots__ = ("count", "max_ms", "recent", "slow_count", "sql", "total_ms")

    def __init__(self, sql: str) -> None:
        self.sql = sql
        self.count = 0
        self.total_ms = 0.0
        self.max_ms = 0.0
        self.slow_count = 0
        self.recent: deque[float] = deque(maxlen=SAMPLES_KEPT)

    def add(self, elapsed_ms: float, slow: bool) -> None:
        self.count += 1
        self.total_ms += elapsed_ms
        self.max_ms = max(self.max_ms, elapsed_ms)
        self.slow_count += slow
        self.recent.append(elapsed_ms)

    def stats(self, fingerprint_id: str) -> StatementStats:
        return StatementStats(
            fingerprint_id=fingerprint_id,
            sql=self.sql,
            count=self.count,
            total_ms=self.total_ms,
            mean_ms=self.total_ms / self.count,
            p95_ms=percentile(list(self.recent), 95),
            max_ms=self.max_ms,
            slow_count=self.slow_count,
        )


def percentile(values: list[float], rank: float) -> float:
    """The nearest-rank percentile of ``values`` (0 for no values)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[max(0, math.ceil(rank / 100 * len(ordered)) - 1)]


class QueryMonitor:
    """Times every statement of the engines it is installed on."""

    def __init__(self, *, slow_query_ms: float = 1000, emitter: Metrics | None = None) -> None:
        self.slow_query_ms = slow_query_ms
        self._metrics = emitter or default_metrics
        self._lock = threading.Lock()
        self._stats: dict[str, _Accumulator] = {}

    @classmethod
    def install(
        cls,
        engine: Engine | AsyncEngine,
        *,
        slow_query_ms: float = 1000,
        emitter: Metrics | None = None,
    ) -> QueryMonitor:
        """A new monitor listening on ``engine`` (see :meth:`attach` for more engines)."""
        monitor = cls(slow_query_ms=slow_query_ms, emitter=emitter)
        monitor.attach(engine)
        return monitor

    def attach(self, engine: Engine | AsyncEngine) -> None:
        """Also time the statements of ``engine`` (a replica's, say)."""
        target = engine.sync_engine if isinstance(engine, AsyncEngine) else engine
        event.listen(target, "before_cursor_execute", self._before)
        event.listen(target, "after_cursor_execute", self._after)
        event.listen(target, "handle_error", self._failed)

    def detach(self, engine: Engine | AsyncEngine) -> None:
        """Stop timing ``engine``."""
        target = engine.sync_engine if isinstance(engine, AsyncEngine) else engine
        event.remove(target, "before_cursor_execute", self._before)
        event.remove(target, "after_cursor_execute", self._after)
        event.remove(target, "handle_error", self._failed)

    def report(self, limit: int = 10) -> list[StatementStats]:
        """The ``limit`` statements with the highest p95, slowest first."""
        with self._lock:
            stats = [accumulator.stats(key) for key, accumulator in self._stats.items()]
        stats.sort(key=lambda item: (item.p95_ms, item.total_ms), reverse=True)
        return stats[:limit]

    def reset(self) -> None:
        """Forget everything recorded so far."""
        with self._lock:
            self._stats.clear()

    def save(self, path: Path, limit: int = 50) -> None:
        """Write :meth:`report` as JSON (what ``monitor report`` reads in another process)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps([asdict(item) for item in self.report(limit)], indent=1))

    def record(self, statement: str, elapsed_ms: float) -> None:
        """Account one execution of ``statement`` that took ``elapsed_ms``."""
        found = fingerprint(statement)
        slow = elapsed_ms >= self.slow_query_ms
        with self._lock:
            key = found.id
            if key not in self._stats and len(self._stats) >= MAX_FINGERPRINTS:
                key = OTHER
            accumulator = self._stats.get(key)
            if accumulator is None:
                accumulator = self._stats[key] = _Accumulator(found.sql if key != OTHER else OTHER)
            accumulator.add(elapsed_ms, slow)
        self._metrics.observe(Metric.QUERY_LATENCY, elapsed_ms)
        if slow:
            self._metrics.count(Metric.SLOW_QUERIES)
            logger.warning(
                "slow statement",
                extra={
                    "fingerprint": found.id,
                    "statement": found.sql,
                    "duration_ms": round(elapsed_ms, 3),
                    "threshold_ms": self.slow_query_ms,
                },
            )

    def _before(
        self,
        conn: Connection,
        cursor: Any,
        statement: str,
        parameters: Any,
        context: ExecutionContext | None,
        executemany: bool,
    ) -> None:
        if context is not None:
            setattr(context, _STARTED, time.perf_counter())

    def _after(
        self,
        conn: Connection,
        cursor: Any,
        statement: str,
        parameters: Any,  # never read: values stay out of the monitor
        context: ExecutionContext | None,
        executemany: bool,
    ) -> None:
        started = getattr(context, _STARTED, None)
        if started is not None:
            self.record(statement, (time.perf_counter() - started) * 1000)

    def _failed(self, context: ExceptionContext) -> None:
        execution = context.execution_context
        started = getattr(execution, _STARTED, None) if execution is not None else None
        if started is not None and context.statement is not None:
            self.record(context.statement, (time.perf_counter() - started) * 1000)
