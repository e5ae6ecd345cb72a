"""A populated database backed up, and its restore into a fresh database, for the checks."""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

from datalayer import models as m
from datalayer.audit import subject_hash
from datalayer.db import Database
from datalayer.gdpr.erasure import erase_user
from datalayer.gdpr.ledger import ledger_subjects
from datalayer.operations.backup import BackupManifest, create_backup
from datalayer.operations.physical import create_physical_backup
from tests import factories
from tests.integration.gdpr.support import populated_user


@dataclass(frozen=True)
class BackedUp:
    """A backup of a database holding people (one erased after the backup) and embeddings."""

    directory: Path
    manifest: BackupManifest
    erased_after_backup: str
    ledger: set[str]


async def populate_and_back_up(
    db: Database, url: str, key: str, directory: Path, *, dim: int, physical: bool = False
) -> BackedUp:
    """Three populated people and extra embeddings, a backup (``physical``: a
    ``pg_basebackup`` of the whole cluster), then one person erased live."""
    people = [await populated_user(db, key) for _ in range(3)]
    rng = random.Random(7)
    owner = people[0].user
    async with db.transaction() as session:
        recipes = [factories.recipe(owner, title=f"Tomato basil soup {n}") for n in range(20)]
        session.add_all(recipes)
        await session.flush()
        for recipe in recipes:
            vector = [rng.uniform(-1, 1) for _ in range(dim)]
            session.add(
                m.RecipeEmbedding(
                    recipe_id=recipe.id,
                    user_id=owner.id,
                    embedding=vector,
                    model="test-model",
                    model_version="1",
                    source_text_hash=factories.sha256(recipe.title),
                )
            )
    if physical:
        manifest = create_physical_backup(url, directory)
    else:
        manifest = create_backup(url, directory, jobs=2)
    await erase_user(db, people[1].user.id, key)
    async with db.write_engine.connect() as connection:
        ledger = await ledger_subjects(connection)
    return BackedUp(directory, manifest, subject_hash(people[1].user.id, key), ledger)
