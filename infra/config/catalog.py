"""Facts about AWS the configuration is validated against (instance sizes, allowed values).

Kept small on purpose: only the instance families this project would plausibly run on. The
memory table doubles as the allow-list for instance classes and lets the memory alarm turn
"80 % used" into the ``FreeableMemory`` bytes RDS actually reports.
"""

from __future__ import annotations

import difflib
from typing import Final

from aws_cdk import aws_logs as logs

GIB: Final = 1024**3

LOG_RETENTION_DAYS: Final = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557,
    2922, 3288, 3653,
)  # fmt: skip
"""Retention periods CloudWatch Logs accepts."""

RDS_MONITORING_INTERVALS: Final = (0, 1, 5, 10, 15, 30, 60)
"""Enhanced Monitoring intervals (seconds) RDS accepts; 0 turns it off."""

_SIZES_GIB: Final = {
    "micro": 1, "small": 2, "medium": 4, "large": 8, "xlarge": 16, "2xlarge": 32,
    "4xlarge": 64, "8xlarge": 128,
}  # fmt: skip
_BURSTABLE: Final = ("t3", "t4g")
_GENERAL: Final = ("m5", "m6g", "m6i", "m7g", "m7i")
_MEMORY: Final = ("r5", "r6g", "r6i", "r7g", "r7i")


def _db_memory() -> dict[str, int]:
    table: dict[str, int] = {}
    for family in _BURSTABLE:
        for size in ("micro", "small", "medium", "large", "xlarge", "2xlarge"):
            table[f"db.{family}.{size}"] = _SIZES_GIB[size]
    for family in _GENERAL:
        for size in ("large", "xlarge", "2xlarge", "4xlarge", "8xlarge"):
            table[f"db.{family}.{size}"] = _SIZES_GIB[size]
    for family in _MEMORY:
        for size in ("large", "xlarge", "2xlarge", "4xlarge", "8xlarge"):
            table[f"db.{family}.{size}"] = _SIZES_GIB[size] * 2
    return table


DB_INSTANCE_MEMORY_GIB: Final = _db_memory()
"""Memory (GiB) of each RDS instance class this project accepts."""

CACHE_NODE_TYPES: Final = frozenset(
    [f"cache.{family}.{size}" for family in _BURSTABLE for size in ("micro", "small", "medium")]
    + [
        f"cache.{family}.{size}"
        for family in ("m6g", "m7g", "r6g", "r7g")
        for size in ("large", "xlarge", "2xlarge")
    ]
)
"""ElastiCache node types this project accepts."""


def check_instance_class(value: str) -> str | None:
    """``None`` when ``value`` is a known RDS class, else the problem (with a suggestion)."""
    if value in DB_INSTANCE_MEMORY_GIB:
        return None
    close = difflib.get_close_matches(value, DB_INSTANCE_MEMORY_GIB, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"unknown RDS instance class {value!r}{hint}"


def instance_type_name(instance_class: str) -> str:
    """``db.t3.medium`` -> ``t3.medium`` (the EC2-style name CDK's InstanceType takes)."""
    return instance_class.removeprefix("db.").removeprefix("cache.")


def retention(days: int) -> logs.RetentionDays:
    """The CDK enum member for a CloudWatch Logs retention of ``days``."""
    members = [member for member in logs.RetentionDays if member is not logs.RetentionDays.INFINITE]
    return dict(zip(LOG_RETENTION_DAYS, members, strict=True))[days]
