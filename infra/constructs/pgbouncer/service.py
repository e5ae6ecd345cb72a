"""PgBouncer on ECS Fargate behind an internal Network Load Balancer on port 6432.

The task has two containers:

* ``tls-init`` (runs once, then exits) makes a fresh self-signed key and certificate for the
  client side of TLS in a task-local volume, so no private key ever sits in a template, an
  image or a secret. It uses the official PostgreSQL (Debian) image, which ships ``openssl``.
* ``pgbouncer`` (pinned image, PgBouncer >= 1.22) writes ``pgbouncer.ini`` from the
  ``PGBOUNCER_INI`` variable with the database hosts filled in (from SSM parameters, read
  at task start) and ``userlist.txt`` from three secrets: the auth_query user and
  PgBouncer's own admin and stats users. Application users are looked up in PostgreSQL at
  each login (``auth_query``), so a rotated application password needs no restart.

Both images come from this account's ECR pull-through caches (see :mod:`.images`).
Scaling follows connection utilisation only (see :mod:`.scaling`).
"""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from infra.config import PgBouncerConfig
from infra.config.catalog import retention
from infra.constructs.handoff import Keys, parameter_name
from infra.constructs.pgbouncer.images import ImageSource
from infra.constructs.pgbouncer.ini import (
    CONFIG_DIR,
    LISTEN_PORT,
    NLB_IDLE_TIMEOUT_SECONDS,
    PRIMARY_HOST,
    READ_HOST,
    TLS_DIR,
    PoolerUsers,
    health_check_command,
    render_ini,
)
from infra.constructs.pgbouncer.scaling import ConnectionScaling
from infra.constructs.secret_access import grant_decrypt_via_secrets_manager, secret_reference

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
printf '%s\\n' "$PGBOUNCER_INI" \\
  | sed -e "s/{PRIMARY_HOST}/$PRIMARY_HOST/" -e "s/{READ_HOST}/$READ_HOST/" \\
  > {CONFIG_DIR}/pgbouncer.ini
printf '"%s" "%s"\\n' "$AUTH_USER" "$AUTH_PASSWORD" "$ADMIN_USER" "$ADMIN_PASSWORD" \\
  "$STATS_USER" "$STATS_PASSWORD" > {CONFIG_DIR}/userlist.txt
