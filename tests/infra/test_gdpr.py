"""GDPR jobs in AWS: the exports bucket and audit key (data), the queue-fed export and
erasure Lambdas (operations) and the alarms on their queues (monitoring)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

from infra.constructs.jobs.gdpr import MAX_CONCURRENCY, MAX_RECEIVES
from infra.constructs.jobs.packaging import BUNDLE_REQUIREMENTS, BUNDLE_SOURCES, copy_sources
from infra.tooling.synth import SynthResult
from tests.infra.conftest import only, repo_root, resources_of, text_of

EXPORTS_KEY = "KeysExports"
DATABASE_KEY = "KeysDatabase"
JOBS = ("export", "erasure")


def _data(synth: dict[str, SynthResult], env: str) -> dict[str, Any]:
    return synth[env].templates["data"]


def _operations(synth: dict[str, SynthResult], env: str) -> dict[str, Any]:
    return synth[env].templates["operations"]


def _by_prefix(template: dict[str, Any], kind: str, prefix: str) -> dict[str, Any]:
    return only({k: v for k, v in resources_of(template, kind).items() if k.startswith(prefix)})


def _imports_key(value: Any, key: str) -> bool:
    return "Fn::ImportValue" in text_of(value) and f"GetAttKeys{key.removeprefix('Keys')}" in (
        text_of(value)
    )


def test_exports_bucket_is_private_encrypted_tls_only_and_expires_after_30_days(
    synth: dict[str, SynthResult], env: str
) -> None:
    template = _data(synth, env)
    bucket = _by_prefix(template, "AWS::S3::Bucket", "GdprExports9")
    props = bucket["Properties"]
    sse = only({"rule": props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]})
    assert sse["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    assert _imports_key(sse["ServerSideEncryptionByDefault"]["KMSMasterKeyID"], EXPORTS_KEY)
    assert sse["BucketKeyEnabled"] is True
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert props["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    assert "AccessControl" not in props
    assert "VersioningConfiguration" not in props
    rule = only({"rule": props["LifecycleConfiguration"]["Rules"][0]})
    assert len(props["LifecycleConfiguration"]["Rules"]) == 1
    assert rule["Status"] == "Enabled" and rule["ExpirationInDays"] == 30
    assert "Prefix" not in rule  # every object expires
    assert "Ref" in text_of(props["LoggingConfiguration"]["DestinationBucketName"])
    assert bucket["DeletionPolicy"] == "Retain" and "BucketName" not in props
    policy = text_of(_by_prefix(template, "AWS::S3::BucketPolicy", "GdprExportsPolicy"))
    assert '"aws:SecureTransport": "false"' in policy
    assert '"s3:TlsVersion": 1.2' in policy


def test_exports_access_logs_are_private_and_expire(
    synth: dict[str, SynthResult], env: str
) -> None:
    template = _data(synth, env)
    props = _by_prefix(template, "AWS::S3::Bucket", "GdprExportsAccessLogs")["Properties"]
    assert props["PublicAccessBlockConfiguration"]["BlockPublicAcls"] is True
    assert props["PublicAccessBlockConfiguration"]["RestrictPublicBuckets"] is True
    assert props["LifecycleConfiguration"]["Rules"][0]["ExpirationInDays"] == 365
    policy = text_of(_by_prefix(template, "AWS::S3::BucketPolicy", "GdprExportsAccessLogsPolicy"))
    assert '"aws:SecureTransport": "false"' in policy
    assert "logging.s3.amazonaws.com" in policy  # only the log delivery writes


def test_audit_key_is_generated_encrypted_and_kept_with_the_database(
    synth: dict[str, SynthResult], env: str
) -> None:
    secret = _by_prefix(_data(synth, env), "AWS::SecretsManager::Secret", "GdprAuditHashKey")
    props = secret["Properties"]
    assert props["Name"] == f"recipe-{env}/gdpr/audit-hash-key"
    assert props["GenerateSecretString"]["GenerateStringKey"] == "key"
    assert props["GenerateSecretString"]["PasswordLength"] == 64
    assert _imports_key(props["KmsKeyId"], DATABASE_KEY)
    assert secret["DeletionPolicy"] == ("Delete" if env == "dev" else "Retain")


def test_data_stack_publishes_the_bucket_and_the_audit_key(
    synth: dict[str, SynthResult], env: str
) -> None:
    names = {
        p["Properties"]["Name"]
        for p in resources_of(_data(synth, env), "AWS::SSM::Parameter").values()
    }
    assert {
        f"/recipe/{env}/gdpr/exports-bucket-name",
        f"/recipe/{env}/secrets/audit-hash-key-arn",
    } <= names


def test_exports_key_serves_s3_and_sqs_only_through_those_services(
    synth: dict[str, SynthResult], env: str
) -> None:
    keys = resources_of(synth[env].templates["keys"], "AWS::KMS::Key")
    policy = next(k for lid, k in keys.items() if lid.startswith(EXPORTS_KEY))
    via = next(
        s["Condition"]["StringEquals"]["kms:ViaService"]
        for s in policy["Properties"]["KeyPolicy"]["Statement"]
        if s.get("Sid") == "UseThroughOwningServices"
    )
    assert sorted(via) == sorted(
        f"{service}.us-east-1.amazonaws.com" for service in ("s3", "sqs", "rds")
    )


def test_queues_are_encrypted_tls_only_and_drain_into_dead_letter_queues(
    synth: dict[str, SynthResult], env: str
) -> None:
    template = _operations(synth, env)
    queues = resources_of(template, "AWS::SQS::Queue")
    by_name = {q["Properties"]["QueueName"]: (lid, q["Properties"]) for lid, q in queues.items()}
    timeouts = {"export": 300, "erasure": 900}
    for job in JOBS:
        name = f"recipe-{env}-gdpr-{job}"
        dlq_lid, dlq = by_name[f"{name}-dlq"]
        _, queue = by_name[name]
        for props in (queue, dlq):
            assert _imports_key(props["KmsMasterKeyId"], EXPORTS_KEY)
            assert props["MessageRetentionPeriod"] == 14 * 24 * 3600
        assert queue["RedrivePolicy"] == {
            "deadLetterTargetArn": {"Fn::GetAtt": [dlq_lid, "Arn"]},
            "maxReceiveCount": MAX_RECEIVES,
        }
        assert queue["VisibilityTimeout"] == 6 * timeouts[job]
        assert "RedrivePolicy" not in dlq
    policies = resources_of(template, "AWS::SQS::QueuePolicy")
    assert len(policies) == len(queues) == 4
    for policy in policies.values():
        statement = only({"s": policy["Properties"]["PolicyDocument"]["Statement"][0]})
        assert statement["Effect"] == "Deny" and statement["Action"] == "sqs:*"
        assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def _function(template: dict[str, Any], job: str) -> tuple[str, dict[str, Any]]:
    functions = resources_of(template, "AWS::Lambda::Function")
    return next(
        (lid, f) for lid, f in functions.items() if lid.startswith(f"Gdpr{job.capitalize()}")
    )


def test_functions_run_in_the_vpc_with_the_jobs_group_and_thin_configuration(
    synth: dict[str, SynthResult], env: str
) -> None:
    template = _operations(synth, env)
    for job in JOBS:
        _, function = _function(template, job)
        props = function["Properties"]
        assert props["Handler"] == f"lambdas.gdpr.{job}_handler.handler"
        assert props["Runtime"] == "python3.12"
        assert props["FunctionName"] == f"recipe-{env}-gdpr-{job}"
        vpc = text_of(props["VpcConfig"])
        assert "networkappsubnetids" in vpc and "networksecuritygroupsjobs" in vpc
        variables = props["Environment"]["Variables"]
        assert "secretsapparn" in text_of(variables["DATABASE_SECRET_ARN"])
        assert "secretsaudithashkeyarn" in text_of(variables["AUDIT_HASH_KEY_SECRET_ARN"])
        assert variables["DATABASE_SSLMODE"] == "require"
        assert variables["METRICS_ENVIRONMENT"] == env
        assert not any("PASSWORD" in name or name == "AUDIT_HASH_KEY" for name in variables)
        assert "ReservedConcurrentExecutions" not in props
        groups = props["VpcConfig"]["SecurityGroupIds"]
        assert len(groups) == (2 if job == "export" else 1)
    _, export = _function(template, "export")
    variables = export["Properties"]["Environment"]["Variables"]
    assert "gdprexportsbucketname" in text_of(variables["EXPORTS_BUCKET"])
    assert _imports_key(variables["EXPORTS_KMS_KEY_ID"], EXPORTS_KEY)
    assert variables["EXPORTS_PREFIX"] == "exports/"
    s3_group = _by_prefix(template, "AWS::EC2::SecurityGroup", "GdprExportsS3Access")
    assert s3_group["Properties"]["SecurityGroupEgress"] == [
        {
            "CidrIp": "0.0.0.0/0",
            "Description": "S3 through the gateway endpoint",
            "FromPort": 443,
            "IpProtocol": "tcp",
            "ToPort": 443,
        }
    ]
    assert "SecurityGroupIngress" not in s3_group["Properties"]


def test_event_source_mappings_report_partial_batch_failures(
    synth: dict[str, SynthResult], env: str
) -> None:
    template = _operations(synth, env)
    mappings = resources_of(template, "AWS::Lambda::EventSourceMapping")
    assert len(mappings) == 2
    for job in JOBS:
        function_lid, _ = _function(template, job)
        mapping = next(
            m["Properties"]
            for m in mappings.values()
            if m["Properties"]["FunctionName"] == {"Ref": function_lid}
        )
        assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        assert mapping["ScalingConfig"] == {"MaximumConcurrency": MAX_CONCURRENCY}
        assert f"Gdpr{job.capitalize()}Queue" in text_of(mapping["EventSourceArn"])
        assert "DeadLetter" not in text_of(mapping["EventSourceArn"])


def _statements(template: dict[str, Any], job: str) -> list[dict[str, Any]]:
    _, function = _function(template, job)
    role = function["Properties"]["Role"]["Fn::GetAtt"][0]
    policy = next(
        p
        for p in resources_of(template, "AWS::IAM::Policy").values()
        if p["Properties"]["Roles"] == [{"Ref": role}]
    )
    return list(policy["Properties"]["PolicyDocument"]["Statement"])


def _actions(statement: dict[str, Any]) -> set[str]:
    actions = statement["Action"]
    return {actions} if isinstance(actions, str) else set(actions)


def test_job_roles_are_least_privilege(synth: dict[str, SynthResult], env: str) -> None:
    template = _operations(synth, env)
    for job in JOBS:
        statements = _statements(template, job)
        granted: set[str] = set()
        for statement in statements:
            assert statement["Effect"] == "Allow"
            assert statement["Resource"] != "*" and "*" not in text_of(
                statement["Resource"]
            ).replace("/exports/*", ""), statement
            actions = _actions(statement)
            granted |= actions
            if any(a.startswith("sqs:") for a in actions):
                assert statement["Resource"] == {"Fn::GetAtt": [_queue_lid(template, job), "Arn"]}
                assert "sqs:SendMessage" not in actions and "sqs:PurgeQueue" not in actions
            if any(a.startswith("secretsmanager:") for a in actions):
                assert actions == {"secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"}
                refs = text_of(statement["Resource"])
                assert "secretsapparn" in refs and "secretsaudithashkeyarn" in refs
                assert "secretsmasterarn" not in refs
            if "kms:Decrypt" in actions and _imports_key(statement["Resource"], DATABASE_KEY):
                assert statement["Condition"] == {
                    "StringEquals": {"kms:ViaService": "secretsmanager.us-east-1.amazonaws.com"}
                }
            if any(a.startswith("s3:") for a in actions):
                assert job == "export"
                assert actions == {"s3:PutObject", "s3:GetObject"}
                assert text_of(statement["Resource"]).endswith('"/exports/*"]]}')
            if "kms:GenerateDataKey" in actions:
                assert job == "export"
                assert _imports_key(statement["Resource"], EXPORTS_KEY)
                assert statement["Condition"] == {
                    "StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}
                }
        assert not {a for a in granted if a.endswith("*")}
        assert not {
            a for a in granted if a.split(":")[0] not in {"sqs", "kms", "secretsmanager", "s3"}
        }
        assert ("s3:PutObject" in granted) == (job == "export")


def _queue_lid(template: dict[str, Any], job: str) -> str:
    return next(
        lid
        for lid, q in resources_of(template, "AWS::SQS::Queue").items()
        if q["Properties"]["QueueName"].endswith(f"-gdpr-{job}")
    )


def test_queue_alarms_notify_the_high_topic(synth: dict[str, SynthResult], env: str) -> None:
    template = synth[env].templates["monitoring"]
    alarms = {
        a["Properties"]["AlarmName"]: a["Properties"]
        for a in resources_of(template, "AWS::CloudWatch::Alarm").values()
        if "-gdpr-" in a["Properties"]["AlarmName"]
    }
    topics = resources_of(template, "AWS::SNS::Topic")
    high = next(lid for lid, t in topics.items() if t["Properties"]["TopicName"].endswith("-high"))
    expected_age = {"export": 30 * 60, "erasure": 2 * 3600}
    assert len(alarms) == 4
    for job in JOBS:
        queue = f"recipe-{env}-gdpr-{job}"
        dlq = alarms[f"{queue}-dlq-not-empty"]
        assert dlq["Namespace"] == "AWS/SQS"
        assert dlq["MetricName"] == "ApproximateNumberOfMessagesVisible"
        assert dlq["Dimensions"] == [{"Name": "QueueName", "Value": f"{queue}-dlq"}]
        assert dlq["Threshold"] == 0
        age = alarms[f"{queue}-oldest-message-age"]
        assert age["MetricName"] == "ApproximateAgeOfOldestMessage"
        assert age["Dimensions"] == [{"Name": "QueueName", "Value": queue}]
        assert age["Threshold"] == expected_age[job]
        for alarm in (dlq, age):
            assert alarm["ComparisonOperator"] == "GreaterThanThreshold"
            assert alarm["Statistic"] == "Maximum" and alarm["Period"] == 300
            assert alarm["EvaluationPeriods"] == 1
            assert alarm["TreatMissingData"] == "notBreaching"
            assert alarm["AlarmActions"] == [{"Ref": high}]


def _pins(path: Path) -> dict[str, str]:
    result = {}
    for line in path.read_text().splitlines():
        line = line.split("#")[0].strip()
        if "==" in line:
            name, version = line.split("==")
            result[name.split("[")[0].lower()] = version
    return result


def test_the_shared_bundle_imports_the_gdpr_handlers_with_the_datalayer_pins(
    tmp_path: Path,
) -> None:
    copy_sources(BUNDLE_SOURCES, tmp_path)
    assert not (tmp_path / "datalayer" / "local").exists()
    probe = (
        "import sys; sys.modules['datalayer.local'] = None; "
        "import lambdas.gdpr.export_handler, lambdas.gdpr.erasure_handler"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=tmp_path,
        env={
            "PYTHONPATH": str(tmp_path),
            "PATH": "/usr/bin:/bin",
            "AWS_DEFAULT_REGION": "us-east-1",
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    bundle = _pins(repo_root() / BUNDLE_REQUIREMENTS)
    datalayer = _pins(repo_root() / "requirements.txt")
    shared = set(bundle) & set(datalayer)
    assert {"sqlalchemy", "psycopg", "pydantic-settings"} <= shared
    assert {n: bundle[n] for n in shared} == {n: datalayer[n] for n in shared}
    assert (
        bundle["aws-lambda-powertools"]
        == _pins(repo_root() / "requirements-infra.txt")["aws-lambda-powertools"]
    )
