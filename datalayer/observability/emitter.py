"""The metrics emitter the datalayer calls: one API, the names of :mod:`datalayer.metric_names`.

``metrics.count(Metric.CACHE_L1_HITS, data_type="user_profile")`` records a data point; the
configured backend decides where it goes: Prometheus in containers
(:class:`~datalayer.observability.prometheus.PrometheusBackend`), CloudWatch embedded metric
format in Lambdas (:class:`~datalayer.observability.emf.EmfBackend`), nowhere by default.
Every point carries the ``Environment`` dimension; a metric with a breakdown
(:data:`~datalayer.metric_names.BREAKDOWNS`) may carry that one dimension too, given as a
snake_case keyword (``data_type=``, ``pool=``, ``pgbouncer_database=``, ``job=``).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from typing import Final, Protocol

from datalayer.errors import InvalidInputError
from datalayer.metric_names import BREAKDOWNS, Dimension, Metric


class Kind(StrEnum):
    """How a metric aggregates: summed counts, distributions of samples, last-value gauges."""

    COUNTER = "counter"
    DISTRIBUTION = "distribution"
    GAUGE = "gauge"


KINDS: Final[dict[Metric, Kind]] = {
    Metric.CACHE_L1_HITS: Kind.COUNTER,
    Metric.CACHE_L2_HITS: Kind.COUNTER,
    Metric.CACHE_MISSES: Kind.COUNTER,
    Metric.CACHE_ERRORS: Kind.COUNTER,
    Metric.QUERY_LATENCY: Kind.DISTRIBUTION,
    Metric.SLOW_QUERIES: Kind.COUNTER,
    Metric.VECTOR_SEARCH_LATENCY: Kind.DISTRIBUTION,
    Metric.VECTOR_SEARCH_RECALL: Kind.DISTRIBUTION,
    Metric.PGBOUNCER_CLIENT_WAIT: Kind.GAUGE,
    Metric.POOL_CONNECTIONS_IN_USE: Kind.GAUGE,
    Metric.POOL_CONNECTIONS_IDLE: Kind.GAUGE,
    Metric.POOL_USAGE: Kind.GAUGE,
    Metric.PGBOUNCER_WAITING_CLIENTS: Kind.GAUGE,
    Metric.PGBOUNCER_ACTIVE_SERVER_CONNECTIONS: Kind.GAUGE,
    Metric.PGBOUNCER_IDLE_SERVER_CONNECTIONS: Kind.GAUGE,
    Metric.PGBOUNCER_AVERAGE_WAIT: Kind.GAUGE,
    Metric.JOB_SUCCEEDED: Kind.COUNTER,
    Metric.JOB_FAILED: Kind.COUNTER,
    Metric.JOB_DURATION: Kind.DISTRIBUTION,
    Metric.RESTORE_CHECKS_FAILED: Kind.COUNTER,
    Metric.MAINTENANCE_ITEMS: Kind.COUNTER,
    Metric.GDPR_EXPORTS_REQUESTED: Kind.GAUGE,
    Metric.GDPR_EXPORTS_COMPLETED: Kind.GAUGE,
    Metric.GDPR_EXPORTS_FAILED: Kind.GAUGE,
    Metric.GDPR_DELETIONS_REQUESTED: Kind.GAUGE,
    Metric.GDPR_DELETIONS_COMPLETED: Kind.GAUGE,
    Metric.CONSENT_WITHDRAWAL_RATE: Kind.GAUGE,
    Metric.AUDIT_CHAIN_INTACT: Kind.GAUGE,
    Metric.RESTORE_DRILL_RTO: Kind.GAUGE,
    Metric.RESTORE_DRILL_RPO: Kind.GAUGE,
    Metric.RESTORE_DRILL_AGE: Kind.GAUGE,
}
"""How each metric the code emits aggregates. ``SlowStatementsLogged`` is absent: a log
metric filter on the PostgreSQL log produces it, never the datalayer."""

_KEYWORDS: Final = {dimension.name.lower(): dimension for dimension in Dimension}


@dataclass(frozen=True)
class Point:
    """One data point as the backends receive it."""

    metric: Metric
    kind: Kind
    value: float
    environment: str
    breakdown: tuple[Dimension, str] | None = None


class Backend(Protocol):
    """Where data points go (no-op, Prometheus or CloudWatch EMF)."""

    def record(self, point: Point) -> None:
        """Take one data point."""

    def flush(self) -> None:
        """Publish what is buffered (a no-op for backends that do not buffer)."""


class NoOpBackend:
    """Drops every point: the default when no backend is configured."""

    def record(self, point: Point) -> None:
        """Drop the point."""

    def flush(self) -> None:
        """Nothing is buffered."""


class Metrics:
    """The emitter: validates a point against the shared names, then hands it to the backend."""

    def __init__(self, backend: Backend | None = None, *, environment: str = "dev") -> None:
        self._backend: Backend = backend or NoOpBackend()
        self._environment = environment
        self._lock = threading.Lock()
        self._before_flush: list[Callable[[], None]] = []

    @property
    def backend(self) -> Backend:
        """The backend points currently go to."""
        return self._backend

    @property
    def environment(self) -> str:
        """The value of the ``Environment`` dimension."""
        return self._environment

    def configure(self, backend: Backend, *, environment: str) -> None:
        """Send later points to ``backend``, tagged with ``environment`` (flushes the old one,
        after the :meth:`before_flush` producers recorded their points on it)."""
        for producer in list(self._before_flush):
            producer()
        with self._lock:
            previous, self._backend, self._environment = self._backend, backend, environment
        previous.flush()

    @contextmanager
    def use(self, backend: Backend, *, environment: str) -> Iterator[Backend]:
        """Route points to ``backend`` inside the block, then restore the previous backend."""
        previous, previous_environment = self._backend, self._environment
        self.configure(backend, environment=environment)
        try:
            yield backend
        finally:
            self.configure(previous, environment=previous_environment)

    def count(self, metric: Metric, value: float = 1, **breakdown: str) -> None:
        """Add ``value`` to a counter metric (cache hits, slow queries, job results)."""
        self._record(metric, Kind.COUNTER, value, breakdown)

    def observe(self, metric: Metric, value: float, **breakdown: str) -> None:
        """Record one sample of a distribution (latency in ms, recall in percent)."""
        self._record(metric, Kind.DISTRIBUTION, value, breakdown)

    def gauge(self, metric: Metric, value: float, **breakdown: str) -> None:
        """Set the current value of a gauge (pool and PgBouncer connection figures)."""
        self._record(metric, Kind.GAUGE, value, breakdown)

    def flush(self) -> None:
        """Publish buffered points (call at the end of a Lambda invocation).

        Producers registered with :meth:`before_flush` record their points first.
        """
        for producer in list(self._before_flush):
            producer()
        self._backend.flush()

    def before_flush(self, producer: Callable[[], None]) -> None:
        """Call ``producer`` at the start of every :meth:`flush`: for counts aggregated in
        memory (the cache's hits) that are recorded in bulk rather than one call each."""
        self._before_flush.append(producer)

    def remove_before_flush(self, producer: Callable[[], None]) -> None:
        """Stop calling ``producer`` (no-op when it is not registered)."""
        if producer in self._before_flush:
            self._before_flush.remove(producer)

    def _record(self, metric: Metric, kind: Kind, value: float, breakdown: dict[str, str]) -> None:
        expected = KINDS.get(metric)
        if expected is None:
            raise InvalidInputError(f"{metric} is not emitted by the datalayer", field="metric")
        if expected is not kind:
            raise InvalidInputError(f"{metric} is a {expected} metric", field="metric")
        if isinstance(value, bool) or not math.isfinite(value):
            raise InvalidInputError(f"{metric} takes a finite number", field="value")
        self._backend.record(
            Point(metric, kind, float(value), self._environment, _breakdown(metric, breakdown))
        )


def _breakdown(metric: Metric, given: dict[str, str]) -> tuple[Dimension, str] | None:
    if not given:
        return None
    allowed = BREAKDOWNS.get(metric)
    if len(given) > 1 or allowed is None:
        raise InvalidInputError(f"{metric} takes at most the {allowed} dimension", field="dims")
    ((keyword, value),) = given.items()
    if _KEYWORDS.get(keyword) is not allowed:
        raise InvalidInputError(f"{metric} is broken down by {allowed} only", field=keyword)
    value = str(value)
    if not value.strip() or len(value) > 250:
        raise InvalidInputError("a dimension value has 1 to 250 characters", field=keyword)
    return allowed, value


metrics: Final = Metrics()
"""The process-wide emitter (no-op until :func:`configure_metrics` runs)."""
