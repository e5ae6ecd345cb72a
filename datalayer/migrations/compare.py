"""What ``migrate check`` compares, and what it deliberately leaves out."""

from __future__ import annotations

import re
from typing import Any

from pgvector.sqlalchemy import Vector

from datalayer.migrations.history import HISTORY_TABLE
from datalayer.models.system import SYSTEM_LOG_PARTITION_PREFIX

_PARTITION_NAME = re.compile(rf"^{SYSTEM_LOG_PARTITION_PREFIX}(\d{{6}}|default)$")


def include_object(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    """Skip the runner's own table and the monthly partitions of ``system_logs``."""
    if type_ == "table" and name is not None:
        return name != HISTORY_TABLE and not _PARTITION_NAME.match(name)
    return True


def compare_type(
    context: Any,
    inspected_column: Any,
    metadata_column: Any,
    inspected_type: Any,
    metadata_type: Any,
) -> bool | None:
    """Vector columns: the database dimension must equal ``EMBEDDING_DIM``.

    Returns True when the types differ, None to let Alembic decide for other types.
    """
    if isinstance(metadata_type, Vector):
        from datalayer.settings import get_settings

        expected = get_settings().embedding_dim
        return getattr(inspected_type, "dim", None) != expected
    return None