unset AUTH_PASSWORD ADMIN_PASSWORD STATS_PASSWORD
exec pgbouncer {CONFIG_DIR}/pgbouncer.ini
"""


class PgBouncer(Construct):
    """Cluster, task definition, service, internal NLB and autoscaling for PgBouncer."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        prefix: str,
        pool: PgBouncerConfig,
        database_name: str,
        auth_user: str,
        retain: bool,
        images: ImageSource,
        vpc: ec2.IVpc,
        subnets: ec2.SubnetSelection,
        security_group: ec2.ISecurityGroup,
        lb_security_group: ec2.ISecurityGroup,
        auth_secret: secretsmanager.ISecret,
        database_key: kms.IKey,
        logs_key: kms.IKey,
    ) -> None:
        super().__init__(scope, construct_id)
        self.users = PoolerUsers(auth_user=auth_user)
        # No fixed name: a retained group would block re-creating this stateless stack.
        self.log_group = logs.LogGroup(
            self,
            "Logs",
            encryption_key=logs_key,
            retention=retention(pool.log_retention_days),
            removal_policy=RemovalPolicy.RETAIN if retain else RemovalPolicy.DESTROY,
        )
        self.cluster = ecs.Cluster(
            self,
            "Cluster",
            cluster_name=cluster_name(prefix),
            vpc=vpc,
            container_insights_v2=ecs.ContainerInsights.ENABLED,
        )
        task = ecs.FargateTaskDefinition(
            self,
            "Task",
            family=f"{prefix}-pgbouncer",
            cpu=pool.cpu,
            memory_limit_mib=pool.memory_mib,
            runtime_platform=ecs.RuntimePlatform(
                cpu_architecture=ecs.CpuArchitecture.X86_64,
                operating_system_family=ecs.OperatingSystemFamily.LINUX,
            ),
            volumes=[ecs.Volume(name="config"), ecs.Volume(name="tls")],
        )
        execution_role = task.obtain_execution_role()
        images.grant_pull(execution_role)
        log_driver = ecs.LogDrivers.aws_logs(
            stream_prefix="pgbouncer",
            log_group=self.log_group,
            mode=ecs.AwsLogDriverMode.NON_BLOCKING,
        )
        tls_init = task.add_container(
            "tls-init",
            image=ecs.ContainerImage.from_registry(images.uri(pool.images["tls_init_image"])),
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
        self.admin_secret = self._console_secret(
            "AdminSecret", prefix, self.users.admin_user, database_key
        )
        self.stats_secret = self._console_secret(
            "StatsSecret", prefix, self.users.stats_user, database_key
        )
        auth = secret_reference(self, "AuthSecret", auth_secret)
        admin = secret_reference(self, "AdminSecretRef", self.admin_secret)
        stats = secret_reference(self, "StatsSecretRef", self.stats_secret)
        secrets = {
            "AUTH_USER": ecs.Secret.from_secrets_manager(auth, "username"),
            "AUTH_PASSWORD": ecs.Secret.from_secrets_manager(auth, "password"),
            "ADMIN_USER": ecs.Secret.from_secrets_manager(admin, "username"),
            "ADMIN_PASSWORD": ecs.Secret.from_secrets_manager(admin, "password"),
            "STATS_USER": ecs.Secret.from_secrets_manager(stats, "username"),
            "STATS_PASSWORD": ecs.Secret.from_secrets_manager(stats, "password"),
        }
        for variable, key in (("PRIMARY_HOST", Keys.PRIMARY_HOST), ("READ_HOST", Keys.READ_HOST)):
            parameter = ssm.StringParameter.from_string_parameter_name(
                self, variable.title().replace("_", ""), parameter_name(prefix, key)
            )
            secrets[variable] = ecs.Secret.from_ssm_parameter(parameter)
        self.container = task.add_container(
            "pgbouncer",
            image=ecs.ContainerImage.from_registry(images.uri(pool.images["image"])),
            essential=True,
            user=f"{PGBOUNCER_UID}:{PGBOUNCER_UID}",
            entry_point=["/bin/sh", "-c"],
            command=[PGBOUNCER_SCRIPT],
            readonly_root_filesystem=True,
            port_mappings=[ecs.PortMapping(container_port=LISTEN_PORT, name="postgres")],
            environment={
                "PGBOUNCER_INI": render_ini(pool, database_name=database_name, users=self.users)
            },
            secrets=secrets,
            health_check=ecs.HealthCheck(
                command=["CMD-SHELL", f"{health_check_command(self.users)} || exit 1"],
                interval=Duration.seconds(30),
                timeout=Duration.seconds(5),
                retries=3,
                start_period=Duration.seconds(30),
            ),
            logging=log_driver,
        )
        grant_decrypt_via_secrets_manager(execution_role, database_key)
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
            service_name=service_name(prefix),
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
            load_balancer_name=f"{prefix}-pgbouncer",
            vpc=vpc,
            internet_facing=False,
            vpc_subnets=subnets,
            security_groups=[lb_security_group],
            cross_zone_enabled=True,
            deletion_protection=retain,
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
            target_group_name=f"{prefix}-pgbouncer",
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
        self.scaling = ConnectionScaling(
            self, "Scaling", pool=pool, service=self.service,
            load_balancer=self.load_balancer, target_group=self.target_group,
        )  # fmt: skip

    def _console_secret(
        self, construct_id: str, prefix: str, username: str, key: kms.IKey
    ) -> secretsmanager.Secret:
        """A PgBouncer-only user (not a database role); changed by a redeployment."""
        return secretsmanager.Secret(
            self,
            construct_id,
            secret_name=f"{prefix}/pgbouncer/{username}",
            description=f"{prefix}: PgBouncer console user {username} (not a database role)",
            encryption_key=key,
            generate_secret_string=secretsmanager.SecretStringGenerator(
                secret_string_template=f'{{"username": "{username}"}}',
                generate_string_key="password",
                password_length=32,
                exclude_punctuation=True,
            ),
        )


def cluster_name(prefix: str) -> str:
    """The ECS cluster's name (the operations stack addresses it by name)."""
    return f"{prefix}-pgbouncer"


def service_name(prefix: str) -> str:
    """The ECS service's name (the operations stack addresses it by name)."""
    return f"{prefix}-pgbouncer"
