"""Calibrate the generator: HNSW recall@20 of candidate parameter sets.

``python -m bench.calibrate --rows 20000 --try noise=0.02,clusters=200 --try rank=64``
loads each candidate into a bare table on a throwaway server, builds the same HNSW index as
the migration (m=16, ef_construction=64, cosine) and prints recall@20 and difficulty at a
few ef_search values. This is how the defaults of :class:`GeneratorParams` were chosen.
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from collections.abc import Sequence

import numpy as np
import psycopg
from pgvector.psycopg import register_vector
from rich.console import Console

from bench.generator import ClusteredGenerator, GeneratorParams, difficulty, exact_top_k
from bench.server import INDEX_BUILD_MAINTENANCE_WORK_MEM, bench_database

K = 20


def parse_params(spec: str) -> GeneratorParams:
    """``"noise=0.02,clusters=200"`` over the defaults."""
    types = {field.name: field.type for field in dataclasses.fields(GeneratorParams)}
    changes: dict[str, int | float] = {}
    for item in filter(None, spec.split(",")):
        name, _, value = item.partition("=")
        if name not in types:
            raise SystemExit(f"unknown generator parameter {name!r}")
        changes[name] = int(value) if types[name] in ("int", int) else float(value)
    return dataclasses.replace(GeneratorParams(), **changes)  # type: ignore[arg-type]


def measure(
    connection: psycopg.Connection[tuple[object, ...]],
    params: GeneratorParams,
    rows: int,
    queries: int,
    ef_values: Sequence[int],
) -> dict[str, object]:
    """Load ``rows`` draws, index them and return recall@20 per ef_search."""
    generator = ClusteredGenerator(params)
    data, probes = generator.rows(rows), generator.queries(queries)
    truth, distances = exact_top_k(data, probes, K)
    connection.execute("DROP TABLE IF EXISTS calibration")
    connection.execute(
        f"CREATE TABLE calibration (id int PRIMARY KEY, embedding vector({params.dim}))"
    )
    with (
        connection.cursor() as cursor,
        cursor.copy("COPY calibration (id, embedding) FROM STDIN WITH (FORMAT BINARY)") as copy,
    ):
        copy.set_types(["int4", "vector"])
        for index, vector in enumerate(data):
            copy.write_row((index, vector))
    connection.execute(f"SET maintenance_work_mem = '{INDEX_BUILD_MAINTENANCE_WORK_MEM}'")
    started = time.perf_counter()
    connection.execute(
        "CREATE INDEX ON calibration USING hnsw (embedding vector_cosine_ops) "
        "WITH (m = 16, ef_construction = 64)"
    )
    result: dict[str, object] = {"build_s": round(time.perf_counter() - started, 1)}
    for ef in ef_values:
        connection.execute(f"SET hnsw.ef_search = {int(ef)}")
        hits = [
            {
                row[0]
                for row in connection.execute(
                    "SELECT id FROM calibration ORDER BY embedding <=> %s LIMIT %s", (probe, K)
                )
            }
            for probe in probes
        ]
        recall = np.asarray(
            [len(found & set(row.tolist())) / K for found, row in zip(hits, truth, strict=True)]
        )
        result[f"recall@ef{ef}"] = round(float(recall.mean()), 4)
        result[f"below_0.5@ef{ef}"] = round(float((recall < 0.5).mean()), 3)
    result.update(difficulty(distances, data, probes))
    return result


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.calibrate", description=__doc__)
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--ef", type=int, nargs="+", default=[40, 100])
    parser.add_argument(
        "--try",
        dest="candidates",
        action="append",
        default=[],
        help="comma-separated name=value overrides of GeneratorParams",
    )
    args = parser.parse_args(argv)
    console = Console()
    with bench_database(migrate=False) as url, psycopg.connect(url, autocommit=True) as connection:
        connection.execute("CREATE EXTENSION IF NOT EXISTS vector")
        register_vector(connection)
        for spec in args.candidates or [""]:
            params = parse_params(spec)
            outcome = measure(connection, params, args.rows, args.queries, args.ef)
            console.print(f"[bold]{spec or 'defaults'}[/] rows={args.rows}", outcome)


if __name__ == "__main__":
    main()
