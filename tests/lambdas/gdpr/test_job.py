"""The shared pieces of the GDPR handlers: settings, message parsing, the audit key."""

from __future__ import annotations

import json
from collections.abc import Iterator

import boto3
import pytest
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from moto import mock_aws

from datalayer.errors import ConfigurationError, InvalidInputError
from datalayer.settings import load_settings
from lambdas.gdpr.job import audit_key, message_id


@pytest.mark.parametrize(
    ("overrides", "variable"),
    [
        ({"exports_bucket": "Not_A_Bucket"}, "EXPORTS_BUCKET"),
        ({"exports_prefix": "exports"}, "EXPORTS_PREFIX"),
        ({"exports_prefix": "../x/"}, "EXPORTS_PREFIX"),
        ({"erasure_batch_size": 0}, "ERASURE_BATCH_SIZE"),
    ],
)
def test_bad_gdpr_settings_name_the_variable(overrides: dict[str, object], variable: str) -> None:
    with pytest.raises(ConfigurationError, match=variable):
        load_settings(**overrides)


def test_gdpr_settings_defaults() -> None:
    settings = load_settings()
    assert settings.exports_prefix == "exports/"
    assert settings.erasure_batch_size == 1000
    assert settings.exports_bucket is None and settings.audit_hash_key_secret_arn is None


@pytest.mark.parametrize("body", ["", "[]", '{"request_id": 7}', '{"other": "x"}', "{"])
def test_a_malformed_message_is_invalid_input(body: str) -> None:
    record = SQSRecord({"messageId": "m", "body": body})
    with pytest.raises(InvalidInputError):
        message_id(record, "request_id")


@pytest.fixture
def secrets(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name, value in {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        yield


def test_the_audit_key_comes_from_its_secret(secrets: None) -> None:
    client = boto3.client("secretsmanager")
    good = client.create_secret(Name="good", SecretString=json.dumps({"key": "k" * 64}))["ARN"]
    short = client.create_secret(Name="short", SecretString=json.dumps({"key": "k"}))["ARN"]
    assert audit_key(load_settings(audit_hash_key_secret_arn=good)) == "k" * 64
    with pytest.raises(ConfigurationError, match="AUDIT_HASH_KEY_SECRET_ARN"):
        audit_key(load_settings(audit_hash_key_secret_arn=short))
    local = load_settings(audit_hash_key="local-key-0123456789")
    assert audit_key(local) == "local-key-0123456789"
