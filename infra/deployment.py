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
from infra.compliance.nag import acknowledge
from infra.config import EnvironmentConfig
from infra.stacks.backup_copy import BackupCopyStack
from infra.stacks.data import DataStack
from infra.stacks.keys import KeysStack
from infra.stacks.monitoring import MonitoringStack
from infra.stacks.network import NetworkStack
from infra.stacks.operations import OperationsStack
from infra.stacks.services import ServicesStack

APP_CONTEXT: dict[str, Any] = {
    "@aws-cdk/core:validationReportJson": True,
}
"""Context every app gets: write the cdk-nag report as JSON into the cloud assembly."""


@dataclass(frozen=True)
class Deployment:
    """The six stacks of one environment, in deployment order."""

    keys: KeysStack
    network: NetworkStack
    data: DataStack
    services: ServicesStack
    operations: OperationsStack
    monitoring: MonitoringStack
    backup_copy: BackupCopyStack | None = None
    """The copy vault in the other region (``backup.cross_region_copy.enabled`` only)."""

    @property
    def stacks(self) -> list[Stack]:
        """The six stacks of the home region, in deployment order."""
        return list(self.by_kind.values())

    @property
    def all_stacks(self) -> list[Stack]:
        """Every stack, the copy region's first when there is one."""
        return [*([self.backup_copy] if self.backup_copy else []), *self.stacks]

    @property
    def by_kind(self) -> dict[str, Stack]:
        """The stacks keyed by kind: keys, network, data, services, operations, monitoring."""
        return {
            "keys": self.keys,
            "network": self.network,
            "data": self.data,
            "services": self.services,
            "operations": self.operations,
            "monitoring": self.monitoring,
        }

    def stack(self, kind: str) -> Stack:
        """The stack of ``kind``."""
        return self.by_kind[kind]


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
    copy = config.backup.cross_region_copy
    backup_copy = (
        BackupCopyStack(
            app, f"{prefix}-backup-copy", config=config, stack_name=f"{prefix}-backup-copy",
            env=Environment(account=config.account, region=copy.region),
            description=f"{prefix}: vault and key for cross-region backup copies ({copy.region})",
            termination_protection=config.retain_on_delete,
        )
        if copy.enabled
        else None
    )  # fmt: skip
    data = DataStack(
        app, f"{prefix}-data", config=config, keys=keys.keys,
        **common("data", "RDS PostgreSQL, Valkey cache, AWS Backup", stateful=True),
    )  # fmt: skip
    services = ServicesStack(
        app, f"{prefix}-services", config=config, keys=keys.keys,
        **common("services", "PgBouncer on ECS Fargate, migration job", stateful=False),
    )  # fmt: skip
    operations = OperationsStack(
        app, f"{prefix}-operations", config=config, keys=keys.keys,
        **common("operations", "operational jobs and workflows", stateful=False),
    )  # fmt: skip
    monitoring = MonitoringStack(
        app, f"{prefix}-monitoring", config=config, keys=keys.keys,
        **common("monitoring", "alert topics, alarms, dashboards", stateful=False),
    )  # fmt: skip
    # Later stacks read earlier ones through SSM parameters, not exports: the order of
    # deployment is declared here instead of following from references.
    data.add_stack_dependency(network, "reads the network's SSM parameters")
    if backup_copy is not None:
        data.add_stack_dependency(backup_copy, "copies the weekly backups into its vault")
    services.add_stack_dependency(data, "reads the database's SSM parameters")
    operations.add_stack_dependency(services, "restarts the PgBouncer service by name")
    monitoring.add_stack_dependency(services, "reads the PgBouncer load balancer's SSM parameters")
    deployment = Deployment(keys, network, data, services, operations, monitoring, backup_copy)
    for stack in deployment.all_stacks:
        Tags.of(stack).add("project", config.project)
        Tags.of(stack).add("environment", config.name)
        Tags.of(stack).add("managed-by", "aws-cdk")
    acknowledge(deployment.by_kind, config)
    skip_checkov_checks(deployment.by_kind, config)
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return deployment
