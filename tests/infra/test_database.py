"""RDS PostgreSQL: engine, parameters, storage, protection, backups, monitoring, replica."""

from __future__ import annotations

from typing import Any

from aws_cdk import aws_rds as rds

from infra.config import EnvironmentConfig
from infra.constructs.database.instances import PASSWORD_EXCLUDED, POSTGRES_VERSION
from infra.tooling.synth import SynthResult
from tests.infra.conftest import only, resources_of, text_of


def _instances(
    synth: dict[str, SynthResult], env: str
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    instances = resources_of(synth[env].templates["data"], "AWS::RDS::DBInstance")
    primary = [r for r in instances.values() if "SourceDBInstanceIdentifier" not in r["Properties"]]
    replicas = [r for r in instances.values() if "SourceDBInstanceIdentifier" in r["Properties"]]
    assert len(primary) == 1
    return primary[0], replicas


def test_engine_is_the_newest_postgres_17_minor_cdk_offers() -> None:
    minors = [
        getattr(rds.PostgresEngineVersion, name).postgres_full_version
        for name in dir(rds.PostgresEngineVersion)
        if name.startswith("VER_17_")
    ]
    newest = max(minors, key=lambda version: tuple(int(part) for part in version.split(".")))
    assert POSTGRES_VERSION.postgres_full_version == newest


def test_primary_properties(
    synth: dict[str, SynthResult], env: str, configs: dict[str, EnvironmentConfig]
) -> None:
    config = configs[env].database
    primary, _ = _instances(synth, env)
    p = primary["Properties"]
    assert (p["Engine"], p["EngineVersion"]) == ("postgres", POSTGRES_VERSION.postgres_full_version)
    assert p["DBInstanceClass"] == "db.t3.medium"
    assert (p["AllocatedStorage"], p["MaxAllocatedStorage"], p["StorageType"]) == (
        "100",
        500,
        "gp3",
    )
    assert p["StorageEncrypted"] is True and "KmsKeyId" in p
    assert p["MultiAZ"] is config.multi_az
    assert p["MultiAZ"] is (env == "prod")
    assert p["PubliclyAccessible"] is False
    assert p["BackupRetentionPeriod"] == config.backup_retention_days
    assert p["PreferredBackupWindow"] == "03:00-04:00"
    assert p["PreferredMaintenanceWindow"] == "sun:04:00-sun:05:00"
    assert p["DeletionProtection"] is (env != "dev")
    assert primary["DeletionPolicy"] == ("Delete" if env == "dev" else "Snapshot")
    assert p["EnablePerformanceInsights"] is True and "PerformanceInsightsKMSKeyId" in p
    assert p["DatabaseInsightsMode"] == ("advanced" if env == "prod" else "standard")
    assert p["MonitoringInterval"] == 60 and "MonitoringRoleArn" in p
    assert p["EnableCloudwatchLogsExports"] == ["postgresql", "upgrade"]
    assert "{{resolve:secretsmanager:" in text_of(p["MasterUserPassword"])


def test_staging_and_prod_keep_30_days_of_backups(synth: dict[str, SynthResult]) -> None:
    for env in ("staging", "prod"):
        primary, _ = _instances(synth, env)
        assert primary["Properties"]["BackupRetentionPeriod"] == 30


def test_parameter_group_forces_tls_and_logs_slow_statements(
    synth: dict[str, SynthResult], env: str
) -> None:
    group = only(resources_of(synth[env].templates["data"], "AWS::RDS::DBParameterGroup"))
    p = group["Properties"]
    assert p["Family"] == "postgres17"
    params = p["Parameters"]
    assert params["rds.force_ssl"] == "1"
    assert params["shared_preload_libraries"] == "pg_stat_statements"
    assert params["log_min_duration_statement"] == "2000"
    assert params["maintenance_work_mem"] == str(256 * 1024)  # seed 003: 256MB, in kB


def test_replica_sets_its_properties_explicitly(synth: dict[str, SynthResult], env: str) -> None:
    _, replicas = _instances(synth, env)
    assert len(replicas) == 1
    p = replicas[0]["Properties"]
    assert p["DBInstanceClass"] == "db.t3.small"
    assert p["MultiAZ"] is False
    assert p["DeletionProtection"] is (env != "dev")
    assert p["StorageType"] == "gp3"
    assert p["PubliclyAccessible"] is False
    assert p["EnablePerformanceInsights"] is True and p["MonitoringInterval"] == 60
    assert "StorageEncrypted" not in p  # inherited; CloudFormation rejects it on a replica
    assert (
        p["DBParameterGroupName"] == _instances(synth, env)[0]["Properties"]["DBParameterGroupName"]
    )


def test_log_groups_exist_before_rds_writes_to_them(
    synth: dict[str, SynthResult], env: str, configs: dict[str, EnvironmentConfig]
) -> None:
    groups = resources_of(synth[env].templates["data"], "AWS::Logs::LogGroup")
    names = {
        text_of(g["Properties"]["LogGroupName"])
        for g in groups.values()
        if "LogGroupName" in g["Properties"]  # RDS writes to fixed names; nothing else has one
    }
    for expected in (
        f"recipe-{env}-primary/postgresql",
        f"recipe-{env}-primary/upgrade",
        f"recipe-{env}-replica-1/postgresql",
    ):
        assert any(expected in name for name in names), expected
    for group in groups.values():
        assert "KmsKeyId" in group["Properties"]
    primary, _ = _instances(synth, env)
    assert any(dep.startswith("DatabasePrimaryPostgresqlLog") for dep in primary["DependsOn"])


LOGIN_SECRETS = ("DatabaseMasterSecret", "DatabaseAppSecret", "DatabasePgBouncerAuthSecret")


def test_login_secrets_are_encrypted_and_rotated(synth: dict[str, SynthResult], env: str) -> None:
    template = synth[env].templates["data"]
    secrets = resources_of(template, "AWS::SecretsManager::Secret")
    for prefix in LOGIN_SECRETS:
        secret = next(s for lid, s in secrets.items() if lid.startswith(prefix))
        assert "KmsKeyId" in secret["Properties"]
    schedules = resources_of(template, "AWS::SecretsManager::RotationSchedule")
    assert len(schedules) == len(LOGIN_SECRETS)
    for schedule in schedules.values():
        assert schedule["Properties"]["RotationRules"]["ScheduleExpression"] == "rate(30 days)"
    for rotation in resources_of(template, "AWS::Serverless::Application").values():
        assert "vpcSecurityGroupIds" in rotation["Properties"]["Parameters"]  # jobs group


def test_rotations_keep_the_excluded_characters(synth: dict[str, SynthResult], env: str) -> None:
    template = synth[env].templates["data"]
    for rotation in resources_of(template, "AWS::Serverless::Application").values():
        assert rotation["Properties"]["Parameters"]["excludeCharacters"] == PASSWORD_EXCLUDED
    for lid, secret in resources_of(template, "AWS::SecretsManager::Secret").items():
        if lid.startswith(LOGIN_SECRETS):
            generated = secret["Properties"]["GenerateSecretString"]
            assert generated["ExcludeCharacters"] == PASSWORD_EXCLUDED


def test_rotation_schedules_wait_for_the_secret_attachments(
    synth: dict[str, SynthResult], env: str
) -> None:
    """The first rotation must find the host the attachment writes into the secret."""
    template = synth[env].templates["data"]
    attachments = resources_of(template, "AWS::SecretsManager::SecretTargetAttachment")
    assert len(attachments) == len(LOGIN_SECRETS)
    for lid, schedule in resources_of(template, "AWS::SecretsManager::RotationSchedule").items():
        secret = text_of(schedule["Properties"]["SecretId"])
        (attachment,) = [a for a, body in attachments.items() if "Attachment" in a and
                         text_of(body["Properties"]["SecretId"]) == secret]  # fmt: skip
        assert attachment in schedule.get("DependsOn", []), lid


def test_secrets_stay_with_a_retained_database(synth: dict[str, SynthResult], env: str) -> None:
    for kind in ("data",):
        for lid, secret in resources_of(
            synth[env].templates[kind], "AWS::SecretsManager::Secret"
        ).items():
            assert secret["DeletionPolicy"] == ("Delete" if env == "dev" else "Retain"), lid


def test_slow_statement_metric_filter_feeds_the_shared_metric_name(
    synth: dict[str, SynthResult], env: str
) -> None:
    metric_filter = only(resources_of(synth[env].templates["data"], "AWS::Logs::MetricFilter"))
    transform = metric_filter["Properties"]["MetricTransformations"][0]
    assert (transform["MetricNamespace"], transform["MetricName"]) == (
        "RecipeApp/DataLayer",
        "SlowStatementsLogged",
    )
