"""Sampled recall: a share of similarity searches re-run exactly, published as a metric.

After a search returns, :meth:`RecallSampler.offer` may (with probability
``VECTOR_RECALL_SAMPLE_RATE``) start one background task that runs the very same statement
with the same parameters (filters, threshold, limit) while index scans are disabled, so the
HNSW index cannot answer and PostgreSQL computes the true result. The share of the true
result the search returned is published as ``VectorSearchRecall`` (percent, ``Environment``
dimension, the one the accuracy alarm reads). The caller never waits for it and never sees
its errors; at most one re-run is in flight per sampler, and a sample offered while one is
running is dropped, so a burst of searches cannot pile exact scans onto the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import uuid
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from datalayer.metric_names import Metric
from datalayer.observability.emitter import Metrics
from datalayer.observability.emitter import metrics as default_metrics
from datalayer.repositories.embedding_sql import STATS_COLUMNS
from datalayer.repositories.similarity import SearchPlan, run_pipelined
from datalayer.settings import Settings

if TYPE_CHECKING:
    from datalayer.db import Database

logger = logging.getLogger(__name__)

# Transaction-scoped. HNSW indexes offer no bitmap scan, so with plain index scans off no
# HNSW index can deliver the order; bitmap and index-only scans stay on for the joins' key
# lookups and the scope count. Sorting is back on (searches turn it off).
EXACT_SETTINGS = (
    "SELECT set_config('enable_indexscan', 'off', true), "
    "set_config('enable_seqscan', 'on', true), "
    "set_config('enable_sort', 'on', true), "
    "set_config('plan_cache_mode', 'force_custom_plan', true)"
)


def recall_at_k(found: Sequence[Any], exact: Sequence[Any]) -> float | None:
    """The share of ``exact`` (the true result ids) present in ``found``; None when the
    true result is empty (nothing to recall)."""
    if not exact:
        return None
    return len(set(found) & set(exact)) / len(exact)


class RecallSampler:
    """Re-runs a sample of searches exactly in the background and publishes their recall."""

    def __init__(
        self,
        db: Database,
        settings: Settings,
        *,
        emitter: Metrics | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self._db = db
        self._rate = settings.vector_recall_sample_rate
        self._emitter = emitter or default_metrics
        self._rng = rng or random.Random()  # noqa: S311 - sampling, not secrecy
        self._task: asyncio.Task[None] | None = None

    @property
    def busy(self) -> bool:
        """Whether a re-run is in flight (a sample offered now would be dropped)."""
        return self._task is not None and not self._task.done()

    def offer(self, plan: SearchPlan, found: Sequence[uuid.UUID]) -> None:
        """Maybe start the exact re-run of the search ``plan`` that returned the recipes
        ``found``. Returns at once; never raises for the sample's sake."""
        if self._rate <= 0 or self._rng.random() >= self._rate or self.busy:
            return
        self._task = asyncio.get_running_loop().create_task(self._measure(plan, list(found)))

    async def drain(self) -> None:
        """Wait for the re-run in flight, if any, to finish."""
        if self._task is not None:
            await asyncio.shield(self._task)

    async def aclose(self) -> None:
        """Cancel the re-run in flight, if any (before the engines are disposed)."""
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _measure(self, plan: SearchPlan, found: list[uuid.UUID]) -> None:
        exact_plan = replace(plan, settings_sql=EXACT_SETTINGS, settings_params={})
        try:
            async with self._db.read_transaction() as session:
                rows = await run_pipelined(session, exact_plan)
            exact = [row[STATS_COLUMNS] for row in rows if row[STATS_COLUMNS] is not None]
            recall = recall_at_k(found, exact)
            if recall is not None:
                self._emitter.observe(Metric.VECTOR_SEARCH_RECALL, recall * 100.0)
        except Exception as exc:  # a sample is best effort: never the caller's problem
            logger.warning("sampled recall failed", extra={"error": type(exc).__name__})
