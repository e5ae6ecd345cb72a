"""cfn-lint (zero errors) and checkov (zero failures, only reviewed per-resource skips)."""

from __future__ import annotations

from infra.compliance.checkov import SKIPS
from infra.tooling.scanners import CheckovResult, LintResult
from infra.tooling.synth import SynthResult
from tests.infra.conftest import resources_of


def test_cfn_lint_reports_no_errors(scanners: tuple[LintResult, CheckovResult]) -> None:
    lint, _ = scanners
    assert lint.errors == []


def test_cfn_lint_warnings_are_only_the_known_ones(
    scanners: tuple[LintResult, CheckovResult],
) -> None:
    """W3010: zones are pinned in cdk.json on purpose (offline, deterministic synth);
    W3005: redundant DependsOn that CDK itself writes; W2001 only for the VPC id parameter
    of the operations stack (its Lambdas take subnets and groups, never the VPC id)."""
    lint, _ = scanners
    unused_vpc_id = [
        warning
        for warning in lint.warnings
        if warning.startswith("W2001 ")
        and "-operations.template.json" in warning
        and "networkvpcid" in warning
    ]
    others = [warning for warning in lint.warnings if warning not in unused_vpc_id]
    assert {warning.split()[0] for warning in others} <= {"W3010", "W3005"}


def test_checkov_has_no_failed_checks(scanners: tuple[LintResult, CheckovResult]) -> None:
    _, checkov = scanners
    assert checkov.failures == []
    assert checkov.failed == 0
    assert checkov.passed > 500


def test_checkov_skips_are_written_per_resource_with_their_reason(
    synth: dict[str, SynthResult],
) -> None:
    written = 0
    for result in synth.values():
        for template in result.templates.values():
            for resource in template["Resources"].values():
                for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", []):
                    assert skip["id"] in {entry.check for entry in SKIPS}
                    assert len(skip["comment"]) >= 60
                    written += 1
    assert written > 0


def test_checkov_skipped_exactly_the_reviewed_ones(
    scanners: tuple[LintResult, CheckovResult], synth: dict[str, SynthResult]
) -> None:
    _, checkov = scanners
    expected = sum(
        len(resource.get("Metadata", {}).get("checkov", {}).get("skip", []))
        for result in synth.values()
        for template in result.templates.values()
        for resource in template["Resources"].values()
    )
    assert checkov.skipped == expected
    # the providers' Lambdas are the only functions outside the VPC
    for result in synth.values():
        for kind in ("network", "services"):
            for lid, function in resources_of(
                result.templates[kind], "AWS::Lambda::Function"
            ).items():
                if "VpcConfig" not in function["Properties"]:
                    assert "CustomResourceProvider" in lid
