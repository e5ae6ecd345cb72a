"""A small circuit breaker for Redis: after a failure, skip Redis for a cooldown.

Hand-written (about 40 lines) because the breaker has to be consulted synchronously on the
read path before any await, and the maintained libraries (pybreaker, purgatory, cashews'
decorator) wrap a call instead of answering "may I try Redis now?".
"""

from __future__ import annotations

import time
from enum import StrEnum


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    """Closed until a failure; open for ``cooldown_s``; then one probe decides."""

    def __init__(self, cooldown_s: float) -> None:
        self.cooldown_s = cooldown_s
        self.state = BreakerState.CLOSED
        self._opened_at = 0.0
        self.trips = 0

    def allow(self) -> bool:
        """Whether a call may go to Redis now (in half-open: only the single probe)."""
        if self.state is BreakerState.CLOSED:
            return True
        cooled = time.monotonic() - self._opened_at >= self.cooldown_s
        if self.state is BreakerState.OPEN and cooled:
            self.state = BreakerState.HALF_OPEN
            return True
        return False

    def record_success(self) -> None:
        self.state = BreakerState.CLOSED

    def record_failure(self) -> None:
        if self.state is not BreakerState.OPEN:
            self.trips += 1
        self.state = BreakerState.OPEN
        self._opened_at = time.monotonic()
