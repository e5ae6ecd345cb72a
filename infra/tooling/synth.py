"""Synthesize environments in-process and read back what the cloud assembly holds.

Used by ``scripts/infra_synth.py`` (``make synth`` / ``make demo-infra``) and by the tests'
session fixture, so both go through :func:`infra.deployment.build` exactly like ``app.py``.
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from aws_cdk import App

from infra.config import load_config
from infra.deployment import APP_CONTEXT, build

REPO_ROOT = Path(__file__).resolve().parents[2]
ENVIRONMENTS = ("dev", "staging", "prod")
STACK_KINDS = ("keys", "network", "data", "services", "operations", "monitoring")
BACKUP_COPY = "backup-copy"
"""Kind of the copy region's stack, present where cross-region copies are on."""


def cdk_context() -> dict[str, Any]:
    """The ``context`` block of ``cdk.json``."""
    context: dict[str, Any] = json.loads((REPO_ROOT / "cdk.json").read_text())["context"]
    return context


@dataclass
class SynthResult:
    """One synthesized environment: templates by stack kind plus the validation report."""

    env: str
    outdir: Path
    seconds: float
    templates: dict[str, dict[str, Any]] = field(default_factory=dict)
    template_paths: dict[str, Path] = field(default_factory=dict)
    validation: dict[str, Any] = field(default_factory=dict)
    validation_error: str | None = None

    def resources(self, kind: str, resource_type: str | None = None) -> dict[str, dict[str, Any]]:
        """Resources of the ``kind`` stack, optionally only those of ``resource_type``."""
        resources: dict[str, dict[str, Any]] = self.templates[kind]["Resources"]
        if resource_type is None:
            return resources
        return {k: v for k, v in resources.items() if v["Type"] == resource_type}

    def resource_counts(self) -> dict[str, int]:
        """Number of resources per stack kind."""
        return {kind: len(template["Resources"]) for kind, template in self.templates.items()}

    def resource_types(self, kind: str) -> Counter[str]:
        """Resource types of one stack with their counts."""
        return Counter(resource["Type"] for resource in self.resources(kind).values())

    def violations(self) -> list[tuple[str, str, str]]:
        """Unacknowledged findings: (plugin, rule, construct path)."""
        return [
            (report["pluginName"], violation["ruleName"], construct["constructPath"])
            for report in self.validation.get("pluginReports", [])
            for violation in report.get("violations", [])
            for construct in violation["violatingConstructs"]
        ]

    def acknowledged(self, plugin: str = "AwsSolutions") -> list[dict[str, Any]]:
        """Findings of ``plugin`` suppressed by an acknowledgement (id, reason, place).

        ``AwsSolutions`` is cdk-nag; ``CloudFormation Validate`` is CDK's built-in template
        check, whose few acknowledgements CDK writes itself (e.g. W3010 for pinned zones).
        """
        return [
            suppressed
            for report in self.validation.get("pluginReports", [])
            if report["pluginName"] == plugin
            for suppressed in report.get("suppressedViolations", [])
            if "acknowledgedId" in suppressed
        ]


def synthesize(
    env: str, outdir: Path, *, bundling: bool = True, context: dict[str, Any] | None = None
) -> SynthResult:
    """Synthesize ``env`` into ``outdir``; a failed validation is recorded, not raised.

    ``bundling=False`` skips building Lambda packages (context ``aws:cdk:bundling-stacks``
    = ``[]``): the templates are identical, only the zip contents are not produced.
    ``context`` replaces the ``cdk.json`` context (tests of a changed configuration).
    """
    context = context if context is not None else cdk_context()
    extra: dict[str, Any] = {"env": env, **APP_CONTEXT}
    if not bundling:
        extra["aws:cdk:bundling-stacks"] = []
    started = time.perf_counter()
    app = App(outdir=str(outdir), context={**context, **extra}, analytics_reporting=False)
    config = load_config(context["environments"], env)
    deployment = build(app, config)
    result = SynthResult(env=env, outdir=outdir, seconds=0.0)
    try:
        app.synth()
    except RuntimeError as error:  # jsii surfaces the CDK ValidationError as RuntimeError
        result.validation_error = str(error).splitlines()[0]
    result.seconds = time.perf_counter() - started
    stacks = list(zip(STACK_KINDS, deployment.stacks, strict=True))
    if deployment.backup_copy is not None:
        stacks.append((BACKUP_COPY, deployment.backup_copy))
    for kind, stack in stacks:
        path = outdir / f"{stack.stack_name}.template.json"
        result.template_paths[kind] = path
        result.templates[kind] = json.loads(path.read_text())
    report = outdir / "validation-report.json"
    if report.exists():
        result.validation = json.loads(report.read_text())
    return result
