"""Alarms and the three dashboards of seed 003, built with cdk-monitoring-constructs.

Each dashboard is one ``MonitoringFacade``: *database overview* (RDS primary and replicas,
query latency, slow statements, PgBouncer), *cache performance* (hit rate from the
datalayer's L1/L2 counters, evictions, memory, engine CPU, authentication failures) and
*vector search analytics* (latency distribution, recall, throughput, replica I/O). The custom
metrics come from :mod:`datalayer.metric_names`; every alarm notifies an SNS topic.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sns as sns
from cdk_monitoring_constructs import (
    AlarmFactoryDefaults,
    CustomMetricGroup,
    CustomMetricWithAlarm,
    DefaultDashboardFactory,
    ElastiCacheClusterType,
    MetricFactoryDefaults,
    MonitoringFacade,
    SnsAlarmActionStrategy,
)
from constructs import Construct

from datalayer.metric_names import Metric
from infra.config import EnvironmentConfig, Severity
from infra.constructs.monitoring import rules
from infra.constructs.monitoring.escalation import AlarmRule, thresholds
from infra.constructs.monitoring.resources import MonitoredResources

DASHBOARDS = ("database-overview", "cache-performance", "vector-search-analytics")


class Monitoring(Construct):
    """Alarm rules, the three dashboards and the backup-failure notification."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        resources: MonitoredResources,
        topics: dict[Severity, sns.ITopic],
    ) -> None:
        super().__init__(scope, construct_id)
        self._config = config
        self._topics = topics
        self.rules: dict[str, list[AlarmRule]] = {
            "database-overview": rules.database_rules(config, resources),
            "cache-performance": rules.cache_rules(config, resources.cache_node_ids),
            "vector-search-analytics": rules.vector_rules(config),
        }
        self.facades: dict[str, MonitoringFacade] = {}
        for dashboard in DASHBOARDS:
            facade = self._facade(dashboard)
            self.facades[dashboard] = facade
            self._add_rules(facade, dashboard, self.rules[dashboard])
        self._database_widgets(resources)
        self._cache_widgets(resources.cache_node_ids)
        self._vector_widgets(resources)
        self.backup_failures = self._backup_failure_rule(topics["critical"])
        self.backup_delivery_failures = self._delivery_alarm(
            self.backup_failures, topics["critical"]
        )

    def _delivery_alarm(self, rule: events.Rule, topic: sns.ITopic) -> cloudwatch.Alarm:
        """Pages when EventBridge cannot deliver a backup failure (e.g. a KMS denial)."""
        alarm = cloudwatch.Alarm(
            self,
            "BackupNotificationUndelivered",
            alarm_name=f"{self._config.prefix}-backup-notification-undelivered",
            alarm_description="[critical] EventBridge failed to deliver a backup failure event",
            metric=cloudwatch.Metric(
                namespace="AWS/Events",
                metric_name="FailedInvocations",
                dimensions_map={"RuleName": rule.rule_name},
                statistic="Sum",
                period=Duration.minutes(5),
            ),
            threshold=0,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            evaluation_periods=1,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        alarm.add_alarm_action(cloudwatch_actions.SnsAction(topic))
        return alarm

    def _backup_failure_rule(self, topic: sns.ITopic) -> events.Rule:
        """Failed, aborted or expired AWS Backup jobs go straight to the critical topic.

        The target is written at the L1 level: the L2 SNS target would also add an
        unconditioned EventBridge statement to the alerting key's policy, whereas the key
        already lets EventBridge encrypt for this environment's alert topics only.
        """
        rule = events.Rule(
            self,
            "BackupJobFailed",
            rule_name=f"{self._config.prefix}-backup-job-failed",
            description="AWS Backup job failed, aborted or expired: page immediately",
            event_pattern=events.EventPattern(
                source=["aws.backup"],
                detail_type=["Backup Job State Change"],
                detail={"state": ["FAILED", "ABORTED", "EXPIRED"]},
            ),
        )
        cfn_rule = rule.node.default_child
        assert isinstance(cfn_rule, events.CfnRule)
        cfn_rule.targets = [events.CfnRule.TargetProperty(id="CriticalAlerts", arn=topic.topic_arn)]
        topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="BackupFailureRulePublishes",
                principals=[iam.ServicePrincipal("events.amazonaws.com")],
                actions=["sns:Publish"],
                resources=[topic.topic_arn],
                conditions={"ArnEquals": {"aws:SourceArn": rule.rule_arn}},
            )
        )
        return rule

    def _facade(self, dashboard: str) -> MonitoringFacade:
        prefix = self._config.prefix
        name = "".join(part.capitalize() for part in dashboard.split("-"))
        return MonitoringFacade(
            self,
            name,
            alarm_factory_defaults=AlarmFactoryDefaults(
                alarm_name_prefix=prefix,
                actions_enabled=True,
                action=SnsAlarmActionStrategy(on_alarm_topic=self._topics["medium"]),
            ),
            metric_factory_defaults=MetricFactoryDefaults(period=Duration.minutes(1)),
            dashboard_factory=DefaultDashboardFactory(
                self,
                f"{name}Dashboards",
                dashboard_name_prefix=f"{prefix}-{dashboard}",
                create_dashboard=True,
                create_summary_dashboard=False,
                create_alarm_dashboard=False,
            ),
        )

    def _add_rules(
        self, facade: MonitoringFacade, dashboard: str, alarm_rules: list[AlarmRule]
    ) -> None:
        ladder = self._config.alerting.escalation
        groups: dict[str, list[CustomMetricWithAlarm]] = {}
        for rule in alarm_rules:
            group = rules.group_of(rule.name)
            groups.setdefault(group, []).append(
                CustomMetricWithAlarm(
                    metric=rule.metric,
                    alarm_friendly_name=rule.name,
                    add_alarm=thresholds(rule, ladder, self._topics),
                )
            )
        facade.monitor_custom(
            alarm_friendly_name=dashboard,
            human_readable_name=f"{self._config.prefix} {dashboard.replace('-', ' ')}: alarms",
            metric_groups=[
                CustomMetricGroup(title=title, metrics=list(metrics))
                for title, metrics in groups.items()
            ],
        )

    def _database_widgets(self, resources: MonitoredResources) -> None:
        facade = self.facades["database-overview"]
        for index, instance in enumerate([resources.primary, *resources.replicas]):
            role = "primary" if index == 0 else f"replica-{index}"
            facade.monitor_rds_instance(
                instance=instance,
                alarm_friendly_name=f"rds-{role}",
                human_readable_name=f"RDS {role}: CPU, connections, latency, IOPS",
            )

    def _cache_widgets(self, node_ids: Sequence[str]) -> None:
        facade = self.facades["cache-performance"]
        for node_id in node_ids:
            facade.monitor_elasti_cache_cluster(
                cluster_id=node_id,
                cluster_type=ElastiCacheClusterType.REDIS,
                alarm_friendly_name=f"cache-{node_id}",
                human_readable_name=f"Cache node {node_id}",
            )
        env = self._config.name
        facade.monitor_custom(
            alarm_friendly_name="cache-levels",
            human_readable_name="Datalayer cache: hits per level, misses, errors",
            metric_groups=[
                CustomMetricGroup(
                    title="Hits and misses per minute",
                    metrics=[
                        rules.custom(metric, "Sum", env)
                        for metric in (
                            Metric.CACHE_L1_HITS,
                            Metric.CACHE_L2_HITS,
                            Metric.CACHE_MISSES,
                        )
                    ],
                ),
                CustomMetricGroup(
                    title="Cache errors (fallbacks to the database)",
                    metrics=[rules.custom(Metric.CACHE_ERRORS, "Sum", env)],
                ),
            ],
        )

    def _vector_widgets(self, resources: MonitoredResources) -> None:
        facade = self.facades["vector-search-analytics"]
        env = self._config.name
        latency = [
            rules.custom(Metric.VECTOR_SEARCH_LATENCY, stat, env) for stat in ("p50", "p90", "p99")
        ]
        throughput = rules.custom(Metric.VECTOR_SEARCH_LATENCY, "SampleCount", env)
        read_instance = resources.replicas[0] if resources.replicas else resources.primary
        facade.monitor_custom(
            alarm_friendly_name="vector-search",
            human_readable_name="Vector search: latency distribution, throughput, index I/O",
            metric_groups=[
                CustomMetricGroup(title="Search latency distribution (ms)", metrics=latency),
                CustomMetricGroup(title="Searches per minute", metrics=[throughput]),
                CustomMetricGroup(
                    title="Index performance (read instance I/O)",
                    metrics=[
                        read_instance.metric("ReadIOPS", statistic="Average"),
                        read_instance.metric("ReadLatency", statistic="Average"),
                        read_instance.metric("ReadThroughput", statistic="Average"),
                    ],
                ),
            ],
        )
