"""Custom CloudWatch metrics: the one list shared by the datalayer and the infrastructure.

The datalayer emits these (CloudWatch embedded metric format) and the CDK app alarms on them
and draws them on the dashboards, so a name changes in one place only. Standard library
only and nothing from the rest of ``datalayer`` is imported: the CDK app imports this module
without pulling in SQLAlchemy or the drivers.

Every data point the datalayer emits carries exactly one dimension,
:attr:`Dimension.ENVIRONMENT` (``dev``, ``staging``, ``prod``); alarms match on exactly that
dimension set. :attr:`Metric.SLOW_STATEMENTS_LOGGED` is the exception: a CloudWatch Logs
metric filter on the PostgreSQL log produces it, without dimensions.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

NAMESPACE: Final = "RecipeApp/DataLayer"
"""CloudWatch namespace of every custom metric below."""


class Dimension(StrEnum):
    """Dimension names attached to every custom metric."""

    ENVIRONMENT = "Environment"


class Unit(StrEnum):
    """CloudWatch units used by the custom metrics."""

    COUNT = "Count"
    MILLISECONDS = "Milliseconds"
    PERCENT = "Percent"


class Metric(StrEnum):
    """Custom metric names; :data:`UNITS` gives the unit each one is emitted in."""

    CACHE_L1_HITS = "CacheL1Hits"
    """Reads answered by the in-process cache."""
    CACHE_L2_HITS = "CacheL2Hits"
    """Reads answered by Redis/Valkey after an L1 miss."""
    CACHE_MISSES = "CacheMisses"
    """Reads that missed both levels and went to the database."""
    CACHE_ERRORS = "CacheErrors"
    """Cache operations that failed (timeouts, connection errors) and fell back."""
    QUERY_LATENCY = "QueryLatency"
    """Duration of each database statement issued by the datalayer."""
    SLOW_QUERIES = "SlowQueries"
    """Statements slower than the datalayer's slow-query threshold."""
    VECTOR_SEARCH_LATENCY = "VectorSearchLatency"
    """Duration of each similarity search (its sample count is the search throughput)."""
    VECTOR_SEARCH_RECALL = "VectorSearchRecall"
    """Recall of sampled approximate searches against exact search, in percent."""
    PGBOUNCER_CLIENT_WAIT = "PgBouncerClientWait"
    """Longest time a client waited for a server connection (SHOW POOLS maxwait)."""
    SLOW_STATEMENTS_LOGGED = "SlowStatementsLogged"
    """Statements PostgreSQL logged as slow (emitted by a log metric filter, not the code)."""


UNITS: Final[dict[Metric, Unit]] = {
    Metric.CACHE_L1_HITS: Unit.COUNT,
    Metric.CACHE_L2_HITS: Unit.COUNT,
    Metric.CACHE_MISSES: Unit.COUNT,
    Metric.CACHE_ERRORS: Unit.COUNT,
    Metric.QUERY_LATENCY: Unit.MILLISECONDS,
    Metric.SLOW_QUERIES: Unit.COUNT,
    Metric.VECTOR_SEARCH_LATENCY: Unit.MILLISECONDS,
    Metric.VECTOR_SEARCH_RECALL: Unit.PERCENT,
    Metric.PGBOUNCER_CLIENT_WAIT: Unit.MILLISECONDS,
    Metric.SLOW_STATEMENTS_LOGGED: Unit.COUNT,
}
"""The unit each metric is emitted in."""
