"""The receipt repository: receipts with items, date ranges and spending statistics."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from datalayer.db import Database
from datalayer.errors import ConstraintViolationError, InvalidInputError, NotFoundError
from datalayer.repositories.receipts import ReceiptRepository
from tests import factories
from tests.integration.repositories.support import new_user, snapshot


@pytest.fixture
async def setup(db: Database) -> tuple[ReceiptRepository, factories.Graph]:
    return ReceiptRepository(db), await factories.graph(db)


async def test_create_with_items_and_read_back(
    setup: tuple[ReceiptRepository, factories.Graph],
) -> None:
    receipts, g = setup
    created = await receipts.create_with_items(
        g.user.id,
        {
            "store_name": "Lidl",
            "total_amount": "7.48",
            "purchase_date": "2024-05-02",
            "conversation_id": g.conversation.id,
            "ocr_confidence": 0.93,
            "metadata": {"ocr": "v2"},
        },
        [
            {
                "product_name": "Tomatoes",
                "quantity": "2",
                "unit_price": "1.99",
                "total_price": "3.98",
            },
            {"product_name": "Basil", "product_id": g.product.id, "category_id": g.category.id},
            {"product_name": "Bread", "total_price": 3.5},
        ],
    )
    assert (created.total_amount, created.currency, created.metadata) == (
        Decimal("7.48"),
        "EUR",
        {"ocr": "v2"},
    )
    assert [item.quantity for item in created.items] == [Decimal(2), Decimal(1), Decimal(1)]

    fetched = await receipts.get_with_items(g.user.id, created.id)
    assert fetched.model_dump(exclude={"items"}) == created.model_dump(exclude={"items"})
    assert sorted(i.product_name for i in fetched.items) == ["Basil", "Bread", "Tomatoes"]
    assert {i.id for i in fetched.items} == {i.id for i in created.items}


async def test_a_receipt_without_items(setup: tuple[ReceiptRepository, factories.Graph]) -> None:
    receipts, g = setup
    created = await receipts.create_with_items(g.user.id, {"store_name": "Aldi"}, [])
    assert (await receipts.get_with_items(g.user.id, created.id)).items == []


async def test_one_bad_item_writes_nothing(
    db: Database, setup: tuple[ReceiptRepository, factories.Graph]
) -> None:
    receipts, g = setup
    before = await snapshot(db)
    good = {"product_name": "Milk"}
    with pytest.raises(InvalidInputError, match=r"items\.1\.quantity"):
        await receipts.create_with_items(g.user.id, {}, [good, {**good, "quantity": -1}])
    with pytest.raises(ConstraintViolationError, match="product_id"):  # caught by the database
        await receipts.create_with_items(
            g.user.id, {}, [good, {**good, "product_id": "00000000-0000-4000-8000-000000000000"}]
        )
    assert await snapshot(db) == before


async def test_list_for_user_by_date_range(
    setup: tuple[ReceiptRepository, factories.Graph],
) -> None:
    receipts, g = setup  # g.receipt has no purchase date
    for day in (3, 1, 2, 5):
        await receipts.create_with_items(g.user.id, {"purchase_date": date(2024, 5, day)}, [])

    everything = await receipts.list_for_user(g.user.id)
    assert [r.purchase_date for r in everything.items][:4] == [
        date(2024, 5, 5),
        date(2024, 5, 3),
        date(2024, 5, 2),
        date(2024, 5, 1),
    ]
    assert everything.items[-1].id == g.receipt.id
    ranged = await receipts.list_for_user(
        g.user.id, start_date=date(2024, 5, 2), end_date="2024-05-03"
    )
    assert [r.purchase_date.day for r in ranged.items] == [3, 2]  # type: ignore[union-attr]
    assert (await receipts.list_for_user(g.user.id, start_date=date(2024, 5, 3))).total == 2
    assert (await receipts.list_for_user(g.user.id, end_date=date(2024, 5, 1))).total == 1
    page = await receipts.list_for_user(g.user.id, limit=2, offset=2)
    assert ([r.purchase_date.day for r in page.items], page.total) == ([2, 1], 5)  # type: ignore[union-attr]
    with pytest.raises(InvalidInputError):
        await receipts.list_for_user(
            g.user.id, start_date=date(2024, 5, 3), end_date=date(2024, 5, 2)
        )


async def test_spending_stats(
    db: Database, setup: tuple[ReceiptRepository, factories.Graph]
) -> None:
    receipts, g = setup
    user = g.user.id
    may = date(2024, 5, 10)
    await receipts.create_with_items(
        user,
        {"store_name": "Lidl", "total_amount": "10.00", "purchase_date": may},
        [
            {"product_name": "Basil", "category_id": g.category.id, "total_price": "4.00"},
            {"product_name": "Salt", "quantity": "2", "unit_price": "1.25"},
        ],
    )
    await receipts.create_with_items(
        user, {"store_name": "Lidl", "total_amount": "5.01", "purchase_date": may}, []
    )
    await receipts.create_with_items(
        user, {"store_name": "Aldi", "total_amount": "20.00", "purchase_date": may}, []
    )
    await receipts.create_with_items(user, {"store_name": "Aldi", "purchase_date": may}, [])
    # outside the range, another currency, another user: all left out
    await receipts.create_with_items(
        user, {"total_amount": "99", "purchase_date": date(2024, 6, 1)}, []
    )
    await receipts.create_with_items(
        user, {"total_amount": "99", "currency": "PLN", "purchase_date": may}, []
    )
    await receipts.create_with_items(
        await new_user(db), {"total_amount": "99", "purchase_date": may}, []
    )

    stats = await receipts.spending_stats(user, date(2024, 5, 1), date(2024, 5, 31))

    assert (stats.receipt_count, stats.total, stats.average) == (
        4,
        Decimal("35.01"),
        Decimal("11.67"),
    )
    assert [(s.store_name, s.receipt_count, s.total) for s in stats.by_store] == [
        ("Aldi", 2, Decimal("20.00")),
        ("Lidl", 2, Decimal("15.01")),
    ]
    assert [(c.category_name, c.item_count, c.total) for c in stats.by_category] == [
        (g.category.name, 1, Decimal("4.00")),
        (None, 1, Decimal("2.50")),
    ]
    pln = await receipts.spending_stats(user, "2024-05-01", "2024-05-31", currency="PLN")
    assert (pln.receipt_count, pln.total) == (1, Decimal("99.00"))
    empty = await receipts.spending_stats(user, date(2020, 1, 1), date(2020, 1, 2))
    assert (empty.receipt_count, empty.total, empty.average, empty.by_store) == (0, 0, None, [])
    with pytest.raises(InvalidInputError, match="currency"):
        await receipts.spending_stats(user, may, may, currency="eur")


async def test_update_and_delete(
    db: Database, setup: tuple[ReceiptRepository, factories.Graph]
) -> None:
    receipts, g = setup
    created = await receipts.create_with_items(
        g.user.id, {"store_name": "Lidl"}, [{"product_name": "Milk"}]
    )

    updated = await receipts.update(
        g.user.id, created.id, {"store_name": "Aldi", "currency": "USD"}
    )
    assert (updated.store_name, updated.currency) == ("Aldi", "USD")
    with pytest.raises(InvalidInputError, match="conversation_id"):
        await receipts.update(g.user.id, created.id, {"conversation_id": g.conversation.id})

    await receipts.delete(g.user.id, created.id)
    with pytest.raises(NotFoundError):
        await receipts.get_with_items(g.user.id, created.id)
    counts = await snapshot(db)
    assert counts["receipt_items"][0] == 0
    assert counts["receipts"][0] == 1  # factories.graph's
