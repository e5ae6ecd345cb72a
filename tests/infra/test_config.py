"""The cdk.json context becomes one typed, validated config; bad context names the key."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from typing import Any

import pytest

from infra.config import ConfigError, EnvironmentConfig, load_config
from infra.config.catalog import check_instance_class, retention
from tests.infra.conftest import repo_root


def _environments(context: dict[str, Any]) -> dict[str, Any]:
    return copy.deepcopy(context["environments"])


def test_every_environment_loads_with_the_seed_sizes(configs: dict[str, EnvironmentConfig]) -> None:
    for config in configs.values():
        assert config.database.instance_class == "db.t3.medium"
        assert config.database.replica_instance_class == "db.t3.small"
        assert config.cache.node_type == "cache.t3.micro"
        assert (
            config.database.allocated_storage_gib,
            config.database.max_allocated_storage_gib,
        ) == (100, 500)
        assert config.database.backup_window == "03:00-04:00"
        assert config.database.maintenance_window == "sun:04:00-sun:05:00"
        pool = config.pgbouncer
        assert (
            pool.default_pool_size,
            pool.min_pool_size,
            pool.max_db_connections,
            pool.reserve_pool_size,
        ) == (20, 5, 50, 5)


def test_environments_differ_where_they_should(configs: dict[str, EnvironmentConfig]) -> None:
    dev, staging, prod = configs["dev"], configs["staging"], configs["prod"]
    assert not dev.database.multi_az and prod.database.multi_az
    assert not dev.database.deletion_protection
    assert staging.database.deletion_protection and prod.database.deletion_protection
    assert not dev.retain_on_delete and staging.retain_on_delete and prod.retain_on_delete
    assert staging.database.backup_retention_days == prod.database.backup_retention_days == 30
    assert len({config.account for config in configs.values()}) == 3
    assert len({config.network.cidr for config in configs.values()}) == 3


def test_defaults_are_overridden_per_environment(context: dict[str, Any]) -> None:
    environments = _environments(context)
    environments["dev"]["database"]["instance_class"] = "db.t3.large"
    config = load_config(environments, "dev")
    assert config.database.instance_class == "db.t3.large"
    assert config.database.replica_instance_class == "db.t3.small"  # still the default


@pytest.mark.parametrize(
    ("mutate", "env_name", "expected"),
    [
        (lambda e: None, "qa", "env: unknown environment 'qa'"),
        (lambda e: None, None, "env: missing"),
        (lambda e: e["prod"].pop("account"), "prod", "environments.prod.account: missing"),
        (
            lambda e: e["staging"].update(account="12345"),
            "staging",
            "environments.staging.account: '12345' is not valid",
        ),
        (
            lambda e: e["dev"].setdefault("database", {}).update(instance_class="db.t3.meduim"),
            "dev",
            "environments.dev.database.instance_class: unknown RDS instance class "
            "'db.t3.meduim' (did you mean 'db.t3.medium'?)",
        ),
        (
            lambda e: e["dev"].setdefault("cache", {}).update(node_type="cache.t3.mikro"),
            "dev",
            "environments.dev.cache.node_type: unknown cache node type",
        ),
        (
            lambda e: e["dev"].setdefault("database", {}).update(instance_clas="db.t3.medium"),
            "dev",
            "environments.dev.database: unknown key(s): instance_clas",
        ),
        (
            lambda e: e["dev"].setdefault("pgbouncer", {}).update(tcp_keepidle_seconds=400),
            "dev",
            "environments.dev.pgbouncer.tcp_keepidle_seconds: 400 is above the maximum 340",
        ),
        (
            lambda e: e["dev"].setdefault("pgbouncer", {}).update(image="edoburu/pgbouncer:latest"),
            "dev",
            "environments.dev.pgbouncer.image: 'edoburu/pgbouncer:latest' is not valid",
        ),
        (
            lambda e: (
                e["dev"].setdefault("pgbouncer", {}).update(image="edoburu/pgbouncer:v1.21.0")
            ),
            "dev",
            "environments.dev.pgbouncer.image",
        ),
        (
            lambda e: e["dev"].setdefault("database", {}).update(multi_az="false"),
            "dev",
            "environments.dev.database.multi_az: expected true or false, got 'false'",
        ),
        (
            lambda e: e["dev"].setdefault("alarms", {}).update(connections_critical=30),
            "dev",
            "environments.dev.alarms.connections_critical: must be above connections_high",
        ),
        (
            lambda e: e["dev"].setdefault("alerting", {}).update(slack=None),
            "dev",
            "environments.dev.alerting.slack: missing, but an escalation level notifies slack",
        ),
        (
            lambda e: e["prod"]["alerting"].update(pagerduty_url_secret_name=None),
            "prod",
            "environments.prod.alerting.pagerduty_url_secret_name: missing",
        ),
        (
            lambda e: e["dev"].setdefault("database", {}).update(log_retention_days=31),
            "dev",
            "environments.dev.database.log_retention_days: 31 is not one of",
        ),
        (
            lambda e: e["dev"].update(
                network={"nat_gateways": 0, "cidr": "10.10.0.0/16"},
                pgbouncer={"tls_init_image": "public.ecr.aws/docker/library/postgres:17.6"},
            ),
            "dev",
            "environments.dev.network.nat_gateways: 0, but pgbouncer.tls_init_image is pulled",
        ),
        (
            lambda e: e["dev"].update(
                network={"nat_gateways": 0, "cidr": "10.10.0.0/16"},
                pgbouncer={"image": "edoburu/pgbouncer:v1.25.2-p0"},
            ),
            "dev",
            "environments.dev.network.nat_gateways: 0, but pgbouncer.image is pulled",
        ),
        (
            lambda e: e["dev"].update(pgbouncer={"image_digest": "sha256:abc"}),
            "dev",
            "environments.dev.pgbouncer.image_digest: 'sha256:abc' is not valid",
        ),
        (
            lambda e: e["prod"].update(backup={"lock_max_retention_days": 30}),
            "prod",
            "environments.prod.backup.lock_min_retention_days: the plan keeps recovery points 84",
        ),
        (
            lambda e: e["dev"].update(availability_zones=["us-east-1a", "eu-west-1b"]),
            "dev",
            "environments.dev.availability_zones[1]: 'eu-west-1b' is not valid",
        ),
    ],
)
def test_bad_context_fails_with_the_key_named(
    context: dict[str, Any], mutate: Any, env_name: str | None, expected: str
) -> None:
    environments = _environments(context)
    mutate(environments)
    with pytest.raises(ConfigError) as error:
        load_config(environments, env_name)
    assert expected in str(error.value)


def test_instance_class_check_suggests_the_closest_class() -> None:
    assert check_instance_class("db.r6g.large") is None
    problem = check_instance_class("db.m6g.lareg")
    assert problem is not None and "db.m6g.large" in problem


def test_log_retention_maps_days_to_the_cdk_enum() -> None:
    assert retention(30).name == "ONE_MONTH"
    assert retention(365).name == "ONE_YEAR"
    assert retention(3653).name == "TEN_YEARS"


def test_app_py_exits_with_the_key_named_on_bad_context(context: dict[str, Any]) -> None:
    """The CLI entry point itself: no traceback, exit code 1, the key in the message."""
    environments = _environments(context)
    environments["dev"]["database"]["replica_instance_class"] = "db.t3.smal"
    cli_context = json.dumps({"environments": environments, "env": "dev"})
    result = subprocess.run(
        [sys.executable, "app.py"],
        cwd=repo_root(),
        env={"CDK_CONTEXT_JSON": cli_context, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1
    assert "environments.dev.database.replica_instance_class" in result.stderr
    assert "did you mean 'db.t3.small'?" in result.stderr
    assert "Traceback" not in result.stderr


def test_no_nat_is_fine_when_every_image_comes_through_ecr(context: dict[str, Any]) -> None:
    environments = _environments(context)
    environments["dev"]["network"]["nat_gateways"] = 0
    config = load_config(environments, "dev")
    assert config.network.nat_gateways == 0
    assert all(
        image.startswith(("docker-hub/", "ecr-public/"))
        for image in config.pgbouncer.images.values()
    )
