"""The alarm rules of seeds 001 and 003 (plus the AWS-side health alarms), per dashboard.

Thresholds come from ``alarms`` in ``cdk.json``; durations and severities are the seeds'
where they give one. Custom metrics are read with the ``Environment`` dimension the
datalayer emits (see :mod:`datalayer.metric_names`).
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch

from datalayer.metric_names import NAMESPACE, Dimension, Metric
from infra.config import EnvironmentConfig
from infra.config.catalog import DB_INSTANCE_MEMORY_GIB, GIB
from infra.constructs.monitoring.escalation import AlarmRule
from infra.constructs.monitoring.resources import MonitoredResources

GT = cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD
GTE = cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD
LT = cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD
NOT_BREACHING = cloudwatch.TreatMissingData.NOT_BREACHING
BREACHING = cloudwatch.TreatMissingData.BREACHING

GROUP_OF = {
    "DatabaseCpu": "Database resources",
    "DatabaseMemory": "Database resources",
    "DatabaseFreeStorage": "Database resources",
    "DatabaseTransactionIds": "Database resources",
    "DatabaseConnectionsHigh": "Connections",
    "DatabaseConnectionsCritical": "Connections",
    "PgBouncerClientWait": "Connections",
    "PgBouncerHealthyTasks": "Connections",
    "QueryLatencyP95": "Queries",
    "SlowStatements": "Queries",
    "CacheHitRate": "Hit rate",
    "CacheEvictions": "Memory and evictions",
    "CacheMemory": "Memory and evictions",
    "CacheEngineCpu": "Engine",
    "CacheAuthFailures": "Engine",
    "VectorSearchLatencyP95": "Latency",
    "VectorSearchRecall": "Accuracy",
}
"""Dashboard widget each rule is drawn in (see :func:`group_of`)."""


def group_of(rule_name: str) -> str:
    """The dashboard widget title a rule's metric is drawn in."""
    if rule_name.startswith("ReplicaLag"):
        return "Replication"
    return GROUP_OF.get(rule_name, "Alarms")


def custom(
    metric: Metric, statistic: str, environment: str, period: Duration | None = None
) -> cloudwatch.Metric:
    """A datalayer metric of ``environment`` (``SlowStatementsLogged`` has no dimension)."""
    dimensions = (
        {}
        if metric is Metric.SLOW_STATEMENTS_LOGGED
        else {Dimension.ENVIRONMENT.value: environment}
    )
    return cloudwatch.Metric(
        namespace=NAMESPACE,
        metric_name=metric.value,
        dimensions_map=dimensions,
        statistic=statistic,
        period=period or Duration.minutes(1),
        label=f"{metric.value} {statistic}",
    )


def _over_nodes(
    function: str, name: str, statistic: str, node_ids: Sequence[str], period_minutes: int = 1
) -> cloudwatch.Metric | cloudwatch.MathExpression:
    """An ElastiCache metric aggregated over the member nodes with ``function`` (MAX, SUM)."""
    period = Duration.minutes(period_minutes)
    metrics = {
        f"{name.lower()}{index}": cloudwatch.Metric(
            namespace="AWS/ElastiCache",
            metric_name=name,
            dimensions_map={"CacheClusterId": node_id},
            statistic=statistic,
            period=period,
        )
        for index, node_id in enumerate(node_ids)
    }
    if len(metrics) == 1:
        return next(iter(metrics.values()))
    return cloudwatch.MathExpression(
        expression=f"{function}([{', '.join(metrics)}])",
        using_metrics=dict(metrics),
        label=f"{name} ({function.lower()} over nodes)",
        period=period,
    )


