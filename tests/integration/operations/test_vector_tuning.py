"""``vector tune`` on 3,000 stored random vectors, checked against an independent computation:
exact neighbours in numpy, the HNSW index queried here, the bound recomputed here."""

from __future__ import annotations

import json
import math
import statistics
import tempfile
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import text

from datalayer.db import Database
from datalayer.errors import InvalidInputError
from datalayer.operations.maintenance import DEFAULT_TASKS, run_maintenance
from datalayer.operations.vector_tuning import ef_ladder, tune_ef_search
from datalayer.settings import Settings, load_settings
from tests.integration.gdpr.test_cli import cli
from tests.integration.repositories.support import (
    database_with_embeddings,
    new_user,
    random_embeddings,
)
from tests.services import PostgresHarness
from tests.unit.observability.test_emitter import emf_emitter

ROWS = 3000
K = 10


@pytest.fixture(scope="module")
async def loaded_url(postgres: PostgresHarness) -> AsyncIterator[str]:
    """One database of 3,000 random 1536-dimension vectors for the whole module."""
    async with database_with_embeddings(postgres, ROWS) as (url, _):
        yield url


@pytest.fixture
async def loaded(loaded_url: str) -> AsyncIterator[Database]:
    db = Database.connect(loaded_url, load_settings(database_url=loaded_url, database_pool_size=2))
    yield db
    await db.dispose()


@pytest.fixture
def loaded_settings(loaded_url: str) -> Settings:
    return load_settings(database_url=loaded_url, database_pool_size=2)


async def stored_rows(db: Database) -> list[dict[str, Any]]:
    async with db.write_engine.connect() as connection:
        rows = await connection.execute(text("SELECT * FROM vector_search_tuning ORDER BY id"))
        return [dict(row) for row in rows.mappings()]


async def all_vectors(db: Database) -> tuple[list[uuid.UUID], np.ndarray]:
    async with db.write_engine.connect() as connection:
        rows = (
            await connection.execute(
                text("SELECT recipe_id, CAST(embedding AS text) FROM recipe_embeddings")
            )
        ).all()
    matrix = np.array([json.loads(vector) for _, vector in rows], dtype=np.float64)
    return [recipe for recipe, _ in rows], matrix / np.linalg.norm(matrix, axis=1, keepdims=True)


def exact_others(ids: list[uuid.UUID], unit: np.ndarray, query: uuid.UUID) -> list[uuid.UUID]:
    """The K nearest rows to ``query``'s vector by cosine distance, ``query`` itself left out."""
    row = ids.index(query)
    order = np.argsort(1.0 - unit @ unit[row], kind="stable")
    return [ids[i] for i in order if i != row][:K]


async def hnsw_others(db: Database, query: uuid.UUID, ef: int) -> list[uuid.UUID]:
    """What the HNSW index returns at ``ef`` for ``query``'s own vector, ``query`` left out."""
    async with db.write_engine.begin() as connection:
        await connection.execute(
            text(
                "SELECT set_config('hnsw.ef_search', :ef, true), "
                "set_config('enable_seqscan', 'off', true)"
            ),
            {"ef": str(ef)},
        )
        rows = await connection.execute(
            text(
                "SELECT recipe_id FROM recipe_embeddings ORDER BY embedding <=> "
                "(SELECT embedding FROM recipe_embeddings WHERE recipe_id = :q) LIMIT :n"
            ),
            {"q": query, "n": K + 1},
        )
        return [recipe for (recipe,) in rows if recipe != query][:K]


async def independent_recall(
    db: Database, queries: tuple[uuid.UUID, ...], ef: int, truth: dict[uuid.UUID, list[uuid.UUID]]
) -> tuple[float, float]:
    recalls = [
        len(set(await hnsw_others(db, query, ef)) & set(truth[query])) / K for query in queries
    ]
    mean = statistics.fmean(recalls)
    return mean, mean - 1.6448536269514722 * statistics.stdev(recalls) / math.sqrt(len(recalls))


async def test_the_smallest_ef_search_whose_bound_meets_the_target_is_stored(
    loaded: Database,
) -> None:
    result = await tune_ef_search(loaded, target_recall=0.9, k=K, sample=60, seed=7)

    assert result.target_met and result.sample_size == 60 and result.row_count == ROWS
    tried = [row.ef_search for row in result.sweep]
    assert tried == ef_ladder(K, 1000)[: len(tried)] and tried[-1] == result.ef_search
    assert len(tried) >= 2, "the target was met at the first ef_search: nothing was chosen"
    assert all(row.recall_lower_bound < 0.9 for row in result.sweep[:-1])
    assert result.sweep[-1].recall_lower_bound >= 0.9

    ids, unit = await all_vectors(loaded)
    assert len(set(result.queries)) == 60 and set(result.queries) <= set(ids)
    truth = {query: exact_others(ids, unit, query) for query in result.queries}
    # float32 in the database, float64 here: allow one neighbour swapped at the k-th rank.
    slack = 1.5 / (K * 60)
    for measured, ef in ((result.sweep[-1], result.ef_search), (result.sweep[-2], tried[-2])):
        mean, bound = await independent_recall(loaded, result.queries, ef, truth)
        assert measured.recall_mean == pytest.approx(mean, abs=slack)
        assert measured.recall_lower_bound == pytest.approx(bound, abs=2 * slack)
    assert result.recall_mean < 1.0

    (stored,) = (await stored_rows(loaded))[-1:]
    assert {key: stored[key] for key in ("ef_search", "k", "target_met", "sample_size")} == {
        "ef_search": result.ef_search,
        "k": K,
        "target_met": True,
        "sample_size": 60,
    }
    assert stored["index_name"] == "ix_recipe_embeddings_embedding_hnsw"
    assert stored["recall_lower_bound"] == pytest.approx(result.recall_lower_bound)
    assert stored["row_count"] == ROWS


