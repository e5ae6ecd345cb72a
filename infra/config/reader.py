"""Typed, path-aware reading of the JSON-like ``cdk.json`` context.

:class:`Section` wraps one mapping and knows its dotted path, so every error names the key at
fault (``environments.prod.database.instance_class: ...``). Keys a section does not read are
reported too, which catches misspelt keys that would otherwise be silently ignored.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any


class ConfigError(ValueError):
    """The CDK context is missing a key or holds a bad value; the message names the key."""


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """``override`` laid over ``base``; nested mappings merge, everything else replaces."""
    merged: dict[str, Any] = dict(base)
    for key, value in override.items():
        current = merged.get(key)
        if isinstance(current, Mapping) and isinstance(value, Mapping):
            merged[key] = deep_merge(current, value)
        else:
            merged[key] = value
    return merged


class Section:
    """One mapping of the context plus its dotted path, read with typed accessors."""

    def __init__(self, data: object, path: str) -> None:
        if not isinstance(data, Mapping):
            raise ConfigError(f"{path}: expected an object, got {type(data).__name__}")
        self._data: Mapping[str, Any] = data
        self._path = path
        self._read: set[str] = set()

    @property
    def path(self) -> str:
        """The dotted path of this section."""
        return self._path

    def key_path(self, key: str) -> str:
        """The dotted path of ``key`` in this section."""
        return f"{self._path}.{key}"

    def error(self, key: str, message: str) -> ConfigError:
        """A :class:`ConfigError` naming ``key``."""
        return ConfigError(f"{self.key_path(key)}: {message}")

    def _raw(self, key: str) -> Any:
        self._read.add(key)
        if key not in self._data:
            raise self.error(key, "missing")
        return self._data[key]

    def keys(self) -> list[str]:
        """The keys of this section, in their order."""
        return list(self._data)

    def has(self, key: str) -> bool:
        """Whether ``key`` is present (and not null)."""
        return self._data.get(key) is not None

    def section(self, key: str) -> Section:
        """The nested mapping under ``key``."""
        return Section(self._raw(key), self.key_path(key))

    def optional_section(self, key: str) -> Section | None:
        """The nested mapping under ``key``, or ``None`` when it is absent or null."""
        self._read.add(key)
        if self._data.get(key) is None:
            return None
        return Section(self._data[key], self.key_path(key))

    def string(self, key: str, *, pattern: str | None = None, hint: str = "") -> str:
        """A non-empty string, optionally matching ``pattern`` (``hint`` explains it)."""
        value = self._raw(key)
        if not isinstance(value, str) or not value:
            raise self.error(key, f"expected a non-empty string, got {value!r}")
        if pattern is not None and not re.fullmatch(pattern, value):
            raise self.error(key, f"{value!r} is not valid{': ' + hint if hint else ''}")
        return value

    def optional_string(self, key: str) -> str | None:
        """A non-empty string or ``None`` when absent or null."""
        if not self.has(key):
            self._read.add(key)
            return None
        return self.string(key)

    def boolean(self, key: str) -> bool:
        """A JSON boolean (``"true"`` as a string is rejected, not guessed)."""
        value = self._raw(key)
        if not isinstance(value, bool):
            raise self.error(key, f"expected true or false, got {value!r}")
        return value

    def integer(self, key: str, *, minimum: int | None = None, maximum: int | None = None) -> int:
        """An integer within the inclusive bounds given."""
        value = self._raw(key)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(key, f"expected an integer, got {value!r}")
        self._check_bounds(key, value, minimum, maximum)
        return value

    def number(
        self, key: str, *, minimum: float | None = None, maximum: float | None = None
    ) -> float:
        """A number (integer or float) within the inclusive bounds given."""
        value = self._raw(key)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.error(key, f"expected a number, got {value!r}")
        self._check_bounds(key, value, minimum, maximum)
        return float(value)

    def choice(self, key: str, choices: Iterable[str | int]) -> Any:
        """One of ``choices``."""
        allowed = list(choices)
        value = self._raw(key)
        if value not in allowed:
            listed = ", ".join(str(choice) for choice in allowed)
            raise self.error(key, f"{value!r} is not one of: {listed}")
        return value

    def strings(self, key: str, *, pattern: str | None = None, hint: str = "") -> tuple[str, ...]:
        """A list of non-empty strings, each matching ``pattern`` when given."""
        value = self._raw(key)
        if not isinstance(value, list):
            raise self.error(key, f"expected a list, got {value!r}")
        for index, item in enumerate(value):
            valid = isinstance(item, str) and bool(item)
            if valid and pattern is not None:
                valid = re.fullmatch(pattern, item) is not None
            if not valid:
                raise ConfigError(
                    f"{self.key_path(key)}[{index}]: {item!r} is not valid"
                    f"{': ' + hint if hint else ''}"
                )
        return tuple(value)

    def sections(self, key: str) -> list[Section]:
        """A list of mappings."""
        value = self._raw(key)
        if not isinstance(value, list) or not value:
            raise self.error(key, f"expected a non-empty list, got {value!r}")
        return [Section(item, f"{self.key_path(key)}[{i}]") for i, item in enumerate(value)]

    def reject_unknown_keys(self) -> None:
        """Fail on keys nothing has read (typically a misspelt key)."""
        unknown = sorted(set(self._data) - self._read)
        if unknown:
            raise ConfigError(f"{self._path}: unknown key(s): {', '.join(unknown)}")

    def _check_bounds(
        self, key: str, value: float, minimum: float | None, maximum: float | None
    ) -> None:
        if minimum is not None and value < minimum:
            raise self.error(key, f"{value} is below the minimum {minimum}")
        if maximum is not None and value > maximum:
            raise self.error(key, f"{value} is above the maximum {maximum}")
