"""Stateless: alert topics, alarms and dashboards."""

from __future__ import annotations

from typing import Any

from aws_cdk import Stack
from aws_cdk import aws_sns as sns
from constructs import Construct

from infra.config import EnvironmentConfig, Severity
from infra.constructs.alerting import Alerting
from infra.constructs.keys import DataKeys
from infra.constructs.monitoring.dashboards import MonitoredResources, Monitoring
from infra.stacks.data import DataStack
from infra.stacks.services import ServicesStack


class MonitoringStack(Stack):
    """SNS topics per severity plus the alarms and dashboards of seeds 001 and 003."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        keys: DataKeys,
        data: DataStack,
        services: ServicesStack,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.alerting = Alerting(self, "Alerting", config=config, key=keys.alerting)
        topics: dict[Severity, sns.ITopic] = dict(self.alerting.topics)
        self.monitoring = Monitoring(
            self,
            "Monitoring",
            config=config,
            topics=topics,
            resources=MonitoredResources(
                primary=data.database.primary,
                replicas=data.database.replicas,
                cache_node_ids=data.cache.node_ids,
                load_balancer=services.pgbouncer.load_balancer,
                target_group=services.pgbouncer.target_group,
            ),
        )
