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
