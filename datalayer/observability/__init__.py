"""Observability of the datalayer: metrics under the shared names, query and pool monitors,
PgBouncer pool figures and scrubbed JSON logs.

Typical wiring (the composition root)::

    configure_logging(settings.log_level)
    configure_metrics(settings)                      # METRICS_BACKEND: none|prometheus|emf
    instrumentation = instrument_engines(settings, db.write_engine, db.replica_engines)
    metrics.count(Metric.CACHE_L1_HITS, data_type="user_profile")
    ...
    metrics.flush()                                  # end of a Lambda invocation

The Prometheus and EMF backends are imported lazily, so a container without Powertools and
a Lambda without prometheus-client both work.
"""

from datalayer.metric_names import Job, Metric
from datalayer.observability.emitter import (
    KINDS,
    Backend,
    Kind,
    Metrics,
    NoOpBackend,
    Point,
    metrics,
)
from datalayer.observability.fingerprint import Fingerprint, fingerprint, normalize
from datalayer.observability.jobs import job_run
from datalayer.observability.logs import JsonFormatter, configure_logging, scrub
from datalayer.observability.pgbouncer import PgBouncerPool, collect, publish, summarize
from datalayer.observability.pool import PoolMonitor, PoolUsage
from datalayer.observability.queries import QueryMonitor, StatementStats
from datalayer.observability.setup import Instrumentation, configure_metrics, instrument_engines
from datalayer.observability.statements import ServerReport, ServerStatement, slowest_on_server

__all__ = [
    "KINDS",
    "Backend",
    "Fingerprint",
    "Instrumentation",
    "Job",
    "JsonFormatter",
    "Kind",
    "Metric",
    "Metrics",
    "NoOpBackend",
    "PgBouncerPool",
    "Point",
    "PoolMonitor",
    "PoolUsage",
    "QueryMonitor",
    "ServerReport",
    "ServerStatement",
    "StatementStats",
    "collect",
    "configure_logging",
    "configure_metrics",
    "fingerprint",
    "instrument_engines",
    "job_run",
    "metrics",
    "normalize",
    "publish",
    "scrub",
    "slowest_on_server",
    "summarize",
]
