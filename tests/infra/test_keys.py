"""KMS: one rotating customer-managed key per kind of data, with narrow key policies."""

from __future__ import annotations

from typing import Any

from infra.constructs.keys import KEY_SPECS
from infra.tooling.synth import SynthResult
from tests.infra.conftest import resources_of, text_of


def _keys(synth: dict[str, SynthResult], env: str) -> dict[str, dict[str, Any]]:
    return resources_of(synth[env].templates["keys"], "AWS::KMS::Key")


def _account(env: str) -> str:
    return {"dev": "111111111111", "staging": "222222222222", "prod": "333333333333"}[env]


def test_one_rotating_key_per_kind_of_data(synth: dict[str, SynthResult], env: str) -> None:
    keys = _keys(synth, env)
    assert len(keys) == 6
    aliases = {
        a["Properties"]["AliasName"]
        for a in resources_of(synth[env].templates["keys"], "AWS::KMS::Alias").values()
    }
    assert aliases == {f"alias/recipe-{env}/{spec.name}" for spec in KEY_SPECS}
    assert {spec.name for spec in KEY_SPECS} == {
        "database",
        "cache",
        "backups",
        "exports",
        "logs",
        "alerting",
    }
    for key in keys.values():
        assert key["Properties"]["EnableKeyRotation"] is True


def test_keys_are_retained_where_data_is(synth: dict[str, SynthResult], env: str) -> None:
    expected = "Delete" if env == "dev" else "Retain"
    for key in _keys(synth, env).values():
        assert key["DeletionPolicy"] == expected
        assert key["UpdateReplacePolicy"] == expected


def test_key_policies_are_least_privilege(synth: dict[str, SynthResult], env: str) -> None:
    for key in _keys(synth, env).values():
        statements = key["Properties"]["KeyPolicy"]["Statement"]
        by_sid = {s["Sid"]: s for s in statements if "Sid" in s}
        for statement in statements:
            if "Sid" not in statement:  # CDK's own grant for an encrypted secret
                assert statement["Principal"] == {"AWS": f"arn:aws:iam::{_account(env)}:root"}
                assert statement["Condition"]["StringEquals"]["kms:ViaService"] == (
                    "secretsmanager.us-east-1.amazonaws.com"
                )
        for statement in statements:
            actions = (
                statement["Action"]
                if isinstance(statement["Action"], list)
                else [statement["Action"]]
            )
            assert "kms:*" not in actions
            assert statement["Principal"] != "*" and statement["Principal"] != {"AWS": "*"}
        admin = by_sid["AccountAdministersKey"]
        assert not {"kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey*"} & set(admin["Action"])
        for sid in ("UseThroughOwningServices", "GrantsForOwningServices"):
            if sid in by_sid:
                condition = by_sid[sid]["Condition"]["StringEquals"]
                assert condition["kms:ViaService"], sid
                assert "kms:CallerAccount" in condition
        if "GrantsForOwningServices" in by_sid:
            assert by_sid["GrantsForOwningServices"]["Condition"]["Bool"] == {
                "kms:GrantIsForAWSResource": "true"
            }


def test_each_key_is_usable_only_by_its_owning_services(
    synth: dict[str, SynthResult], env: str
) -> None:
    policies = {
        lid: text_of(key["Properties"]["KeyPolicy"]) for lid, key in _keys(synth, env).items()
    }

    def policy(name: str) -> str:
        return next(
            text for lid, text in policies.items() if lid.startswith(f"Keys{name.capitalize()}")
        )

    assert "rds.us-east-1.amazonaws.com" in policy("database")
    assert "elasticache.us-east-1.amazonaws.com" not in policy("database")
    assert "elasticache.us-east-1.amazonaws.com" in policy("cache")
    assert "backup.us-east-1.amazonaws.com" in policy("backups")
    assert "logs.us-east-1.amazonaws.com" in policy("logs")
    assert "kms:EncryptionContext:aws:logs:arn" in policy("logs")
    assert "cloudwatch.amazonaws.com" in policy("alerting")
    assert "events.amazonaws.com" in policy("alerting")
    assert "cloudwatch.amazonaws.com" not in policy("database")


def _statements(synth: dict[str, SynthResult], env: str) -> list[tuple[str, dict[str, Any]]]:
    return [
        (lid, statement)
        for lid, key in _keys(synth, env).items()
        for statement in key["Properties"]["KeyPolicy"]["Statement"]
    ]


def test_key_admins_get_listed_actions_and_no_create_grant(
    synth: dict[str, SynthResult], env: str
) -> None:
    for lid, statement in _statements(synth, env):
        if statement.get("Sid") != "AccountAdministersKey":
            continue
        actions = statement["Action"]
        assert not [a for a in actions if "*" in a], lid
        assert "kms:CreateGrant" not in actions, lid
        assert not {"kms:Encrypt", "kms:Decrypt"} & set(actions), lid


def test_eventbridge_is_scoped_by_topic_arn_and_cloudwatch_by_account(
    synth: dict[str, SynthResult], env: str
) -> None:
    """EventBridge sends no aws:SourceAccount to encrypted topics: that condition drops
    every event, so its grant is scoped by the topic ARN in the encryption context."""
    by_sid = {s.get("Sid"): s for _, s in _statements(synth, env)}
    events = by_sid["EventBridgePublishesToEncryptedTopics"]
    assert events["Principal"] == {"Service": "events.amazonaws.com"}
    assert "aws:SourceAccount" not in text_of(events["Condition"])
    assert "aws:SourceArn" not in text_of(events["Condition"])
    context = events["Condition"]["ArnLike"]["kms:EncryptionContext:aws:sns:topicArn"]
    assert f":sns:us-east-1:{_account(env)}:recipe-{env}-alerts-*" in text_of(context)
    alarms = by_sid["CloudWatchAlarmsPublishToEncryptedTopics"]
    assert alarms["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert alarms["Condition"] == {"StringEquals": {"aws:SourceAccount": _account(env)}}
