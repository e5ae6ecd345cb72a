"""The ``tuned`` block: ``vector tune`` run on the benchmark's stored vectors, then the
repository measured at the ef_search it chose against the benchmark's own ground truth.

The tuner only sees stored rows (its queries are rows, each left out of its own answer); the
benchmark's queries are fresh draws from the same distribution. ``recall_at_20`` here is
therefore the out-of-sample check of the tuner's estimate (``tuner_recall_mean``).
"""

from __future__ import annotations

import time
from typing import Any

from rich.progress import Progress

from bench.generator import IntArray
from bench.vector_search import K, Searcher
from datalayer.operations.vector_tuning import tune_ef_search

TARGET_RECALL = 0.95
SAMPLE = 200
SEED = 20261203


async def tuned_block(
    searcher: Searcher, truth: IntArray, progress: Progress, *, min_ef: int
) -> dict[str, Any]:
    """``tuned.{ef_search, recall_at_20, p95_ms}`` plus what the tuner estimated."""
    task = progress.add_task("vector tune", total=None)

    def step(name: str, done: int, total: int) -> None:
        progress.update(task, description=f"vector tune: {name}", completed=done, total=total)

    started = time.perf_counter()
    result = await tune_ef_search(
        searcher.db,
        target_recall=TARGET_RECALL,
        k=K,
        sample=SAMPLE,
        min_ef=min_ef,
        seed=SEED,
        progress=step,
    )
    seconds = round(time.perf_counter() - started, 1)
    measured = await searcher.run(
        result.ef_search, truth, progress, label=f"tuned ef_search={result.ef_search}"
    )
    return {
        "ef_search": measured["ef_search"],  # what the repository ran at: the stored value
        "recall_at_20": measured["recall_at_20"],
        "p95_ms": measured["p95_ms"],
        "p50_ms": measured["p50_ms"],
        "target_recall": TARGET_RECALL,
        "min_ef_search": min_ef,
        "target_met": result.target_met,
        "tuner_recall_mean": round(result.recall_mean, 4),
        "tuner_recall_lower_bound": round(result.recall_lower_bound, 4),
        "tuner_sample": result.sample_size,
        "tuner_seconds": seconds,
        "plan": measured["plan"],
    }


def tuned_section(results: dict[str, Any]) -> list[str]:
    """The markdown lines of the ``tuned`` block (none for results that predate it)."""
    tuned = results.get("tuned")
    if tuned is None:
        return []
    row = [
        tuned["ef_search"],
        f"{tuned['tuner_recall_mean']} (bound {tuned['tuner_recall_lower_bound']})",
        tuned["recall_at_20"],
        tuned["p95_ms"],
        tuned["tuner_seconds"],
    ]
    header = ["ef_search", "tuner's recall@20 (stored rows)", "recall@20 (fresh queries)"]
    return [
        f"## Tuned by `vector tune` (target {tuned['target_recall']}, {tuned['tuner_sample']} "
        "sampled rows)",
        "",
        "| " + " | ".join([*header, "p95 ms", "tuning s"]) + " |",
        "|" + "---|" * 5,
        "| " + " | ".join(str(cell) for cell in row) + " |",
        "",
    ]
