"""The demo job end to end on a fresh database (what `make demo` prints)."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

from rich.console import Console
from sqlalchemy import text

from datalayer.db import Database
from datalayer.local.demo import (
    BROWSED_RECIPES,
    DEMO_USERS,
    RECIPES_PER_USER,
    SEARCHES,
    run_demo,
)
from datalayer.local.embedder import HashingEmbedder
from datalayer.repositories.ingredients import IngredientRepository
from datalayer.repositories.users import UserRepository
from datalayer.settings import Settings


def row_of(printed: str, first_cell: str) -> str:
    """The printed table line whose first cell is ``first_cell``."""
    return next(line for line in printed.splitlines() if line.startswith(f"│ {first_cell} "))


async def test_demo_loads_embeds_and_searches(
    database_url: str, settings: Settings, db: Database
) -> None:
    output = io.StringIO()
    console = Console(file=output, width=400)  # wide enough that no table cell wraps
    await run_demo(database_url, settings, console)
    await run_demo(database_url, settings, console)  # a second run reuses the corpus

    printed = output.getvalue()
    assert f"corpus {RECIPES_PER_USER * 3} recipes for 3 users" in printed
    assert "AI pipeline embedded 300 recipes" in printed
    assert "AI pipeline embedded 0 recipes" in printed
    async with db.transaction() as session:
        counts = (
            await session.execute(
                text(
                    "SELECT (SELECT count(*) FROM recipes), "
                    "(SELECT count(*) FROM recipe_embeddings), "
                    "(SELECT count(*) FROM recipes WHERE ai_status = 'completed')"
                )
            )
        ).one()
    assert tuple(counts) == (300, 300, 300)

    # The results, checked against the database: match counts and top hit of each full-text
    # search, and the exact nearest neighbour of the all-users similarity query.
    async with db.transaction() as session:
        for query in SEARCHES:
            total, top = (
                await session.execute(
                    text(
                        "SELECT count(*) OVER (), title FROM recipes r JOIN users u "
                        "ON u.id = r.user_id WHERE u.username = :user "
                        "AND r.search_vector @@ websearch_to_tsquery('english', :query) "
                        "ORDER BY ts_rank_cd(r.search_vector, "
                        "websearch_to_tsquery('english', :query)) DESC, r.id LIMIT 1"
                    ),
                    {"user": DEMO_USERS[0], "query": query},
                )
            ).one()
            cells = [cell.strip() for cell in row_of(printed, query).split("│")]
            assert cells[2] == str(total), query
            assert cells[3].startswith(f"{top} ("), query
        vector = HashingEmbedder(settings.embedding_dim).embed(["lime chili chicken"])[0]
        title, distance = (
            await session.execute(
                text(
                    "SELECT r.title, e.embedding <=> CAST(:query AS vector) "
                    "FROM recipe_embeddings e "
                    "JOIN recipes r ON r.id = e.recipe_id ORDER BY 2 LIMIT 1"
                ),
                {"query": str([float(x) for x in vector])},
            )
        ).one()
    nearest = row_of(printed, "text: 'lime chili chicken' (all users)").split("│")[2].strip()
    assert nearest.startswith(f"{title} ({distance:.2f})")
    await assert_hybrid_lines(printed, db)
    await assert_gdpr_lines(printed, db)


async def assert_hybrid_lines(printed: str, db: Database) -> None:
    """Only the hybrid search puts first a spicy chicken recipe without peanuts."""
    assert "first result is what was asked: only hybrid" in printed
    first = {
        name: row_of(printed, name).split("│")[2].strip().split("; ")[0]
        for name in ("full-text", "vector", "hybrid (RRF)")
    }
    assert first["full-text"] == "-"  # the words as typed: 'without' and 'peanuts' required
    assert not first["vector"].endswith(" *") and first["hybrid (RRF)"].endswith(" *")
    async with db.transaction() as session:
        peanuts = await session.execute(
            text(
                "SELECT r.title, bool_or(p.normalized_name = 'peanuts') FROM recipes r "
                "JOIN users u ON u.id = r.user_id "
                "JOIN parsed_ingredients p ON p.recipe_id = r.id "
                "WHERE u.username = :user AND r.title = ANY(:titles) GROUP BY r.title"
            ),
            {"user": DEMO_USERS[0], "titles": [first["vector"], first["hybrid (RRF)"][:-2]]},
        )
        has_peanuts = dict(peanuts.all())
    assert has_peanuts[first["hybrid (RRF)"][:-2]] is False
    assert "spicy chicken" in first["hybrid (RRF)"].lower()


def read_manifest(location: str) -> dict[str, Any]:
    manifest: dict[str, Any] = json.loads(Path(location).read_bytes())["manifest"]
    return manifest


def last_match(pattern: str, printed: str) -> re.Match[str]:
    matches = list(re.finditer(pattern, printed))
    assert matches, pattern
    return matches[-1]


async def assert_gdpr_lines(printed: str, db: Database) -> None:
    """The export, erasure and audit lines of the last run, checked against the database."""
    export = last_match(
        r"GDPR export completed: (\d+) rows from (\d+) tables, sha256 (\w+), mode 0o600", printed
    )
    erasure = last_match(
        r"GDPR erasure of demo_leaver: (\d+) rows from \d+ tables; verified 0 rows left", printed
    )
    chain = last_match(r"audit chain intact: (\d+) rows verified", printed)
    async with db.transaction() as session:
        location, recipes = (
            await session.execute(
                text(
                    "SELECT r.location, (SELECT count(*) FROM recipes WHERE user_id = u.id) "
                    "FROM data_export_requests r JOIN users u ON u.id = r.user_id "
                    "WHERE u.username = :user AND r.status = 'completed' "
                    "ORDER BY r.completed_at DESC LIMIT 1"
                ),
                {"user": DEMO_USERS[1]},
            )
        ).one()
        ledger, leavers, audit_rows = (
            await session.execute(
                text(
                    "SELECT (SELECT rows_erased FROM erasure_ledger "
                    "ORDER BY completed_at DESC LIMIT 1), "
                    "(SELECT count(*) FROM users WHERE auth0_user_id = 'demo|demo_leaver'), "
                    "(SELECT count(*) FROM audit_logs)"
                )
            )
        ).one()
    manifest = read_manifest(location)
    assert int(export[1]) == sum(manifest["tables"].values())
    assert int(export[2]) == len(manifest["tables"])
    assert manifest["checksum_sha256"].startswith(export[3])
    assert manifest["tables"]["recipes"] == recipes == RECIPES_PER_USER
    assert int(erasure[1]) == ledger > 0
    assert leavers == 0
    assert int(chain[1]) == audit_rows

    # Hit rates at the end of each run: the browsing pass repeats every read once, so at
    # least that many reads are L1 hits (no Redis here: no L2 hits).
    cache_lines = re.findall(
        r"cache L1 only \(REDIS_URL unset\): (\d+) reads, (\d+) L1 hits, (\d+) L2 hits, "
        r"(\d+) misses; hit rate ([\d.]+)% overall, ([\d.]+)% L1",
        " ".join(printed.split()),
    )
    assert len(cache_lines) == 2
    repeated = len(DEMO_USERS) * (3 + 2 * BROWSED_RECIPES)
    for reads, l1, l2, misses, overall, l1_rate in (map(float, line) for line in cache_lines):
        assert reads == l1 + l2 + misses and l2 == 0
        assert l1 >= repeated
        assert overall == l1_rate == round(100 * l1 / reads, 1)
    # The slowest statements, from the query monitor: real fingerprints with counts.
    table = printed.split("slowest statements (query monitor, by p95)")[-1]
    rows = [line.split("│") for line in table.splitlines() if line.startswith("│ ")]
    statements = [cells for cells in rows if cells[1].strip() != "fingerprint"]
    assert 1 <= len(statements) <= 5
    assert all(int(cells[2]) >= 1 for cells in statements)
    p95 = [float(cells[3]) for cells in statements]
    assert p95 == sorted(p95, reverse=True)  # the slowest first
    verbs = ("SELECT", "INSERT", "UPDATE", "DELETE", "WITH", "COPY")
    assert all(cells[5].strip().upper().startswith(verbs) for cells in statements)


async def test_demo_prints_the_most_used_ingredients(
    database_url: str, settings: Settings, db: Database
) -> None:
    output = io.StringIO()
    await run_demo(database_url, settings, Console(file=output, width=400))
    chef = await UserRepository(db, settings).get_user_by_auth0_id(f"demo|{DEMO_USERS[0]}")
    stats = await IngredientRepository(db).get_ingredient_statistics(chef.id, top=6)
    expected = ", ".join(item.name for item in stats.top_ingredients)
    assert f"top ingredients: {expected}" in " ".join(output.getvalue().split())
