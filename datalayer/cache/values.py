"""Small value types of the tiered cache's read path."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Loaded(Generic[T]):
    """A loaded value and where it was read (e.g. the replica's replay LSN as an int)."""

    value: T
    position: int | None = None


class BadPayload(Exception):
    """The stored payload is not what the cache writes (planted or corrupt): a miss."""

    def __init__(self, tag: str) -> None:
        super().__init__("bad payload")
        self.tag = tag


@dataclass(slots=True)
class Flight:
    started_tick: int
    future: asyncio.Future[Any]
