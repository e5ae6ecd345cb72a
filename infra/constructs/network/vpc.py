"""VPC across two zones, flow logs and the VPC endpoints private workloads need.

Subnet tiers: ``public`` (NAT gateways only, no public IPs by default), ``app`` (PgBouncer
tasks, job Lambdas, application containers; egress through NAT) and ``data`` (RDS and
ElastiCache; isolated, no route out). AWS APIs are reached through VPC endpoints, so the
data path never needs the NAT; images come through ECR pull-through caches (ECR endpoints
plus the S3 gateway), so a NAT is only needed for images pulled from a public registry.
"""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.config import NetworkConfig
from infra.config.catalog import retention

APP_SUBNETS = "app"
DATA_SUBNETS = "data"
PUBLIC_SUBNETS = "public"

INTERFACE_ENDPOINTS: dict[str, tuple[ec2.InterfaceVpcEndpointAwsService, str]] = {
    "SecretsManager": (
        ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER,
        "ECS secrets of the PgBouncer tasks, the migrate job, the rotation Lambdas",
    ),
    "Logs": (
        ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS,
        "awslogs driver of the PgBouncer tasks; the datalayer's EMF metrics",
    ),
    "EcrApi": (ec2.InterfaceVpcEndpointAwsService.ECR, "image pulls (pull-through cache)"),
    "EcrDocker": (ec2.InterfaceVpcEndpointAwsService.ECR_DOCKER, "image pulls (layers)"),
    "Ssm": (
        ec2.InterfaceVpcEndpointAwsService.SSM,
        "database hosts injected into the PgBouncer tasks from SSM parameters",
    ),
}
"""Interface endpoints with who uses each (S3 is a gateway endpoint, added separately).

Nothing in the VPC calls KMS, STS or CloudWatch directly (Secrets Manager decrypts on the
caller's behalf, Lambda and ECS hand out credentials, metrics go out as EMF log lines), so
those endpoints are not created: each costs an hourly fee per zone in every environment."""


class Network(Construct):
    """The VPC, its flow logs and its endpoints."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        prefix: str,
        net: NetworkConfig,
        availability_zones: tuple[str, str],
        retain: bool,
        logs_key: kms.IKey,
    ) -> None:
        super().__init__(scope, construct_id)
        removal = RemovalPolicy.RETAIN if retain else RemovalPolicy.DESTROY
        subnets = [
            ec2.SubnetConfiguration(
                name=APP_SUBNETS,
                subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS
                if net.nat_gateways
                else ec2.SubnetType.PRIVATE_ISOLATED,
                cidr_mask=20,
            ),
            ec2.SubnetConfiguration(
                name=DATA_SUBNETS, subnet_type=ec2.SubnetType.PRIVATE_ISOLATED, cidr_mask=24
            ),
        ]
        if net.nat_gateways:
            subnets.insert(
                0,
                ec2.SubnetConfiguration(
                    name=PUBLIC_SUBNETS,
                    subnet_type=ec2.SubnetType.PUBLIC,
                    cidr_mask=24,
                    map_public_ip_on_launch=False,
                ),
            )
        # No fixed name: a retained group would block re-creating this stateless stack.
        self.flow_log_group = logs.LogGroup(
            self,
            "FlowLogs",
            encryption_key=logs_key,
            retention=retention(net.flow_log_retention_days),
            removal_policy=removal,
        )
        self.vpc = ec2.Vpc(
            self,
            "Vpc",
            vpc_name=f"{prefix}-vpc",
            ip_addresses=ec2.IpAddresses.cidr(net.cidr),
            availability_zones=list(availability_zones),
            nat_gateways=net.nat_gateways,
            subnet_configuration=subnets,
            restrict_default_security_group=True,
            flow_logs={
                "All": ec2.FlowLogOptions(
                    destination=ec2.FlowLogDestination.to_cloud_watch_logs(self.flow_log_group),
                    traffic_type=ec2.FlowLogTrafficType.ALL,
                )
            },
        )
        self.app_subnets = ec2.SubnetSelection(subnet_group_name=APP_SUBNETS)
        self.data_subnets = ec2.SubnetSelection(subnet_group_name=DATA_SUBNETS)
        self.endpoint_security_group = ec2.SecurityGroup(
            self,
            "EndpointsSecurityGroup",
            vpc=self.vpc,
            description=f"{prefix}: VPC interface endpoints (HTTPS from workloads)",
            allow_all_outbound=False,
        )
        self.vpc.add_gateway_endpoint(
            "S3",
            service=ec2.GatewayVpcEndpointAwsService.S3,
            subnets=[self.app_subnets, self.data_subnets],
        )
        for name, (service, _used_by) in INTERFACE_ENDPOINTS.items():
            self.vpc.add_interface_endpoint(
                name,
                service=service,
                subnets=self.app_subnets,
                security_groups=[self.endpoint_security_group],
                private_dns_enabled=True,
                open=False,
            )
