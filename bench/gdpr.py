"""GDPR benchmark: export and erase one heavy user among many others.

The heavy user owns 10,000 recipes (each with an embedding, three parsed ingredients and
three catalogue ingredients), 1,000 receipts with five items each and 5,000 messages in 50
conversations; 200 other users own a smaller share of the same. Measured on a fresh server:

- ``export_s``: one export request run to completion (``process_export_request``: the
  repeatable-read snapshot of every owned table, the JSON document, the 0600 file);
- ``erase_s``: ``erase_user`` with its default batch size, verification included;
- ``max_lock_ms``: the longest erasure transaction. Row locks are held from a batch's DELETE
  until its commit, so the time between two consecutive commits (the checkpoint callback
  marks each) bounds how long any lock was held; the last transaction (ledger and audit
  row) is measured to the return of ``erase_user`` and also includes the verification scan.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg

from bench.environment import machine
from bench.server import bench_database
from datalayer.db import Database
from datalayer.gdpr.erasure import DEFAULT_BATCH_SIZE, erase_user
from datalayer.gdpr.jobs import LocalExportStore, process_export_request
from datalayer.repositories.users import UserRepository
from datalayer.settings import load_settings

TARGET_S = 2.0


@dataclass(frozen=True)
class GdprConfig:
    """Sizes of one run; :data:`GDPR_FULL` is what ``make bench`` measures."""

    recipes: int = 10_000
    receipts: int = 1_000
    items_per_receipt: int = 5
    conversations: int = 50
    messages_per_conversation: int = 100
    other_users: int = 200
    other_share: int = 25  # recipes (and a tenth as many receipts) per other user
    batch_size: int = DEFAULT_BATCH_SIZE


GDPR_FULL = GdprConfig()
GDPR_QUICK = GdprConfig(recipes=500, receipts=50, conversations=5, other_users=20, other_share=5)


@dataclass
class TransactionClock:
    """Times the erasure's transactions from the marks of its checkpoint callback."""

    clock: Any = time.perf_counter
    started: float = field(default=0.0)
    marks: list[tuple[str, float]] = field(default_factory=list)

    def start(self) -> None:
        self.started = self.clock()

    def __call__(self, label: str) -> None:
        self.marks.append((label, self.clock()))

    def spans(self, finished: float) -> list[tuple[str, float]]:
        """(transaction, seconds) for each committed transaction and the final one."""
        return transaction_spans(self.marks, self.started, finished)


def transaction_spans(
    marks: Sequence[tuple[str, float]], started: float, finished: float
) -> list[tuple[str, float]]:
    """Each transaction runs from the previous commit (or ``started``) to its own commit.

    A ``NAME:committed`` mark ends transaction NAME; marks inside a transaction are ignored.
    Whatever follows the last commit, up to ``finished``, is one more transaction (named by
    its last mark, or ``final``).
    """
    spans: list[tuple[str, float]] = []
    previous = started
    last_label = "final"
    pending = False
    for label, moment in marks:
        if label.endswith(":committed"):
            spans.append((label.removesuffix(":committed"), moment - previous))
            previous = moment
            pending = False
        else:
            last_label, pending = label, True
    if pending or finished > previous:
        spans.append((last_label if pending else "final", finished - previous))
    return spans


