"""What a Lambda bundle holds of the repository: the datalayer without its dev-only parts."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from infra.constructs.jobs.packaging import BUNDLE_SOURCES, copy_sources


def test_bundle_holds_the_datalayer_without_local(tmp_path: Path) -> None:
    copy_sources(BUNDLE_SOURCES, tmp_path)
    assert (tmp_path / "datalayer" / "migrations" / "versions").is_dir()
    assert (tmp_path / "lambdas" / "migrate" / "handler.py").exists()
    assert not (tmp_path / "datalayer" / "local").exists()
    assert not list(tmp_path.rglob("__pycache__"))
    # The bundled sources import without the dev-only package (the handler's runtime needs).
    probe = (
        "import sys; sys.modules['datalayer.local'] = None; "
        "import datalayer.runtime, datalayer.gdpr.erasure, lambdas.migrate.handler"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=tmp_path,
        env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
