"""Custom CloudWatch metrics: the one list shared by the datalayer and the infrastructure.

The datalayer emits these (CloudWatch embedded metric format) and the CDK app alarms on them
and draws them on the dashboards, so a name changes in one place only. Standard library
only and nothing from the rest of ``datalayer`` is imported: the CDK app imports this module
without pulling in SQLAlchemy or the drivers.

Every data point the datalayer emits carries :attr:`Dimension.ENVIRONMENT` (``dev``,
``staging``, ``prod``); alarms match on exactly that dimension set. A metric listed in
:data:`BREAKDOWNS` is also published under a second dimension set, ``Environment`` plus its
breakdown dimension (a cache data type, a job, a pool), for dashboards and diagnosis; the
alarms' ``Environment``-only series stays whole. :attr:`Metric.SLOW_STATEMENTS_LOGGED` is the
exception: a CloudWatch Logs metric filter on the PostgreSQL log produces it, without
dimensions.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

NAMESPACE: Final = "RecipeApp/DataLayer"
"""CloudWatch namespace of every custom metric below."""


class Dimension(StrEnum):
    """Dimension names attached to every custom metric."""

    ENVIRONMENT = "Environment"
    DATA_TYPE = "DataType"
    """Cache data type (``user_profile``, ``recipe_details`` ...)."""
    POOL = "Pool"
    """Connection pool of the datalayer (``primary``, ``replica``)."""
    PGBOUNCER_DATABASE = "PgBouncerDatabase"
    """Logical database of a PgBouncer pool."""
    JOB = "Job"
    """Scheduled or on-demand job (:class:`Job`)."""
    TASK = "Task"
    """Maintenance task (``system_log_partitions``, ``expired_sessions`` ...)."""
    CONSENT_PURPOSE = "ConsentPurpose"
    """Purpose of a consent (``personalization``, ``analytics``, ``marketing``)."""


class Job(StrEnum):
    """Jobs whose results are published as :attr:`Metric.JOB_SUCCEEDED` / ``JOB_FAILED``."""

    GDPR_EXPORT = "gdpr-export"
    GDPR_ERASURE = "gdpr-erasure"
    MAINTENANCE = "maintenance"
    BACKUP_VALIDATION = "backup-validation"
    MIGRATE = "migrate"


class Unit(StrEnum):
    """CloudWatch units used by the custom metrics."""

    COUNT = "Count"
    MILLISECONDS = "Milliseconds"
    PERCENT = "Percent"
    SECONDS = "Seconds"


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
    POOL_CONNECTIONS_IN_USE = "PoolConnectionsInUse"
    """Connections of a datalayer pool checked out by the application."""
    POOL_CONNECTIONS_IDLE = "PoolConnectionsIdle"
    """Connections of a datalayer pool open and waiting in the pool."""
    POOL_USAGE = "PoolUsage"
    """Connections in use as a share of the pool's capacity (size + overflow), in percent."""
    PGBOUNCER_WAITING_CLIENTS = "PgBouncerWaitingClients"
    """Clients waiting for a server connection (SHOW POOLS cl_waiting)."""
    PGBOUNCER_ACTIVE_SERVER_CONNECTIONS = "PgBouncerActiveServerConnections"
    """Server connections linked to a client (SHOW POOLS sv_active)."""
    PGBOUNCER_IDLE_SERVER_CONNECTIONS = "PgBouncerIdleServerConnections"
    """Server connections free for a client (SHOW POOLS sv_idle + sv_used)."""
    PGBOUNCER_AVERAGE_WAIT = "PgBouncerAverageWait"
    """Average time clients waited for a server (SHOW STATS avg_wait_time)."""
    JOB_SUCCEEDED = "JobSucceeded"
    """Runs of a job (:class:`Job`) that completed."""
    JOB_FAILED = "JobFailed"
    """Runs of a job (:class:`Job`) that failed."""
    JOB_DURATION = "JobDuration"
    """Duration of each run of a job."""
    RESTORE_CHECKS_FAILED = "RestoreChecksFailed"
    """Validation checks that failed on a restored copy (0 on a clean drill, always emitted)."""
    MAINTENANCE_ITEMS = "MaintenanceItems"
    """Things a maintenance task changed (partitions, rows deleted, indexes rebuilt ...)."""
    GDPR_EXPORTS_REQUESTED = "GdprExportsRequested"
    """Data exports requested in the month of the latest compliance report."""
    GDPR_EXPORTS_COMPLETED = "GdprExportsCompleted"
    """Data exports completed in the month of the latest compliance report."""
    GDPR_EXPORTS_FAILED = "GdprExportsFailed"
    """Data exports that failed in the month of the latest compliance report."""
    GDPR_DELETIONS_REQUESTED = "GdprDeletionsRequested"
    """Account deletions requested in the month of the latest compliance report."""
    GDPR_DELETIONS_COMPLETED = "GdprDeletionsCompleted"
    """Erasures completed and verified in the month of the latest compliance report."""
    CONSENT_WITHDRAWAL_RATE = "ConsentWithdrawalRate"
    """Share of consenting people who withdrew in the report's month, in percent."""
    AUDIT_CHAIN_INTACT = "AuditChainIntact"
    """1 when the audit hash chain verified intact at the compliance report, else 0."""
    RESTORE_DRILL_RTO = "RestoreDrillRto"
    """Achieved recovery time of a restore drill: restore job duration plus validation."""
    RESTORE_DRILL_RPO = "RestoreDrillRpo"
    """Achieved recovery point of a restore drill: age of the recovery point at restore."""
    RESTORE_DRILL_AGE = "RestoreDrillAge"
    """Time since the last restore drill that passed (published daily; alarmed when old)."""


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
    Metric.POOL_CONNECTIONS_IN_USE: Unit.COUNT,
    Metric.POOL_CONNECTIONS_IDLE: Unit.COUNT,
    Metric.POOL_USAGE: Unit.PERCENT,
    Metric.PGBOUNCER_WAITING_CLIENTS: Unit.COUNT,
    Metric.PGBOUNCER_ACTIVE_SERVER_CONNECTIONS: Unit.COUNT,
    Metric.PGBOUNCER_IDLE_SERVER_CONNECTIONS: Unit.COUNT,
    Metric.PGBOUNCER_AVERAGE_WAIT: Unit.MILLISECONDS,
    Metric.JOB_SUCCEEDED: Unit.COUNT,
    Metric.JOB_FAILED: Unit.COUNT,
    Metric.JOB_DURATION: Unit.MILLISECONDS,
    Metric.RESTORE_CHECKS_FAILED: Unit.COUNT,
    Metric.MAINTENANCE_ITEMS: Unit.COUNT,
    Metric.GDPR_EXPORTS_REQUESTED: Unit.COUNT,
    Metric.GDPR_EXPORTS_COMPLETED: Unit.COUNT,
    Metric.GDPR_EXPORTS_FAILED: Unit.COUNT,
    Metric.GDPR_DELETIONS_REQUESTED: Unit.COUNT,
    Metric.GDPR_DELETIONS_COMPLETED: Unit.COUNT,
    Metric.CONSENT_WITHDRAWAL_RATE: Unit.PERCENT,
    Metric.AUDIT_CHAIN_INTACT: Unit.COUNT,
    Metric.RESTORE_DRILL_RTO: Unit.SECONDS,
    Metric.RESTORE_DRILL_RPO: Unit.SECONDS,
    Metric.RESTORE_DRILL_AGE: Unit.SECONDS,
}
"""The unit each metric is emitted in."""

