"""The cache benchmark's measuring code: hit rates, per-level percentiles, the speed-up and
the report, on samples whose answers are known."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from bench.cache import _p, _summary, write
from bench.cache_workload import Operations, bounded_zipf, ideal_levels


def run_of(l1: int, l2: int, miss: int, uncached: int, failed: int = 0) -> dict[str, Any]:
    return {
        "samples": {
            "l1": [2e-6] * l1,
            "l2": [3e-4] * l2,
            "miss": [2e-3] * miss,
            "uncached": [1e-3] * uncached,
        },
        "failed": failed,
    }


def test_summary_counts_levels_across_processes() -> None:
    summary = _summary([run_of(5, 1, 1, 3), run_of(1, 1, 1, 1, failed=2)])
    assert summary["reads"] == 10
    assert summary["hit_rate"] == {"overall": 0.8, "l1": 0.6, "l2": 0.5}
    assert summary["latency_us"]["l1_hit_p50"] == 2.0
    assert summary["latency_us"]["l2_hit_p50"] == 300.0
    assert summary["latency_us"]["miss_p50"] == 2000.0
    assert summary["latency_us"]["cached_p50"] == 2.0  # 6 of the 8 cached reads are L1
    assert summary["speedup_cached_vs_uncached"] == 500.0  # 1 ms / 2 µs
    assert summary["failed_requests"] == 2


def test_summary_without_misses_or_hits() -> None:
    only_hits = _summary([run_of(4, 0, 0, 1)])
    assert only_hits["hit_rate"]["l2"] is None  # no L1 miss at all: no L2 rate
    only_misses = _summary([run_of(0, 0, 3, 1)])
    assert only_misses["hit_rate"]["overall"] == 0.0
    assert only_misses["speedup_cached_vs_uncached"] is None
    assert only_misses["latency_us"]["l1_hit_p50"] is None


def test_percentile_scales_to_microseconds() -> None:
    assert _p([1e-6, 2e-6, 3e-6, 4e-6], 50) == 2.5
    assert _p([0.001] * 99 + [0.1], 99, scale=1e3) is not None
    assert _p([], 50) is None


def test_bounded_zipf_stays_in_range_and_follows_the_power_law() -> None:
    draws = bounded_zipf(np.random.default_rng(7), 1.1, 100, 200_000)
    assert draws.min() >= 0 and draws.max() < 100
    counts = np.bincount(draws, minlength=100)
    # rank k is drawn in proportion to (k + 1) ** -1.1: rank 0 is 11 ** 1.1 ~ 14 times rank 10
    assert 12 < counts[0] / counts[10] < 16
    # no folded tail: the last rank is drawn as rarely as the law says (100 ** -1.1 share)
    expected_last = 200_000 * 100**-1.1 / sum(k**-1.1 for k in range(1, 101))
    assert counts[99] < 2 * expected_last


def ops(*rows: tuple[int, int, float, bool]) -> Operations:
    return Operations(
        recipes=[row[0] for row in rows],
        users=[row[1] for row in rows],
        kinds=[row[2] for row in rows],
        writes=[row[3] for row in rows],
    )


def test_the_perfect_cache_misses_first_reads_and_reads_after_writes_only() -> None:
    recipe_read, recipe_write = 0.1, 0.1
    first = ops(
        (5, 0, recipe_read, False),  # first read anywhere: miss
        (5, 0, recipe_read, False),  # L1
        (5, 0, recipe_write, True),  # recipe 5 written
        (5, 0, recipe_read, False),  # miss again (after the write)
    )
    second = ops(
        (5, 0, recipe_read, False),  # filled by the first process: L2
        (5, 0, recipe_read, False),  # L1
        (7, 0, recipe_read, False),  # first read: miss
        (5, 0, recipe_read, False),  # the first process refilled it after the write: L2
    )
    counts = ideal_levels([first, second], np.zeros(10, dtype=int))
    assert counts == {"l1": 2, "l2": 2, "miss": 3, "first_reads": 2}
    assert ideal_levels([first, second], np.zeros(10, dtype=int), measured_from=2) == {
        "l1": 0,
        "l2": 1,
        "miss": 2,
        "first_reads": 1,
    }


def test_write_reports_the_issue_fields(tmp_path: Path) -> None:
    ideal = {"overall": 0.9, "l1": 0.7, "l2": 0.6}
    cold = {"overall": 0.5, "l1": 0.4, "l2": 0.3}
    bounds = {"ideal_hit_rate": ideal, "ideal_hit_rate_during_warm_up": cold}
    headline = {**_summary([run_of(6, 2, 2, 4)]), **bounds}
    results = {
        "mode": "quick",
        "machine": {"load_average_at_start": [0.5, 0.5, 0.5]},
        "config": {"processes": 2},
        "one_process": {**_summary([run_of(5, 1, 4, 4)]), **bounds},
        "2_processes": headline,
        "hit_rate": headline["hit_rate"],
        "latency_us": headline["latency_us"],
        "speedup_cached_vs_uncached": headline["speedup_cached_vs_uncached"],
        "redis_fault": {
            "failed_requests": 0,
            "added_p99_ms": 12.5,
            "detail": {
                "fault": "SIGSTOP 1 s",
                "failed_requests": 0,
                "p99_ms_during_fault": 20.0,
                "p99_ms_without_fault": 7.5,
            },
        },
    }
    write(results, tmp_path)
    stored = json.loads((tmp_path / "cache.json").read_text())
    assert stored["hit_rate"] == {"overall": 0.8, "l1": 0.6, "l2": 0.5}
    assert {"l1_hit_p50", "l2_hit_p50", "miss_p50"} <= set(stored["latency_us"])
    assert stored["redis_fault"]["added_p99_ms"] == 12.5
    table = (tmp_path / "cache.md").read_text()
    assert "| hit rate overall | 0.6 | 0.8 | > 0.70 |" in table
    assert "added 12.5 ms; goal <= 250 ms" in table
    assert "| perfect cache, same sequences: L2 among L1 misses | 0.6 | 0.6 |  |" in table
    assert "| perfect cache, warm-up: L2 among L1 misses | 0.3 | 0.3 |  |" in table
