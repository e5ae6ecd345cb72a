"""Consent per purpose: history kept, current state in one call, every change audited."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from datalayer.audit import subject_hash
from datalayer.db import Database
from datalayer.errors import InvalidInputError, NotFoundError
from datalayer.gdpr.consent import ConsentRepository
from datalayer.repositories.users import UserRepository
from datalayer.schemas.consent import ConsentPurpose
from datalayer.settings import Settings
from tests.integration.repositories.support import new_user, snapshot


async def test_grant_withdraw_and_history(db: Database, settings: Settings) -> None:
    consents = ConsentRepository(db, settings)
    user_id = await new_user(db)
    await consents.create_consent(
        user_id, {"purpose": "analytics", "granted": True, "policy_version": "2026-01"}
    )
    await consents.create_consent(
        user_id, {"purpose": "marketing", "granted": True, "policy_version": "2026-01"}
    )
    withdrawn = await consents.create_consent(
        user_id, {"purpose": "analytics", "granted": False, "policy_version": "2026-02"}
    )

    state = await consents.get_consent_state(user_id)
    assert state[ConsentPurpose.ANALYTICS] == withdrawn
    assert state[ConsentPurpose.MARKETING] is not None and state[ConsentPurpose.MARKETING].granted
    assert state[ConsentPurpose.PERSONALIZATION] is None

    history = await consents.list_consent_history(user_id)
    assert history.total == 3
    assert [(r.purpose, r.granted) for r in history.items] == [
        ("analytics", False),
        ("marketing", True),
        ("analytics", True),
    ]
    async with db.write_engine.connect() as connection:
        actions = (
            await connection.execute(
                text(
                    "SELECT action, details->>'purpose' FROM audit_logs "
                    "WHERE subject_hash = :s AND entity_type = 'consent' ORDER BY id"
                ),
                {"s": subject_hash(user_id, settings.audit_hash_key.get_secret_value())},
            )
        ).all()
    assert [tuple(a) for a in actions] == [
        ("gdpr.consent_granted", "analytics"),
        ("gdpr.consent_granted", "marketing"),
        ("gdpr.consent_withdrawn", "analytics"),
    ]


@pytest.mark.parametrize(
    "bad",
    [
        {"purpose": "telepathy", "granted": True, "policy_version": "1"},
        {"purpose": "analytics", "granted": "perhaps", "policy_version": "1"},
        {"purpose": "analytics", "granted": True, "policy_version": "   "},
        {"purpose": "analytics", "granted": True},
    ],
)
async def test_bad_consent_is_rejected_before_the_database(
    db: Database, settings: Settings, bad: dict[str, object]
) -> None:
    user_id = await new_user(db)
    before = await snapshot(db)
    with pytest.raises(InvalidInputError) as raised:
        await ConsentRepository(db, settings).create_consent(user_id, bad)
    assert type(raised.value) is InvalidInputError
    assert await snapshot(db) == before


async def test_an_inactive_user_cannot_consent(db: Database, settings: Settings) -> None:
    user_id = await new_user(db)
    await UserRepository(db, settings).request_data_deletion(user_id)
    with pytest.raises(NotFoundError):
        await ConsentRepository(db, settings).create_consent(
            user_id, {"purpose": "analytics", "granted": True, "policy_version": "1"}
        )
