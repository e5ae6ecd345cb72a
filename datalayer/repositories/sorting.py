"""The ``sort`` option of list calls: one whitelisted key, ``-key`` for descending.

Every list call documents its keys; anything else (an unknown name, a non-string, SQL) is
:class:`InvalidInputError` before a statement is built. Ties are broken by the repository's
own columns (ending with the primary key) so pages are stable.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from datalayer.errors import InvalidInputError


def sort_clauses(
    sort: Any,
    keys: Mapping[str, Any],
    *,
    default: str,
    tiebreak: Sequence[Any] = (),
) -> list[Any]:
    """ORDER BY clauses for ``sort`` (``None``: ``default``); NULLs always sort last."""
    chosen = default if sort is None else sort
    name = chosen.removeprefix("-") if isinstance(chosen, str) else None
    if name is None or name not in keys:
        allowed = ", ".join(sorted(keys))
        raise InvalidInputError(
            f"sort must be one of {allowed} (prefix - for descending)", field="sort"
        )
    column = keys[name]
    first = column.desc() if chosen.startswith("-") else column.asc()
    return [first.nulls_last(), *tiebreak]
