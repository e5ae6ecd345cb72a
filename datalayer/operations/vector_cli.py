"""``python -m datalayer vector tune``: measure and store the ef_search that reaches a recall
target on the stored embeddings (see :mod:`datalayer.operations.vector_tuning`)."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from datalayer.operations.cli import progress_bar
from datalayer.operations.vector_tuning import TuningResult, tune_ef_search
from datalayer.settings import get_settings

vector_app = typer.Typer(help="Vector search: tune ef_search on the stored data.")
console = Console(soft_wrap=True)


@vector_app.command("tune")
def vector_tune(
    target_recall: Annotated[
        float | None,
        typer.Option(
            "--target-recall",
            min=0.01,
            max=1.0,
            help="Recall@k to reach (default: VECTOR_TUNE_TARGET_RECALL, 0.95).",
        ),
    ] = None,
    k: Annotated[int, typer.Option("--k", min=1, max=200, help="Neighbours per query.")] = 20,
    sample: Annotated[
        int, typer.Option("--sample", min=10, max=10_000, help="Stored vectors used as queries.")
    ] = 200,
    max_ef: Annotated[
        int, typer.Option("--max-ef", min=1, max=1000, help="Largest ef_search to try.")
    ] = 1000,
    min_ef: Annotated[
        int | None,
        typer.Option(
            "--min-ef",
            min=1,
            max=1000,
            help="Smallest ef_search to store (default: VECTOR_TUNE_MIN_EF_SEARCH, 120).",
        ),
    ] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Seed of the query sample.")] = None,
) -> None:
    """Measure HNSW recall@k at increasing ef_search on sampled stored vectors (on the
    primary), store the smallest ef_search of at least --min-ef whose 95% lower bound meets
    the target, and
    exit 1 when no ef_search up to --max-ef does (the largest is stored then)."""
    from datalayer.runtime import DataLayer

    settings = get_settings()
    target = settings.vector_tune_target_recall if target_recall is None else target_recall
    # The configured floor gives way to an explicit --max-ef below it; --min-ef does not.
    floor = min(settings.vector_tune_min_ef_search, max_ef) if min_ef is None else min_ef

    async def run() -> TuningResult:
        async with DataLayer.from_settings(settings) as datalayer:
            with progress_bar(console) as progress:
                bar = progress.add_task("sampling stored vectors", total=None)

                def step(name: str, done: int, total: int) -> None:
                    progress.update(bar, description=name, completed=done, total=total)

                return await tune_ef_search(
                    datalayer.database,
                    target_recall=target,
                    k=k,
                    sample=sample,
                    max_ef=max_ef,
                    min_ef=floor,
                    seed=seed,
                    progress=step,
                )

    result = asyncio.run(run())
    table = Table(title=f"recall@{result.k} of {result.index_name}")
    for column in ("ef_search", "recall mean", "95% lower bound"):
        table.add_column(column, justify="right")
    for row in result.sweep:
        table.add_row(str(row.ef_search), f"{row.recall_mean:.4f}", f"{row.recall_lower_bound:.4f}")
    console.print(table)
    console.print(f"stored {result.describe()}")
    if not result.target_met:
        console.print(
            f"[red]target not met:[/] no ef_search up to {max_ef} reaches recall@{result.k} "
            f">= {result.target_recall} with 95% confidence; searches now use the largest "
            f"tried ({result.ef_search}). Raise --max-ef or rebuild the index with a larger "
            "m / ef_construction."
        )
        raise typer.Exit(code=1)
