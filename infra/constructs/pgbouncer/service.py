"""PgBouncer on ECS Fargate behind an internal Network Load Balancer on port 6432.

The task has two containers:

* ``tls-init`` (runs once, then exits) makes a fresh self-signed key and certificate for the
  client side of TLS in a task-local volume, so no private key ever sits in a template, an
  image or a secret. It uses the official PostgreSQL (Debian) image, which ships ``openssl``.
* ``pgbouncer`` (pinned image, PgBouncer >= 1.22) writes ``pgbouncer.ini`` from the
  ``PGBOUNCER_INI`` variable and ``userlist.txt`` from the injected database secret, then
  execs PgBouncer. Its root file system is read-only; config and TLS live in task volumes.

Autoscaling keeps the task count between the configured bounds on CPU and on connection
utilisation (active NLB flows per healthy task over ``max_client_conn``), scaling out above
``scale_up_utilization`` and in below ``scale_down_utilization`` (seed 003: 0.8 / 0.3).
"""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_applicationautoscaling as appscaling
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from infra.config.catalog import retention
from infra.config import EnvironmentConfig
from infra.constructs.secret_access import grant_decrypt_via_secrets_manager, secret_reference
from infra.constructs.pgbouncer.ini import (
    CONFIG_DIR,
    LISTEN_PORT,
    NLB_IDLE_TIMEOUT_SECONDS,
    TLS_DIR,
    render_ini,
)

TLS_INIT_IMAGE = "public.ecr.aws/docker/library/postgres:17.6-bookworm"
"""Only used for ``openssl`` in the init container (official image, pinned tag)."""
PGBOUNCER_UID = "70"
"""The unprivileged user the PgBouncer container runs as (the image's own user id)."""

TLS_INIT_SCRIPT = f"""set -eu
umask 077
openssl req -x509 -newkey rsa:2048 -nodes -days 825 -subj /CN=pgbouncer \\
  -keyout /tls/server.key -out /tls/server.crt 2>/dev/null
chown -R {PGBOUNCER_UID}:{PGBOUNCER_UID} /tls /config
chmod 0700 /tls /config
"""

PGBOUNCER_SCRIPT = f"""set -eu
umask 077
printf '%s\\n' "$PGBOUNCER_INI" > {CONFIG_DIR}/pgbouncer.ini
printf '"%s" "%s"\\n' "$DB_USER" "$DB_PASSWORD" > {CONFIG_DIR}/userlist.txt
unset DB_PASSWORD
exec pgbouncer {CONFIG_DIR}/pgbouncer.ini
"""


