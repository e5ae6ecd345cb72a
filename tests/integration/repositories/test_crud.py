"""The generic CRUD repository on tables without a dedicated repository."""

from __future__ import annotations

import ipaddress
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from datalayer import models as m
from datalayer.db import Database
from datalayer.errors import (
    ConflictError,
    ConstraintViolationError,
    InvalidInputError,
    NotFoundError,
)
from datalayer.repositories.crud import CrudRepository
from tests import factories
from tests.integration.repositories.support import new_user, snapshot


async def test_create_get_update_delete_with_a_string_key(db: Database) -> None:
    cache = CrudRepository(db, m.CacheEntry)
    expires = datetime.now(UTC) + timedelta(hours=1)

    created = await cache.create({"key": "recipe:1", "value": {"a": 1}, "expires_at": expires})
    assert created["value"] == {"a": 1}
    assert created["created_at"] is not None
    assert await cache.get("recipe:1") == created

    updated = await cache.update("recipe:1", {"value": {"a": 2}})
    assert updated["value"] == {"a": 2}
    assert updated["updated_at"] >= created["updated_at"]

    await cache.delete("recipe:1")
    with pytest.raises(NotFoundError):
        await cache.get("recipe:1")


async def test_composite_key_and_identity_column(db: Database) -> None:
    logs = CrudRepository(db, m.SystemLog)
    row = await logs.create({"service": "api", "level": "INFO", "message": "up"})
    key = (row["id"], row["created_at"])

    assert (await logs.get(key))["message"] == "up"
    assert (await logs.update(key, {"level": "ERROR"}))["level"] == "ERROR"
    with pytest.raises(InvalidInputError, match="key of system_logs"):
        await logs.get(row["id"])
    with pytest.raises(InvalidInputError, match="id"):  # identity: not writable
        await logs.create({"id": 5, "service": "api", "level": "INFO", "message": "x"})
    await logs.delete(key)
    assert (await logs.list_page()).total == 0


async def test_types_of_less_common_columns(db: Database) -> None:
    owner = await new_user(db)
    sessions = CrudRepository(db, m.UserSession)
    row = await sessions.create(
        {
            "user_id": str(owner),
            "token_hash": factories.sha256("token"),
            "ip_address": "192.0.2.1",
            "expires_at": datetime.now(UTC) + timedelta(days=1),
        }
    )
    assert row["user_id"] == owner
    assert ipaddress.ip_address(str(row["ip_address"])) == ipaddress.ip_address("192.0.2.1")
    with pytest.raises(InvalidInputError, match="ip_address"):
        await sessions.update(row["id"], {"ip_address": "not an address"})
    with pytest.raises(InvalidInputError, match="expires_at"):  # naive timestamp
        await sessions.update(row["id"], {"expires_at": datetime(2030, 1, 1)})


async def test_list_paginates_filters_and_orders(db: Database) -> None:
    logs = CrudRepository(db, m.SystemLog)
    for index in range(7):
        service = "api" if index % 2 else "worker"
        await logs.create({"service": service, "level": "INFO", "message": f"m{index}"})

    first = await logs.list_page(limit=3, offset=0, sort=["message"])
    second = await logs.list_page(limit=3, offset=3, sort=["message"])
    last = await logs.list_page(limit=3, offset=6, sort=["message"])
    beyond = await logs.list_page(limit=3, offset=30)
    assert [row["message"] for row in first.items + second.items + last.items] == [
        f"m{index}" for index in range(7)
    ]
    assert (first.total, second.total, last.total, beyond.total) == (7, 7, 7, 7)
    assert beyond.items == []

    api = await logs.list_page(filters={"service": "api"}, sort=["-message"])
    assert [row["message"] for row in api.items] == ["m5", "m3", "m1"]
    assert api.total == 3


async def test_null_filters_and_no_orm_objects(db: Database) -> None:
    categories = CrudRepository(db, m.Category)
    root = await categories.create({"name": "Food"})
    await categories.create({"name": "Fruit", "parent_id": root["id"]})

    page = await categories.list_page(filters={"parent_id": None})
    assert [row["name"] for row in page.items] == ["Food"]
    assert all(type(row) is dict for row in page.items)


