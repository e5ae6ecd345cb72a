"""Cache benchmark: ``python -m bench --only cache [--quick] [--output-dir DIR]``.

A seeded bounded-Zipf workload over users and recipes (95% reads: recipe details, user
profiles, user recipe lists; 5% writes: a recipe or profile update, committed in
PostgreSQL, then invalidated; see :mod:`bench.cache_workload`) runs against an embedded
PostgreSQL and a private redis-server, in one process and in several. Each of those two
phases starts from an empty Redis; every process first runs a warm-up of as many
operations as it then measures (the targets are steady-state rates, and a cold start is
reported separately). It measures the hit rates per level next to what a perfect cache
would reach on the same sequences, per-level read latencies, the speed-up of a cached read
over the uncached read, and a Redis fault (SIGSTOP for one second) during the workload:
failed requests and the added p99.

A read's latency is the ``await cache.get_or_load(key, loader)`` call alone (the key and
loader are built before the clock starts; the level that answered is told from the cache's
counters, read outside the clock). A cached repository read adds its argument parsing,
retry wrapper and key building to that.

The full run writes ``bench/results/cache.{json,md}``; ``--quick`` writes to a temporary
directory unless told otherwise. The loaders are plain SQL on a benchmark table (the
repositories' read paths are wired in separately); the cache code measured is the real one.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
import redis

from bench.cache_workload import (
    RECIPE_READ,
    RECIPE_WRITE,
    USER_READ,
    Loaders,
    Operations,
    ideal_levels,
    load_data,
    operations,
    owners,
    rates,
)
from bench.environment import machine
from bench.server import bench_database
from datalayer.cache import CacheConfig, PendingInvalidations, TieredCache, TypeCounters, keys
from datalayer.local.postgres import free_port

RESULTS_DIR = Path(__file__).parent / "results"


@dataclass(frozen=True)
class CacheBenchConfig:
    """Sizes of one run."""

    mode: str
    users: int
    recipes: int
    operations: int  # per process
    processes: int
    fault_seconds: float
    output_dir: Path
    zipf_a: float = 1.1
    write_fraction: float = 0.05
    seed: int = 20261202


FULL = CacheBenchConfig("full", 10_000, 100_000, 50_000, 4, 6.0, RESULTS_DIR)
QUICK = CacheBenchConfig("quick", 200, 2_000, 3_000, 2, 3.0, Path(tempfile.gettempdir()))


@contextmanager
def redis_server() -> Iterator[tuple[str, subprocess.Popen[bytes], list[str]]]:
    """A private redis-server; yields its URL, process and command (to restart it)."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server is not installed: run `make services`")
    root = Path(tempfile.mkdtemp(prefix="datalayer-bench-redis-"))
    port = free_port()
    command = [binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(root)]
    command += ["--save", "", "--appendonly", "no"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0", process, command
    finally:
        os.kill(process.pid, signal.SIGCONT)
        process.kill()
        process.wait()
        shutil.rmtree(root, ignore_errors=True)


def worker_operations(config: CacheBenchConfig, worker: int) -> Operations:
    """The warm-up and measured operations of one process."""
    return operations(
        config.seed + worker,
        recipes=config.recipes,
        users=config.users,
        count=2 * config.operations,
        zipf_a=config.zipf_a,
        write_fraction=config.write_fraction,
    )


async def _workload(
    database_url: str, redis_url: str, config: CacheBenchConfig, worker: int, seconds: float
) -> dict[str, Any]:
    """One process: run the mix; per-op latency tagged with the level that answered.

    By count (``seconds == 0``): a warm-up of ``config.operations`` operations, counted
    apart, then as many measured ones. By time: measured from the start.
    """
    ops = worker_operations(config, worker)
    warm_up = config.operations if not seconds else 0
    samples: dict[str, list[float]] = {"l1": [], "l2": [], "miss": [], "uncached": []}
    cold = {"l1": 0, "l2": 0, "miss": 0}
    timeline: list[tuple[float, float]] = []
    write_timeline: list[tuple[float, float]] = []
    failed = 0
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as db:
        loaders = Loaders(db)
        cache = TieredCache(CacheConfig(redis_url=redis_url))
        await cache.start()
        deadline = time.monotonic() + seconds if seconds else None
        index = 0
        while (deadline is None and index < len(ops)) or (deadline and time.monotonic() < deadline):
            i = index % len(ops)
            index += 1
            recipe, user, kind = ops.recipes[i], ops.users[i], ops.kinds[i]
            try:
                if ops.writes[i]:
                    start = time.perf_counter()
                    pending = PendingInvalidations(cache)
                    if kind < RECIPE_WRITE:
                        owner = await loaders.update_recipe(recipe)
                        pending.recipe_updated(str(recipe), str(owner))
                    else:
                        await loaders.update_user(user)
                        pending.user_updated(str(user))
                    await pending.apply()
                    write_timeline.append((time.monotonic(), time.perf_counter() - start))
                    continue
                if kind < RECIPE_READ:
                    key, load = keys.recipe_details(str(recipe)), partial(loaders.recipe, recipe)
                elif kind < USER_READ:
                    key, load = keys.user_profile(str(user)), partial(loaders.profile, user)
                else:
                    key, load = keys.user_recipes(str(user)), partial(loaders.user_recipes, user)
                live = cache.stats.live(key.data_type)  # read outside the clock
                before = (live.l1_hits, live.l2_hits)
                start = time.perf_counter()
                await cache.get_or_load(key, load)
                elapsed = time.perf_counter() - start
                level = _level(before, live)
                if index <= warm_up:
                    cold[level] += 1
                    continue
                samples[level].append(elapsed)
                timeline.append((time.monotonic(), elapsed))
            except Exception:
                failed += 1
        for sample in range(min(2000, len(ops))):
            start = time.perf_counter()
            await loaders.recipe(ops.recipes[sample])
            samples["uncached"].append(time.perf_counter() - start)
        totals = cache.stats.totals()
        losses = cache.subscription_losses
        await cache.aclose()
    return {
        "samples": samples,
        "cold": cold,
        "timeline": timeline,
        "write_timeline": write_timeline,
        "failed": failed,
        "errors": totals.errors,
        "stale_fills_rejected": totals.stale_fills_rejected,
        "subscription_losses": losses,
    }


def _level(before: tuple[int, int], after: TypeCounters) -> str:
    """Which level answered one read, from its data type's L1 and L2 hits before and after."""
    if after.l1_hits > before[0]:
        return "l1"
    return "l2" if after.l2_hits > before[1] else "miss"


def _run_worker(args: tuple[str, str, CacheBenchConfig, int, float]) -> dict[str, Any]:
    return asyncio.run(_workload(*args))


def _pool_run(
    database_url: str, redis_url: str, config: CacheBenchConfig, processes: int
) -> list[dict[str, Any]]:
    context = multiprocessing.get_context("spawn")
    with context.Pool(processes) as pool:
        return pool.map(
            _run_worker,
            [(database_url, redis_url, config, worker, 0.0) for worker in range(processes)],
        )


def _p(values: Sequence[float], q: float, scale: float = 1e6) -> float | None:
    return round(float(np.percentile(values, q)) * scale, 1) if len(values) else None


def _summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    merged: dict[str, list[float]] = {k: [] for k in ("l1", "l2", "miss", "uncached")}
    for run in runs:
        for level, values in run["samples"].items():
            merged[level] += values
    l1, l2, miss = (len(merged[k]) for k in ("l1", "l2", "miss"))
    cold = {k: sum(run.get("cold", {}).get(k, 0) for run in runs) for k in ("l1", "l2", "miss")}
    cached = merged["l1"] + merged["l2"]
    return {
        "reads": l1 + l2 + miss,
        "hit_rate": rates(l1, l2, miss),
        "hit_rate_during_warm_up": rates(cold["l1"], cold["l2"], cold["miss"]),
        "cache_errors": sum(run.get("errors", 0) for run in runs),
        "stale_fills_rejected": sum(run.get("stale_fills_rejected", 0) for run in runs),
        "subscription_losses": sum(run.get("subscription_losses", 0) for run in runs),
        "latency_us": {
            "l1_hit_p50": _p(merged["l1"], 50),
            "l2_hit_p50": _p(merged["l2"], 50),
            "miss_p50": _p(merged["miss"], 50),
            "uncached_p50": _p(merged["uncached"], 50),
            "cached_p50": _p(cached, 50),
        },
        "speedup_cached_vs_uncached": round(
            float(np.percentile(merged["uncached"], 50) / np.percentile(cached, 50)), 1
        )
        if cached
        else None,
        "failed_requests": sum(run["failed"] for run in runs),
    }


async def _fault_phase(
    database_url: str, redis_url: str, process: subprocess.Popen[bytes], config: CacheBenchConfig
) -> dict[str, Any]:
    """Baseline, then SIGSTOP for a second, in one process; p99 inside vs outside the fault."""
    seconds = config.fault_seconds
    window: dict[str, float] = {}

    async def fault() -> None:
        await asyncio.sleep(seconds / 2)
        window["start"] = time.monotonic()
        os.kill(process.pid, signal.SIGSTOP)
        await asyncio.sleep(1.0)
        os.kill(process.pid, signal.SIGCONT)
        window["end"] = time.monotonic()

    run, _ = await asyncio.gather(_workload(database_url, redis_url, config, 99, seconds), fault())
    inside = [e for t, e in run["timeline"] if window["start"] <= t - e <= window["end"]]
    outside = [e for t, e in run["timeline"] if not window["start"] <= t - e <= window["end"] + 1]
    p99_in, p99_out = _p(inside, 99, 1e3), _p(outside, 99, 1e3)
    writes_in = [e for t, e in run["write_timeline"] if window["start"] <= t - e <= window["end"]]
    writes_out = [
        e for t, e in run["write_timeline"] if not window["start"] <= t - e <= window["end"] + 1
    ]
    return {
        "fault": "SIGSTOP 1 s",
        "failed_requests": run["failed"],
        "p99_ms_during_fault": p99_in,
        "p99_ms_without_fault": p99_out,
        "added_p99_ms": round(max(0.0, (p99_in or 0) - (p99_out or 0)), 2),
        "reads_during_fault": len(inside),
        "write_p99_ms_during_fault": _p(writes_in, 99, 1e3),
        "write_p99_ms_without_fault": _p(writes_out, 99, 1e3),
        "writes_during_fault": len(writes_in),
    }


def _ideal(config: CacheBenchConfig, processes: int, *, warm_up: bool = False) -> dict[str, Any]:
    """What a perfect cache makes of the same sequences: in the measured window, or in the
    warm-up (``warm_up``: from an empty cache)."""
    sequences = [worker_operations(config, worker) for worker in range(processes)]
    recipe_owners = owners(config.seed, recipes=config.recipes, users=config.users)
    window = {"measured_until": config.operations} if warm_up else {}
    counts = ideal_levels(
        sequences, recipe_owners, measured_from=0 if warm_up else config.operations, **window
    )
    return {**rates(counts["l1"], counts["l2"], counts["miss"]), "misses": counts}


def _flush(redis_url: str) -> None:
    """An empty Redis for the next phase (each phase measures its own warm-up)."""
    redis.Redis.from_url(redis_url).flushall()


def run(config: CacheBenchConfig) -> dict[str, Any]:
    started = time.monotonic()
    results: dict[str, Any] = {
        "mode": config.mode,
        "config": {k: v for k, v in asdict(config).items() if k != "output_dir"},
        "machine": machine(),
    }
    with bench_database(migrate=False) as database_url, redis_server() as (redis_url, proc, _):
        load_data(database_url, users=config.users, recipes=config.recipes, seed=config.seed)
        _flush(redis_url)
        one = _pool_run(database_url, redis_url, config, 1)
        _flush(redis_url)
        several_config = replace(config, seed=config.seed + 1)
        several = _pool_run(database_url, redis_url, several_config, config.processes)
        results["one_process"] = {
            **_summary(one),
            "ideal_hit_rate": _ideal(config, 1),
            "ideal_hit_rate_during_warm_up": _ideal(config, 1, warm_up=True),
        }
        results[f"{config.processes}_processes"] = {
            **_summary(several),
            "ideal_hit_rate": _ideal(several_config, config.processes),
            "ideal_hit_rate_during_warm_up": _ideal(several_config, config.processes, warm_up=True),
        }
        fault = asyncio.run(_fault_phase(database_url, redis_url, proc, config))
    headline = results[f"{config.processes}_processes"]
    results["hit_rate"] = headline["hit_rate"]
    results["ideal_hit_rate"] = {
        k: v for k, v in headline["ideal_hit_rate"].items() if k != "misses"
    }
    results["latency_us"] = {
        k: headline["latency_us"][k] for k in ("l1_hit_p50", "l2_hit_p50", "miss_p50")
    }
    results["speedup_cached_vs_uncached"] = headline["speedup_cached_vs_uncached"]
    results["redis_fault"] = {
        "failed_requests": fault["failed_requests"],
        "added_p99_ms": fault["added_p99_ms"],
        "detail": fault,
    }
    results["runtime_s"] = round(time.monotonic() - started, 1)
    return results


def write(results: dict[str, Any], output_dir: Path) -> None:
    output_dir.mkdir(parents=True, exist_ok=True)
    (output_dir / "cache.json").write_text(json.dumps(results, indent=2) + "\n")
    lines = [
        "# Cache benchmark",
        "",
        f"Mode: {results['mode']}; machine load at start "
        f"{results['machine']['load_average_at_start']}.",
        "",
        "| measure | one process | several processes | goal |",
        "| --- | --- | --- | --- |",
    ]
    one, many = results["one_process"], results[f"{results['config']['processes']}_processes"]
    rows = [
        ("hit rate overall", one["hit_rate"]["overall"], many["hit_rate"]["overall"], "> 0.70"),
        ("L1 hit rate", one["hit_rate"]["l1"], many["hit_rate"]["l1"], "> 0.40"),
        ("L2 hit rate among L1 misses", one["hit_rate"]["l2"], many["hit_rate"]["l2"], "> 0.85"),
        (
            "L1 hit p50 (µs)",
            one["latency_us"]["l1_hit_p50"],
            many["latency_us"]["l1_hit_p50"],
            "<= 5",
        ),
        (
            "L2 hit p50 (µs)",
            one["latency_us"]["l2_hit_p50"],
            many["latency_us"]["l2_hit_p50"],
            "<= 500",
        ),
        ("miss p50 (µs)", one["latency_us"]["miss_p50"], many["latency_us"]["miss_p50"], ""),
        (
            "uncached read p50 (µs)",
            one["latency_us"]["uncached_p50"],
            many["latency_us"]["uncached_p50"],
            "",
        ),
        (
            "speed-up cached vs uncached",
            one["speedup_cached_vs_uncached"],
            many["speedup_cached_vs_uncached"],
            ">= 10",
        ),
        ("failed requests", one["failed_requests"], many["failed_requests"], "0"),
    ]
    for level, name in (("overall", "overall"), ("l1", "L1"), ("l2", "L2 among L1 misses")):
        rows.append(
            (
                f"perfect cache, same sequences: {name}",
                one["ideal_hit_rate"][level],
                many["ideal_hit_rate"][level],
                "",
            )
        )
    for level, name in (("overall", "overall"), ("l1", "L1"), ("l2", "L2 among L1 misses")):
        rows.append(
            (
                f"during the warm-up (cold start): {name}",
                one["hit_rate_during_warm_up"][level],
                many["hit_rate_during_warm_up"][level],
                "",
            )
        )
        rows.append(
            (
                f"perfect cache, warm-up: {name}",
                one["ideal_hit_rate_during_warm_up"][level],
                many["ideal_hit_rate_during_warm_up"][level],
                "",
            )
        )
    for field in ("cache_errors", "stale_fills_rejected", "subscription_losses"):
        rows.append((field.replace("_", " "), one[field], many[field], ""))
    lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]
    fault = results["redis_fault"]["detail"]
    lines += [
        "",
        f"Redis fault ({fault['fault']}): {fault['failed_requests']} failed requests, "
        f"p99 {fault['p99_ms_during_fault']} ms during vs {fault['p99_ms_without_fault']} ms "
        f"outside (added {results['redis_fault']['added_p99_ms']} ms; goal <= 250 ms).",
        "",
    ]
    (output_dir / "cache.md").write_text("\n".join(lines))
