"""Stacks hand values on through SSM parameters: no export blocks a change of the producer.

The proof for ``database.replicas`` 1 -> 0: with the replica removed from the config, the
data stack drops the replica and nothing else in the app changes, because no other stack
imports anything from the data stack.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from infra.tooling.synth import STACK_KINDS, SynthResult, cdk_context, synthesize
from tests.infra.conftest import normalize, resources_of, text_of


def _imports(template: dict[str, Any]) -> list[str]:
    found: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            if "Fn::ImportValue" in value:
                found.append(text_of(value["Fn::ImportValue"]))
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(template)
    return found


def _exports(template: dict[str, Any]) -> list[str]:
    return [name for name, output in template.get("Outputs", {}).items() if "Export" in output]


def test_only_the_keys_stack_exports(synth: dict[str, SynthResult], env: str) -> None:
    """KMS keys are retained and never replaced: an import protects a key in use. Every
    other value (security groups, subnets, endpoints, target groups) goes through SSM."""
    templates = synth[env].templates
    for kind in STACK_KINDS:
        if kind != "keys":
            assert _exports(templates[kind]) == [], kind
        for imported in _imports(templates[kind]):
            assert f"recipe-{env}-keys:" in imported, (kind, imported)


@pytest.fixture(scope="module")
def without_replica(tmp_path_factory: pytest.TempPathFactory) -> SynthResult:
    """dev synthesized with ``database.replicas`` = 0 (cdk.json says 1)."""
    context = copy.deepcopy(cdk_context())
    context["environments"]["dev"]["database"]["replicas"] = 0
    outdir = tmp_path_factory.mktemp("no-replica")
    return synthesize("dev", outdir, bundling=False, context=context)


def test_removing_the_replica_changes_only_the_data_stack(
    synth: dict[str, SynthResult], without_replica: SynthResult
) -> None:
    before, after = synth["dev"], without_replica
    assert after.validation_error is None and after.violations() == []
    assert resources_of(before.templates["data"], "AWS::RDS::DBInstance").keys() > (
        resources_of(after.templates["data"], "AWS::RDS::DBInstance").keys()
    )
    assert _exports(before.templates["data"]) == _exports(after.templates["data"]) == []
    for kind in ("network", "services", "operations"):
        assert normalize(before.templates[kind]) == normalize(after.templates[kind]), kind
    # Monitoring loses the replica's alarms and widgets, and nothing more.
    assert "ReplicaLag1" in text_of(before.templates["monitoring"])
    assert "ReplicaLag1" not in text_of(after.templates["monitoring"])
    assert _imports(after.templates["monitoring"]) == _imports(before.templates["monitoring"])


def _parameters(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        p["Properties"]["Name"]: p["Properties"]
        for p in resources_of(template, "AWS::SSM::Parameter").values()
    }


def test_replica_endpoints_are_published_once_with_the_configured_count(
    synth: dict[str, SynthResult], without_replica: SynthResult, env: str
) -> None:
    parameters = _parameters(synth[env].templates["data"])
    replicas = parameters[f"/recipe/{env}/database/replica-endpoints"]
    # One {id, host, port} object per replica of cdk.json (one in every environment).
    value = text_of(replicas["Value"])
    assert value.count('\\"id\\"') == 1 and "DatabaseReplica1" in value
    assert "DatabaseReplica1" in text_of(parameters[f"/recipe/{env}/database/read-host"]["Value"])
    empty = _parameters(without_replica.templates["data"])
    assert empty["/recipe/dev/database/replica-endpoints"]["Value"] == "[]"
    assert "DatabasePrimary" in text_of(empty["/recipe/dev/database/read-host"]["Value"])


def test_consumers_read_what_producers_publish(synth: dict[str, SynthResult], env: str) -> None:
    templates = synth[env].templates
    published = {name for kind in STACK_KINDS for name in _parameters(templates[kind])}
    read = {
        p["Default"]
        for kind in STACK_KINDS
        for p in templates[kind].get("Parameters", {}).values()
        if p["Type"].startswith("AWS::SSM::Parameter::Value")
        and not p["Default"].startswith("/cdk-bootstrap/")  # CDK's own version check
    }
    read |= {
        name
        for kind in STACK_KINDS
        for name in published
        if f"parameter{name}" in text_of(templates[kind])  # ECS secrets from SSM
    }
    assert read, "nothing is read through SSM"
    assert read <= published, sorted(read - published)


def test_stacks_are_ordered_without_references(synth: dict[str, SynthResult], env: str) -> None:
    manifest = json.loads((Path(synth[env].outdir) / "manifest.json").read_text())
    artifacts = manifest["artifacts"]

    def depends(kind: str) -> set[str]:
        return set(artifacts[f"recipe-{env}-{kind}"].get("dependencies", []))

    assert f"recipe-{env}-network" in depends("data")
    assert f"recipe-{env}-data" in depends("services")
    assert f"recipe-{env}-services" in depends("operations")
    assert f"recipe-{env}-services" in depends("monitoring")
