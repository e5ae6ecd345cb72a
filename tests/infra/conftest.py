"""Session fixtures: every environment is synthesized once, scanners run once.

Bundling is skipped (context ``aws:cdk:bundling-stacks`` = ``[]``), so the session needs no
network and no Docker; the templates are the same as in a real synth.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from infra.config import EnvironmentConfig, load_config
from infra.tooling.scanners import CheckovResult, LintResult, scan
from infra.tooling.synth import ENVIRONMENTS, SynthResult, cdk_context, synthesize

ENVS = list(ENVIRONMENTS)


@pytest.fixture(scope="session")
def context() -> dict[str, Any]:
    """The cdk.json context."""
    return cdk_context()


@pytest.fixture(scope="session")
def configs(context: dict[str, Any]) -> dict[str, EnvironmentConfig]:
    """The parsed configuration of every environment."""
    return {env: load_config(context["environments"], env) for env in ENVS}


@pytest.fixture(scope="session")
def synth(tmp_path_factory: pytest.TempPathFactory) -> dict[str, SynthResult]:
    """dev, staging and prod, each synthesized once for the whole session."""
    root = tmp_path_factory.mktemp("cdk.out")
    return {env: synthesize(env, root / env, bundling=False) for env in ENVS}


@pytest.fixture(scope="session")
def scanners(synth: dict[str, SynthResult]) -> tuple[LintResult, CheckovResult]:
    """cfn-lint and checkov over all fifteen templates (one run each, side by side)."""
    templates = [path for result in synth.values() for path in result.template_paths.values()]
    return scan(templates)


@pytest.fixture(params=ENVS)
def env(request: pytest.FixtureRequest) -> Iterator[str]:
    """Parametrises a test over the three environments."""
    yield request.param


def resources_of(template: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    """Resources of one type in a template."""
    return {k: v for k, v in template["Resources"].items() if v["Type"] == resource_type}


def only(resources: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The single resource of a selection (fails when there are none or several)."""
    assert len(resources) == 1, f"expected one resource, got {sorted(resources)}"
    return next(iter(resources.values()))


def text_of(value: Any) -> str:
    """A JSON dump of any template fragment, for substring checks on joined strings."""
    return json.dumps(value, sort_keys=True)


_SHA256 = re.compile(r"[0-9a-f]{64}")
_VERSION_ID = re.compile(r"(CurrentVersion[0-9A-F]{8})[0-9a-f]{32}")


def normalize(template: dict[str, Any]) -> dict[str, Any]:
    """A template with content hashes replaced, so snapshots are stable across machines.

    Asset hashes (S3 keys), the migrations hash and Lambda version logical ids change with
    the code they fingerprint, not with the infrastructure; tests of their own pin them.
    """
    text = json.dumps(template, sort_keys=True)
    text = _SHA256.sub("<sha256>", text)
    text = _VERSION_ID.sub(r"\1<hash>", text)
    normalized: dict[str, Any] = json.loads(text)
    return normalized


def repo_root() -> Path:
    """The repository root."""
    return Path(__file__).resolve().parents[2]
