"""PgBouncer on Fargate: pinned image, generated config, secrets, NLB, autoscaling."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from infra.config import EnvironmentConfig
from infra.constructs.pgbouncer.ini import (
    AUTH_QUERY,
    NLB_IDLE_TIMEOUT_SECONDS,
    PRIMARY_HOST,
    READ_HOST,
    PoolerUsers,
    parse_ini,
    render_ini,
)
from infra.tooling.synth import SynthResult
from tests.infra.conftest import only, resources_of, text_of


def _containers(synth: dict[str, SynthResult], env: str) -> dict[str, dict[str, Any]]:
    task = only(resources_of(synth[env].templates["services"], "AWS::ECS::TaskDefinition"))
    return {c["Name"]: c for c in task["Properties"]["ContainerDefinitions"]}


def _image(value: Any) -> str:
    """An image URI with the partition's URL suffix resolved."""
    if isinstance(value, str):
        return value
    separator, parts = value["Fn::Join"]
    return str(separator).join(p if isinstance(p, str) else "amazonaws.com" for p in parts)


def _ini(synth: dict[str, SynthResult], env: str) -> dict[str, dict[str, str]]:
    variable = only({e["Name"]: e for e in _containers(synth, env)["pgbouncer"]["Environment"]})
    assert isinstance(variable["Value"], str)  # no token: nothing from another stack
    return parse_ini(variable["Value"])


def test_images_come_from_the_pull_through_caches_with_their_pins(
    synth: dict[str, SynthResult], env: str, configs: dict[str, EnvironmentConfig]
) -> None:
    config = configs[env]
    containers = _containers(synth, env)
    registry = f"{config.account}.dkr.ecr.{config.region}.amazonaws.com/"
    image = _image(containers["pgbouncer"]["Image"])
    match = re.fullmatch(
        re.escape(registry) + r"docker-hub/edoburu/pgbouncer:v(\d+)\.(\d+)\.(\d+)-p\d+", image
    )
    assert match, image
    assert (int(match[1]), int(match[2])) >= (1, 22)
    assert _image(containers["tls-init"]["Image"]).startswith(registry + "ecr-public/")
    rules = resources_of(synth[env].templates["services"], "AWS::ECR::PullThroughCacheRule")
    upstreams = {r["Properties"]["EcrRepositoryPrefix"]: r["Properties"] for r in rules.values()}
    assert upstreams["docker-hub"]["UpstreamRegistryUrl"] == "registry-1.docker.io"
    assert "ecr-pullthroughcache/docker-hub" in text_of(upstreams["docker-hub"]["CredentialArn"])
    assert upstreams["ecr-public"]["UpstreamRegistryUrl"] == "public.ecr.aws"
    policy = text_of(resources_of(synth[env].templates["services"], "AWS::IAM::Policy"))
    assert "ecr:BatchImportUpstreamImage" in policy


def test_a_digest_pin_is_appended_to_the_image(configs: dict[str, EnvironmentConfig]) -> None:
    digest = "sha256:" + "0" * 64  # a test value: never written into cdk.json
    pool = replace(configs["dev"].pgbouncer, image_digest=digest)
    assert pool.images["image"].endswith(f":v1.25.2-p0@{digest}")
    assert "@" not in pool.images["tls_init_image"]


def test_pool_settings_come_from_the_seed(synth: dict[str, SynthResult], env: str) -> None:
    settings = _ini(synth, env)["pgbouncer"]
    assert settings["pool_mode"] == "transaction"
    assert (settings["default_pool_size"], settings["min_pool_size"]) == ("20", "5")
    assert (settings["max_db_connections"], settings["reserve_pool_size"]) == ("50", "5")
    assert settings["listen_port"] == "6432"
    assert int(settings["max_prepared_statements"]) > 0