def database_rules(config: EnvironmentConfig, resources: MonitoredResources) -> list[AlarmRule]:
    """CPU, memory, connections, latency, slow statements, storage, XIDs, lag, PgBouncer."""
    a = config.alarms
    primary = resources.primary
    memory_bytes = DB_INSTANCE_MEMORY_GIB[config.database.instance_class] * GIB
    memory_used = cloudwatch.MathExpression(
        expression=f"100 - 100 * free / {memory_bytes}",
        using_metrics={"free": primary.metric("FreeableMemory", statistic="Minimum")},
        label="Memory used (%)",
        period=Duration.minutes(1),
    )
    env = config.name
    result = [
        AlarmRule("DatabaseCpu", "Database CPU above threshold",
                  primary.metric_cpu_utilization(statistic="Average"),
                  a.cpu_percent, GT, 5, "high"),
        AlarmRule("DatabaseMemory", "Database memory used above threshold", memory_used,
                  a.memory_percent, GT, 5, "high"),
        AlarmRule("DatabaseConnectionsHigh", "Database connections high",
                  primary.metric_database_connections(statistic="Maximum"),
                  a.connections_high, GT, 3, "high"),
        AlarmRule("DatabaseConnectionsCritical", "Database connection pool nearly exhausted",
                  primary.metric_database_connections(statistic="Maximum"),
                  a.connections_critical, GTE, 3, "critical"),
        AlarmRule("QueryLatencyP95", "Query latency p95 above threshold (ms)",
                  custom(Metric.QUERY_LATENCY, "p95", env),
                  a.query_latency_p95_ms, GT, 2, "high", missing_data=NOT_BREACHING),
        AlarmRule("SlowStatements", "Slow statements logged per 5 minutes",
                  custom(Metric.SLOW_STATEMENTS_LOGGED, "Sum", env, Duration.minutes(5)),
                  a.slow_queries_per_5_minutes, GT, 5, "medium", period_minutes=5,
                  missing_data=NOT_BREACHING),
        AlarmRule("DatabaseFreeStorage", "Database free storage low (bytes)",
                  primary.metric_free_storage_space(statistic="Minimum"),
                  a.free_storage_gib * GIB, LT, 5, "critical"),
        AlarmRule("DatabaseTransactionIds", "Transaction ID wraparound approaching",
                  primary.metric("MaximumUsedTransactionIDs", statistic="Maximum",
                                 period=Duration.minutes(5)),
                  a.max_used_transaction_ids, GT, 5, "critical", period_minutes=5),
        AlarmRule("PgBouncerClientWait", "PgBouncer clients waiting for a server connection (ms)",
                  custom(Metric.PGBOUNCER_CLIENT_WAIT, "Maximum", env),
                  a.pgbouncer_client_wait_ms, GT, 5, "high", missing_data=NOT_BREACHING),
        AlarmRule("PgBouncerHealthyTasks", "No healthy PgBouncer task behind the load balancer",
                  resources.target_group.metrics.healthy_host_count(statistic="Minimum"),
                  1, LT, 2, "critical", missing_data=BREACHING),
    ]  # fmt: skip
    for index, replica in enumerate(resources.replicas, start=1):
        result.append(
            AlarmRule(
                f"ReplicaLag{index}",
                f"Read replica {index} lag (seconds)",
                replica.metric("ReplicaLag", statistic="Maximum"),
                a.replica_lag_seconds,
                GT,
                5,
                "high",
            )
        )
    return result


def cache_rules(config: EnvironmentConfig, node_ids: Sequence[str]) -> list[AlarmRule]:
    """Hit rate (datalayer L1+L2), evictions, memory, engine CPU, authentication failures."""
    a = config.alarms
    env = config.name
    hit_rate = cloudwatch.MathExpression(
        expression=(
            "100 * (FILL(l1, 0) + FILL(l2, 0)) / (FILL(l1, 0) + FILL(l2, 0) + FILL(miss, 0))"
        ),
        using_metrics={
            "l1": custom(Metric.CACHE_L1_HITS, "Sum", env),
            "l2": custom(Metric.CACHE_L2_HITS, "Sum", env),
            "miss": custom(Metric.CACHE_MISSES, "Sum", env),
        },
        label="Cache hit rate (%)",
        period=Duration.minutes(1),
    )
    return [
        AlarmRule("CacheHitRate", "Overall cache hit rate below target (%)", hit_rate,
                  a.cache_hit_rate_percent, LT, 10, "medium", missing_data=NOT_BREACHING),
        AlarmRule("CacheEvictions", "Cache evictions per 5 minutes",
                  _over_nodes("SUM", "Evictions", "Sum", node_ids, 5),
                  a.cache_evictions_per_5_minutes, GT, 5, "medium", period_minutes=5),
        AlarmRule("CacheMemory", "Cache memory used above threshold (%)",
                  _over_nodes("MAX", "DatabaseMemoryUsagePercentage", "Maximum", node_ids),
                  a.cache_memory_percent, GT, 5, "high"),
        AlarmRule("CacheEngineCpu", "Cache engine CPU above threshold (%)",
                  _over_nodes("MAX", "EngineCPUUtilization", "Maximum", node_ids),
                  a.cache_engine_cpu_percent, GT, 5, "high"),
        AlarmRule("CacheAuthFailures", "Cache AUTH failures per 5 minutes",
                  _over_nodes("SUM", "AuthenticationFailures", "Sum", node_ids, 5),
                  a.cache_auth_failures_per_5_minutes, GT, 5, "high", period_minutes=5,
                  missing_data=NOT_BREACHING),
    ]  # fmt: skip


def vector_rules(config: EnvironmentConfig) -> list[AlarmRule]:
    """Vector search latency p95 and recall (seed 003: 3 s for 5 min; recall 90 % for 10)."""
    a = config.alarms
    env = config.name
    return [
        AlarmRule("VectorSearchLatencyP95", "Vector search latency p95 above threshold (ms)",
                  custom(Metric.VECTOR_SEARCH_LATENCY, "p95", env),
                  a.vector_search_p95_ms, GT, 5, "high", missing_data=NOT_BREACHING),
        AlarmRule("VectorSearchRecall", "Vector search recall below target (%)",
                  custom(Metric.VECTOR_SEARCH_RECALL, "Average", env, Duration.minutes(5)),
                  a.vector_search_recall_percent, LT, 10, "medium", period_minutes=5,
                  missing_data=NOT_BREACHING),
    ]  # fmt: skip
