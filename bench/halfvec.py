"""The ``halfvec`` variant beside the full-precision index, measured in the same run.

A half-precision expression index (``embedding::halfvec``) is half the size of the full one
and its distances are cheaper; the variant searches it for a candidate pool and re-ranks the
pool exactly on the stored full-precision vectors. It is measured here, not shipped: the
table says why (recall and latency at the same ef_search, index size and build time). Both
variants run the same minimal SQL through raw psycopg, one pipelined round trip per search,
query by query interleaved so machine load hits them alike; the halfvec index is dropped
afterwards.
"""

from __future__ import annotations

import time
from typing import Any

from pgvector.psycopg import register_vector_async
from psycopg import AsyncConnection
from rich.progress import Progress

from bench.generator import IntArray
from bench.server import INDEX_BUILD_MAINTENANCE_WORK_MEM
from bench.vector_search import K, Searcher, score
from datalayer.repositories.similarity import SearchPlan, send_pipelined

HALFVEC_INDEX = "bench_recipe_embeddings_halfvec_hnsw"
SETTINGS = (
    "SELECT set_config('hnsw.ef_search', %(ef_search)s, true), "
    "set_config('enable_seqscan', 'off', true)"
)
FULL_SQL = """
SELECT recipe_id FROM recipe_embeddings
 ORDER BY embedding <=> %(query)s
 LIMIT %(limit)s
"""
HALFVEC_SQL = """
SELECT c.recipe_id FROM (
    SELECT recipe_id, embedding FROM recipe_embeddings
     ORDER BY embedding::halfvec({dim}) <=> %(query)s::halfvec({dim})
     LIMIT %(candidates)s
) AS c
 ORDER BY c.embedding <=> %(query)s
 LIMIT %(limit)s
"""
RERANK_POOLS = (K, 2 * K)
"""Candidate pools read from the halfvec index before the exact re-rank."""


def _variants(ef_search: int, dim: int) -> dict[str, SearchPlan]:
    settings = {"ef_search": str(ef_search)}
    plans = {"vector (full precision)": SearchPlan(SETTINGS, settings, FULL_SQL, {"limit": K})}
    for pool in RERANK_POOLS:
        plans[f"halfvec, re-rank {pool}"] = SearchPlan(
            SETTINGS, settings, HALFVEC_SQL.format(dim=dim), {"limit": K, "candidates": pool}
        )
    return plans


async def _build(connection: AsyncConnection[Any], dim: int) -> dict[str, Any]:
    await connection.set_autocommit(True)
    await connection.execute(f"SET maintenance_work_mem = '{INDEX_BUILD_MAINTENANCE_WORK_MEM}'")
    started = time.perf_counter()
    await connection.execute(
        f"CREATE INDEX {HALFVEC_INDEX} ON recipe_embeddings USING hnsw "
        f"((embedding::halfvec({dim})) halfvec_cosine_ops) WITH (m = 16, ef_construction = 64)"
    )
    build_s = time.perf_counter() - started
    await connection.execute("RESET maintenance_work_mem")
    await connection.execute("SELECT pg_prewarm(%s)", (HALFVEC_INDEX,))
    row = await (
        await connection.execute("SELECT pg_relation_size(%s::regclass)", (HALFVEC_INDEX,))
    ).fetchone()
    assert row is not None
    return {"build_s": round(build_s, 2), "size_mib": round(int(row[0]) / 2**20, 1)}


async def halfvec_variant(
    searcher: Searcher,
    truth: IntArray,
    ef_search: int,
    full_index: dict[str, Any],
    progress: Progress,
) -> dict[str, Any]:
    """Recall@20 and latency of each variant at ``ef_search``, with index size and build."""
    dim = int(searcher.dataset.queries.shape[1])
    plans = _variants(ef_search, dim)
    async with await AsyncConnection.connect(searcher.url) as connection:
        await register_vector_async(connection)
        index = await _build(connection, dim)
        try:
            await connection.set_autocommit(False)
            for vector in searcher.dataset.warm_up:
                for plan in plans.values():
                    await send_pipelined(connection, plan, plan.with_query(vector))
            found: dict[str, list[list[int]]] = {name: [] for name in plans}
            seconds: dict[str, list[float]] = {name: [] for name in plans}
            for query in progress.track(range(truth.shape[0]), description="halfvec variant"):
                vector = searcher.dataset.queries[query]
                for name, plan in plans.items():
                    started = time.perf_counter()
                    rows = await send_pipelined(connection, plan, plan.with_query(vector))
                    seconds[name].append(time.perf_counter() - started)
                    found[name].append(searcher.rows([row[0] for row in rows]))
        finally:
            await connection.set_autocommit(True)
            await connection.execute(f"DROP INDEX IF EXISTS {HALFVEC_INDEX}")
    variants = {name: score(found[name], truth, seconds[name], ef_search) for name in plans}
    full = {"build_s": full_index.get("build_s"), "size_mib": full_index.get("size_mib")}
    for name, row in variants.items():
        row.update(full if name.startswith("vector") else index)
    return {"ef_search": ef_search, "variants": variants, "shipped": "vector (full precision)"}


def halfvec_section(results: dict[str, Any]) -> list[str]:
    """The markdown lines of the ``halfvec`` block (none for results that predate it)."""
    block = results.get("halfvec")
    if block is None:
        return []
    lines = [
        f"## halfvec variant (ef_search={block['ef_search']}, raw psycopg, same minimal SQL)",
        "",
        "A half-precision expression index searched for a candidate pool, re-ranked exactly "
        "on the full vectors, beside the full-precision index; queries interleaved. Shipped: "
        f"{block['shipped']}.",
        "",
        "| variant | recall@20 | p50 ms | p95 ms | p99 ms | index MiB | build s |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, row in block["variants"].items():
        lines.append(
            f"| {name} | {row['recall_at_20']} | {row['p50_ms']} | {row['p95_ms']} | "
            f"{row['p99_ms']} | {row['size_mib']} | {row['build_s']} |"
        )
    return [*lines, ""]


__all__ = ["halfvec_section", "halfvec_variant"]
