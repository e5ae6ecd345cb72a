"""Migration job: VPC Lambda in the jobs group, triggered on deploy with hash and timeout."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from infra.constructs.jobs import packaging as assets
from infra.constructs.jobs.packaging import (
    LAMBDA_PYTHON_VERSION,
    LAMBDA_RUNTIME,
    migrations_digest,
    tree_digest,
)
from infra.tooling.synth import SynthResult
from tests.infra.conftest import only, repo_root, resources_of, text_of


def _function(synth: dict[str, SynthResult], env: str) -> dict[str, object]:
    functions = resources_of(synth[env].templates["services"], "AWS::Lambda::Function")
    return next(f for lid, f in functions.items() if lid.startswith("JobsMigrate"))


def test_migrate_function_runs_in_the_vpc_with_the_jobs_group(
    synth: dict[str, SynthResult], env: str
) -> None:
    p = _function(synth, env)["Properties"]
    assert isinstance(p, dict)
    assert p["Handler"] == "lambdas.migrate.handler.handler"
    assert p["Runtime"] == LAMBDA_RUNTIME.name == f"python{LAMBDA_PYTHON_VERSION}"
    assert p["Timeout"] == 600
    # No reserved concurrency (fails under a low account quota); the advisory lock serializes.
    assert "ReservedConcurrentExecutions" not in p
    vpc = text_of(p["VpcConfig"])
    assert "networksecuritygroupsjobs" in vpc and "networkappsubnetids" in vpc  # from SSM
    assert set(p["Environment"]["Variables"]) >= {
        "DATABASE_SECRET_ARN", "DATABASE_SSLMODE", "LOGIN_ROLE_SECRET_ARNS",
    }  # fmt: skip
    assert p["Environment"]["Variables"]["DATABASE_SSLMODE"] == "require"


def test_trigger_has_an_explicit_timeout_and_the_migrations_hash(
    synth: dict[str, SynthResult], env: str
) -> None:
    trigger = only(resources_of(synth[env].templates["services"], "Custom::Trigger"))["Properties"]
    assert trigger["Timeout"] == "600000"  # ms; the default would give up after 2 minutes
    assert trigger["InvocationType"] == "RequestResponse"
    assert trigger["ExecuteOnHandlerChange"] is True
    assert "CurrentVersion" in trigger["HandlerArn"]["Ref"]
    assert trigger["MigrationsHash"] == migrations_digest()


def test_migrate_role_reads_only_its_secret_and_decrypts_via_secrets_manager(
    synth: dict[str, SynthResult], env: str
) -> None:
    policies = resources_of(synth[env].templates["services"], "AWS::IAM::Policy")
    policy = next(
        p for lid, p in policies.items() if lid.startswith("JobsMigrateServiceRoleDefaultPolicy")
    )
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    decrypt = next(s for s in statements if s["Action"] == "kms:Decrypt")
    assert decrypt["Condition"] == {
        "StringEquals": {"kms:ViaService": "secretsmanager.us-east-1.amazonaws.com"}
    }
    reads = [s for s in statements if "secretsmanager:GetSecretValue" in s["Action"]]
    resources = text_of([s["Resource"] for s in reads])
    for name in ("master", "app", "pgbouncer"):
        assert f"recipe{env}secrets{name}arn" in resources  # the SSM parameter of its ARN


def test_migrations_hash_changes_with_the_migrations(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(assets, "REPO_ROOT", tmp_path)
    versions = tmp_path / "versions"
    empty = tree_digest([versions])  # a missing directory hashes like an empty one
    versions.mkdir()
    assert tree_digest([versions]) == empty
    (versions / "0001_a.py").write_text("revision = '0001'\n")
    first = tree_digest([versions])
    assert first != empty
    (versions / "__pycache__").mkdir()
    (versions / "__pycache__" / "0001_a.cpython-311.pyc").write_bytes(b"\0")
    assert tree_digest([versions]) == first  # bytecode does not count
    (versions / "0001_a.py").write_text("revision = '0001'  # edited\n")
    assert tree_digest([versions]) != first


def test_the_trigger_hash_follows_the_migration_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The trigger's MigrationsHash is migrations_digest(); this shows that value follows the
    # files of the real migrations directory (the synth test alone would pass with a constant).
    real = migrations_digest()
    copy = tmp_path / assets.MIGRATIONS_DIR.relative_to(assets.REPO_ROOT)
    shutil.copytree(assets.MIGRATIONS_DIR, copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(assets, "REPO_ROOT", tmp_path)
    monkeypatch.setattr(assets, "MIGRATIONS_DIR", copy)
    assert migrations_digest() == real  # same files, same hash
    migration = sorted(copy.glob("*.py"))[0]
    migration.write_text(migration.read_text() + "\n# edited\n")
    edited = migrations_digest()
    assert edited != real
    (copy / "0002_next.py").write_text("revision = '0002'\n")
    assert migrations_digest() not in {real, edited}


def test_lambda_requirements_pin_the_same_versions_as_the_datalayer() -> None:
    def pins(path: Path) -> dict[str, str]:
        result = {}
        for line in path.read_text().splitlines():
            line = line.split("#")[0].strip()
            if "==" in line:
                name, version = line.split("==")
                result[name.split("[")[0].lower()] = version
        return result

    lambda_pins = pins(repo_root() / "lambdas" / "requirements.txt")
    datalayer_pins = pins(repo_root() / "requirements.txt")
    shared = set(lambda_pins) & set(datalayer_pins)
    assert {"sqlalchemy", "psycopg", "alembic"} <= shared
    assert {name: lambda_pins[name] for name in shared} == {
        name: datalayer_pins[name] for name in shared
    }
    infra_pins = pins(repo_root() / "requirements-infra.txt")
    assert lambda_pins["aws-lambda-powertools"] == infra_pins["aws-lambda-powertools"]
