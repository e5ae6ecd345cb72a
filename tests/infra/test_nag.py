"""cdk-nag v3 (AwsSolutions) and CDK's CloudFormation validation: zero open findings."""

from __future__ import annotations

import json

from infra.compliance.nag import ACKNOWLEDGEMENTS
from infra.config import EnvironmentConfig
from infra.tooling.synth import SynthResult


def test_no_unacknowledged_findings(synth: dict[str, SynthResult], env: str) -> None:
    result = synth[env]
    assert result.validation, "the validation report was not written"
    plugins = {report["pluginName"] for report in result.validation["pluginReports"]}
    assert "AwsSolutions" in plugins
    assert result.violations() == []
    assert result.validation_error is None


def test_every_applicable_acknowledgement_is_used(
    synth: dict[str, SynthResult], env: str, configs: dict[str, EnvironmentConfig]
) -> None:
    """An acknowledgement that suppresses nothing is stale and must be removed."""
    used = {
        (entry["acknowledgedId"], entry["acknowledgedAt"]) for entry in synth[env].acknowledged()
    }
    for ack in ACKNOWLEDGEMENTS:
        if not ack.applies(configs[env]):
            continue
        where = f"recipe-{env}-{ack.stack}/{ack.path}"
        assert (ack.acknowledged_id(configs[env]), where) in used, f"unused: {ack.rule} at {where}"


def test_every_acknowledgement_gives_a_specific_reason() -> None:
    reasons = [ack.reason for ack in ACKNOWLEDGEMENTS]
    assert all(len(reason) >= 60 for reason in reasons)
    assert len(set(reasons)) == len(reasons)


def test_environment_specific_acknowledgements_follow_the_config(
    synth: dict[str, SynthResult],
) -> None:
    def rules(env: str) -> set[str]:
        return {entry["ruleName"] for entry in synth[env].acknowledged()}

    assert "AwsSolutions-RDS10" in rules("dev")  # deletion protection off only in dev
    assert "AwsSolutions-RDS10" not in rules("prod")
    assert "AwsSolutions-AEC4" in rules("dev")  # single-node cache only in dev
    assert "AwsSolutions-AEC4" not in rules("staging")


def test_synth_needs_no_aws_lookup(synth: dict[str, SynthResult], env: str) -> None:
    """No context provider query is left open, so `cdk synth` runs without credentials."""
    manifest = json.loads((synth[env].outdir / "manifest.json").read_text())
    assert "missing" not in manifest
