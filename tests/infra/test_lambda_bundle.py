"""The shared Lambda bundle, built for the Lambda platform (CPython 3.12, manylinux x86_64).

Building downloads the pinned wheels (PyPI or the configured index): the build is cached
under pytest's cache directory by the bundle's content hash, so the suite pays it once per
change of the handlers, the datalayer or the pins (about 10 s here; a cached run copies
nothing). The import check runs a CPython 3.12 interpreter (``LAMBDA_PYTHON``, else
``python3.12`` on PATH or pyenv's); it is skipped, and says so, when none is installed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from packaging.tags import Tag, compatible_tags, cpython_tags, parse_tag

from infra.constructs.jobs.packaging import (
    BUNDLE_REQUIREMENTS,
    BUNDLE_SOURCES,
    LAMBDA_PYTHON_VERSION,
    build_bundle,
    bundle_hash,
)

LAMBDA_VERSION = tuple(int(part) for part in LAMBDA_PYTHON_VERSION.split("."))
HANDLERS = (
    "lambdas.migrate.handler",
    "lambdas.maintenance.handler",
    "lambdas.backup_validation.handler",
    "lambdas.pgbouncer_metrics.handler",
)
# The Lambda Python 3.12 runtime runs on Amazon Linux 2023 (glibc 2.34), x86_64.
_LAMBDA_GLIBC_MINOR = 34
_PLATFORMS = [
    *(f"manylinux_2_{minor}_x86_64" for minor in range(_LAMBDA_GLIBC_MINOR, 4, -1)),
    "manylinux2014_x86_64",
    "manylinux2010_x86_64",
    "manylinux1_x86_64",
]


def lambda_tags() -> set[Tag]:
    """Every wheel tag CPython 3.12 on Lambda x86_64 accepts."""
    return {
        *cpython_tags(LAMBDA_VERSION, abis=["cp312", "abi3", "none"], platforms=_PLATFORMS),
        *compatible_tags(LAMBDA_VERSION, "cp312", platforms=_PLATFORMS),
    }


def wheel_tags(bundle: Path) -> dict[str, set[Tag]]:
    """The tags each installed distribution's WHEEL file declares, by distribution."""
    tags: dict[str, set[Tag]] = {}
    for wheel in sorted(bundle.glob("*.dist-info/WHEEL")):
        declared = set()
        for line in wheel.read_text().splitlines():
            if line.startswith("Tag:"):
                declared |= set(parse_tag(line.split(":", 1)[1].strip()))
        tags[wheel.parent.name] = declared
    return tags


@pytest.fixture(scope="session")
def bundle(request: pytest.FixtureRequest) -> Path:
    """The shared bundle, built once per content hash (cached across sessions)."""
    digest = bundle_hash(BUNDLE_REQUIREMENTS, BUNDLE_SOURCES)
    cache = Path(request.config.cache.mkdir("lambda-bundle"))
    target = cache / digest
    if not (target / ".complete").exists():
        for old in cache.iterdir():
            shutil.rmtree(old, ignore_errors=True)
        build_bundle(target)
        (target / ".complete").write_text(digest)
    return target


def lambda_python() -> str | None:
    """A CPython 3.12 interpreter that runs (pyenv shims may exist without one)."""
    pyenv = sorted((Path.home() / ".pyenv" / "versions").glob(f"{LAMBDA_PYTHON_VERSION}.*"))
    candidates = [
        os.environ.get("LAMBDA_PYTHON"),
        *(str(version / "bin" / "python") for version in pyenv),
        shutil.which(f"python{LAMBDA_PYTHON_VERSION}"),
    ]
    for candidate in candidates:
        if not candidate or not Path(candidate).exists():
            continue
        check = subprocess.run(
            [candidate, "-c", "import sys; print(sys.version_info[:2])"],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if check.returncode == 0:
            return candidate
    return None


def test_every_bundled_wheel_runs_on_the_lambda_platform(bundle: Path) -> None:
    accepted = lambda_tags()
    tags = wheel_tags(bundle)
    assert {"psycopg_binary-3.3.9.dist-info", "numpy-2.3.5.dist-info"} <= set(tags)
    incompatible = {
        name: sorted(map(str, found)) for name, found in tags.items() if not found & accepted
    }
    assert incompatible == {}


def test_bundle_holds_every_handler_and_no_dev_only_code(bundle: Path) -> None:
    for module in HANDLERS:
        assert (bundle / (module.replace(".", "/") + ".py")).is_file(), module
    assert (bundle / "datalayer" / "migrations" / "versions").is_dir()
    assert not (bundle / "datalayer" / "local").exists()
    assert not (bundle / "tests").exists()
    assert not list((bundle / "lambdas").rglob("requirements.txt"))


def test_handlers_import_under_the_lambda_python(bundle: Path) -> None:
    python = lambda_python()
    if python is None:
        pytest.skip(f"no CPython {LAMBDA_PYTHON_VERSION} interpreter on this machine")
    probe = (
        # Lambda puts the bundle (/var/task) first on sys.path; -I -S hides everything else.
        f"import sys, platform; sys.path.insert(0, {str(bundle)!r}); "
        f"assert sys.version_info[:2] == {LAMBDA_VERSION}; "
        "assert platform.machine() == 'x86_64'; "
        "sys.modules['datalayer.local'] = None; "
        + "; ".join(f"import {module}" for module in HANDLERS)
        + "; import psycopg, numpy, pydantic_core; "
        "assert psycopg.pq.__impl__ == 'binary', psycopg.pq.__impl__; "
        "print(psycopg.pq.__impl__, numpy.__version__)"
    )
    result = subprocess.run(
        [python, "-I", "-S", "-c", probe],
        cwd=bundle,
        env={"PATH": "/usr/bin:/bin", "AWS_DEFAULT_REGION": "us-east-1"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.split() == ["binary", "2.3.5"]
