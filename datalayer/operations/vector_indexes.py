"""The vector indexes (pgvector's HNSW and IVFFlat) of a database, found in its catalog, and
the check that each one answers a nearest-neighbour query.

Nothing here names an index: a backup records the names it saw, a restore builds them last,
and the validation probes whichever the copy has.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

VECTOR_ACCESS_METHODS = ("hnsw", "ivfflat")

# The ordering operator comes from the index's operator class (e.g. <=> for
# vector_cosine_ops, halfvec_cosine_ops), so a query built from it can use that index.
VECTOR_INDEXES_QUERY = """
SELECT ic.relname AS name, t.relname AS table_name, am.amname AS method,
       pg_get_indexdef(i.indexrelid, 1, true) AS expression,
       pg_get_expr(i.indpred, i.indrelid) AS predicate,
       (SELECT o.oprname FROM pg_amop AS ao JOIN pg_operator AS o ON o.oid = ao.amopopr
         WHERE ao.amopfamily = opc.opcfamily AND ao.amoppurpose = 'o'
           AND ao.amoplefttype = opc.opcintype
         ORDER BY ao.amopstrategy LIMIT 1) AS operator,
       i.indisvalid AND i.indisready AS valid
  FROM pg_index AS i
  JOIN pg_class AS ic ON ic.oid = i.indexrelid
  JOIN pg_class AS t ON t.oid = i.indrelid
  JOIN pg_am AS am ON am.oid = ic.relam
  JOIN pg_namespace AS n ON n.oid = ic.relnamespace
  JOIN pg_opclass AS opc ON opc.oid = i.indclass[0]
 WHERE am.amname IN ('hnsw', 'ivfflat') AND n.nspname = current_schema()
 ORDER BY ic.relname
"""


@dataclass(frozen=True)
class VectorIndex:
    """One vector index: what it indexes and the operator that orders by distance."""

    name: str
    table: str
    method: str
    expression: str
    predicate: str | None
    operator: str
    valid: bool

    @property
    def _table(self) -> str:
        return '"' + self.table.replace('"', '""') + '"'

    def sample_query(self) -> str:
        """One indexed value taken from the table (the probe's query vector)."""
        also = f" AND ({self.predicate})" if self.predicate else ""
        return (
            f"SELECT {self.expression} FROM {self._table} "
            f"WHERE {self.expression} IS NOT NULL{also} LIMIT 1"
        )

    def probe_query(self) -> str:
        """Nearest neighbours of :meth:`sample_query`'s vector, ordered the way the index
        orders (its expression, operator and partial-index predicate), so the planner can
        answer it with this index whatever the vector type and dimension."""
        where = f" WHERE {self.predicate}" if self.predicate else ""
        return (
            f"SELECT 1 FROM {self._table}{where} "
            f"ORDER BY {self.expression} {self.operator} ({self.sample_query()}) LIMIT 10"
        )


async def vector_indexes(connection: AsyncConnection) -> list[VectorIndex]:
    """Every vector index in the current schema, by name."""
    rows = (await connection.execute(text(VECTOR_INDEXES_QUERY))).all()
    return [
        VectorIndex(
            name=row.name,
            table=row.table_name,
            method=row.method,
            expression=row.expression,
            predicate=row.predicate,
            operator=row.operator,
            valid=bool(row.valid),
        )
        for row in rows
    ]


async def vector_indexes_answer(
    connection: AsyncConnection, expected: Collection[str] = ()
) -> tuple[bool, str]:
    """Each vector index is present (every name in ``expected``, at least one in any case),
    valid, and used by the plan of a nearest-neighbour query that returns rows."""
    indexes = await vector_indexes(connection)
    missing = sorted(set(expected) - {index.name for index in indexes})
    if missing:
        return False, f"missing: {', '.join(missing)}"
    if not indexes:
        return False, "no vector index"
    problems = []
    await connection.execute(text("SET LOCAL enable_seqscan = off"))
    for index in indexes:
        if not index.valid:
            problems.append(f"{index.name} is not valid")
            continue
        query = index.probe_query()
        plan = "\n".join((await connection.execute(text(f"EXPLAIN {query}"))).scalars())
        if f"Index Scan using {index.name} " not in plan:
            problems.append(f"{index.name} not used by a vector query")
            continue
        found = len((await connection.execute(text(query))).all())
        if not found and await connection.scalar(text(f"SELECT EXISTS ({index.sample_query()})")):
            problems.append(f"{index.name} returned no rows")
    if problems:
        return False, "; ".join(problems)
    names = ", ".join(index.name for index in indexes)
    return True, f"{len(indexes)} vector index(es) answer a query: {names}"
