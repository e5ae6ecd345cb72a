"""The pinned CDK CLI drives app.py through cdk.json (`cdk synth -c env=...`).

Skipped when the CLI is not installed (``make test-infra-deps`` runs ``npm ci``).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.infra.conftest import repo_root

CDK = repo_root() / "node_modules" / ".bin" / "cdk"
pytestmark = pytest.mark.skipif(not CDK.exists(), reason="CDK CLI not installed (npm ci)")


def _cdk(*args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
        "CDK_DISABLE_CLI_TELEMETRY": "true",
        "CI": "true",
    }
    return subprocess.run(
        [str(CDK), *args, "--no-notices"],
        cwd=repo_root(),
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        stdin=subprocess.DEVNULL,
    )


def test_cdk_synth_with_the_env_context(tmp_path: Path) -> None:
    # --exclusively on the keys stack: the CLI bundles no Lambda (offline), yet the app
    # still synthesizes every stack into the assembly.
    result = _cdk("synth", "-c", "env=staging", "--exclusively", "recipe-staging-keys",
                  "-o", str(tmp_path), "--quiet")  # fmt: skip
    assert result.returncode == 0, result.stderr
    for kind in ("keys", "network", "data", "services", "monitoring"):
        assert (tmp_path / f"recipe-staging-{kind}.template.json").exists()
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert "missing" not in manifest  # no context lookup: synth needs no AWS credentials
    assert not (repo_root() / "cdk.context.json").exists()


def test_cdk_synth_rejects_an_unknown_environment(tmp_path: Path) -> None:
    result = _cdk("synth", "-c", "env=qa", "-o", str(tmp_path), "--quiet")
    assert result.returncode != 0
    assert "env: unknown environment 'qa'; known: dev, prod, staging" in result.stderr
