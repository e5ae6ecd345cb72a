"""Cached values are shared by every caller of a process, so the cache hands out only
values nobody can change: :func:`freeze` makes a value deeply read-only once, when it is
stored, and an L1 hit then returns the stored object itself (no copy, no re-validation).

Lists and dicts become :class:`FrozenList` / :class:`FrozenDict`: subclasses of ``list`` and
``dict`` (so equality, ``isinstance``, JSON and pydantic serialization are unchanged) whose
mutating methods raise :class:`TypeError`; ``copy.copy``/``copy.deepcopy`` (and a model's
``model_copy(deep=True)``) give plain, mutable ones. Pydantic models must be frozen
(``frozen=True``): their fields are frozen in place. Sets become frozensets.
"""

from __future__ import annotations

import copy
from typing import Any, NoReturn, SupportsIndex

from pydantic import BaseModel


def _read_only(*_args: object, **_kwargs: object) -> NoReturn:
    raise TypeError("cached values are read-only: copy them (copy.copy) to change them")


class FrozenList(list[Any]):
    """A list that refuses every change."""

    __slots__ = ()
    append = extend = insert = remove = pop = clear = sort = reverse = _read_only
    __setitem__ = __delitem__ = __iadd__ = __imul__ = _read_only

    def __copy__(self) -> list[Any]:
        return list(self)

    def __deepcopy__(self, memo: dict[int, Any]) -> list[Any]:
        return [copy.deepcopy(item, memo) for item in self]

    def __reduce_ex__(self, protocol: SupportsIndex) -> tuple[Any, ...]:
        return (list, (list(self),))


class FrozenDict(dict[Any, Any]):
    """A dict that refuses every change."""

    __slots__ = ()
    __setitem__ = __delitem__ = __ior__ = _read_only
    clear = pop = popitem = setdefault = update = _read_only

    def __copy__(self) -> dict[Any, Any]:
        return dict(self)

    def __deepcopy__(self, memo: dict[int, Any]) -> dict[Any, Any]:
        return {key: copy.deepcopy(value, memo) for key, value in self.items()}

    def __reduce_ex__(self, protocol: SupportsIndex) -> tuple[Any, ...]:
        return (dict, (dict(self),))


_SHARED = (str, bytes, int, float, type(None), frozenset, FrozenList, FrozenDict)


def freeze(value: Any) -> Any:
    """``value`` made deeply read-only (models in place, containers replaced).

    Scalars (str, numbers, UUID, datetime, enums ...) pass through: they are immutable.
    """
    if isinstance(value, tuple):
        return tuple(freeze(item) for item in value)
    if isinstance(value, _SHARED):
        return value
    if isinstance(value, BaseModel):
        if not value.model_config.get("frozen"):
            raise TypeError(f"{type(value).__name__} is cached, so it must be a frozen model")
        fields = value.__dict__
        for name, field_value in fields.items():
            fields[name] = freeze(field_value)
        return value
    if isinstance(value, list):
        return FrozenList(freeze(item) for item in value)
    if isinstance(value, dict):
        return FrozenDict((key, freeze(item)) for key, item in value.items())
    if isinstance(value, set):
        return frozenset(value)
    return value


def freeze_json(value: Any) -> Any:
    """:func:`freeze` for what a JSON parser returns (dicts, lists, str, numbers, bool,
    None), about twice as fast: it checks exact types only."""
    kind = type(value)
    if kind is dict:
        return FrozenDict({key: freeze_json(item) for key, item in value.items()})
    if kind is list:
        return FrozenList([freeze_json(item) for item in value])
    return value
