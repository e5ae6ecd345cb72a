"""A small circuit breaker for Redis: after a failure, skip Redis for a cooldown.

Hand-written (about 30 lines) because the cache asks it synchronously, before any await,
"may I try Redis now?"; the maintained libraries (pybreaker, purgatory, cashews' decorator)
wrap a call instead.
"""

from __future__ import annotations

import time


class CircuitBreaker:
    """Closed until a failure; then one probe per ``cooldown_s`` until a call succeeds."""

    def __init__(self, cooldown_s: float) -> None:
        self.cooldown_s = cooldown_s
        self.closed = True
        self._next_probe_at = 0.0
        self.trips = 0

    def allow(self) -> bool:
        """Whether a call may go to Redis now (while open: one probe per cooldown)."""
        if self.closed:
            return True
        now = time.monotonic()
        if now >= self._next_probe_at:
            self._next_probe_at = now + self.cooldown_s
            return True
        return False

    def record_success(self) -> None:
        self.closed = True

    def record_failure(self) -> None:
        if self.closed:
            self.trips += 1
        self.closed = False
        self._next_probe_at = time.monotonic() + self.cooldown_s
