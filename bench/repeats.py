"""Several runs of the vector benchmark summarised as one: the median of each headline figure.

A single run on a shared machine can swing by 2x, so ``python -m bench --repeat 3`` runs the
whole vector benchmark three times (a fresh server and dataset each time) and writes one
result: the run whose default p95 is the median, with every headline figure replaced by its
median over the runs (``min rows returned`` by its minimum, the worst case), the targets
checked on those medians, and each run's figures and machine load under ``runs``.
"""

from __future__ import annotations

import copy
import statistics
from collections.abc import Callable, Sequence
from typing import Any

Path = tuple[str, ...]

HEADLINE: dict[str, Path] = {
    "default p50 ms": ("default", "p50_ms"),
    "default p95 ms": ("default", "p95_ms"),
    "default recall@20": ("default", "recall_at_20"),
    "repository / raw p50": ("repo_raw_p50_ratio",),
    "filtered 10pct p95 ms": ("filtered", "10pct", "p95_ms"),
    "filtered 10pct recall@20": ("filtered", "10pct", "recall_at_20"),
    "filtered 1pct p95 ms": ("filtered", "1pct", "p95_ms"),
    "filtered 1pct recall@20": ("filtered", "1pct", "recall_at_20"),
    "bulk_load rows/s": ("bulk_load", "copy_rows_per_s"),
    "bulk_load / executemany (indexed)": ("bulk_load", "indexed", "bulk_load_over_executemany"),
    "COPY / executemany (no index)": ("bulk_load", "copy_over_executemany"),
    "full-text p95 ms": ("fts_p95_ms",),
    "hybrid p95 ms": ("hybrid_p95_ms",),
    "tuned ef_search": ("tuned", "ef_search"),
    "tuned recall@20 (fresh queries)": ("tuned", "recall_at_20"),
    "tuned p95 ms": ("tuned", "p95_ms"),
}
"""Figures summarised by their median, by label; a path missing from any run is skipped."""

WORST_CASE: dict[str, Path] = {
    "filtered 10pct min rows": ("filtered", "10pct", "min_rows"),
    "filtered 1pct min rows": ("filtered", "1pct", "min_rows"),
}
"""Figures summarised by their minimum: one short answer in any run is a miss."""


def _get(results: dict[str, Any], path: Path) -> Any:
    value: Any = results
    for key in path:
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return value


def _set(results: dict[str, Any], path: Path, value: Any) -> None:
    target = results
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value


def _median(values: list[Any]) -> Any:
    middle = statistics.median(values)
    return round(middle, 4) if isinstance(middle, float) else middle


def combine(runs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """One result from ``runs`` (at least one): medians of the headline figures, targets
    re-checked on them, each run's figures and load under ``runs``."""
    if not runs:
        raise ValueError("no runs to combine")
    if len(runs) == 1:
        return dict(runs[0])
    by_p95 = sorted(runs, key=lambda run: run["default"]["p95_ms"])
    combined = copy.deepcopy(by_p95[(len(by_p95) - 1) // 2])
    per_run: list[dict[str, Any]] = [
        {
            "generated_at": run["generated_at"],
            "load_average_at_start": run["machine"]["load_average_at_start"],
            "runtime_s": run.get("runtime_s"),
        }
        for run in runs
    ]
    summaries: list[tuple[dict[str, Path], Callable[[list[Any]], Any]]] = [
        (HEADLINE, _median),
        (WORST_CASE, min),
    ]
    for figures, summary in summaries:
        for label, path in figures.items():
            values = [_get(run, path) for run in runs]
            if any(value is None for value in values):
                continue
            _set(combined, path, summary(values))
            for row, value in zip(per_run, values, strict=True):
                row[label] = value
    combined["runs"] = per_run
    combined["headline"] = f"median of {len(runs)} runs (min rows: the minimum)"
    from bench.report import evaluate_targets  # report renders runs_section: import late

    combined["targets"] = evaluate_targets(combined)
    return combined


def runs_section(results: dict[str, Any]) -> list[str]:
    """The markdown lines of the per-run table (none for a single run)."""
    runs = results.get("runs")
    if not runs:
        return []
    labels = [label for label in (*HEADLINE, *WORST_CASE) if label in runs[0]]
    header = ["figure", *(f"run {n}" for n in range(1, len(runs) + 1)), "headline"]
    rows = [
        ["load average at start", *(str(run["load_average_at_start"]) for run in runs), ""],
        *[
            [label, *(str(run[label]) for run in runs), str(_get(results, _path(label)))]
            for label in labels
        ],
    ]
    return [
        f"## Runs ({results['headline']})",
        "",
        "Every headline figure above is the median of these runs (min rows: the minimum); "
        "the tables below are the run whose default p95 was the median.",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
        *("| " + " | ".join(row) + " |" for row in rows),
        "",
    ]


def _path(label: str) -> Path:
    return HEADLINE.get(label) or WORST_CASE[label]
