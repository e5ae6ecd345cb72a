"""The benchmark's measuring code on small inputs whose answers are known by hand."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

import bench.__main__ as bench_main
from bench.dataset import build_dataset
from bench.environment import source_state
from bench.fts import WARM_UP, split_warm_up
from bench.generator import GeneratorParams, exact_top_k, recall_at_k
from bench.report import targets_summary
from bench.vector_search import score


def unit_vectors(degrees: list[float]) -> np.ndarray:
    radians = np.radians(degrees)
    return np.stack([np.cos(radians), np.sin(radians)], axis=1).astype(np.float32)


DATA = unit_vectors([0, 30, 90, 180, 60])  # rows 0..4
QUERIES = unit_vectors([0, 90])


@pytest.mark.parametrize("chunk", [2, 20_000])
def test_exact_top_k_orders_rows_by_cosine_distance(chunk: int) -> None:
    rows, distances = exact_top_k(DATA, QUERIES, 3, chunk=chunk)
    # from 0 degrees: 0 (0), 30 (1 - cos 30), 60 (0.5); from 90: 90, 60, 30
    assert rows.tolist() == [[0, 1, 4], [2, 4, 1]]
    expected = [[0.0, 1 - np.sqrt(3) / 2, 0.5], [0.0, 1 - np.sqrt(3) / 2, 0.5]]
    np.testing.assert_allclose(distances, expected, atol=1e-6)


def test_exact_top_k_within_a_subset() -> None:
    rows, distances = exact_top_k(DATA, QUERIES[:1], 2, subset=np.array([3, 2, 4]))
    assert rows.tolist() == [[4, 2]]  # 60 then 90 degrees; row 0 and 1 are out of scope
    np.testing.assert_allclose(distances, [[0.5, 1.0]], atol=1e-6)


def test_recall_at_k_counts_only_the_first_k_distinct_hits() -> None:
    truth = np.array([[0, 1, 2], [0, 1, 2], [0, 1, 2], [0, 1, 2]])
    found = [[2, 0, 9], [9, 8, 7, 0, 1, 2], [], [1, 1, 1]]
    assert recall_at_k(found, truth) == [2 / 3, 0.0, 0.0, 1 / 3]


def test_score_summarises_recall_rows_and_latency() -> None:
    truth = np.array([[0, 1], [2, 3]])
    result = score([[0, 1], [2]], truth, [0.001, 0.003], ef_search=40)
    assert result["ef_search"] == 40
    assert result["recall_at_20"] == 0.75
    assert result["recall_min"] == 0.5
    assert result["perfect_share"] == 0.5
    assert result["min_rows"] == 1
    assert result["samples"] == 2
    assert result["p50_ms"] == 2.0


def test_targets_summary_counts_met_and_missed() -> None:
    targets = [
        {"target": "recall", "met": True},
        {"target": "p95", "met": False},
        {"target": "copy", "met": False},
    ]
    assert targets_summary(targets) == "1 of 3 targets met, 2 missed: p95; copy."
    assert targets_summary(targets[:1]) == "1 of 1 targets met, 0 missed."


def test_full_text_warm_up_never_runs_a_measured_query() -> None:
    measured = [f"q{i}" for i in range(5)]
    warm = ["w0", "q3", *[f"w{i}" for i in range(1, WARM_UP - 1)]]
    warm_up, kept = split_warm_up(warm + measured)
    assert kept == measured
    assert "q3" not in warm_up and len(warm_up) == WARM_UP - 1


def git(root: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True)


def test_source_state_records_the_commit_and_uncommitted_changes(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q")
    (tmp_path / "code.py").write_text("x = 1\n")
    git(tmp_path, "add", "code.py")
    git(tmp_path, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "c")
    head = subprocess.run(
        ["git", "-C", str(tmp_path), "rev-parse", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    assert source_state(tmp_path) == {"commit": head, "dirty": False}
    (tmp_path / "code.py").write_text("x = 2\n")
    assert source_state(tmp_path) == {"commit": head, "dirty": True}
    git(tmp_path, "checkout", "code.py")
    (tmp_path / "new.py").write_text("")
    assert source_state(tmp_path) == {"commit": head, "dirty": True}


def test_the_benchmark_refuses_an_uncommitted_tree(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(bench_main, "source_state", lambda: {"commit": "abc", "dirty": True})

    async def must_not_run(config: object) -> dict[str, object]:
        raise AssertionError("the benchmark ran from a dirty tree")

    monkeypatch.setattr(bench_main, "run", must_not_run)
    output = tmp_path / "out"
    assert bench_main.main(["--quick", "--output-dir", str(output)]) == 2
    assert "refusing to run" in capsys.readouterr().err
    assert not output.exists()


def test_warm_up_vectors_are_neither_queries_nor_rows() -> None:
    dataset = build_dataset(GeneratorParams(), 50, 6)
    assert dataset.warm_up.shape == (20, GeneratorParams().dim)
    assert 1.0 - (dataset.warm_up @ dataset.queries.T).max() > 1e-3
    assert 1.0 - (dataset.warm_up @ dataset.vectors.T).max() > 1e-3
