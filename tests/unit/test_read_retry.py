"""The retry policy of idempotent reads: which errors, how many attempts, never a joined
transaction. (The same decorator over a real outage: tests/integration/db/test_read_retry.py.)"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from datalayer.db import ReadRetryPolicy, idempotent_read
from datalayer.errors import (
    ConflictError,
    UnavailableError,
    UnavailableReason,
)
from datalayer.settings import load_settings

FAST = ReadRetryPolicy(attempts=4, backoff_ms=1, max_backoff_ms=2)


@dataclass
class FakeDatabase:
    """Only what the decorator reads: the Database's ``read_retry`` policy."""

    read_retry: ReadRetryPolicy = FAST


@dataclass
class FlakyReads:
    failures: list[Exception]
    _db: FakeDatabase = field(default_factory=FakeDatabase)
    calls: int = 0

    @idempotent_read
    async def get(self, key: str, *, session: object = None) -> str:
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        return key


def _refused() -> UnavailableError:
    return UnavailableError("database unavailable (refused)", reason=UnavailableReason.REFUSED)


async def test_transient_unavailability_is_retried_until_success() -> None:
    reads = FlakyReads([_refused(), _refused()])
    assert await reads.get("k") == "k"
    assert reads.calls == 3


async def test_retries_stop_after_the_configured_attempts() -> None:
    reads = FlakyReads([_refused() for _ in range(10)])
    with pytest.raises(UnavailableError):
        await reads.get("k")
    assert reads.calls == FAST.attempts


@pytest.mark.parametrize(
    "error",
    [
        UnavailableError("x", reason=UnavailableReason.AUTHENTICATION_FAILED),
        UnavailableError("x", reason=UnavailableReason.UNKNOWN_DATABASE),
        ConflictError("x"),
    ],
)
async def test_errors_a_retry_cannot_fix_are_raised_at_once(error: Exception) -> None:
    reads = FlakyReads([error])
    with pytest.raises(type(error)):
        await reads.get("k")
    assert reads.calls == 1


async def test_a_read_joining_the_callers_transaction_is_not_retried() -> None:
    reads = FlakyReads([_refused()])
    with pytest.raises(UnavailableError):
        await reads.get("k", session=object())
    assert reads.calls == 1


def test_the_policy_comes_from_settings() -> None:
    settings = load_settings(
        database_read_retry_attempts=5,
        database_read_retry_backoff_ms=50,
        database_read_retry_max_backoff_ms=400,
    )
    assert ReadRetryPolicy.from_settings(settings) == ReadRetryPolicy(5, 50, 400)


async def test_a_single_attempt_policy_never_retries() -> None:
    reads = FlakyReads([_refused(), _refused()])
    reads._db = FakeDatabase(ReadRetryPolicy(attempts=1, backoff_ms=1, max_backoff_ms=2))
    with pytest.raises(UnavailableError):
        await reads.get("k")
    assert reads.calls == 1


async def test_two_attempts_means_exactly_one_retry() -> None:
    reads = FlakyReads([_refused(), _refused(), _refused()])
    reads._db = FakeDatabase(ReadRetryPolicy(attempts=2, backoff_ms=1, max_backoff_ms=2))
    with pytest.raises(UnavailableError):
        await reads.get("k")
    assert reads.calls == 2
