"""Stateless: alert topics, alarms and dashboards."""

from __future__ import annotations

from typing import Any

from aws_cdk import Stack
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_rds as rds
from aws_cdk import aws_sns as sns
from constructs import Construct

from infra.config import EnvironmentConfig, Severity
from infra.constructs.alerting import Alerting
from infra.constructs.cache import node_ids
from infra.constructs.database.instances import replica_identifier
from infra.constructs.handoff import Keys, read
from infra.constructs.keys import DataKeys
from infra.constructs.monitoring.backup_alarms import BackupAlarms
from infra.constructs.monitoring.dashboards import Monitoring
from infra.constructs.monitoring.gdpr_queues import GdprQueueAlarms
from infra.constructs.monitoring.resources import MonitoredResources


class MonitoringStack(Stack):
    """SNS topics per severity plus the alarms and dashboards of seeds 001 and 003."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        keys: DataKeys,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        prefix = config.prefix
        self.alerting = Alerting(self, "Alerting", config=config, key=keys.alerting)
        topics: dict[Severity, sns.ITopic] = dict(self.alerting.topics)
        load_balancer_arn = read(self, prefix, Keys.PGBOUNCER_LB)
        self.monitoring = Monitoring(
            self,
            "Monitoring",
            config=config,
            topics=topics,
            resources=MonitoredResources(
                primary=self._instance("Primary", f"{prefix}-primary"),
                replicas=[
                    self._instance(f"Replica{index}", replica_identifier(prefix, index))
                    for index in range(1, config.database.replicas + 1)
                ],
                cache_node_ids=node_ids(prefix, config.cache.replicas),
                load_balancer=elbv2.NetworkLoadBalancer.from_network_load_balancer_attributes(
                    self, "PgBouncerLb", load_balancer_arn=load_balancer_arn
                ),
                target_group=elbv2.NetworkTargetGroup.from_target_group_attributes(
                    self,
                    "PgBouncerTargets",
                    target_group_arn=read(self, prefix, Keys.PGBOUNCER_TARGETS),
                    load_balancer_arns=load_balancer_arn,
                ),
            ),
        )

        self.gdpr_queues = GdprQueueAlarms(self, "GdprQueues", prefix=prefix, topics=topics)
        self.backup_alarms = BackupAlarms(
            self, "BackupAlarms", prefix=prefix, environment_name=config.name, topics=topics,
            max_drill_age_days=config.restore_drill.max_age_days,
        )  # fmt: skip

    def _instance(self, construct_id: str, identifier: str) -> rds.IDatabaseInstance:
        # Metrics and dashboards only use the identifier; the endpoint is never rendered.
        return rds.DatabaseInstance.from_database_instance_attributes(
            self,
            construct_id,
            instance_identifier=identifier,
            instance_endpoint_address=f"{identifier}.unused.invalid",
            port=5432,
            security_groups=[],
        )
