"""The benchmark's database paths on a small dataset: the load paths compare the same rows,
and the repository and raw psycopg return the same ids for the same query."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import numpy as np
import pytest
from pgvector.psycopg import register_vector_async
from psycopg import AsyncConnection
from rich.console import Console
from rich.progress import Progress

from bench.corpus import RecipeCorpus
from bench.dataset import Dataset, build_dataset
from bench.fts import WARM_UP, hybrid, split_warm_up
from bench.generator import GeneratorParams, exact_top_k
from bench.halfvec import HALFVEC_INDEX, halfvec_section, halfvec_variant
from bench.loading import build_hnsw_index, load_owners_and_recipes, measure_bulk_load
from bench.statements import raw_search
from bench.vector_search import Searcher
from datalayer.db import Database
from datalayer.repositories.embedding_index import should_rebuild
from datalayer.repositories.embeddings import EmbeddingRepository
from datalayer.repositories.recipe_search import RecipeSearchRepository
from datalayer.settings import Settings

pytestmark = pytest.mark.integration
ROWS, SAMPLE, QUERIES = 400, 60, 6


@pytest.fixture
def progress() -> Progress:
    return Progress(console=Console(quiet=True))


@pytest.fixture
async def loaded(
    database_url: str, db: Database, settings: Settings, progress: Progress
) -> AsyncIterator[tuple[Dataset, dict[str, Any], EmbeddingRepository]]:
    dataset = build_dataset(GeneratorParams(dim=settings.embedding_dim), ROWS, QUERIES)
    repository = EmbeddingRepository(db, settings)
    async with await AsyncConnection.connect(database_url) as connection:
        await load_owners_and_recipes(connection, dataset, progress)
        bulk = await measure_bulk_load(connection, repository, dataset, SAMPLE, progress)
        await build_hnsw_index(connection)
    yield dataset, bulk, repository


async def test_load_paths_are_compared_on_the_same_rows(
    loaded: tuple[Dataset, dict[str, Any], EmbeddingRepository], database_url: str
) -> None:
    _, bulk, _ = loaded
    assert bulk["executemany_rows"] == SAMPLE
    assert bulk["raw_copy_rows"] == SAMPLE
    assert bulk["sample_rows"] == SAMPLE  # rows bulk_load reports it loaded
    assert bulk["copy_over_executemany_rows"] == SAMPLE
    assert bulk["copy_over_executemany"] == pytest.approx(
        bulk["sample_copy_rows_per_s"] / bulk["executemany_rows_per_s"], rel=0.02
    )
    assert bulk["copy_rows"] == ROWS
    assert bulk["indexed"]["rows"] == SAMPLE
    assert bulk["indexed"]["bulk_load_over_executemany"] == pytest.approx(
        bulk["indexed"]["bulk_load_rows_per_s"] / bulk["indexed"]["executemany_rows_per_s"],
        rel=0.02,
    )
    # The full load is the repository's automatic choice: too few rows here to rebuild.
    assert not should_rebuild(ROWS, 0)
    assert (bulk["rebuilt_indexes"], bulk["index_build_s"]) == ([], None)
    assert bulk["indexed"]["bulk_load_index_build_s"] > 0  # the sample forced a rebuild
    assert bulk["end_to_end_seconds"] >= bulk["copy_seconds"]
    async with await AsyncConnection.connect(database_url) as connection:
        count = await (
            await connection.execute("SELECT count(*) FROM recipe_embeddings")
        ).fetchone()
    assert count == (ROWS,)  # the sample loads were emptied again; the full load stayed


@pytest.mark.parametrize("scope", [None, "10pct"])
async def test_repository_and_raw_psycopg_return_the_same_ids(
    loaded: tuple[Dataset, dict[str, Any], EmbeddingRepository],
    db: Database,
    database_url: str,
    scope: str | None,
) -> None:
    dataset, _, repository = loaded
    user = None if scope is None else dataset.scoped_users[scope]
    searcher = Searcher(db, repository, dataset, database_url)
    statements = searcher.statements(40, user)
    async with await AsyncConnection.connect(database_url) as connection:
        await register_vector_async(connection)
        for query in range(QUERIES):
            through_repository, _ = await searcher.search(query, 40, user)
            raw_ids, _ = await raw_search(connection, statements, dataset.queries[query])
            assert searcher.rows(raw_ids) == through_repository, query
            assert len(through_repository) == 20
            if user is not None:
                assert set(through_repository) <= set(dataset.rows_of(user).tolist())
    # different queries gave different answers, so the comparison above was not vacuous
    answers = {tuple((await searcher.search(q, 40, user))[0]) for q in range(QUERIES)}
    assert len(answers) > 1


async def test_a_run_measures_every_query_once_and_warms_up_on_others(
    loaded: tuple[Dataset, dict[str, Any], EmbeddingRepository],
    db: Database,
    database_url: str,
    progress: Progress,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    dataset, _, repository = loaded
    searched: list[np.ndarray] = []
    search = repository.similarity_search

    async def recording(vector: Any, *args: Any, **kwargs: Any) -> Any:
        searched.append(np.asarray(vector))
        return await search(vector, *args, **kwargs)

    monkeypatch.setattr(repository, "similarity_search", recording)
    truth, _ = exact_top_k(dataset.vectors, dataset.queries, 20)
    result = await Searcher(db, repository, dataset, database_url).run(
        40, truth, progress, label="run"
    )

    assert result["samples"] == QUERIES
    measured, before = searched[-QUERIES:], searched[:-QUERIES]
    np.testing.assert_array_equal(np.stack(measured), dataset.queries)
    assert len(before) > 0
    for vector in before:  # warm-up and statement capture never use a measured query
        assert not any(np.array_equal(vector, query) for query in dataset.queries)


async def test_hybrid_latency_pairs_each_measured_text_with_a_measured_vector(
    loaded: tuple[Dataset, dict[str, Any], EmbeddingRepository],
    db: Database,
    settings: Settings,
    progress: Progress,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    dataset, _, _ = loaded
    calls: list[tuple[str, np.ndarray, int]] = []
    search = RecipeSearchRepository.hybrid_search

    async def recording(self: Any, user_id: Any, text: str, vector: Any, **kwargs: Any) -> Any:
        found = await search(self, user_id, text, vector, **kwargs)
        calls.append((text, np.asarray(vector), len(found)))
        return found

    monkeypatch.setattr(RecipeSearchRepository, "hybrid_search", recording)
    texts = RecipeCorpus(7).queries(WARM_UP + 8, dataset.recipes)
    result = await hybrid(db, settings, dataset, texts, progress)

    assert result["queries"] == 8
    assert set(result["per_user"]) == set(dataset.scoped_users)
    for name, row in result["per_user"].items():
        assert row["rows_in_scope"] == dataset.rows_of(dataset.scoped_users[name]).size
        assert row["p95_ms"] >= row["p50_ms"] > 0
    warm_up, measured = split_warm_up(texts)
    per_user = len(warm_up) + len(measured)
    for first in (0, per_user):  # each user: warm-up texts first, then every measured one once
        done = calls[first : first + per_user]
        assert [text for text, _, _ in done] == warm_up + measured
        for text_index, (_, vector, _) in enumerate(done[len(warm_up) :]):
            np.testing.assert_array_equal(
                vector, dataset.queries[text_index % len(dataset.queries)]
            )
        for _, vector, _ in done[: len(warm_up)]:
            assert not any(np.array_equal(vector, query) for query in dataset.queries)
    assert any(count > 0 for _, _, count in calls)  # the searches found recipes


async def test_halfvec_variant_reranks_exactly_and_drops_its_index(
    loaded: tuple[Dataset, dict[str, Any], EmbeddingRepository],
    db: Database,
    database_url: str,
    progress: Progress,
) -> None:
    dataset, _, repository = loaded
    truth, _ = exact_top_k(dataset.vectors, dataset.queries, 20)
    searcher = Searcher(db, repository, dataset, database_url)
    block = await halfvec_variant(searcher, truth, 400, {"build_s": 1.0, "size_mib": 2.0}, progress)

    variants = block["variants"]
    assert set(variants) == {
        "vector (full precision)",
        "halfvec, re-rank 20",
        "halfvec, re-rank 40",
    }
    for name, row in variants.items():
        assert row["samples"] == QUERIES, name
        assert row["min_rows"] == 20, name
        # 400 rows at ef_search 400: every index visits every row, so the exact re-rank on
        # the full vectors gives the exact answer.
        assert row["recall_at_20"] == 1.0, name
    assert variants["halfvec, re-rank 20"]["size_mib"] > 0
    assert variants["vector (full precision)"]["size_mib"] == 2.0
    async with await AsyncConnection.connect(database_url) as connection:
        row = await (
            await connection.execute("SELECT to_regclass(%s)", (HALFVEC_INDEX,))
        ).fetchone()
    assert row == (None,)
    assert "| halfvec, re-rank 40 | 1.0 |" in "\n".join(halfvec_section({"halfvec": block}))