_CACHE = (Metric.CACHE_L1_HITS, Metric.CACHE_L2_HITS, Metric.CACHE_MISSES, Metric.CACHE_ERRORS)
_POOL = (Metric.POOL_CONNECTIONS_IN_USE, Metric.POOL_CONNECTIONS_IDLE, Metric.POOL_USAGE)
_PGBOUNCER = (
    Metric.PGBOUNCER_CLIENT_WAIT,
    Metric.PGBOUNCER_WAITING_CLIENTS,
    Metric.PGBOUNCER_ACTIVE_SERVER_CONNECTIONS,
    Metric.PGBOUNCER_IDLE_SERVER_CONNECTIONS,
    Metric.PGBOUNCER_AVERAGE_WAIT,
)
_JOBS = (Metric.JOB_SUCCEEDED, Metric.JOB_FAILED, Metric.JOB_DURATION)

BREAKDOWNS: Final[dict[Metric, Dimension]] = {
    **dict.fromkeys(_CACHE, Dimension.DATA_TYPE),
    **dict.fromkeys(_POOL, Dimension.POOL),
    **dict.fromkeys(_PGBOUNCER, Dimension.PGBOUNCER_DATABASE),
    **dict.fromkeys(_JOBS, Dimension.JOB),
    Metric.MAINTENANCE_ITEMS: Dimension.TASK,
    Metric.CONSENT_WITHDRAWAL_RATE: Dimension.CONSENT_PURPOSE,
}
"""The breakdown dimension a metric may carry besides ``Environment`` (at most one)."""
