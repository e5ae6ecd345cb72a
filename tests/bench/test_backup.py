"""The backup benchmark's measuring code on a small populated database."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from psycopg import AsyncConnection
from rich.console import Console
from rich.progress import Progress

import bench.__main__ as bench_main
from bench.backup import (
    BackupRunConfig,
    load_dataset,
    measure_backup,
    measure_physical_backup,
    render_backup_markdown,
    write_backup_results,
)
from datalayer.settings import Settings

pytestmark = pytest.mark.integration
ROWS = 300
QUIET = Progress(console=Console(quiet=True))


async def test_the_figures_add_up_and_every_row_is_checked(
    database_url: str, settings: Settings, tmp_path: Path
) -> None:
    dataset = await load_dataset(database_url, settings, ROWS, QUIET)

    results = await measure_backup(database_url, settings, tmp_path, jobs=2)

    assert results["passed"], [c for c in results["checks"] if not c["passed"]]
    assert results["rto_s"] == pytest.approx(
        results["restore_s"] + results["validate_s"] - results["overlap_s"], abs=0.01
    )
    assert results["vector_indexes"] == ["ix_recipe_embeddings_embedding_hnsw"]
    assert results["phases"]["vector_indexes_s"] > 0
    assert results["backup_s"] > 0 and results["restore_s"] > 0 and results["validate_s"] > 0
    async with await AsyncConnection.connect(database_url) as connection:
        cursor = await connection.execute(
            "SELECT (SELECT count(*) FROM alembic_version) + "
            "(SELECT count(*) FROM migration_history)"
        )
        bookkeeping = (await cursor.fetchone() or (0,))[0]
    # users + recipes + embeddings + the migration bookkeeping, nothing else
    assert results["rows_checked"] == len(dataset.user_ids) + 2 * ROWS + bookkeeping
    assert results["goal_met"] == (results["rto_s"] <= 60)

    write_backup_results(
        {**results, "mode": "test", "recipes": ROWS, "generated_at": "now"}, tmp_path
    )
    stored = json.loads((tmp_path / "backup.json").read_text())
    assert {"backup_s", "restore_s", "validate_s", "rto_s", "rows_checked"} <= set(stored)
    markdown = (tmp_path / "backup.md").read_text()
    assert f"**{results['rto_s']}**" in markdown and "vector search uses HNSW" in markdown
    assert f"| - vector indexes (HNSW) built | {results['phases']['vector_indexes_s']} |" in (
        markdown
    )


def test_the_markdown_says_when_the_goal_is_missed() -> None:
    results = {
        "mode": "full",
        "recipes": 100_000,
        "generated_at": "t",
        "jobs": 2,
        "backup_s": 20.0,
        "restore_s": 70.0,
        "validate_s": 5.0,
        "rto_s": 75.0,
        "rows_checked": 201_000,
        "tables": 19,
        "dump_bytes": 2**20,
        "goal_rto_s": 60.0,
        "goal_met": False,
        "checks": [],
    }
    assert "Goal restore + validation <= 60 s: NOT met." in render_backup_markdown(results)


def test_only_backup_runs_only_the_backup_benchmark(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(bench_main, "source_state", lambda: {"commit": "abc", "dirty": False})
    ran: list[str] = []

    async def vector_search(config: object) -> dict[str, object]:
        raise AssertionError("vector search ran")

    async def backup(config: BackupRunConfig) -> dict[str, object]:
        ran.append(str(config.mode))
        return {
            "mode": "quick",
            "recipes": 1,
            "generated_at": "t",
            "jobs": 2,
            "backup_s": 1.0,
            "restore_s": 1.0,
            "validate_s": 1.0,
            "rto_s": 2.0,
            "rows_checked": 3,
            "tables": 1,
            "dump_bytes": 1,
            "goal_rto_s": 60.0,
            "goal_met": True,
            "checks": [],
        }

    monkeypatch.setattr(bench_main, "run", vector_search)
    monkeypatch.setattr(bench_main, "run_backup", backup)
    assert bench_main.main(["--quick", "--only", "backup", "--output-dir", str(tmp_path)]) == 0
    assert ran == ["quick"]
    assert json.loads((tmp_path / "backup.json").read_text())["rto_s"] == 2.0


async def test_the_physical_figures_add_up_beside_the_logical_ones(
    database_url: str, settings: Settings, tmp_path: Path
) -> None:
    await load_dataset(database_url, settings, ROWS, QUIET)

    logical = await measure_backup(database_url, settings, tmp_path, jobs=2)
    physical = await measure_physical_backup(database_url, settings, tmp_path)

    assert physical["passed"], [c for c in physical["checks"] if not c["passed"]]
    assert physical["checks"][0]["name"] == "backup files verified"
    assert physical["rto_s"] == pytest.approx(
        physical["restore_s"] + physical["validate_s"], abs=0.01
    )
    assert physical["rows_checked"] == logical["rows_checked"]
    assert physical["size_mib"] > 0 and physical["backup_s"] > 0
    assert physical["goal_met"] == (physical["rto_s"] <= 60)

    results = {**logical, "physical": physical, "mode": "test", "recipes": ROWS}
    write_backup_results({**results, "generated_at": "now"}, tmp_path)
    stored = json.loads((tmp_path / "backup.json").read_text())
    assert stored["rto_s"] == logical["rto_s"]
    assert set(stored["physical"]) >= {
        "backup_s",
        "restore_s",
        "validate_s",
        "rto_s",
        "rows_checked",
        "size_mib",
    }
    markdown = (tmp_path / "backup.md").read_text()
    assert "## Logical and physical backups side by side" in markdown
    assert f"| **RTO s** | {logical['rto_s']} | {physical['rto_s']} |" in markdown
