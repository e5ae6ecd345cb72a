"""One benchmark run, end to end: data, server, loads, searches, results.

The order matters: the bulk-load paths are measured on a table without the HNSW index,
the index is then built (and timed) exactly as the migration declares it, and every search
runs afterwards on the warmed-up index, one query at a time from a single client.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from psycopg import AsyncConnection
from rich.progress import Progress

from bench.corpus import RecipeCorpus
from bench.dataset import Dataset, build_dataset
from bench.environment import machine, versions
from bench.fts import WARM_UP as FTS_WARM_UP
from bench.fts import full_text, hybrid
from bench.generator import GeneratorParams, IntArray, difficulty, exact_top_k
from bench.halfvec import halfvec_variant
from bench.loading import build_hnsw_index, load_owners_and_recipes, measure_bulk_load
from bench.report import evaluate_targets
from bench.server import INDEX_BUILD_MEMORY_MB, bench_database, server_settings
from bench.timing import progress_display
from bench.tuning import tuned_block
from bench.vector_search import (
    K,
    Searcher,
    filtered,
    index_sweep,
    repository_sweep,
    repository_vs_raw,
)
from datalayer.db import Database
from datalayer.repositories.embeddings import EmbeddingRepository
from datalayer.settings import Settings, load_settings

RESULTS_DIR = Path(__file__).parent / "results"
TARGET_RECALL, TARGET_P95_MS = 0.95, 10.0


@dataclass(frozen=True)
class RunConfig:
    """Sizes of one run; :data:`FULL` is what ``make bench`` measures."""

    mode: str
    rows: int
    queries: int
    fts_queries: int
    executemany_rows: int
    ef_values: tuple[int, ...]
    output_dir: Path
    params: GeneratorParams = field(default_factory=GeneratorParams)


FULL = RunConfig(
    mode="full",
    rows=100_000,
    queries=500,
    fts_queries=500,
    executemany_rows=5_000,
    ef_values=(40, 60, 80, 100, 120, 150, 200, 300, 400),
    output_dir=RESULTS_DIR,
)
QUICK = RunConfig(
    mode="quick",
    rows=5_000,
    queries=100,
    fts_queries=100,
    executemany_rows=1_000,
    ef_values=(40, 100, 200, 400),
    output_dir=Path(tempfile.gettempdir()) / "datalayer-bench-quick",
)


def recommended_ef_search(sweep: list[dict[str, Any]]) -> int | None:
    """The smallest ef_search meeting recall@20 >= 0.95 with p95 <= 10 ms."""
    for row in sorted(sweep, key=lambda item: item["ef_search"]):
        if row["recall_at_20"] >= TARGET_RECALL and row["p95_ms"] <= TARGET_P95_MS:
            return int(row["ef_search"])
    return None


def _default_block(settings: Settings, sweep: list[dict[str, Any]]) -> dict[str, Any]:
    ef = settings.hnsw_ef_search
    row = next(item for item in sweep if item["ef_search"] == ef)
    return {
        "ef_search": ef,
        "shipped_default": Settings.model_fields["hnsw_ef_search"].default,
        "source": "datalayer.settings.Settings.hnsw_ef_search as loaded (HNSW_EF_SEARCH overrides)",
        "recall_at_20": row["recall_at_20"],
        "p50_ms": row["p50_ms"],
        "p95_ms": row["p95_ms"],
        "p99_ms": row["p99_ms"],
        "plan": row["plan"],
        "at_risk_share": row["at_risk_share"],
    }


def _line(label: str, row: dict[str, Any]) -> str:
    """One compact log line for a measured configuration."""
    recall = f"recall@20 {row['recall_at_20']} " if "recall_at_20" in row else ""
    plan = f", {row['plan']}" if "plan" in row else ""
    risk = f", at risk {row['at_risk_share']}" if "at_risk_share" in row else ""
    return f"{label}: {recall}p50 {row['p50_ms']} ms, p95 {row['p95_ms']} ms{plan}{risk}"


async def embedding_storage(connection: AsyncConnection[Any]) -> dict[str, Any]:
    """How the vectors are stored: the column's storage and the size of the TOAST table
    (0 when every vector is inline in its row, migration 0007)."""
    row = await (
        await connection.execute(
            "SELECT a.attstorage, pg_relation_size(c.reltoastrelid), pg_relation_size(c.oid) "
            "FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
            "WHERE c.relname = 'recipe_embeddings' AND a.attname = 'embedding'"
        )
    ).fetchone()
    assert row is not None
    names = {"p": "plain", "e": "external", "m": "main", "x": "extended"}
    return {
        "embedding_storage": names.get(row[0], row[0]),
        "toast_mib": round(int(row[1]) / 2**20, 1),
        "heap_mib": round(int(row[2]) / 2**20, 1),
    }


async def _load(
    url: str,
    repository: EmbeddingRepository,
    dataset: Dataset,
    config: RunConfig,
    results: dict[str, Any],
    progress: Progress,
) -> None:
    """Versions, the COPY of users and recipes, the bulk-load paths and the index build."""
    log = progress.console.log
    async with await AsyncConnection.connect(url) as connection:
        results["versions"] = await versions(connection)
        results["recipes_load"] = await load_owners_and_recipes(connection, dataset, progress)
        bulk = await measure_bulk_load(
            connection, repository, dataset, config.executemany_rows, progress
        )
        log(
            f"bulk load rows/s: bulk_load COPY {bulk['copy_rows_per_s']}, raw COPY "
            f"{bulk['raw_copy_rows_per_s']}, executemany {bulk['executemany_rows_per_s']}"
        )
        results["bulk_load"] = bulk
        results["index"] = await build_hnsw_index(connection, bulk["index_build_s"])
        log(f"HNSW build {results['index']['build_s']} s, {results['index']['size_mib']} MiB")
        results["storage"] = await embedding_storage(connection)
    results["server_settings"] = server_settings(url)


async def _search(
    searcher: Searcher,
    settings: Settings,
    truth: IntArray,
    config: RunConfig,
    results: dict[str, Any],
    progress: Progress,
) -> None:
    """The ef_search sweeps, repository vs raw and the filtered searches."""
    log = progress.console.log
    default_ef = settings.hnsw_ef_search
    ef_values = sorted({*config.ef_values, default_ef})
    sweep = await repository_sweep(searcher, truth, ef_values, progress)
    forced = await index_sweep(searcher, truth, ef_values, progress)
    for row, index_row in zip(sweep, forced, strict=True):
        log(_line(f"repository ef_search={row['ef_search']}", row))
        log(_line(f"HNSW forced ef_search={row['ef_search']}", index_row))
    results["ef_search_sweep"] = sweep
    results["hnsw_index_sweep"] = forced
    results["default"] = _default_block(settings, sweep)
    results["recommended_ef_search"] = recommended_ef_search(sweep)
    results["recommended_ef_search_index_forced"] = recommended_ef_search(forced)
    results["tuned"] = await tuned_block(
        searcher, truth, progress, min_ef=settings.vector_tune_min_ef_search
    )
    log(_line(f"tuned ef_search={results['tuned']['ef_search']}", results["tuned"]))
    repo_raw = await repository_vs_raw(searcher, default_ef, progress)
    log(_line("repository", repo_raw["repository"]))
    log(_line("raw psycopg", repo_raw["raw_psycopg"]))
    results["repo_vs_raw"] = repo_raw
    results["repo_raw_p50_ratio"] = repo_raw["p50_ratio"]
    results["filtered"] = await filtered(searcher, default_ef, progress)
    for name, row in results["filtered"].items():
        log(_line(f"filtered {name}", row))


async def run(config: RunConfig) -> dict[str, Any]:
    """Measure everything and return the results (targets included)."""
    started = time.perf_counter()
    results: dict[str, Any] = {
        "benchmark": "vector_search",
        "mode": config.mode,
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
    }
    with progress_display() as progress:
        task = progress.add_task("generate dataset and exact top-20", total=2)
        dataset = build_dataset(config.params, config.rows, config.queries)
        progress.advance(task)
        truth, distances = exact_top_k(dataset.vectors, dataset.queries, K)
        progress.advance(task)
        results["dataset"] = {
            **dataset.describe(),
            "generator": config.params.as_dict(),
            "seed_streams": "numpy default_rng([seed, 0]) mixture, [seed, 1] rows, [seed, 2] "
            "queries, [seed, 3] ownership and ids, [seed, 4] warm-up queries, [seed, 10/11] "
            "recipe texts/queries",
            "ground_truth": "exact cosine top-20 (numpy, float32 dot products of unit vectors)",
            "difficulty": difficulty(distances, dataset.vectors, dataset.queries),
        }
        progress.console.log(f"dataset difficulty: {results['dataset']['difficulty']}")
        with bench_database() as url:
            settings = load_settings(
                database_url=url, embedding_index_build_memory_mb=INDEX_BUILD_MEMORY_MB
            )
            db = Database.connect(url, settings)
            repository = EmbeddingRepository(db, settings)
            try:
                await _load(url, repository, dataset, config, results, progress)
                searcher = Searcher(db, repository, dataset, url)
                await _search(searcher, settings, truth, config, results, progress)
                queries = RecipeCorpus(config.params.seed).queries(
                    FTS_WARM_UP + config.fts_queries, dataset.recipes
                )
                results["fts"] = await full_text(db, url, dataset, queries, progress)
                results["hybrid"] = await hybrid(db, settings, dataset, queries, progress)
                results["halfvec"] = await halfvec_variant(
                    searcher, truth, settings.hnsw_ef_search, results["index"], progress
                )
            finally:
                await db.dispose()
    for name, row in results["fts"]["per_user"].items():
        progress.console.log(_line(f"full-text {name} user", row))
    results["fts_p50_ms"] = results["fts"]["per_user"]["10pct"]["p50_ms"]
    results["fts_p95_ms"] = results["fts"]["per_user"]["10pct"]["p95_ms"]
    for name, row in results["hybrid"]["per_user"].items():
        progress.console.log(_line(f"hybrid {name} user", row))
    results["hybrid_p50_ms"] = results["hybrid"]["per_user"]["10pct"]["p50_ms"]
    results["hybrid_p95_ms"] = results["hybrid"]["per_user"]["10pct"]["p95_ms"]
    results["targets"] = evaluate_targets(results)
    results["runtime_s"] = round(time.perf_counter() - started, 1)
    return results
