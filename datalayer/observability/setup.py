"""Turning observability on from the settings: the metrics backend and the engine monitors."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncEngine

from datalayer.observability.emitter import Backend, Metrics, NoOpBackend
from datalayer.observability.emitter import metrics as default_metrics
from datalayer.observability.pool import PoolMonitor
from datalayer.observability.queries import QueryMonitor
from datalayer.settings import Settings


def configure_metrics(settings: Settings, emitter: Metrics | None = None) -> Backend:
    """Point the emitter at ``METRICS_BACKEND`` (serving ``/metrics`` on ``METRICS_PORT``)."""
    target = emitter or default_metrics
    backend: Backend
    if settings.metrics_backend == "prometheus":
        from datalayer.observability.prometheus import PrometheusBackend

        prometheus = PrometheusBackend()
        if settings.metrics_port:
            prometheus.serve(settings.metrics_port)
        backend = prometheus
    elif settings.metrics_backend == "emf":
        from datalayer.observability.emf import EmfBackend

        backend = EmfBackend()
    else:
        backend = NoOpBackend()
    target.configure(backend, environment=settings.metrics_environment)
    return backend


@dataclass
class Instrumentation:
    """The monitors installed on a datalayer's engines."""

    queries: QueryMonitor
    pools: list[PoolMonitor] = field(default_factory=list)


def instrument_engines(
    settings: Settings,
    write_engine: AsyncEngine,
    read_engines: Sequence[AsyncEngine] = (),
    emitter: Metrics | None = None,
) -> Instrumentation:
    """Install the query monitor and pool monitors on the primary and replica engines."""
    capacity = settings.database_pool_size + settings.database_max_overflow
    queries = QueryMonitor.install(
        write_engine, slow_query_ms=settings.database_slow_query_ms, emitter=emitter
    )
    pools = [PoolMonitor.install(write_engine, name="primary", capacity=capacity, emitter=emitter)]
    for index, engine in enumerate(read_engines):
        if engine is write_engine:
            continue
        queries.attach(engine)
        name = "replica" if len(read_engines) == 1 else f"replica-{index}"
        pools.append(PoolMonitor.install(engine, name=name, capacity=capacity, emitter=emitter))
    return Instrumentation(queries, pools)
