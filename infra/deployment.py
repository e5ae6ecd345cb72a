"""Wire the stacks of one environment into an app and add the cdk-nag checks.

``app.py`` (the CDK CLI entry point), ``scripts/infra_synth.py`` (``make synth`` and
``make demo-infra``) and the tests all build environments through :func:`build`, so what the
tests check is exactly what the CLI deploys.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aws_cdk import App, Environment, Stack, Tags, Validations
from cdk_nag import AwsSolutionsChecks

from infra.compliance.checkov import skip_checkov_checks
from infra.config import EnvironmentConfig
from infra.compliance.nag import acknowledge
from infra.stacks.data import DataStack
from infra.stacks.keys import KeysStack
from infra.stacks.monitoring import MonitoringStack
from infra.stacks.network import NetworkStack
from infra.stacks.services import ServicesStack

APP_CONTEXT: dict[str, Any] = {
    "@aws-cdk/core:validationReportJson": True,
}
"""Context every app gets: write the cdk-nag report as JSON into the cloud assembly."""


@dataclass(frozen=True)
class Deployment:
    """The five stacks of one environment, in deployment order."""

    keys: KeysStack
    network: NetworkStack
    data: DataStack
    services: ServicesStack
    monitoring: MonitoringStack

    @property
    def stacks(self) -> list[Stack]:
        """All stacks, in deployment order."""
        return [self.keys, self.network, self.data, self.services, self.monitoring]

    def stack(self, kind: str) -> Stack:
        """The stack of ``kind``: keys, network, data, services or monitoring."""
        stack: Stack = getattr(self, kind)
        return stack


def build(app: App, config: EnvironmentConfig) -> Deployment:
    """Add the stacks of ``config`` to ``app``, acknowledge reviewed findings, add cdk-nag."""
    env = Environment(account=config.account, region=config.region)
    prefix = config.prefix
    # The zones are configuration, not a lookup: answering CDK's availability-zones context
    # query up front keeps `cdk synth` free of AWS calls (no credentials needed).
    app.node.set_context(
        f"availability-zones:account={config.account}:region={config.region}",
        list(config.availability_zones),
    )

    def common(kind: str, description: str, *, stateful: bool) -> dict[str, Any]:
        return {
            "stack_name": f"{prefix}-{kind}",
            "env": env,
            "description": f"{prefix}: {description}",
            "termination_protection": stateful and config.retain_on_delete,
        }

    keys = KeysStack(
        app, f"{prefix}-keys", config=config,
        **common("keys", "customer-managed KMS keys", stateful=True),
    )  # fmt: skip
    network = NetworkStack(
        app, f"{prefix}-network", config=config, logs_key=keys.keys.logs,
        **common("network", "VPC, endpoints, flow logs, security groups", stateful=False),
    )  # fmt: skip
    data = DataStack(
        app, f"{prefix}-data", config=config, network=network, keys=keys.keys,
        **common("data", "RDS PostgreSQL, Valkey cache, AWS Backup", stateful=True),
    )  # fmt: skip
    services = ServicesStack(
        app, f"{prefix}-services", config=config, network=network, data=data, keys=keys.keys,
        **common("services", "PgBouncer on ECS Fargate, migration job", stateful=False),
    )  # fmt: skip
    monitoring = MonitoringStack(
        app, f"{prefix}-monitoring", config=config, keys=keys.keys, data=data,
        services=services,
        **common("monitoring", "alert topics, alarms, dashboards", stateful=False),
    )  # fmt: skip
    deployment = Deployment(keys, network, data, services, monitoring)
    for stack in deployment.stacks:
        Tags.of(stack).add("project", config.project)
        Tags.of(stack).add("environment", config.name)
        Tags.of(stack).add("managed-by", "aws-cdk")
    acknowledge(deployment.by_kind, config)
    skip_checkov_checks(deployment.by_kind, config)
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return deployment
