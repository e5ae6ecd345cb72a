"""The VPC, its endpoints and flow logs, and the security groups with their paths."""

from __future__ import annotations

from typing import Any

from aws_cdk import Stack
from aws_cdk import aws_kms as kms
from constructs import Construct

from infra.config import EnvironmentConfig
from infra.constructs.network.vpc import Network
from infra.constructs.network.security_groups import SecurityGroups


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
        self.network = Network(self, "Network", config=config, logs_key=logs_key)
        self.security_groups = SecurityGroups(
            self,
            "SecurityGroups",
            config=config,
            vpc=self.network.vpc,
            endpoints=self.network.endpoint_security_group,
        )
