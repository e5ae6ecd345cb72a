"""The pantry repository: a user's items and what expires soon."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from decimal import Decimal

import pytest

from datalayer.db import Database
from datalayer.errors import ConstraintViolationError, InvalidInputError, NotFoundError
from datalayer.repositories.pantry import PantryRepository
from tests import factories

TODAY = date(2024, 6, 1)


@pytest.fixture
async def setup(db: Database) -> tuple[PantryRepository, uuid.UUID, uuid.UUID]:
    g = await factories.graph(db)
    return PantryRepository(db), g.user.id, g.product.id


async def test_add_get_update_remove(setup: tuple[PantryRepository, uuid.UUID, uuid.UUID]) -> None:
    pantry, user, product = setup
    item = await pantry.create(
        user, {"product_id": product, "quantity": "1.5", "unit": " kg ", "notes": "top shelf"}
    )
    assert (item.user_id, item.quantity, item.unit) == (user, Decimal("1.500"), "kg")
    assert await pantry.get(user, item.id) == item

    changed = await pantry.update(user, item.id, {"quantity": 3, "expiry_date": "2024-06-09"})
    assert (changed.quantity, changed.expiry_date, changed.unit) == (
        Decimal("3.000"),
        date(2024, 6, 9),
        "kg",
    )
    cleared = await pantry.update(user, item.id, {"notes": None})
    assert cleared.notes is None

    await pantry.delete(user, item.id)
    for attempt in (pantry.get(user, item.id), pantry.delete(user, item.id)):
        with pytest.raises(NotFoundError):
            await attempt


async def test_product_must_exist(setup: tuple[PantryRepository, uuid.UUID, uuid.UUID]) -> None:
    pantry, user, _ = setup
    with pytest.raises(ConstraintViolationError, match="product_id"):
        await pantry.create(user, {"product_id": uuid.uuid4()})
    assert (await pantry.list_for_user(user)).total == 0


async def test_list_items_soonest_expiry_first(
    setup: tuple[PantryRepository, uuid.UUID, uuid.UUID],
) -> None:
    pantry, user, product = setup
    for expiry in (date(2024, 7, 1), None, date(2024, 6, 2), date(2024, 6, 20)):
        await pantry.create(user, {"product_id": product, "expiry_date": expiry})

    first = await pantry.list_for_user(user, limit=3)
    rest = await pantry.list_for_user(user, limit=3, offset=3)

    assert [i.expiry_date for i in first.items + rest.items] == [
        date(2024, 6, 2),
        date(2024, 6, 20),
        date(2024, 7, 1),
        None,
    ]
    assert first.total == rest.total == 4


async def test_expiring_within(setup: tuple[PantryRepository, uuid.UUID, uuid.UUID]) -> None:
    pantry, user, product = setup
    offsets = [7, -1, 0, 3, 8, None, -30]
    for offset in offsets:
        expiry = None if offset is None else TODAY + timedelta(days=offset)
        await pantry.create(user, {"product_id": product, "expiry_date": expiry})

    def days(page: object) -> list[int]:
        return [(item.expiry_date - TODAY).days for item in page.items]  # type: ignore[attr-defined]

    assert days(await pantry.expiring_within(user, 7, today=TODAY)) == [0, 3, 7]
    assert days(await pantry.expiring_within(user, 0, today=TODAY)) == [0]
    with_expired = await pantry.expiring_within(user, 7, include_expired=True, today=TODAY)
    assert days(with_expired) == [-30, -1, 0, 3, 7]
    page = await pantry.expiring_within(user, 365, today=TODAY, limit=2, offset=2)
    assert (days(page), page.total) == ([7, 8], 4)


async def test_expiring_within_defaults_to_the_database_date(
    setup: tuple[PantryRepository, uuid.UUID, uuid.UUID],
) -> None:
    pantry, user, product = setup
    await pantry.create(user, {"product_id": product, "expiry_date": date.today()})
    await pantry.create(user, {"product_id": product, "expiry_date": date(2000, 1, 1)})
    # date.today() and the server's date agree except within a day boundary of time zones.
    assert (await pantry.expiring_within(user, 1)).total == 1


async def test_expiring_within_rejects_bad_day_counts(
    setup: tuple[PantryRepository, uuid.UUID, uuid.UUID],
) -> None:
    pantry, user, _ = setup
    for days in (-1, 366, 10**9, "soon", 1.5, None):
        with pytest.raises(InvalidInputError, match="days"):
            await pantry.expiring_within(user, days)  # type: ignore[arg-type]
