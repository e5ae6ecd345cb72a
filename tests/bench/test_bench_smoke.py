"""Smoke test of the benchmark: ``python -m bench --quick`` end to end on a real server.

It checks the shape and sanity of the results, not the performance targets (5,000 rows on a
shared machine say nothing about those).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict:
    output = tmp_path_factory.mktemp("bench")
    subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--output-dir", str(output)],
        cwd=ROOT,
        check=True,
        timeout=240,
        capture_output=True,
    )
    assert (output / "vector_search.md").read_text().startswith("# Vector and full-text search")
    return json.loads((output / "vector_search.json").read_text())


def test_required_fields_are_present(results: dict) -> None:
    assert {"ef_search", "recall_at_20", "p50_ms", "p95_ms"} <= results["default"].keys()
    assert isinstance(results["repo_raw_p50_ratio"], float)
    for scope in ("10pct", "1pct"):
        assert {"recall_at_20", "min_rows", "p95_ms"} <= results["filtered"][scope].keys()
    assert {"copy_rows_per_s", "executemany_rows_per_s"} <= results["bulk_load"].keys()
    assert isinstance(results["fts_p95_ms"], float)
    assert {"cpu_model", "cpu_cores", "ram_gib"} <= results["machine"].keys()
    assert {"postgresql", "pgvector", "python", "numpy", "psycopg", "sqlalchemy"} <= results[
        "versions"
    ].keys()
    assert results["dataset"]["generator"]["seed"] == 20261123


def test_values_are_sane(results: dict) -> None:
    sweep = {row["ef_search"]: row for row in results["ef_search_sweep"]}
    assert {40, 100, 200, 400} <= sweep.keys()
    for row in sweep.values():
        assert 0.0 <= row["recall_at_20"] <= 1.0
        assert row["min_rows"] == 20
        assert 0 < row["p50_ms"] <= row["p95_ms"] <= row["p99_ms"]
    assert sweep[400]["recall_at_20"] >= sweep[40]["recall_at_20"]
    assert (
        results["default"]["recall_at_20"] == sweep[results["default"]["ef_search"]]["recall_at_20"]
    )
    for scope in results["filtered"].values():
        assert 0.0 <= scope["recall_at_20"] <= 1.0
        assert scope["min_rows"] == 20
        assert scope["p95_ms"] > 0
    assert results["repo_raw_p50_ratio"] > 0
    assert results["bulk_load"]["copy_rows_per_s"] > 0
    assert results["bulk_load"]["executemany_rows_per_s"] > 0
    assert results["index"]["size_bytes"] > 0
    assert results["fts_p95_ms"] > 0
    assert all(isinstance(target["met"], bool) for target in results["targets"])
