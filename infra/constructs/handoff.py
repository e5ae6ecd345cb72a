"""Values handed from one stack to the next through SSM parameters, not CloudFormation exports.

A strong export (``Fn::ImportValue``) cannot change or disappear while another stack
imports it, so removing a read replica, replacing a security group or a target group would
fail the producer's update. A parameter is read by the consumer at its own deployment
instead: the producer can change it at any time, and the consumer picks the new value up
at its next deployment (PgBouncer reads the database hosts at task start).

Only the KMS keys are still passed as stack references: they are retained, never replaced,
and an import on them is the protection we want against deleting a key that is in use.
"""

from __future__ import annotations

from aws_cdk import aws_ssm as ssm
from constructs import Construct


def parameter_name(prefix: str, key: str) -> str:
    """``/recipe/dev/<key>`` for the environment whose resource prefix is ``recipe-dev``."""
    project, _, env = prefix.partition("-")
    return f"/{project}/{env}/{key}"


def publish(
    scope: Construct, prefix: str, key: str, value: str, description: str
) -> ssm.StringParameter:
    """Write ``value`` (a token is fine) under ``key`` for later stacks to read."""
    construct_id = "Handoff" + "".join(
        part.capitalize() for part in key.replace("/", "-").split("-")
    )
    return ssm.StringParameter(
        scope,
        construct_id,
        parameter_name=parameter_name(prefix, key),
        string_value=value,
        description=f"{prefix}: {description}",
    )


def read(scope: Construct, prefix: str, key: str) -> str:
    """The value under ``key``, resolved when the reading stack is deployed."""
    return ssm.StringParameter.value_for_string_parameter(scope, parameter_name(prefix, key))


class Keys:
    """The parameter keys, in one place."""

    VPC_ID = "network/vpc-id"
    APP_SUBNET_IDS = "network/app-subnet-ids"
    DATA_SUBNET_IDS = "network/data-subnet-ids"
    PRIMARY_HOST = "database/primary-host"
    READ_HOST = "database/read-host"
    REPLICA_ENDPOINTS = "database/replica-endpoints"
    DATABASE_SUBNET_GROUP = "database/subnet-group"
    PGBOUNCER_LB = "pgbouncer/load-balancer-arn"
    PGBOUNCER_TARGETS = "pgbouncer/target-group-arn"
    EXPORTS_BUCKET = "gdpr/exports-bucket-name"

    @staticmethod
    def security_group(name: str) -> str:
        """The id of the security group ``name`` (app, jobs, database, ...)."""
        return f"network/security-groups/{name.replace('_', '-')}"

    @staticmethod
    def secret(name: str) -> str:
        """The ARN of the database tier's secret ``name`` (master, app, pgbouncer, cache)."""
        return f"secrets/{name}-arn"
