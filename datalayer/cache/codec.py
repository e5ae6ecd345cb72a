"""Values are stored as JSON, never pickle: a payload planted in Redis cannot run code.

With a pydantic ``TypeAdapter`` the value is validated on the way back in, so a cached
repository result comes back as the same typed model the repository returns.
"""

from __future__ import annotations

import json
from typing import Any, TypeVar

from pydantic import TypeAdapter, ValidationError

T = TypeVar("T")


class PayloadError(ValueError):
    """A stored payload is not valid JSON for the expected type (treated as a miss)."""


def encode(value: Any, adapter: TypeAdapter[Any] | None) -> bytes:
    """JSON bytes of ``value`` (through ``adapter`` when given)."""
    if adapter is not None:
        return adapter.dump_json(value)
    return json.dumps(value, separators=(",", ":"), allow_nan=False).encode()


def decode(payload: bytes, adapter: TypeAdapter[T] | None) -> T | Any:
    """The value of ``payload``; :class:`PayloadError` when it is not what we stored."""
    try:
        if adapter is not None:
            return adapter.validate_json(payload)
        return json.loads(payload)
    except (ValidationError, ValueError) as exc:
        raise PayloadError("cached payload is not valid JSON for its type") from exc
