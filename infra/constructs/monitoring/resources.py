"""What the monitoring stack watches, as imported references (no cross-stack exports).

The database instances are addressed by their identifiers (known from the config), the
PgBouncer load balancer and target group by the ARNs the services stack publishes in SSM.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_rds as rds


@dataclass(frozen=True)
class MonitoredResources:
    """What the monitoring stack watches (references into the data and services stacks)."""

    primary: rds.IDatabaseInstance
    replicas: Sequence[rds.IDatabaseInstance]
    cache_node_ids: Sequence[str]
    load_balancer: elbv2.INetworkLoadBalancer
    target_group: elbv2.INetworkTargetGroup
