"""Valkey replication group: TLS, KMS, AUTH token, LRU, Multi-AZ with replicas, snapshots."""

from __future__ import annotations

import string
from typing import Any

from infra.config import EnvironmentConfig
from infra.constructs.cache import AUTH_TOKEN_EXCLUDED, AUTH_TOKEN_LENGTH
from infra.tooling.synth import SynthResult
from tests.infra.conftest import only, resources_of, text_of


def _group(synth: dict[str, SynthResult], env: str) -> dict[str, Any]:
    return only(resources_of(synth[env].templates["data"], "AWS::ElastiCache::ReplicationGroup"))


def test_engine_encryption_and_auth(synth: dict[str, SynthResult], env: str) -> None:
    p = _group(synth, env)["Properties"]
    assert (p["Engine"], p["EngineVersion"], p["CacheNodeType"]) == (
        "valkey",
        "8.0",
        "cache.t3.micro",
    )
    assert p["TransitEncryptionEnabled"] is True and p["TransitEncryptionMode"] == "required"
    assert p["AtRestEncryptionEnabled"] is True and "KmsKeyId" in p
    assert p["Port"] == 6379
    token = text_of(p["AuthToken"])
    assert "{{resolve:secretsmanager:" in token and ":SecretString:token::}}" in token


def test_multi_az_and_failover_exactly_when_there_is_a_replica(
    synth: dict[str, SynthResult], env: str, configs: dict[str, EnvironmentConfig]
) -> None:
    p = _group(synth, env)["Properties"]
    replicas = configs[env].cache.replicas
    assert p["NumCacheClusters"] == 1 + replicas
    assert p["MultiAZEnabled"] is (replicas > 0)
    assert p["AutomaticFailoverEnabled"] is (replicas > 0)
    assert p["MultiAZEnabled"] is (env != "dev")


def test_snapshots_and_parameter_group(
    synth: dict[str, SynthResult], env: str, configs: dict[str, EnvironmentConfig]
) -> None:
    p = _group(synth, env)["Properties"]
    assert p["SnapshotRetentionLimit"] == configs[env].cache.snapshot_retention_days >= 1
    params = only(resources_of(synth[env].templates["data"], "AWS::ElastiCache::ParameterGroup"))
    assert params["Properties"]["CacheParameterGroupFamily"] == "valkey8"
    assert params["Properties"]["Properties"] == {"maxmemory-policy": "allkeys-lru"}


def test_auth_token_is_generated_with_only_the_allowed_characters(
    synth: dict[str, SynthResult], env: str
) -> None:
    secret = next(
        s
        for lid, s in resources_of(
            synth[env].templates["data"], "AWS::SecretsManager::Secret"
        ).items()
        if lid.startswith("CacheAuthToken")
    )
    generator = secret["Properties"]["GenerateSecretString"]
    assert 16 <= generator["PasswordLength"] == AUTH_TOKEN_LENGTH <= 128
    assert generator["ExcludeCharacters"] == AUTH_TOKEN_EXCLUDED
    assert generator.get("ExcludePunctuation") is not True
    allowed_specials = set(string.punctuation) - set(generator["ExcludeCharacters"])
    assert allowed_specials == set("!&#$^<>-")
    assert "KmsKeyId" in secret["Properties"]
