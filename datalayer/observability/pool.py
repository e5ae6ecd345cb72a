"""Connection pool usage of the datalayer's own engines (SQLAlchemy QueuePool figures).

:meth:`PoolMonitor.install` samples the pool on every checkout and checkin, so gauges follow
the pool as it moves; :meth:`PoolMonitor.sample` can also be called on a schedule or at the
end of a Lambda invocation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import QueuePool

from datalayer.errors import ConfigurationError
from datalayer.metric_names import Metric
from datalayer.observability.emitter import Metrics
from datalayer.observability.emitter import metrics as default_metrics


@dataclass(frozen=True)
class PoolUsage:
    """One sample of a pool: connections in use, idle, and use of its capacity in percent."""

    in_use: int
    idle: int
    capacity: int

    @property
    def percent(self) -> float:
        """Connections in use as a share of ``capacity``."""
        return 100.0 * self.in_use / self.capacity


class PoolMonitor:
    """Publishes ``PoolConnectionsInUse``, ``PoolConnectionsIdle`` and ``PoolUsage``."""

    def __init__(
        self, pool: QueuePool, *, name: str, capacity: int, emitter: Metrics | None = None
    ) -> None:
        if capacity <= 0:
            raise ConfigurationError("a pool's capacity (size + max overflow) must be positive")
        self.pool = pool
        self.name = name
        self.capacity = capacity
        self._metrics = emitter or default_metrics

    @classmethod
    def install(
        cls,
        engine: Engine | AsyncEngine,
        *,
        name: str,
        capacity: int,
        emitter: Metrics | None = None,
    ) -> PoolMonitor:
        """Sample ``engine``'s pool on each checkout/checkin.

        ``capacity`` is ``DATABASE_POOL_SIZE + DATABASE_MAX_OVERFLOW`` (the pool does not
        expose its overflow limit); ``name`` is the ``Pool`` dimension (``primary``, ``replica``).
        """
        target = engine.sync_engine if isinstance(engine, AsyncEngine) else engine
        if not isinstance(target.pool, QueuePool):
            raise ConfigurationError("pool metrics need a QueuePool engine")
        monitor = cls(target.pool, name=name, capacity=capacity, emitter=emitter)
        event.listen(target.pool, "checkout", monitor._on_change)
        event.listen(target.pool, "checkin", monitor._on_change)
        return monitor

    def usage(self) -> PoolUsage:
        """The pool's figures now."""
        return PoolUsage(self.pool.checkedout(), self.pool.checkedin(), self.capacity)

    def sample(self) -> PoolUsage:
        """Read the pool and publish its figures."""
        usage = self.usage()
        self._metrics.gauge(Metric.POOL_CONNECTIONS_IN_USE, usage.in_use, pool=self.name)
        self._metrics.gauge(Metric.POOL_CONNECTIONS_IDLE, usage.idle, pool=self.name)
        self._metrics.gauge(Metric.POOL_USAGE, usage.percent, pool=self.name)
        return usage

    def _on_change(self, *_: Any) -> None:
        self.sample()
