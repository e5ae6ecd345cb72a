"""The cache benchmark's measuring code: hit rates, per-level percentiles, the speed-up and
the report, on samples whose answers are known."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from bench.cache import _p, _summary, _zipf, write


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


def test_zipf_stays_in_range_and_is_skewed() -> None:
    draws = _zipf(np.random.default_rng(7), 1.2, 100, 20_000)
    assert draws.min() >= 0 and draws.max() < 100
    counts = np.bincount(draws, minlength=100)
    assert counts.argmax() == 0
    assert counts[0] > 5 * counts[10]


def test_write_reports_the_issue_fields(tmp_path: Path) -> None:
    headline = _summary([run_of(6, 2, 2, 4)])
    results = {
        "mode": "quick",
        "machine": {"load_average_at_start": [0.5, 0.5, 0.5]},
        "config": {"processes": 2},
        "one_process": _summary([run_of(5, 1, 4, 4)]),
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
