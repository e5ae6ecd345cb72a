"""``python -m bench [--quick] [--only NAME] [--repeat N] [--output-dir DIR]``: the benchmarks.

The full run (``make bench``, which repeats the vector benchmark three times and reports
medians) writes ``bench/results/{vector_search,gdpr,backup,cache}.{json,md}``; ``--only``
runs one of them; ``--quick`` is a small smoke run that writes to a temporary directory
unless told otherwise, so it never overwrites the committed results.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
from collections.abc import Callable, Sequence
from pathlib import Path

from rich.console import Console
from rich.table import Table

from bench import cache as cache_bench
from bench.backup import FULL_BACKUP, QUICK_BACKUP, run_backup, write_backup_results
from bench.environment import source_state
from bench.gdpr import GDPR_FULL, GDPR_QUICK, run_gdpr, write_gdpr_results
from bench.repeats import combine
from bench.report import write_results
from bench.run import FULL, QUICK, run

Source = dict[str, object]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small smoke run")
    parser.add_argument("--output-dir", type=Path, help="where to write the result files")
    parser.add_argument("--only", choices=sorted(BENCHMARKS), help="run one benchmark only")
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="run the vector benchmark N times and report the median of each headline figure",
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
    for name, benchmark in BENCHMARKS.items():
        if args.only in (None, name):
            benchmark(args, source)
    return 0


def _output(args: argparse.Namespace, default: Path) -> Path:
    return args.output_dir if args.output_dir is not None else default


def _vector_search(args: argparse.Namespace, source: Source) -> None:
    config = QUICK if args.quick else FULL
    config = dataclasses.replace(config, output_dir=_output(args, config.output_dir))
    runs = [asyncio.run(run(config)) for _ in range(max(1, args.repeat))]
    results = {"source": source, **combine(runs)}
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


def _gdpr(args: argparse.Namespace, source: Source) -> None:
    output = _output(args, (QUICK if args.quick else FULL).output_dir)
    results = {"source": source, **asyncio.run(run_gdpr(GDPR_QUICK if args.quick else GDPR_FULL))}
    write_gdpr_results(results, output)
    Console().print(
        f"gdpr: export {results['export_s']} s ({results['rows_exported']} rows), erasure "
        f"{results['erase_s']} s ({results['rows_erased']} rows), longest erasure transaction "
        f"{results['max_lock_ms']} ms"
    )


def _backup(args: argparse.Namespace, source: Source) -> None:
    config = QUICK_BACKUP if args.quick else FULL_BACKUP
    config = dataclasses.replace(config, output_dir=_output(args, config.output_dir))
    results = {"source": source, **asyncio.run(run_backup(config))}
    write_backup_results(results, config.output_dir)
    Console().print(
        f"backup {results['backup_s']} s, restore {results['restore_s']} s, validation "
        f"{results['validate_s']} s: RTO {results['rto_s']} s "
        f"(goal {results['goal_rto_s']:.0f} s {'met' if results['goal_met'] else 'NOT met'}); "
        f"{results['rows_checked']} rows checked; results in {config.output_dir}"
    )
    if "physical" in results:
        physical = results["physical"]
        Console().print(
            f"physical: backup {physical['backup_s']} s, restore {physical['restore_s']} s, "
            f"validation {physical['validate_s']} s: RTO {physical['rto_s']} s "
            f"(goal {'met' if physical['goal_met'] else 'NOT met'}); "
            f"{physical['rows_checked']} rows checked; {physical['size_mib']} MiB"
        )


def _cache(args: argparse.Namespace, source: Source) -> None:
    config = cache_bench.QUICK if args.quick else cache_bench.FULL
    config = dataclasses.replace(config, output_dir=_output(args, config.output_dir))
    results = {"source": source, **cache_bench.run(config)}
    cache_bench.write(results, config.output_dir)
    Console().print((config.output_dir / "cache.md").read_text())


BENCHMARKS: dict[str, Callable[[argparse.Namespace, Source], None]] = {
    "vector_search": _vector_search,
    "gdpr": _gdpr,
    "backup": _backup,
    "cache": _cache,
}


if __name__ == "__main__":
    raise SystemExit(main())
