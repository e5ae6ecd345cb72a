"""Lambda packaging without Docker, and stable content hashes.

:class:`PipLocalBundling` builds the deployment package on the host: ``pip install`` of
manylinux x86_64 wheels for the Lambda's Python into the output directory, plus copies of the
repository packages the handler imports. The asset hash is computed here from the sources
(not from pip's output, which embeds timestamps), so it is identical on every machine and
changes exactly when a handler, the datalayer or a pinned requirement changes.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import jsii
from aws_cdk import AssetHashType, BundlingOptions, ILocalBundling
from aws_cdk import aws_lambda as lambda_

REPO_ROOT = Path(__file__).resolve().parents[3]
LAMBDA_RUNTIME = lambda_.Runtime.PYTHON_3_12
LAMBDA_PYTHON_VERSION = "3.12"
"""Must match :data:`LAMBDA_RUNTIME`: pip selects wheels for this interpreter."""
WHEEL_PLATFORMS = ("manylinux2014_x86_64", "manylinux_2_28_x86_64")
MIGRATIONS_DIR = REPO_ROOT / "datalayer" / "migrations" / "versions"
BUNDLE_REQUIREMENTS = "lambdas/requirements.txt"
BUNDLE_SOURCES = ("datalayer", "lambdas")
"""The one Lambda bundle: every job handler plus the datalayer (without datalayer/local)."""
_SKIPPED_PARTS = {"__pycache__", ".mypy_cache", ".pytest_cache"}


def _files(root: Path) -> list[Path]:
    if root.is_file():
        return [root]
    if not root.is_dir():
        return []
    return sorted(
        path
        for path in root.rglob("*")
        if path.is_file() and path.suffix != ".pyc" and not _SKIPPED_PARTS & set(path.parts)
    )


def tree_digest(paths: Iterable[Path], *, extra: Sequence[str] = ()) -> str:
    """SHA-256 over the relative names and contents of ``paths`` (files or directories).

    Missing paths contribute nothing, so an absent migrations directory hashes like an empty
    one instead of failing the synth.
    """
    digest = hashlib.sha256()
    for item in extra:
        digest.update(item.encode() + b"\0")
    for root in paths:
        for path in _files(root):
            digest.update(path.relative_to(REPO_ROOT).as_posix().encode() + b"\0")
            digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def migrations_digest() -> str:
    """Hash of ``datalayer/migrations/versions`` (stable when the directory is empty)."""
    return tree_digest([MIGRATIONS_DIR])


_BUNDLED: dict[str, Path] = {}
"""Packages built in this process, by asset hash: synthesizing three environments in one
process installs the wheels once and copies the result for the other two."""


@jsii.implements(ILocalBundling)
class PipLocalBundling:
    """Bundles a Python Lambda on the host with pip (no Docker needed)."""

    def __init__(self, requirements: Path, sources: Sequence[str], asset_hash: str) -> None:
        self.requirements = requirements
        self.sources = tuple(sources)
        self.asset_hash = asset_hash

    def try_bundle(self, output_dir: str, *_options: Any, **_kw_options: Any) -> bool:
        """Install the wheels and copy the sources into ``output_dir``.

        jsii passes the bundling options positionally; they are not needed here.
        """
        built = _BUNDLED.get(self.asset_hash)
        if built is not None:
            # CDK renames the bundling directory ("asset.<hash>-building") when it is done.
            for candidate in (built, built.with_name(built.name.removesuffix("-building"))):
                if candidate.is_dir():
                    shutil.copytree(candidate, output_dir, dirs_exist_ok=True)
                    return True
        command = [
            sys.executable, "-m", "pip", "install", "--quiet", "--no-compile",
            "--disable-pip-version-check", "--target", output_dir,
            "--implementation", "cp", "--python-version", LAMBDA_PYTHON_VERSION,
            "--only-binary=:all:", "-r", str(self.requirements),
        ]  # fmt: skip
        for platform in WHEEL_PLATFORMS:
            command[4:4] = ["--platform", platform]
        result = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
        if result.returncode != 0:
            raise RuntimeError(f"pip could not bundle {self.requirements}:\n{result.stderr}")
        copy_sources(self.sources, Path(output_dir))
        _BUNDLED[self.asset_hash] = Path(output_dir)
        return True


def copy_sources(sources: Sequence[str], output_dir: Path) -> None:
    """Copy the repository paths ``sources`` into a bundle. ``datalayer/local`` (embedded
    server, demo, sample corpus) is development only and never ships in a Lambda."""
    for source in sources:
        origin = REPO_ROOT / source
        target = output_dir / source
        if origin.is_dir():
            shutil.copytree(
                origin,
                target,
                dirs_exist_ok=True,
                ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "requirements.txt", "local"),
            )
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(origin, target)


def bundle_hash(requirements: str, sources: Sequence[str]) -> str:
    """Content hash of a bundle: its sources, its pins, the Python version and platforms."""
    return tree_digest(
        [REPO_ROOT / requirements, *(REPO_ROOT / source for source in sources)],
        extra=(LAMBDA_PYTHON_VERSION, *WHEEL_PLATFORMS),
    )


def build_bundle(output_dir: Path) -> Path:
    """Build the shared bundle into ``output_dir`` outside CDK (tests, inspection)."""
    bundling = PipLocalBundling(
        REPO_ROOT / BUNDLE_REQUIREMENTS,
        BUNDLE_SOURCES,
        bundle_hash(BUNDLE_REQUIREMENTS, BUNDLE_SOURCES),
    )
    bundling.try_bundle(str(output_dir))
    return output_dir


def lambda_bundle() -> lambda_.Code:
    """The shared deployment package; every job function runs from it with its own handler.

    All functions get the same asset hash, so CDK stages, uploads and stores it once.
    """
    return python_lambda_code(BUNDLE_REQUIREMENTS, BUNDLE_SOURCES)


def python_lambda_code(requirements: str, sources: Sequence[str]) -> lambda_.Code:
    """Lambda code for the handler ``sources`` plus the pinned ``requirements``.

    Skipped bundling (tests: context ``aws:cdk:bundling-stacks`` = ``[]``) stages nothing and
    keeps the same custom hash, so snapshots and real synths agree.
    """
    requirements_path = REPO_ROOT / requirements
    asset_hash = bundle_hash(requirements, sources)
    fallback = (
        f"pip install --no-compile -r {requirements} -t /asset-output"
        f" && cp -r --parents {' '.join(sources)} /asset-output/"
    )
    return lambda_.Code.from_asset(
        str(REPO_ROOT),
        asset_hash=asset_hash,
        asset_hash_type=AssetHashType.CUSTOM,
        bundling=BundlingOptions(
            image=LAMBDA_RUNTIME.bundling_image,
            local=PipLocalBundling(requirements_path, sources, asset_hash),
            command=["bash", "-c", fallback],
        ),
    )
