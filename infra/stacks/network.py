"""The VPC, its endpoints and flow logs, and the security groups with their paths."""

from __future__ import annotations

from typing import Any

from aws_cdk import Fn, Stack
from aws_cdk import aws_kms as kms
from constructs import Construct

from infra.config import EnvironmentConfig
from infra.constructs.handoff import Keys, publish
from infra.constructs.network.security_groups import SecurityGroups
from infra.constructs.network.vpc import Network


class NetworkStack(Stack):
    """Network plus security groups (stateless: can be replaced without data loss)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        logs_key: kms.IKey,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        prefix = config.prefix
        self.network = Network(
            self, "Network", prefix=prefix, net=config.network,
            availability_zones=config.availability_zones, retain=config.retain_on_delete,
            logs_key=logs_key,
        )  # fmt: skip
        self.security_groups = SecurityGroups(
            self,
            "SecurityGroups",
            prefix=prefix,
            vpc=self.network.vpc,
            endpoints=self.network.endpoint_security_group,
        )
        vpc = self.network.vpc
        publish(self, prefix, Keys.VPC_ID, vpc.vpc_id, "VPC id")
        for key, selection in (
            (Keys.APP_SUBNET_IDS, self.network.app_subnets),
            (Keys.DATA_SUBNET_IDS, self.network.data_subnets),
        ):
            ids = vpc.select_subnets(subnet_group_name=selection.subnet_group_name).subnet_ids
            publish(self, prefix, key, Fn.join(",", ids), "subnet ids, one per zone")
        for name, group in self.security_groups.groups.items():
            publish(
                self, prefix, Keys.security_group(name), group.security_group_id,
                f"security group {name}",
            )  # fmt: skip
