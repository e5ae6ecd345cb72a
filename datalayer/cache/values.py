"""Small value types of the tiered cache's read path, and its single-flight loads."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
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
    """A running load of one key, which later readers of the key may join."""

    started_tick: int
    future: asyncio.Future[Any]

    async def join(self) -> tuple[bool, Any]:
        """``(True, value)`` of the load; ``(False, None)`` when its leader was cancelled."""
        try:
            return True, await asyncio.shield(self.future)
        except asyncio.CancelledError:
            if not self.future.cancelled():
                raise  # this caller was cancelled, not the leader
            return False, None


class Flights:
    """The running loads of one cache, by key name (single flight per process)."""

    def __init__(self) -> None:
        self._running: dict[str, Flight] = {}

    def get(self, name: str) -> Flight | None:
        return self._running.get(name)

    async def lead(self, name: str, started_tick: int, load: Coroutine[Any, Any, T]) -> T:
        """Run ``load`` as the flight of ``name``; joiners get its result or its error."""
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._running[name] = Flight(started_tick, future)
        try:
            result = await load
        except asyncio.CancelledError:
            future.cancel()
            raise
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: there may be no joiner
            raise
        else:
            future.set_result(result)
            return result
        finally:
            current = self._running.get(name)
            if current is not None and current.future is future:
                del self._running[name]
