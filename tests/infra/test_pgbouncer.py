"""PgBouncer on Fargate: pinned image, generated config, secrets, NLB, autoscaling."""

from __future__ import annotations

import re
from typing import Any

from infra.config import EnvironmentConfig
from infra.constructs.pgbouncer.ini import NLB_IDLE_TIMEOUT_SECONDS, parse_ini, render_ini
from infra.tooling.synth import SynthResult
from tests.infra.conftest import only, resources_of, text_of


def _containers(synth: dict[str, SynthResult], env: str) -> dict[str, dict[str, Any]]:
    task = only(resources_of(synth[env].templates["services"], "AWS::ECS::TaskDefinition"))
    return {c["Name"]: c for c in task["Properties"]["ContainerDefinitions"]}


def _ini(synth: dict[str, SynthResult], env: str) -> dict[str, dict[str, str]]:
    variable = only({e["Name"]: e for e in _containers(synth, env)["pgbouncer"]["Environment"]})
    joined = "".join(
        part if isinstance(part, str) else "HOST" for part in variable["Value"]["Fn::Join"][1]
    )
    return parse_ini(joined)


def test_image_is_pinned_to_pgbouncer_1_22_or_newer(
    synth: dict[str, SynthResult], env: str
) -> None:
    image = _containers(synth, env)["pgbouncer"]["Image"]
    match = re.fullmatch(r"edoburu/pgbouncer:v(\d+)\.(\d+)\.(\d+)-p\d+", image)
    assert match, image
    assert (int(match[1]), int(match[2])) >= (1, 22)


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


def test_one_logical_database_per_role(synth: dict[str, SynthResult], env: str) -> None:
    databases = _ini(synth, env)["databases"]
    assert set(databases) == {"recipes", "recipes_ro"}
    variable = text_of(_containers(synth, env)["pgbouncer"]["Environment"])
    assert "DatabasePrimary" in variable and "DatabaseReplica1" in variable


def test_render_points_the_read_database_at_the_primary_without_replicas(
    configs: dict[str, EnvironmentConfig],
) -> None:
    ini = parse_ini(
        render_ini(configs["dev"], primary_host="primary.example", replica_host="primary.example")
    )
    assert ini["databases"]["recipes_ro"].startswith("host=primary.example ")


def test_credentials_are_injected_as_secrets_never_as_text(
    synth: dict[str, SynthResult], env: str
) -> None:
    container = _containers(synth, env)["pgbouncer"]
    assert {s["Name"] for s in container["Secrets"]} == {"DB_USER", "DB_PASSWORD"}
    assert {e["Name"] for e in container["Environment"]} == {"PGBOUNCER_INI"}
    template = text_of(synth[env].templates["services"]).lower()
    assert "password=" not in template
    assert "unset DB_PASSWORD" in container["Command"][0]


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


def test_service_scales_between_bounds_on_cpu_and_connections(
    synth: dict[str, SynthResult], env: str, configs: dict[str, EnvironmentConfig]
) -> None:
    template = synth[env].templates["services"]
    pool = configs[env].pgbouncer
    target = only(resources_of(template, "AWS::ApplicationAutoScaling::ScalableTarget"))[
        "Properties"
    ]
    assert (target["MinCapacity"], target["MaxCapacity"]) == (pool.min_tasks, pool.max_tasks)
    alarms = resources_of(template, "AWS::CloudWatch::Alarm")
    thresholds = {
        (a["Properties"]["ComparisonOperator"], a["Properties"]["Threshold"])
        for a in alarms.values()
    }
    assert ("GreaterThanOrEqualToThreshold", 80) in thresholds  # CPU scale out
    assert ("LessThanOrEqualToThreshold", 30) in thresholds  # CPU scale in
    assert ("GreaterThanOrEqualToThreshold", 0.8) in thresholds  # connections scale out
    assert ("LessThanOrEqualToThreshold", 0.3) in thresholds  # connections scale in
    assert "ActiveFlowCount" in text_of(alarms) and "HealthyHostCount" in text_of(alarms)
    service = only(resources_of(template, "AWS::ECS::Service"))["Properties"]
    assert service["NetworkConfiguration"]["AwsvpcConfiguration"]["AssignPublicIp"] == "DISABLED"
    assert service["DeploymentConfiguration"]["DeploymentCircuitBreaker"] == {
        "Enable": True,
        "Rollback": True,
    }
