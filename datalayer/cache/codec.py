"""Values are stored as JSON, never pickle: a payload planted in Redis cannot run code.

With a pydantic ``TypeAdapter`` the value is validated on the way back in, so a cached
repository result comes back as the same typed model the repository returns. Without one,
payloads are parsed with orjson, except the rare ones holding an integer beyond 64 bits
(which orjson would turn into a float): those are stored with a leading space, still JSON,
and parsed with the standard library.
"""

from __future__ import annotations

import json
from typing import Any, TypeVar

import orjson
from pydantic import TypeAdapter, ValidationError

from datalayer.cache.frozen import freeze, freeze_json

T = TypeVar("T")
_WIDE = b" "
_LOW, _HIGH = -(2**63), 2**64


class PayloadError(ValueError):
    """A stored payload is not valid JSON for the expected type (treated as a miss)."""


def encode(value: Any, adapter: TypeAdapter[Any] | None) -> bytes:
    """JSON bytes of ``value`` (through ``adapter`` when given)."""
    if adapter is not None:
        return adapter.dump_json(value)
    text = json.dumps(value, separators=(",", ":"), allow_nan=False).encode()
    return _WIDE + text if _has_wide_int(value) else text


def decode(payload: bytes, adapter: TypeAdapter[T] | None) -> T | Any:
    """The value of ``payload``, deeply read-only (:func:`~datalayer.cache.frozen.freeze`);
    :class:`PayloadError` when it is not what we stored."""
    try:
        if adapter is not None:
            parsed = adapter.validate_json(payload)
        elif payload[:1] == _WIDE:
            parsed = json.loads(payload)
        else:
            return freeze_json(orjson.loads(payload))
    except (ValidationError, ValueError) as exc:  # orjson.JSONDecodeError is a ValueError
        raise PayloadError("cached payload is not valid JSON for its type") from exc
    return freeze(parsed)


def _has_wide_int(value: Any) -> bool:
    if isinstance(value, int) and not isinstance(value, bool):
        return not _LOW <= value < _HIGH
    if isinstance(value, dict):
        return any(_has_wide_int(item) for item in value.values())
    if isinstance(value, list | tuple):
        return any(_has_wide_int(item) for item in value)
    return False
