"""Bounded, jittered retries for idempotent reads (never for writes).

A read that fails with a transient :class:`~datalayer.errors.UnavailableError` (refused,
timed out, connection lost ...) is tried again after an exponentially growing, fully
jittered pause, up to ``DATABASE_READ_RETRY_ATTEMPTS`` attempts in all. A write is never
retried here: its first attempt may have committed before the connection broke.
"""

from __future__ import annotations

import asyncio
import functools
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import ParamSpec, TypeVar

from tenacity import (
    AsyncRetrying,
    retry_if_exception,
    stop_after_attempt,
    wait_random_exponential,
)

from datalayer.errors import UnavailableError
from datalayer.settings import Settings

P = ParamSpec("P")
T = TypeVar("T")


@dataclass(frozen=True)
class ReadRetryPolicy:
    """How often and how patiently an idempotent read is retried."""

    attempts: int = 3
    backoff_ms: int = 100
    max_backoff_ms: int = 2_000

    @classmethod
    def from_settings(cls, settings: Settings) -> ReadRetryPolicy:
        return cls(
            attempts=settings.database_read_retry_attempts,
            backoff_ms=settings.database_read_retry_backoff_ms,
            max_backoff_ms=settings.database_read_retry_max_backoff_ms,
        )

    async def run(self, read: Callable[[], Awaitable[T]]) -> T:
        """Await ``read()``; retry it while it raises a transient ``UnavailableError``.

        The first attempt runs bare: building the retry machinery costs about as much as
        an in-process cache hit, so it is only built once a read has failed.
        """
        try:
            return await read()
        except UnavailableError as exc:
            if not exc.transient or self.attempts <= 1:
                raise
        # The pause after the first failure, then tenacity for the rest with the doubled
        # multiplier, gives the same schedule as one tenacity loop over every attempt.
        first_pause = min(self.backoff_ms, self.max_backoff_ms) / 1000
        await asyncio.sleep(random.uniform(0, first_pause))  # noqa: S311 (jitter, not a secret)
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.attempts - 1),
            wait=wait_random_exponential(
                multiplier=2 * self.backoff_ms / 1000, max=self.max_backoff_ms / 1000
            ),
            retry=retry_if_exception(_is_transient),
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                return await read()
        raise AssertionError("unreachable: tenacity re-raises the last error")  # pragma: no cover


DEFAULT_READ_RETRY = ReadRetryPolicy()


def _is_transient(exc: BaseException) -> bool:
    return isinstance(exc, UnavailableError) and exc.transient


def _policy_of(owner: object) -> ReadRetryPolicy:
    """The policy of the repository's ``Database`` (``_db`` or ``db``), else the default."""
    database = getattr(owner, "_db", None) or getattr(owner, "db", None)
    policy = getattr(database, "read_retry", None)
    return policy if isinstance(policy, ReadRetryPolicy) else DEFAULT_READ_RETRY


def idempotent_read(
    method: Callable[P, Awaitable[T]],
) -> Callable[P, Awaitable[T]]:
    """Decorate an async repository read method so it retries on transient unavailability.

    The policy is the ``read_retry`` of the repository's ``Database`` (built from settings).
    A call that joins the caller's transaction (``session=`` given) is not retried: that
    transaction is gone with its connection, and only its owner can start over.
    """

    @functools.wraps(method)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        if kwargs.get("session") is not None:
            return await method(*args, **kwargs)
        policy = _policy_of(args[0]) if args else DEFAULT_READ_RETRY
        return await policy.run(lambda: method(*args, **kwargs))

    return wrapper


__all__ = ["DEFAULT_READ_RETRY", "ReadRetryPolicy", "idempotent_read"]
