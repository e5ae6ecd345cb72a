"""Where a person's data lives, read from the database's own foreign-key graph.

A table *belongs to* a user when a chain of ``ON DELETE CASCADE`` foreign keys leads from it
to ``users``: deleting the user would delete its rows, so they are the user's data. Foreign
keys with other rules (``SET NULL``, ``RESTRICT``) are references, not ownership: a row of
another user's meal plan that points at this user's recipe is not this user's data, and
erasure leaves it in place with the link cleared by the database.

Nothing here is a hand-kept table list: a new table with a cascading key to an owned table
is exported and erased without a code change, and :func:`load_inventory` reports a table
linked to owned data in any other way so a test can insist on a decision for it.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

ROOT_TABLE = "users"

FOREIGN_KEYS_QUERY = text(
    """
    SELECT child.relname AS child,
           parent.relname AS parent,
           con.confdeltype AS on_delete,
           array_agg(child_col.attname ORDER BY k.ordinality) AS child_columns,
           array_agg(parent_col.attname ORDER BY k.ordinality) AS parent_columns
      FROM pg_constraint AS con
      JOIN pg_class AS child ON child.oid = con.conrelid
      JOIN pg_class AS parent ON parent.oid = con.confrelid
      JOIN pg_namespace AS ns ON ns.oid = child.relnamespace
     CROSS JOIN LATERAL unnest(con.conkey, con.confkey)
           WITH ORDINALITY AS k(child_key, parent_key, ordinality)
      JOIN pg_attribute AS child_col
        ON child_col.attrelid = con.conrelid AND child_col.attnum = k.child_key
      JOIN pg_attribute AS parent_col
        ON parent_col.attrelid = con.confrelid AND parent_col.attnum = k.parent_key
     WHERE con.contype = 'f' AND ns.nspname = current_schema() AND NOT child.relispartition
     GROUP BY con.oid, child.relname, parent.relname, con.confdeltype
     ORDER BY child.relname, con.oid
    """
)


@dataclass(frozen=True)
class ForeignKey:
    """``child(child_columns) -> parent(parent_columns)`` with its ON DELETE rule."""

    child: str
    child_columns: tuple[str, ...]
    parent: str
    parent_columns: tuple[str, ...]
    on_delete: str  # pg_constraint.confdeltype: c cascade, n set null, r restrict, a no action

    @property
    def cascades(self) -> bool:
        return self.on_delete == "c"


@dataclass(frozen=True)
class OwnedTable:
    """A table whose rows belong to a user, with every cascading path that leads to users."""

    name: str
    depth: int
    paths: tuple[tuple[ForeignKey, ...], ...]

    def ownership_condition(self, alias: str = "t", user_id: str = ":user_id") -> str:
        """SQL that is true for the rows of ``alias`` owned by the parameter ``user_id``
        (SQLAlchemy's ``:user_id`` by default; ``%(user_id)s`` for the driver itself)."""
        if self.name == ROOT_TABLE:
            return f"{alias}.id = {user_id}"
        return " OR ".join(_path_condition(path, alias, user_id) for path in self.paths)


@dataclass
class Inventory:
    """The owned tables (parents before children) and the references into them."""

    owned: list[OwnedTable]
    references: list[ForeignKey] = field(default_factory=list)

    @property
    def names(self) -> list[str]:
        return [table.name for table in self.owned]

    def table(self, name: str) -> OwnedTable:
        for table in self.owned:
            if table.name == name:
                return table
        raise KeyError(name)

    def deletion_order(self) -> list[OwnedTable]:
        """Children before parents, so each delete removes rows nothing owned still needs."""
        return sorted(self.owned, key=lambda table: -table.depth)


async def load_inventory(connection: AsyncConnection) -> Inventory:
    """Read the foreign-key graph of the current schema and walk it from ``users``."""
    keys = [
        ForeignKey(
            child=row.child,
            child_columns=tuple(row.child_columns),
            parent=row.parent,
            parent_columns=tuple(row.parent_columns),
            on_delete=row.on_delete,
        )
        for row in await connection.execute(FOREIGN_KEYS_QUERY)
    ]
    return build_inventory(keys)


def build_inventory(keys: list[ForeignKey]) -> Inventory:
    """Walk cascading keys breadth-first from ``users``; every path is kept (a row owned
    through any of them is the user's). Depth is the longest path, so parents come first."""
    paths: dict[str, list[tuple[ForeignKey, ...]]] = {ROOT_TABLE: [()]}
    queue: deque[tuple[str, tuple[ForeignKey, ...]]] = deque([(ROOT_TABLE, ())])
    while queue:
        parent, path_to_parent = queue.popleft()
        for key in keys:
            if key.parent != parent or not key.cascades or key.child == parent:
                continue
            if any(step.child == key.child for step in path_to_parent):
                continue  # a cycle through cascading keys
            path = (key, *path_to_parent)
            paths.setdefault(key.child, []).append(path)
            queue.append((key.child, path))
    owned = [
        OwnedTable(name, max(len(path) for path in found), tuple(found))
        for name, found in paths.items()
    ]
    owned.sort(key=lambda table: (table.depth, table.name))
    names = set(paths)
    references = [
        key for key in keys if key.parent in names and not key.cascades and key.child not in names
    ]
    return Inventory(owned=owned, references=references)


def _path_condition(path: tuple[ForeignKey, ...], alias: str, user_id: str) -> str:
    """``EXISTS`` over the chain of joins from ``alias`` up to the user's id."""
    first, *rest = path
    if not rest:
        return _owner(first, alias, user_id)
    joins = []
    previous = alias
    for index, key in enumerate(path[:-1]):
        step = f"p{index}"
        joins.append((key.parent, step, _join(key, previous, step)))
        previous = step
    last = path[-1]
    conditions = [condition for _, _, condition in joins] + [_owner(last, previous, user_id)]
    tables = ", ".join(f"{table} AS {step}" for table, step, _ in joins)
    return f"EXISTS (SELECT 1 FROM {tables} WHERE {' AND '.join(conditions)})"


def _owner(key: ForeignKey, child_alias: str, user_id: str) -> str:
    (column,) = key.child_columns
    return f"{child_alias}.{column} = {user_id}"


def _join(key: ForeignKey, child_alias: str, parent: str) -> str:
    pairs = zip(key.child_columns, key.parent_columns, strict=True)
    return " AND ".join(f"{child_alias}.{c} = {parent}.{p}" for c, p in pairs)