async def test_the_floor_keeps_the_sweep_going_up_to_it(loaded: Database) -> None:
    # A target the ladder meets early (see above) and a floor above that: the sweep runs on
    # to the floor, and what is stored is the floor, with the figures measured there.
    unfloored = await tune_ef_search(loaded, target_recall=0.5, k=K, sample=30, seed=3)
    floor = 150
    assert unfloored.ef_search < floor
    result = await tune_ef_search(loaded, target_recall=0.5, k=K, sample=30, seed=3, min_ef=floor)
    assert result.ef_search == floor and result.target_met
    assert [row.ef_search for row in result.sweep][-1] == floor
    assert result.recall_mean == result.sweep[-1].recall_mean
    (stored,) = (await stored_rows(loaded))[-1:]
    assert stored["ef_search"] == floor


async def test_a_floor_above_the_largest_ef_search_is_refused(loaded: Database) -> None:
    before = await stored_rows(loaded)
    with pytest.raises(InvalidInputError):
        await tune_ef_search(loaded, k=K, sample=30, max_ef=100, min_ef=200)
    assert await stored_rows(loaded) == before


async def test_an_unreachable_target_stores_the_largest_ef_search_tried(loaded: Database) -> None:
    before = len(await stored_rows(loaded))
    result = await tune_ef_search(loaded, target_recall=1.0, k=K, sample=20, max_ef=60, seed=1)
    assert not result.target_met
    assert [row.ef_search for row in result.sweep] == [40, 60]
    assert result.ef_search == 60
    rows = await stored_rows(loaded)
    assert len(rows) == before + 1
    assert (rows[-1]["ef_search"], rows[-1]["target_met"]) == (60, False)


async def test_too_few_rows_is_refused_and_nothing_stored(db: Database) -> None:
    with pytest.raises(InvalidInputError, match="too few embeddings to tune: 0 stored"):
        await tune_ef_search(db, k=K)
    assert await stored_rows(db) == []


def test_cli_tunes_and_exits_1_with_a_message_when_the_target_is_not_met(
    loaded_url: str,
) -> None:
    home = Path(tempfile.mkdtemp(prefix="datalayer-vector-cli-"))
    tuned = cli(loaded_url, home, "vector", "tune", "--target-recall", "0.5", "--k", "10",
                "--sample", "20", "--seed", "3")  # fmt: skip
    assert tuned.returncode == 0, tuned.stdout + tuned.stderr
    # Met at 40, stored at the configured floor.
    assert "stored ef_search 120: recall@10" in tuned.stdout and "target 0.5 met" in tuned.stdout

    missed = cli(loaded_url, home, "vector", "tune", "--target-recall", "1", "--k", "10",
                 "--sample", "20", "--max-ef", "50")  # fmt: skip
    assert missed.returncode == 1
    assert "target not met" in missed.stdout
    assert "no ef_search up to 50 reaches recall@10 >= 1.0" in " ".join(missed.stdout.split())


def test_cli_help_names_the_options() -> None:
    shown = cli("postgresql://unused@127.0.0.1:1/none", Path(tempfile.mkdtemp()), "vector",
                "tune", "--help")  # fmt: skip
    assert shown.returncode == 0, shown.stderr
    for option in ("--target-recall", "--k", "--sample", "--max-ef", "--min-ef", "--seed"):
        assert option in shown.stdout


async def test_vector_tune_is_an_opt_in_maintenance_task(
    loaded: Database, loaded_settings: Settings
) -> None:
    assert "vector_tune" not in DEFAULT_TASKS
    emitter, documents = emf_emitter()
    settings = loaded_settings.model_copy(update={"vector_tune_target_recall": 0.5})
    (result,) = await run_maintenance(loaded, settings, ["vector_tune"], emitter=emitter)
    emitter.flush()
    assert result.ok and result.items == 1, result.detail
    # Met at 40 already; stored at the settings' floor (VECTOR_TUNE_MIN_EF_SEARCH, 120).
    assert settings.vector_tune_min_ef_search == 120
    assert result.figures["ef_search"] == 120 and result.figures["target_met"] is True
    assert "queries" not in result.figures
    published = [d["MaintenanceItems"] for d in documents if d.get("Task") == "vector_tune"]
    assert published == [[1.0]]


async def test_a_missed_target_fails_the_maintenance_task(db: Database, settings: Settings) -> None:
    await random_embeddings(db, {await new_user(db): 30})
    unreachable = settings.model_copy(update={"vector_tune_target_recall": 1.0})
    (result,) = await run_maintenance(db, unreachable, ["vector_tune"])
    assert not result.ok and result.detail == "failed: RecallTargetError"
    (stored,) = await stored_rows(db)
    assert (stored["ef_search"], stored["target_met"]) == (1000, False)
