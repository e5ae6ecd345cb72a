"""The PostgreSQL client programs operations run (pg_dump, pg_restore)."""

from __future__ import annotations

import shutil
from pathlib import Path

from datalayer.errors import ConfigurationError


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