async def test_scope_hides_and_protects_other_rows(db: Database) -> None:
    a, b = await new_user(db), await new_user(db)
    exports_a = CrudRepository(db, m.DataExportRequest, scope={"user_id": a})
    exports_b = CrudRepository(db, m.DataExportRequest, scope={"user_id": b})
    request = await exports_a.create({"format": "csv"})
    assert request["user_id"] == a
    before = await snapshot(db)

    for attempt in (
        exports_b.get(request["id"]),
        exports_b.update(request["id"], {"status": "failed"}),
        exports_b.delete(request["id"]),
    ):
        with pytest.raises(NotFoundError, match=r"^data_export_requests row not found$"):
            await attempt
    assert (await exports_b.list_page(filters={"user_id": a})).total == 0
    with pytest.raises(InvalidInputError, match="user_id is set by the repository"):
        await exports_b.create({"user_id": a})
    with pytest.raises(InvalidInputError, match="user_id is set by the repository"):
        await exports_a.update(request["id"], {"user_id": b})
    assert await snapshot(db) == before


BAD_CALLS: dict[str, tuple[str, dict[str, Any]]] = {
    "unknown column": (
        "create",
        {"values": {"service": "a", "level": "INFO", "message": "m", "x": 1}},
    ),
    "injected column": ("create", {"values": {"message; DROP TABLE users": "m"}}),
    "missing required": ("create", {"values": {"service": "a"}}),
    "too long": ("create", {"values": {"service": "s" * 101, "level": "INFO", "message": "m"}}),
    "NUL character": ("create", {"values": {"service": "a\x00", "level": "INFO", "message": "m"}}),
    "not a mapping": ("create", {"values": ["service", "a"]}),
    "unknown filter": ("list_page", {"filters": {"nope": 1}}),
    "bad filter value": ("list_page", {"filters": {"id": "one"}}),
    "injected order": ("list_page", {"sort": ["id; DROP TABLE users"]}),
    "order by non-text": ("list_page", {"sort": [3]}),
    "sort not a list": ("list_page", {"sort": 3}),
    "limit as text": ("list_page", {"limit": "5"}),
    "limit None": ("list_page", {"limit": None}),
    "limit 0": ("list_page", {"limit": 0}),
    "limit 501": ("list_page", {"limit": 501}),
    "negative offset": ("list_page", {"offset": -1}),
    "huge offset": ("list_page", {"offset": 10**12}),
    "bad key": ("get", {"key": ("x", "y")}),
    "nothing to update": ("update", {"key": (1, datetime.now(UTC)), "values": {}}),
    "update the key": ("update", {"key": (1, datetime.now(UTC)), "values": {"id": 2}}),
}


async def test_bad_calls_are_invalid_input_and_write_nothing(db: Database) -> None:
    logs = CrudRepository(db, m.SystemLog)
    for case, (method, kwargs) in BAD_CALLS.items():
        with pytest.raises(InvalidInputError) as caught:
            await getattr(logs, method)(**kwargs)
        assert "DROP" not in str(caught.value) or "injected" in case, case
    assert (await logs.list_page()).total == 0


async def test_database_rules_become_typed_errors(db: Database) -> None:
    categories = CrudRepository(db, m.Category)
    await categories.create({"name": "Veg"})
    with pytest.raises(ConflictError):
        await categories.create({"name": "Veg"})
    with pytest.raises(ConstraintViolationError, match="ck_categories_name_not_blank"):
        await categories.create({"name": "  "})
    with pytest.raises(ConstraintViolationError, match="fk_categories_parent_id_categories"):
        await categories.create({"name": "Kale", "parent_id": uuid.uuid4()})
    with pytest.raises(NotFoundError):
        await categories.update(uuid.uuid4(), {"name": "x"})
    with pytest.raises(NotFoundError):
        await categories.delete(uuid.uuid4())
    assert (await categories.list_page()).total == 1