def _load(url: str, config: GdprConfig, dim: int) -> uuid.UUID:
    """Every row in SQL on the server (generate_series); returns the heavy user's id."""
    vector = f"(SELECT array_agg(random()::real) FROM generate_series(1, {dim}) WHERE g > 0)"
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(
            "INSERT INTO products (name) SELECT 'product ' || p FROM generate_series(1, 100) p"
        )
        heavy = connection.execute(
            "INSERT INTO users (username, email) VALUES ('heavy', 'heavy@example.com') RETURNING id"
        ).fetchone()
        assert heavy is not None
        others = [
            row[0]
            for row in connection.execute(
                "INSERT INTO users (username, email) SELECT 'user' || u, 'user' || u || "
                "'@example.com' FROM generate_series(1, %s) u RETURNING id",
                (config.other_users,),
            )
        ]
        owners = [(heavy[0], config.recipes, config.receipts)] + [
            (other, config.other_share, max(1, config.other_share // 10)) for other in others
        ]
        for owner, recipes, receipts in owners:
            params = {"owner": owner, "recipes": recipes, "receipts": receipts}
            connection.execute(
                "INSERT INTO recipes (user_id, title, content_hash) SELECT %(owner)s, "
                "'recipe ' || g, encode(sha256((%(owner)s::text || g)::bytea), 'hex') "
                "FROM generate_series(1, %(recipes)s) g",
                params,
            )
            connection.execute(
                "INSERT INTO recipe_embeddings (recipe_id, user_id, embedding, model, "
                "model_version, source_text_hash) SELECT r.id, r.user_id, "
                f"{vector}::vector, 'bench', '1', r.content_hash "
                "FROM (SELECT r.*, row_number() OVER () AS g FROM recipes r "
                "WHERE r.user_id = %(owner)s) r",
                params,
            )
            connection.execute(
                "INSERT INTO parsed_ingredients (recipe_id, position, name, normalized_name) "
                "SELECT r.id, p, 'ingredient ' || p, 'ingredient ' || p FROM recipes r, "
                "generate_series(1, 3) p WHERE r.user_id = %(owner)s",
                params,
            )
            connection.execute(
                "INSERT INTO recipe_ingredients (recipe_id, product_id) SELECT r.id, p.id "
                "FROM recipes r CROSS JOIN LATERAL (SELECT id FROM products "
                "ORDER BY md5(r.id::text || id::text) LIMIT 3) p WHERE r.user_id = %(owner)s",
                params,
            )
            connection.execute(
                "INSERT INTO receipts (user_id) SELECT %(owner)s "
                "FROM generate_series(1, %(receipts)s)",
                params,
            )
            connection.execute(
                "INSERT INTO receipt_items (receipt_id, product_name) SELECT r.id, 'item ' || i "
                "FROM receipts r, generate_series(1, %(items)s) i WHERE r.user_id = %(owner)s",
                {**params, "items": config.items_per_receipt},
            )
        conversations = [(heavy[0], config.conversations)] + [(other, 1) for other in others]
        for owner, count in conversations:
            connection.execute(
                "INSERT INTO conversations (user_id, session_id) SELECT %(owner)s, "
                "%(owner)s::text || '-' || c FROM generate_series(1, %(count)s) c",
                {"owner": owner, "count": count},
            )
            connection.execute(
                "INSERT INTO messages (conversation_id, content, role) SELECT c.id, "
                "'message ' || m, CASE WHEN m %% 2 = 0 THEN 'user' ELSE 'assistant' END "
                "FROM conversations c, generate_series(1, %(messages)s) m "
                "WHERE c.user_id = %(owner)s",
                {"owner": owner, "messages": config.messages_per_conversation},
            )
        connection.execute("VACUUM ANALYZE")
        return uuid.UUID(str(heavy[0]))


def _consume(path: Path) -> tuple[dict[str, Any], int]:
    """The export file's manifest and size; the file is removed."""
    manifest: dict[str, Any] = json.loads(path.read_bytes())["manifest"]
    size = path.stat().st_size
    path.unlink()
    return manifest, size


async def run_gdpr(config: GdprConfig) -> dict[str, Any]:
    """Load, export the heavy user, erase them; returns the figures."""
    results: dict[str, Any] = {
        "benchmark": "gdpr",
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "config": config.__dict__,
    }
    with bench_database() as url:
        settings = load_settings(database_url=url)
        started = time.perf_counter()
        heavy = _load(url, config, settings.embedding_dim)
        results["load_s"] = round(time.perf_counter() - started, 2)
        db = Database.connect(url, settings)
        key = settings.audit_hash_key.get_secret_value()
        try:
            request = await UserRepository(db, settings).request_data_export(heavy, "json")
            store = LocalExportStore(Path(tempfile.mkdtemp(prefix="bench-gdpr-")))
            started = time.perf_counter()
            status = await process_export_request(db, request, store, key)
            export_s = time.perf_counter() - started
            manifest, export_bytes = _consume(Path(str(status.location)))

            clock = TransactionClock()
            clock.start()
            erased = await erase_user(
                db, heavy, key, batch_size=config.batch_size, checkpoint=clock
            )
            finished = time.perf_counter()
        finally:
            await db.dispose()
    spans = clock.spans(finished)
    longest = max(spans, key=lambda span: span[1])
    rows_exported = sum(manifest["tables"].values())
    erase_s = finished - clock.started
    results.update(
        export_s=round(export_s, 3),
        erase_s=round(erase_s, 3),
        rows_exported=rows_exported,
        rows_erased=erased.total_erased,
        export_rows_per_s=round(rows_exported / export_s),
        erase_rows_per_s=round(erased.total_erased / erase_s),
        export_bytes=export_bytes,
        max_lock_ms=round(longest[1] * 1000, 1),
        max_lock_transaction=longest[0],
        erase_transactions=len(spans),
        verified=erased.verified,
        rows_per_table=manifest["tables"],
        load_average_at_end=[round(value, 2) for value in os.getloadavg()],
    )
    results["targets"] = [
        {"target": "export <= 2 s", "measured": results["export_s"], "met": export_s <= TARGET_S},
        {"target": "erasure <= 2 s", "measured": results["erase_s"], "met": erase_s <= TARGET_S},
    ]
    return results


def render_gdpr_markdown(results: dict[str, Any]) -> str:
    """The human-readable twin of ``gdpr.json``."""
    load = results["machine"]["load_average_at_start"]
    lines = [
        "# GDPR benchmark",
        "",
        f"Generated {results['generated_at']} on {results['machine']['cpu_cores']} cores "
        f"({results['machine']['cpu_model']}); load average {load} at start, "
        f"{results['load_average_at_end']} at end. Source: {results.get('source', {})}.",
        "",
        "| figure | value |",
        "|---|---|",
    ]
    for name in (
        "export_s",
        "erase_s",
        "rows_exported",
        "rows_erased",
        "export_rows_per_s",
        "erase_rows_per_s",
        "export_bytes",
        "max_lock_ms",
        "max_lock_transaction",
        "erase_transactions",
        "verified",
        "load_s",
    ):
        lines.append(f"| `{name}` | {results[name]} |")
    lines += ["", "| target | measured | met |", "|---|---|---|"]
    for target in results["targets"]:
        met = "yes" if target["met"] else "no"
        lines.append(f"| {target['target']} | {target['measured']} | {met} |")
    lines += ["", "Rows of the heavy user per table:", ""]
    lines += [f"- `{name}`: {rows}" for name, rows in sorted(results["rows_per_table"].items())]
    return "\n".join(lines) + "\n"


def write_gdpr_results(results: dict[str, Any], directory: Path) -> None:
    """``gdpr.json`` and ``gdpr.md`` in ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "gdpr.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
    (directory / "gdpr.md").write_text(render_gdpr_markdown(results))
