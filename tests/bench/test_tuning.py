"""The benchmark's ``tuned`` block on the small dataset of ``test_search_paths``: the tuner's
choice is what the repository is then measured at, under the field names the results use."""

from __future__ import annotations

from typing import Any

import pytest
from rich.progress import Progress
from sqlalchemy import text

from bench.dataset import Dataset
from bench.generator import exact_top_k
from bench.tuning import tuned_block, tuned_section
from bench.vector_search import Searcher
from datalayer.db import Database
from datalayer.repositories.embeddings import EmbeddingRepository
from tests.bench.test_search_paths import loaded, progress  # noqa: F401 - fixtures

pytestmark = pytest.mark.integration


async def test_the_tuned_block_measures_the_repository_at_the_stored_ef_search(
    loaded: tuple[Dataset, dict[str, Any], EmbeddingRepository],  # noqa: F811 - fixture
    db: Database,
    database_url: str,
    progress: Progress,  # noqa: F811 - fixture
) -> None:
    dataset, _, repository = loaded
    truth, _ = exact_top_k(dataset.vectors, dataset.queries, 20)
    searcher = Searcher(db, repository, dataset, database_url)
    tuned = await tuned_block(searcher, truth, progress, min_ef=150)

    async with db.write_engine.connect() as connection:
        stored = (
            await connection.execute(text("SELECT ef_search FROM vector_search_tuning"))
        ).scalar_one()
    assert tuned["ef_search"] == stored >= 150  # never below the floor it was given
    assert tuned["min_ef_search"] == 150
    assert 0.0 <= tuned["recall_at_20"] <= 1.0 and tuned["p95_ms"] > 0
    assert tuned["tuner_sample"] == 200  # of the 400 rows
    (row,) = [line for line in tuned_section({"tuned": tuned}) if line.startswith(f"| {stored} ")]
    assert f"| {tuned['recall_at_20']} | {tuned['p95_ms']} |" in row
    assert tuned_section({}) == []