def test_tls_on_both_sides_and_short_timeouts(synth: dict[str, SynthResult], env: str) -> None:
    settings = _ini(synth, env)["pgbouncer"]
    assert settings["server_tls_sslmode"] == "require"
    assert settings["client_tls_sslmode"] == "require"
    assert settings["client_tls_key_file"].startswith("/etc/pgbouncer-tls/")
    assert settings["tcp_keepalive"] == "1"
    assert int(settings["tcp_keepidle"]) < NLB_IDLE_TIMEOUT_SECONDS
    assert int(settings["server_login_retry"]) < 15  # PgBouncer's default is 15 s
    assert settings["auth_type"] == "scram-sha-256"


def test_clients_are_looked_up_and_console_users_are_separate(
    synth: dict[str, SynthResult], env: str, configs: dict[str, EnvironmentConfig]
) -> None:
    settings = _ini(synth, env)["pgbouncer"]
    db = configs[env].database
    assert settings["auth_user"] == db.pgbouncer_auth_username
    assert settings["auth_query"] == AUTH_QUERY
    users = {settings["admin_users"], settings["stats_users"], db.app_login_username}
    assert len(users) == 3  # the application is neither admin nor stats user
    assert db.master_username not in text_of(settings)


def test_one_logical_database_per_role_with_hosts_from_ssm(
    synth: dict[str, SynthResult], env: str, configs: dict[str, EnvironmentConfig]
) -> None:
    databases = _ini(synth, env)["databases"]
    assert set(databases) == {"recipes", "recipes_ro"}
    assert databases["recipes"].startswith(f"host={PRIMARY_HOST} ")
    assert databases["recipes_ro"].startswith(f"host={READ_HOST} ")
    secrets = {s["Name"]: s["ValueFrom"] for s in _containers(synth, env)["pgbouncer"]["Secrets"]}
    prefix = f"/recipe/{env}/database/"
    assert prefix + "primary-host" in text_of(secrets["PRIMARY_HOST"])
    assert prefix + "read-host" in text_of(secrets["READ_HOST"])


def test_render_points_the_read_database_at_the_given_host(
    configs: dict[str, EnvironmentConfig],
) -> None:
    config = configs["dev"]
    ini = parse_ini(
        render_ini(
            config.pgbouncer, database_name="recipes",
            users=PoolerUsers(auth_user=config.database.pgbouncer_auth_username),
            primary_host="primary.example", read_host="primary.example",
        )
    )  # fmt: skip
    assert ini["databases"]["recipes_ro"].startswith("host=primary.example ")


def test_credentials_are_injected_as_secrets_never_as_text(
    synth: dict[str, SynthResult], env: str
) -> None:
    container = _containers(synth, env)["pgbouncer"]
    assert {s["Name"] for s in container["Secrets"]} == {
        "AUTH_USER", "AUTH_PASSWORD", "ADMIN_USER", "ADMIN_PASSWORD", "STATS_USER",
        "STATS_PASSWORD", "PRIMARY_HOST", "READ_HOST",
    }  # fmt: skip
    assert {e["Name"] for e in container["Environment"]} == {"PGBOUNCER_INI"}
    template = text_of(synth[env].templates["services"]).lower()
    assert "password=" not in template
    assert "unset AUTH_PASSWORD ADMIN_PASSWORD STATS_PASSWORD" in container["Command"][0]


def test_health_check_names_a_user_pgbouncer_knows(synth: dict[str, SynthResult], env: str) -> None:
    command = text_of(_containers(synth, env)["pgbouncer"]["HealthCheck"]["Command"])
    assert "-U pgbouncer_stats -d pgbouncer" in command


def test_containers_are_locked_down_and_log(synth: dict[str, SynthResult], env: str) -> None:
    containers = _containers(synth, env)
    for container in containers.values():
        assert container["ReadonlyRootFilesystem"] is True
        assert container["LogConfiguration"]["LogDriver"] == "awslogs"
    assert containers["pgbouncer"]["User"] == "70:70"
    assert containers["pgbouncer"]["DependsOn"] == [
        {"Condition": "SUCCESS", "ContainerName": "tls-init"}
    ]
    assert containers["tls-init"]["Essential"] is False
    assert "pg_isready" in text_of(containers["pgbouncer"]["HealthCheck"])
    groups = resources_of(synth[env].templates["services"], "AWS::Logs::LogGroup")
    # No fixed names: a retained group must not block re-creating the stack.
    assert all("LogGroupName" not in g["Properties"] for g in groups.values())
    assert all(
        "KmsKeyId" in g["Properties"] and "RetentionInDays" in g["Properties"]
        for g in groups.values()
    )


