"""The demo's GDPR part: export one demo user, erase another, show the verification.

The erased person is a small, separate account (``demo_leaver``) made afresh on every run, so
the corpus users stay and a second ``make demo`` still reuses their recipes.
"""

from __future__ import annotations

import json
import stat
import uuid
from pathlib import Path
from typing import Any

from rich.console import Console

from datalayer.audit import verify_chain
from datalayer.db import Database
from datalayer.gdpr.consent import ConsentRepository
from datalayer.gdpr.erasure import erase_user
from datalayer.gdpr.jobs import LocalExportStore, process_export_request
from datalayer.repositories.ingredients import IngredientRepository
from datalayer.repositories.recipes import RecipeRepository
from datalayer.repositories.users import UserRepository
from datalayer.settings import Settings

LEAVER = "demo_leaver"
LEAVER_RECIPES = ("Leaving-do lentil soup", "Farewell flatbread", "Goodbye granola")


async def run_gdpr_demo(
    db: Database, settings: Settings, exported_user: uuid.UUID, console: Console
) -> None:
    """Export ``exported_user`` as JSON, erase the leaver, verify both and the audit chain."""
    key = settings.audit_hash_key.get_secret_value()
    users = UserRepository(db, settings)

    request = await users.request_data_export(exported_user, "json")
    store = LocalExportStore(settings.datalayer_home / "exports")
    status = await process_export_request(db, request, store, key)
    manifest, mode = _written(Path(str(status.location)))
    console.print(
        f"[bold]GDPR export[/] {status.status}: {sum(manifest['tables'].values())} rows "
        f"from {len(manifest['tables'])} tables, sha256 {manifest['checksum_sha256'][:12]}, "
        f"mode {mode}, expires {status.expires_at:%Y-%m-%d}"
    )

    leaver = await _make_leaver(db, settings)
    await users.request_data_deletion(leaver)
    result = await erase_user(db, leaver, key)
    console.print(
        f"[bold]GDPR erasure[/] of {LEAVER}: {result.total_erased} rows from "
        f"{sum(1 for rows in result.rows_erased.values() if rows)} tables; verified "
        f"{sum(result.residual_rows.values())} rows left in {len(result.residual_rows)} "
        f"owned tables; subject {result.subject_hash[:12]}"
    )
    async with db.write_engine.connect() as connection:
        chain = await verify_chain(connection, key)
    state = "intact" if chain.intact else f"BROKEN at id {chain.first_broken_id}"
    console.print(f"[bold]audit chain[/] {state}: {chain.rows_checked} rows verified")


def _written(path: Path) -> tuple[dict[str, Any], str]:
    """The export file's manifest and its permission bits, as the demo shows them."""
    manifest: dict[str, Any] = json.loads(path.read_bytes())["manifest"]
    return manifest, oct(stat.S_IMODE(path.stat().st_mode))


async def _make_leaver(db: Database, settings: Settings) -> uuid.UUID:
    users = UserRepository(db, settings)
    user = await users.create_user(
        {
            "username": LEAVER,
            "email": f"{LEAVER}@example.com",
            "auth0_user_id": f"demo|{LEAVER}",
            "consent_version": "2026-01",
        }
    )
    await ConsentRepository(db, settings).create_consent(
        user.id, {"purpose": "marketing", "granted": True, "policy_version": "2026-01"}
    )
    recipes, ingredients = RecipeRepository(db), IngredientRepository(db)
    for title in LEAVER_RECIPES:
        recipe = await recipes.create_recipe(
            user.id, {"title": title, "instructions": "Mix, cook, serve."}
        )
        await ingredients.store_parsed_ingredients(
            user.id, recipe.id, [{"name": "onion"}, {"name": "salt"}]
        )
    return user.id
