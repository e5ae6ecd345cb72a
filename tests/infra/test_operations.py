"""The operations stack: stateless, composed with the others, home of the operational jobs.

Today it restarts PgBouncer when its auth user's password rotates.
"""

from __future__ import annotations

from infra.tooling.synth import SynthResult
from tests.infra.conftest import only, resources_of, text_of


def test_rotation_of_the_auth_user_redeploys_pgbouncer(
    synth: dict[str, SynthResult], env: str
) -> None:
    template = synth[env].templates["operations"]
    rule = only(
        {
            lid: rule
            for lid, rule in resources_of(template, "AWS::Events::Rule").items()
            if rule["Properties"].get("EventPattern", {}).get("source") == ["aws.secretsmanager"]
        }
    )["Properties"]
    pattern = rule["EventPattern"]
    assert pattern["source"] == ["aws.secretsmanager"]
    assert pattern["detail"]["eventName"] == ["RotationSucceeded"]
    secret = text_of(pattern["detail"]["additionalEventData"]["SecretId"])
    assert f"recipe{env}secretspgbouncerarn" in secret  # the auth user's secret, via SSM
    machine = only(resources_of(template, "AWS::StepFunctions::StateMachine"))["Properties"]
    definition = text_of(machine["DefinitionString"])
    assert "ecs:updateService" in definition and "ForceNewDeployment" in definition
    assert f"recipe-{env}-pgbouncer" in definition
    assert machine["LoggingConfiguration"]["Level"] == "ALL"
    policy = text_of(resources_of(template, "AWS::IAM::Policy"))
    assert f"service/recipe-{env}-pgbouncer/recipe-{env}-pgbouncer" in policy


def test_operations_stack_is_stateless(synth: dict[str, SynthResult], env: str) -> None:
    template = synth[env].templates["operations"]
    for lid, resource in template["Resources"].items():
        assert resource.get("DeletionPolicy", "Delete") == "Delete", lid
        assert "LogGroupName" not in resource.get("Properties", {}), lid


def test_stateless_stacks_keep_no_fixed_names_on_retained_groups(
    synth: dict[str, SynthResult], env: str
) -> None:
    """A retained log group with a fixed name blocks re-creating its stack."""
    for kind in ("network", "services", "operations", "monitoring"):
        for lid, group in resources_of(synth[env].templates[kind], "AWS::Logs::LogGroup").items():
            assert "LogGroupName" not in group["Properties"], (kind, lid)