def test_cluster_has_container_insights(synth: dict[str, SynthResult], env: str) -> None:
    cluster = only(resources_of(synth[env].templates["services"], "AWS::ECS::Cluster"))
    assert {"Name": "containerInsights", "Value": "enabled"} in cluster["Properties"][
        "ClusterSettings"
    ]


def test_internal_nlb_on_6432_with_seed_health_checks(
    synth: dict[str, SynthResult], env: str
) -> None:
    template = synth[env].templates["services"]
    lb = only(resources_of(template, "AWS::ElasticLoadBalancingV2::LoadBalancer"))["Properties"]
    assert (lb["Type"], lb["Scheme"]) == ("network", "internal")
    assert lb["SecurityGroups"]
    listener = only(resources_of(template, "AWS::ElasticLoadBalancingV2::Listener"))["Properties"]
    assert (listener["Port"], listener["Protocol"]) == (6432, "TCP")
    assert listener["ListenerAttributes"] == [
        {"Key": "tcp.idle_timeout.seconds", "Value": str(NLB_IDLE_TIMEOUT_SECONDS)}
    ]
    group = only(resources_of(template, "AWS::ElasticLoadBalancingV2::TargetGroup"))["Properties"]
    assert (group["Port"], group["Protocol"], group["TargetType"]) == (6432, "TCP", "ip")
    assert (group["HealthCheckIntervalSeconds"], group["HealthCheckTimeoutSeconds"]) == (30, 10)
    assert (group["HealthyThresholdCount"], group["UnhealthyThresholdCount"]) == (2, 3)


def test_service_scales_on_connections_only_and_scales_in_slowly(
    synth: dict[str, SynthResult], env: str, configs: dict[str, EnvironmentConfig]
) -> None:
    template = synth[env].templates["services"]
    pool = configs[env].pgbouncer
    target = only(resources_of(template, "AWS::ApplicationAutoScaling::ScalableTarget"))[
        "Properties"
    ]
    assert (target["MinCapacity"], target["MaxCapacity"]) == (pool.min_tasks, pool.max_tasks)
    alarms = {
        (a["Properties"]["ComparisonOperator"], a["Properties"]["Threshold"]): a["Properties"]
        for a in resources_of(template, "AWS::CloudWatch::Alarm").values()
    }
    assert set(alarms) == {
        ("GreaterThanOrEqualToThreshold", pool.scale_up_utilization),
        ("LessThanOrEqualToThreshold", pool.scale_down_utilization),
    }  # no CPU policy left to fight the connection policy
    assert "CPUUtilization" not in text_of(template)
    scale_in = alarms[("LessThanOrEqualToThreshold", pool.scale_down_utilization)]
    scale_out = alarms[("GreaterThanOrEqualToThreshold", pool.scale_up_utilization)]
    assert scale_in["EvaluationPeriods"] == pool.scale_in_after_minutes >= 15
    assert scale_out["EvaluationPeriods"] == 3
    assert "ActiveFlowCount" in text_of(scale_in) and "HealthyHostCount" in text_of(scale_in)
    policies = {
        p["Properties"]["StepScalingPolicyConfiguration"]["StepAdjustments"][0][
            "ScalingAdjustment"
        ]: p["Properties"]["StepScalingPolicyConfiguration"]["Cooldown"]
        for p in resources_of(template, "AWS::ApplicationAutoScaling::ScalingPolicy").values()
    }
    assert policies == {1: 180, -1: pool.scale_in_after_minutes * 60}
    service = only(resources_of(template, "AWS::ECS::Service"))["Properties"]
    assert service["NetworkConfiguration"]["AwsvpcConfiguration"]["AssignPublicIp"] == "DISABLED"
    assert service["DeploymentConfiguration"]["DeploymentCircuitBreaker"] == {
        "Enable": True,
        "Rollback": True,
    }
