"""Combining repeated vector benchmark runs: medians of the headline figures, the worst case
of rows returned, targets re-checked on the combined figures."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from bench.repeats import combine, runs_section
from bench.report import render_markdown

COMMITTED = Path(__file__).parents[2] / "bench" / "results" / "vector_search.json"


def _run(p95: float, ratio: float, min_rows: int, load: float) -> dict[str, Any]:
    run = copy.deepcopy(json.loads(COMMITTED.read_text()))
    run.pop("runs", None)
    run["default"]["p95_ms"] = p95
    run["repo_raw_p50_ratio"] = ratio
    run["filtered"]["1pct"]["min_rows"] = min_rows
    run["machine"]["load_average_at_start"] = [load, load, load]
    return run


def test_headline_figures_are_medians_and_rows_the_minimum() -> None:
    runs = [_run(30.0, 1.1, 20, 4.0), _run(9.0, 1.5, 19, 0.1), _run(9.5, 1.2, 20, 0.2)]
    combined = combine(runs)
    assert combined["default"]["p95_ms"] == 9.5
    assert combined["repo_raw_p50_ratio"] == 1.2
    assert combined["filtered"]["1pct"]["min_rows"] == 19
    assert [run["default p95 ms"] for run in combined["runs"]] == [30.0, 9.0, 9.5]
    assert [run["load_average_at_start"][0] for run in combined["runs"]] == [4.0, 0.1, 0.2]
    targets = {t["target"]: t for t in combined["targets"]}
    p95 = next(t for name, t in targets.items() if name.endswith("p95 ms") and "default" in name)
    assert (p95["measured"], p95["met"]) == (9.5, True)
    assert targets["repository / raw psycopg p50"]["met"] is True
    assert targets["filtered 1pct min rows returned"]["met"] is False
    # The input runs are left as they were.
    assert runs[0]["default"]["p95_ms"] == 30.0


def test_the_markdown_shows_every_run_and_a_single_run_has_no_table() -> None:
    combined = combine([_run(12.0, 1.3, 20, 1.0), _run(8.0, 1.2, 20, 2.0)])
    text = render_markdown(combined)
    assert "## Runs (median of 2 runs" in text
    assert "| default p95 ms | 12.0 | 8.0 | 10.0 |" in text
    single = combine([_run(12.0, 1.3, 20, 1.0)])
    assert "runs" not in single and runs_section(single) == []


def test_nothing_to_combine_is_an_error() -> None:
    with pytest.raises(ValueError):
        combine([])
