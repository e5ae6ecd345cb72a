"""UserRepository against a real database, audit rows included."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text

from datalayer.audit import subject_hash
from datalayer.db import Database
from datalayer.errors import ConflictError, InvalidInputError, NotFoundError
from datalayer.settings import Settings
from tests.integration.repositories.conftest import Repos


async def audit_actions(db: Database, settings: Settings, user_id: uuid.UUID) -> list[str]:
    digest = subject_hash(user_id, settings.audit_hash_key.get_secret_value())
    async with db.transaction() as session:
        rows = await session.execute(
            text("SELECT action FROM audit_logs WHERE subject_hash = :h ORDER BY id"), {"h": digest}
        )
        return list(rows.scalars())


async def test_create_with_consent_and_read_back(
    repos: Repos, db: Database, settings: Settings
) -> None:
    user = await repos.users.create_user(
        {
            "username": "ada",
            "email": "Ada@Example.com",
            "auth0_user_id": "auth0|ada",
            "consent_version": "2026-01",
            "preferences": {"diet": "vegetarian"},
        }
    )
    assert user.email == "ada@example.com"
    assert user.gdpr_consent_version == "2026-01" and user.gdpr_consent_at is not None
    assert await repos.users.get_user_by_id(user.id) == user
    assert await repos.users.find_user_by_id(user.id) == user
    assert await repos.users.get_user_by_auth0_id("auth0|ada") == user
    assert await repos.users.find_user_by_auth0_id("auth0|ada") == user
    assert await repos.users.find_user_by_auth0_id("auth0|nobody") is None
    assert await repos.users.find_user_by_id(uuid.uuid4()) is None
    with pytest.raises(NotFoundError, match="user not found"):
        await repos.users.get_user_by_auth0_id("auth0|nobody")
    with pytest.raises(NotFoundError, match="user not found"):
        await repos.users.get_user_by_id(uuid.uuid4())
    assert await audit_actions(db, settings, user.id) == ["user.created"]


async def test_duplicate_email_is_a_conflict(repos: Repos) -> None:
    await repos.users.create_user({"username": "first", "email": "same@example.com"})
    with pytest.raises(ConflictError, match="uq_users_email"):
        await repos.users.create_user({"username": "second", "email": "SAME@example.com"})


async def test_update_is_audited_with_field_names_only(
    repos: Repos, db: Database, settings: Settings
) -> None:
    user = await repos.users.create_user({"username": "grace", "email": "grace@example.com"})
    updated = await repos.users.update_user(user.id, {"email": "hopper@example.com"})
    assert updated.email == "hopper@example.com" and updated.updated_at >= user.updated_at
    async with db.transaction() as session:
        details = (
            await session.execute(
                text("SELECT details::text FROM audit_logs WHERE action = 'user.updated'")
            )
        ).scalar_one()
    assert "email" in details and "hopper" not in details
    assert await audit_actions(db, settings, user.id) == ["user.created", "user.updated"]
    for empty in ({}, {"email": None}):
        with pytest.raises(InvalidInputError, match="nothing to update"):
            await repos.users.update_user(user.id, empty)
    assert await audit_actions(db, settings, user.id) == ["user.created", "user.updated"]


async def test_consent_export_and_deletion_requests(
    repos: Repos, db: Database, settings: Settings
) -> None:
    user = await repos.users.create_user({"username": "linus", "email": "linus@example.com"})
    consented = await repos.users.update_consent(user.id, "v2")
    assert consented.gdpr_consent_version == "v2" and consented.gdpr_consent_at is not None

    request_id = await repos.users.request_data_export(user.id, "csv")
    async with db.transaction() as session:
        row = (
            await session.execute(
                text("SELECT format, status FROM data_export_requests WHERE id = :id"),
                {"id": request_id},
            )
        ).one()
    assert tuple(row) == ("csv", "pending")

    await repos.users.request_data_deletion(user.id)
    async with db.transaction() as session:
        marked = (
            await session.execute(
                text(
                    "SELECT is_active, deletion_requested_at IS NOT NULL FROM users WHERE id = :id"
                ),
                {"id": user.id},
            )
        ).one()
    assert tuple(marked) == (False, True)
    assert await repos.users.find_user_by_id(user.id) is None  # deactivated
    with pytest.raises(NotFoundError):
        await repos.users.update_user(user.id, {"preferences": {}})
    assert await audit_actions(db, settings, user.id) == [
        "user.created",
        "user.consent_updated",
        "gdpr.export_requested",
        "gdpr.deletion_requested",
    ]


@pytest.mark.parametrize(
    "payload",
    [
        {"username": "ab", "email": "a@example.com"},
        {"username": "ok_name", "email": "not-an-email"},
        {"username": "ok_name", "email": "a@example.com", "role": "admin"},
        {"username": "x" * 51, "email": "a@example.com"},
        {"username": "robert'); DROP TABLE users;--", "email": "a@example.com"},
    ],
)
async def test_bad_user_input_is_rejected_before_the_database(
    repos: Repos, db: Database, payload: dict[str, str]
) -> None:
    with pytest.raises(InvalidInputError):
        await repos.users.create_user(payload)
    async with db.transaction() as session:
        assert (await session.execute(text("SELECT count(*) FROM users"))).scalar_one() == 0


async def test_unknown_export_format_and_missing_user(repos: Repos) -> None:
    user = await repos.users.create_user({"username": "turing", "email": "turing@example.com"})
    with pytest.raises(InvalidInputError, match="export_format"):
        await repos.users.request_data_export(user.id, "xml")
    with pytest.raises(NotFoundError):
        await repos.users.request_data_export(uuid.uuid4(), "json")
    with pytest.raises(InvalidInputError, match="user_id"):
        await repos.users.get_user_by_id("not-a-uuid")  # type: ignore[arg-type]
