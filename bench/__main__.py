"""``python -m bench [--quick] [--only NAME] [--output-dir DIR]``: run the benchmarks.

The full run (``make bench``) writes ``bench/results/vector_search.{json,md}`` and
``bench/results/cache.{json,md}``; ``--only`` runs one of them; ``--quick`` is a small
smoke run that writes to a temporary directory unless told otherwise, so it never
overwrites the committed results.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console
from rich.table import Table

from bench import cache as cache_bench
from bench.environment import source_state
from bench.report import write_results
from bench.run import FULL, QUICK, run


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small smoke run (5,000 rows)")
    parser.add_argument("--output-dir", type=Path, help="where to write the result files")
    parser.add_argument(
        "--only", choices=("vector_search", "cache"), help="run one benchmark, not all"
    )
    parser.add_argument(
        "--allow-dirty",
        action="store_true",
        help="run from a tree with uncommitted changes (the result is marked dirty)",
    )
    args = parser.parse_args(argv)
    source = source_state()
    if source["dirty"] is not False and not args.allow_dirty:
        Console(stderr=True).print(
            "[red]refusing to run:[/] the working tree has uncommitted changes (or is not a "
            "git checkout), so the result could not be tied to a commit; commit first or "
            "pass --allow-dirty to record a result marked dirty"
        )
        return 2
    if args.only != "cache":
        _vector_search(args, source)
    if args.only != "vector_search":
        _cache(args, source)
    return 0


def _cache(args: argparse.Namespace, source: dict[str, object]) -> None:
    config = cache_bench.QUICK if args.quick else cache_bench.FULL
    if args.output_dir is not None:
        config = dataclasses.replace(config, output_dir=args.output_dir)
    results = {"source": source, **cache_bench.run(config)}
    cache_bench.write(results, config.output_dir)
    Console().print((config.output_dir / "cache.md").read_text())


def _vector_search(args: argparse.Namespace, source: dict[str, object]) -> None:
    config = QUICK if args.quick else FULL
    if args.output_dir is not None:
        config = dataclasses.replace(config, output_dir=args.output_dir)
    results = {"source": source, **asyncio.run(run(config))}
    write_results(results, config.output_dir)
    table = Table("Target", "Required", "Measured", "Met", title="Targets")
    for target in results["targets"]:
        table.add_row(
            target["target"],
            target["required"],
            str(target["measured"]),
            "yes" if target["met"] else "[red]no[/]",
        )
    console = Console()
    console.print(table)
    console.print(
        f"recommended ef_search: {results['recommended_ef_search']} as shipped, "
        f"{results['recommended_ef_search_index_forced']} with the index forced; "
        f"results in {config.output_dir} ({results['runtime_s']} s)"
    )


if __name__ == "__main__":
    raise SystemExit(main())
