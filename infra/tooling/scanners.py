"""Run cfn-lint and checkov offline over synthesized templates and summarise the results.

cfn-lint comes from ``requirements-infra.txt`` (this virtualenv); checkov lives in its own
virtualenv (``.venv-checkov``, made by ``make test-infra-deps``) because it pins many
packages of its own. Checkov runs with ``BC_SKIP_MAPPING=TRUE --skip-download``: no network,
only the checks shipped in the package, plus the per-resource skips of
:mod:`infra.compliance.checkov`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
CHECKOV = REPO_ROOT / ".venv-checkov" / "bin" / "checkov"


@dataclass
class LintResult:
    """cfn-lint findings grouped by level."""

    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    informational: list[str] = field(default_factory=list)


@dataclass
class CheckovResult:
    """checkov totals and the failed checks (``check id: resource in file``)."""

    passed: int = 0
    failed: int = 0
    skipped: int = 0
    failures: list[str] = field(default_factory=list)


def start_cfn_lint(templates: Sequence[Path]) -> subprocess.Popen[str]:
    """Start cfn-lint on ``templates`` (JSON output); finish with :func:`finish_cfn_lint`."""
    cfn_lint = Path(sys.executable).parent / "cfn-lint"
    command = [str(cfn_lint), "--format", "json", *map(str, templates)]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # noqa: S603


def finish_cfn_lint(process: subprocess.Popen[str]) -> LintResult:
    """Collect the findings of a cfn-lint run."""
    stdout, stderr = process.communicate()
    if process.returncode not in (0, 2, 4, 6, 8, 10, 12, 14) or not stdout.strip():
        if process.returncode == 0:
            return LintResult()
        raise RuntimeError(f"cfn-lint failed ({process.returncode}): {stderr or stdout}")
    result = LintResult()
    for match in json.loads(stdout):
        text = f"{match['Rule']['Id']} {Path(match['Filename']).name}: {match['Message']}"
        level = match.get("Level", "Error")
        {"Error": result.errors, "Warning": result.warnings}.get(
            level, result.informational
        ).append(text)
    return result


def start_checkov(templates: Sequence[Path]) -> subprocess.Popen[str]:
    """Start checkov offline on ``templates``; finish with :func:`finish_checkov`."""
    if not CHECKOV.exists():
        raise FileNotFoundError(f"{CHECKOV} is missing: run `make test-infra-deps`")
    command = [str(CHECKOV), "--framework", "cloudformation", "--skip-download", "--quiet",
               "--output", "json", "--compact"]  # fmt: skip
    for template in templates:
        command += ["--file", str(template)]
    env = {**os.environ, "BC_SKIP_MAPPING": "TRUE", "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false"}
    return subprocess.Popen(  # noqa: S603
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )


def finish_checkov(process: subprocess.Popen[str]) -> CheckovResult:
    """Collect the totals of a checkov run."""
    stdout, stderr = process.communicate()
    if not stdout.strip():
        raise RuntimeError(f"checkov produced no report ({process.returncode}): {stderr}")
    reports: Any = json.loads(stdout)
    result = CheckovResult()
    for report in reports if isinstance(reports, list) else [reports]:
        summary = report.get("summary", {})
        result.passed += summary.get("passed", 0)
        result.failed += summary.get("failed", 0)
        result.skipped += summary.get("skipped", 0)
        for check in report.get("results", {}).get("failed_checks", []):
            result.failures.append(
                f"{check['check_id']}: {check['resource']} in {Path(check['file_path']).name}"
            )
    return result


def scan(templates: Sequence[Path]) -> tuple[LintResult, CheckovResult]:
    """cfn-lint and checkov over ``templates``, run side by side."""
    lint, checkov = start_cfn_lint(templates), start_checkov(templates)
    return finish_cfn_lint(lint), finish_checkov(checkov)