class PgBouncer(Construct):
    """Cluster, task definition, service, internal NLB and autoscaling for PgBouncer."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        vpc: ec2.IVpc,
        subnets: ec2.SubnetSelection,
        security_group: ec2.ISecurityGroup,
        lb_security_group: ec2.ISecurityGroup,
        database_secret: secretsmanager.ISecret,
        database_key: kms.IKey,
        primary_host: str,
        replica_host: str,
        logs_key: kms.IKey,
    ) -> None:
        super().__init__(scope, construct_id)
        pool = config.pgbouncer
        self._max_client_conn = pool.max_client_conn
        self.log_group = logs.LogGroup(
            self,
            "Logs",
            log_group_name=f"/{config.project}/{config.name}/pgbouncer",
            encryption_key=logs_key,
            retention=retention(pool.log_retention_days),
            removal_policy=RemovalPolicy.RETAIN
            if config.retain_on_delete
            else RemovalPolicy.DESTROY,
        )
        self.cluster = ecs.Cluster(
            self,
            "Cluster",
            cluster_name=f"{config.prefix}-pgbouncer",
            vpc=vpc,
            container_insights_v2=ecs.ContainerInsights.ENABLED,
        )
        task = ecs.FargateTaskDefinition(
            self,
            "Task",
            family=f"{config.prefix}-pgbouncer",
            cpu=pool.cpu,
            memory_limit_mib=pool.memory_mib,
            runtime_platform=ecs.RuntimePlatform(
                cpu_architecture=ecs.CpuArchitecture.X86_64,
                operating_system_family=ecs.OperatingSystemFamily.LINUX,
            ),
            volumes=[ecs.Volume(name="config"), ecs.Volume(name="tls")],
        )
        log_driver = ecs.LogDrivers.aws_logs(
            stream_prefix="pgbouncer",
            log_group=self.log_group,
            mode=ecs.AwsLogDriverMode.NON_BLOCKING,
        )
        tls_init = task.add_container(
            "tls-init",
            image=ecs.ContainerImage.from_registry(TLS_INIT_IMAGE),
            essential=False,
            user="0",
            entry_point=["/bin/sh", "-c"],
            command=[TLS_INIT_SCRIPT],
            readonly_root_filesystem=True,
            logging=log_driver,
        )
        tls_init.add_mount_points(
            ecs.MountPoint(container_path="/tls", source_volume="tls", read_only=False),
            ecs.MountPoint(container_path="/config", source_volume="config", read_only=False),
        )
        secret = secret_reference(self, "DatabaseSecret", database_secret)
        self.container = task.add_container(
            "pgbouncer",
            image=ecs.ContainerImage.from_registry(pool.image),
            essential=True,
            user=f"{PGBOUNCER_UID}:{PGBOUNCER_UID}",
            entry_point=["/bin/sh", "-c"],
            command=[PGBOUNCER_SCRIPT],
            readonly_root_filesystem=True,
            port_mappings=[ecs.PortMapping(container_port=LISTEN_PORT, name="postgres")],
            environment={
                "PGBOUNCER_INI": render_ini(
                    config, primary_host=primary_host, replica_host=replica_host
                )
            },
            secrets={
                "DB_USER": ecs.Secret.from_secrets_manager(secret, "username"),
                "DB_PASSWORD": ecs.Secret.from_secrets_manager(secret, "password"),
            },
            health_check=ecs.HealthCheck(
                command=["CMD-SHELL", f"pg_isready -q -h 127.0.0.1 -p {LISTEN_PORT} || exit 1"],
                interval=Duration.seconds(30),
                timeout=Duration.seconds(5),
                retries=3,
                start_period=Duration.seconds(30),
            ),
            logging=log_driver,
        )
        grant_decrypt_via_secrets_manager(task.obtain_execution_role(), database_key)
        self.container.add_mount_points(
            ecs.MountPoint(container_path=CONFIG_DIR, source_volume="config", read_only=False),
            ecs.MountPoint(container_path=TLS_DIR, source_volume="tls", read_only=True),
        )
        self.container.add_container_dependencies(
            ecs.ContainerDependency(
                container=tls_init, condition=ecs.ContainerDependencyCondition.SUCCESS
            )
        )
        self.service = ecs.FargateService(
            self,
            "Service",
            service_name=f"{config.prefix}-pgbouncer",
            cluster=self.cluster,
            task_definition=task,
            desired_count=pool.min_tasks,
            vpc_subnets=subnets,
            security_groups=[security_group],
            assign_public_ip=False,
            platform_version=ecs.FargatePlatformVersion.VERSION1_4,
            circuit_breaker=ecs.DeploymentCircuitBreaker(enable=True, rollback=True),
            min_healthy_percent=100,
            max_healthy_percent=200,
            health_check_grace_period=Duration.seconds(60),
            propagate_tags=ecs.PropagatedTagSource.SERVICE,
        )
        self.load_balancer = elbv2.NetworkLoadBalancer(
            self,
            "Lb",
            load_balancer_name=f"{config.prefix}-pgbouncer",
            vpc=vpc,
            internet_facing=False,
            vpc_subnets=subnets,
            security_groups=[lb_security_group],
            cross_zone_enabled=True,
            deletion_protection=config.retain_on_delete,
        )
        listener = self.load_balancer.add_listener(
            "Postgres", port=LISTEN_PORT, protocol=elbv2.Protocol.TCP
        )
        listener_resource = listener.node.default_child
        assert isinstance(listener_resource, elbv2.CfnListener)
        listener_resource.add_property_override(
            "ListenerAttributes",
            [{"Key": "tcp.idle_timeout.seconds", "Value": str(NLB_IDLE_TIMEOUT_SECONDS)}],
        )
        self.target_group = listener.add_targets(
            "Tasks",
            target_group_name=f"{config.prefix}-pgbouncer",
            port=LISTEN_PORT,
            protocol=elbv2.Protocol.TCP,
            targets=[
                self.service.load_balancer_target(
                    container_name="pgbouncer", container_port=LISTEN_PORT
                )
            ],
            deregistration_delay=Duration.seconds(60),
            health_check=elbv2.HealthCheck(
                protocol=elbv2.Protocol.TCP,
                port=str(LISTEN_PORT),
                interval=Duration.seconds(30),
                timeout=Duration.seconds(10),
                healthy_threshold_count=2,
                unhealthy_threshold_count=3,
            ),
        )
        self.target_group.set_attribute(
            "deregistration_delay.connection_termination.enabled", "true"
        )
        self._autoscale(config)

    def _autoscale(self, config: EnvironmentConfig) -> None:
        pool = config.pgbouncer
        scaling = self.service.auto_scale_task_count(
            min_capacity=pool.min_tasks, max_capacity=pool.max_tasks
        )
        up_percent = pool.scale_up_utilization * 100
        down_percent = pool.scale_down_utilization * 100
        scaling.scale_on_metric(
            "Cpu",
            metric=self.service.metric_cpu_utilization(period=Duration.minutes(1)),
            scaling_steps=[
                appscaling.ScalingInterval(upper=down_percent, change=-1),
                appscaling.ScalingInterval(lower=up_percent, change=+1),
            ],
            adjustment_type=appscaling.AdjustmentType.CHANGE_IN_CAPACITY,
            cooldown=Duration.minutes(3),
            evaluation_periods=3,
        )
        scaling.scale_on_metric(
            "Connections",
            metric=self.connection_utilization,
            scaling_steps=[
                appscaling.ScalingInterval(upper=pool.scale_down_utilization, change=-1),
                appscaling.ScalingInterval(lower=pool.scale_up_utilization, change=+1),
            ],
            adjustment_type=appscaling.AdjustmentType.CHANGE_IN_CAPACITY,
            cooldown=Duration.minutes(3),
            evaluation_periods=3,
        )

    @property
    def connection_utilization(self) -> cloudwatch.MathExpression:
        """Active client flows per healthy task over ``max_client_conn`` (0..1)."""
        return cloudwatch.MathExpression(
            expression=f"flows / (IF(hosts > 0, hosts, 1) * {self._max_client_conn})",
            using_metrics={
                "flows": self.load_balancer.metrics.active_flow_count(
                    period=Duration.minutes(1), statistic="Average"
                ),
                "hosts": self.target_group.metrics.healthy_host_count(
                    period=Duration.minutes(1), statistic="Minimum"
                ),
            },
            label="PgBouncer connection utilisation",
            period=Duration.minutes(1),
        )
