"""Hypothesis feeds the FoodSave and generic repositories bad inputs: each one is rejected with
InvalidInputError and writes nothing; SQL-injection text is stored verbatim and harmless.

Each test runs its property on one database with its own event loop, so ``@given`` wraps an
inner function (no function-scoped fixture inside hypothesis) and the number of bad inputs
tried is printed at the end (visible with ``-s``).
"""

from __future__ import annotations

import re
import string
import uuid
from datetime import date, time, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from datalayer import models as m
from datalayer.models.conversations import MESSAGE_ROLES
from datalayer.models.meal_plans import MEAL_TYPES
from datalayer.repositories.catalog import CatalogRepository
from datalayer.repositories.conversations import ConversationRepository
from datalayer.repositories.crud import CrudRepository
from datalayer.repositories.meal_plans import MealPlanRepository
from datalayer.repositories.pantry import PantryRepository
from datalayer.repositories.receipts import ReceiptRepository
from tests.integration.repositories.support import VISIBLE, Env, oversized, snapshot

PROPERTY = hypothesis_settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
NAN, INF = float("nan"), float("inf")
DAY = date(2024, 6, 1)

# -- strategies --------------------------------------------------------------------------------


def bad_text(limit: int, *, blank_ok: bool = False) -> SearchStrategy[str]:
    """Too long, holding a NUL, or (unless ``blank_ok``) blank."""
    nul = st.builds(lambda head: head + "\x00", st.text(VISIBLE, max_size=5))
    blank = st.sampled_from(["", "   ", "\t\n"])
    return st.one_of(oversized(limit), nul) if blank_ok else st.one_of(oversized(limit), nul, blank)


NON_FINITE = st.sampled_from([NAN, INF, -INF, "NaN", "-Infinity"])
BAD_QUANTITY = st.one_of(
    NON_FINITE,
    st.integers(max_value=0),
    st.floats(max_value=0.0),
    st.decimals(max_value=0, allow_nan=False, allow_infinity=False),
    st.integers(min_value=10**7),
    st.integers(1, 9999).filter(lambda n: n % 10).map(lambda n: Decimal(n).scaleb(-4)),
    st.sampled_from(["lots", [1]]),
)
BAD_MONEY = st.one_of(
    NON_FINITE,
    st.integers(max_value=-1),
    st.decimals(max_value=Decimal("-0.01"), places=2, allow_nan=False, allow_infinity=False),
    st.integers(min_value=10**8),
    st.integers(1, 999).filter(lambda n: n % 10).map(lambda n: Decimal(n).scaleb(-3)),
    st.sampled_from(["free", [1]]),
)
BAD_CONFIDENCE = st.one_of(NON_FINITE, st.floats().filter(lambda x: not 0 <= x <= 1))
BAD_DATE = st.one_of(
    st.sampled_from(["2024-02-30", "2023-13-01", "2024-00-10", "31/12/2024", "2024-06-01T10:00"]),
    st.text(string.ascii_letters, max_size=10),
    st.datetimes().filter(lambda moment: moment.time() != time(0)),
    st.sampled_from([[2024, 1, 1], {"year": 2024}]),
)
BAD_UUID = st.one_of(
    st.text(max_size=40).filter(lambda text: not _is_uuid(text)),
    st.integers(),
    st.sampled_from(["00000000-0000-0000-0000-00000000000g", "' OR 1=1 --"]),
)
BAD_JSON = st.one_of(
    st.dictionaries(
        st.text(max_size=5), NON_FINITE.filter(lambda v: isinstance(v, float)), min_size=1
    ),
    st.sampled_from([[1, 2], "text", 3, {"nested": {"x": NAN}}, {"set": {1, 2}}]),
    st.builds(lambda size: {"big": "x" * size}, st.integers(65_536, 70_000)),
)
BAD_PAGE = st.one_of(
    st.tuples(st.integers(max_value=0), st.just(0)),
    st.tuples(st.integers(min_value=501), st.just(0)),
    st.tuples(st.just(10), st.integers(max_value=-1)),
    st.tuples(st.just(10), st.integers(min_value=1_000_001)),
    st.tuples(st.sampled_from([NAN, INF, "ten", None, 1.5]), st.just(0)),
)


def not_one_of(values: tuple[str, ...]) -> SearchStrategy[Any]:
    """Unknown enum values: other strings (including case and whitespace variants)."""
    variants = st.sampled_from(values).flatmap(
        lambda value: st.sampled_from([value.upper(), f" {value}", f"{value}s", value[:-1]])
    )
    return st.one_of(
        variants, st.text(max_size=20).filter(lambda text: text not in values), st.none()
    )


def one_bad(fields: dict[str, SearchStrategy[Any]]) -> SearchStrategy[dict[str, Any]]:
    """A dict with exactly one bad field (an unknown field name counts as bad)."""
    extra = st.sampled_from(["user_id", "id", "owner", "created_at"]).map(lambda name: {name: "x"})
    single = [_as_field(name, values) for name, values in fields.items()]
    return st.one_of(*single, extra)


def _as_field(name: str, values: SearchStrategy[Any]) -> SearchStrategy[dict[str, Any]]:
    return values.map(lambda value: {name: value})


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


# -- properties --------------------------------------------------------------------------------
PANTRY_FIELDS = {
    "product_id": BAD_UUID,
    "quantity": BAD_QUANTITY,
    "unit": bad_text(32),
    "expiry_date": BAD_DATE,
    "notes": bad_text(100_000, blank_ok=True),
}


def test_pantry_rejects_bad_input(env: Env) -> None:
    pantry, user, product = PantryRepository(env.db), env.g.user.id, env.g.product.id
    item = env.run(pantry.create(user, {"product_id": product})).id
    bad = one_bad(PANTRY_FIELDS)
    days = st.one_of(st.integers(max_value=-1), st.integers(min_value=366), NON_FINITE)
    env.reject_all(
        "pantry",
        {
            "add": (bad, lambda b: pantry.create(user, {"product_id": product, **b})),
            "update": (bad, lambda b: pantry.update(user, item, b)),
            "list": (
                BAD_PAGE,
                lambda page: pantry.list_for_user(user, limit=page[0], offset=page[1]),
            ),
            "user": (BAD_UUID, lambda b: pantry.list_for_user(b)),
            "expiring": (days, lambda b: pantry.expiring_within(user, b)),
        },
    )


RECEIPT_FIELDS = {
    "store_name": bad_text(255),
    "total_amount": BAD_MONEY,
    "currency": st.one_of(
        st.text(max_size=5).filter(lambda text: not re.fullmatch("[A-Z]{3}", text.strip())),
        st.none(),
    ),
    "purchase_date": BAD_DATE,
    "image_path": bad_text(500),
    "ocr_confidence": BAD_CONFIDENCE,
    "conversation_id": BAD_UUID,
    "metadata": BAD_JSON,
}
ITEM_FIELDS = {
    "product_name": bad_text(255),
    "product_id": BAD_UUID,
    "category_id": BAD_UUID,
    "quantity": BAD_QUANTITY,
    "unit_price": BAD_MONEY,
    "total_price": BAD_MONEY,
}
BAD_RANGE = st.one_of(
    st.tuples(BAD_DATE, st.just(DAY)),
    st.tuples(st.just(DAY), BAD_DATE),
    st.integers(1, 10_000).map(lambda days: (DAY, DAY - timedelta(days=days))),
)


def test_receipts_reject_bad_input(env: Env) -> None:
    receipts, user, receipt = ReceiptRepository(env.db), env.g.user.id, env.g.receipt.id
    item = {"product_name": "Milk", "total_price": "1.00"}
    # one bad item among good ones, at a drawn position
    bad_items = st.builds(
        lambda position, b: [item] * position + [{**item, **b}, item],
        st.integers(0, 3),
        one_bad(ITEM_FIELDS),
    )
    not_items = st.sampled_from([None, 5, "abc", [1], [item] * 1001])
    env.reject_all(
        "receipts",
        {
            "receipt": (one_bad(RECEIPT_FIELDS), lambda b: receipts.create_with_items(user, b, [])),
            "item": (bad_items, lambda items: receipts.create_with_items(user, {}, items)),
            "items": (not_items, lambda items: receipts.create_with_items(user, {}, items)),
            "update": (one_bad(RECEIPT_FIELDS), lambda b: receipts.update(user, receipt, b)),
            "list": (
                BAD_RANGE,
                lambda dates: receipts.list_for_user(user, start_date=dates[0], end_date=dates[1]),
            ),
            "page": (
                BAD_PAGE,
                lambda page: receipts.list_for_user(user, limit=page[0], offset=page[1]),
            ),
            "stats": (BAD_RANGE, lambda dates: receipts.spending_stats(user, *dates)),
        },
    )


def test_meal_plans_reject_bad_input(env: Env) -> None:
    plans, user = MealPlanRepository(env.db), env.g.user.id
    plan = env.run(plans.create(user, {"plan_date": DAY, "meal_type": "lunch"})).id
    valid = {"plan_date": DAY, "meal_type": "dinner"}
    bad = one_bad(
        {
            "plan_date": BAD_DATE,
            "meal_type": not_one_of(MEAL_TYPES),
            "recipe_id": BAD_UUID,
            "notes": bad_text(100_000, blank_ok=True),
        }
    )
    too_long = st.integers(367, 100_000).map(lambda days: (DAY, DAY + timedelta(days=days)))
    env.reject_all(
        "meal plans",
        {
            "create": (bad, lambda b: plans.create(user, {**valid, **b})),
            "update": (bad, lambda b: plans.update(user, plan, b)),
            "list": (
                BAD_PAGE,
                lambda page: plans.list_for_user(user, limit=page[0], offset=page[1]),
            ),
            "between": (st.one_of(BAD_RANGE, too_long), lambda span: plans.between(user, *span)),
        },
    )


def test_conversations_reject_bad_input(env: Env) -> None:
    chats, user, chat = ConversationRepository(env.db), env.g.user.id, env.g.conversation.id
    bad_conversation = one_bad(
        {"session_id": bad_text(100), "title": bad_text(255), "metadata": BAD_JSON}
    )
    bad_message = one_bad(
        {
            "content": bad_text(100_000),
            "role": not_one_of(MESSAGE_ROLES),
            "agent_used": bad_text(50),
            "confidence": BAD_CONFIDENCE,
            "metadata": BAD_JSON,
        }
    )
    message = {"content": "hi", "role": "user"}
    env.reject_all(
        "conversations",
        {
            "create": (bad_conversation, lambda b: chats.create(user, {"session_id": "new", **b})),
            "update": (bad_conversation, lambda b: chats.update(user, chat, b)),
            "message": (bad_message, lambda b: chats.create_message(user, chat, {**message, **b})),
            "session": (bad_text(100), lambda b: chats.get_by_session_id(user, b)),
            "list": (
                BAD_PAGE,
                lambda page: chats.list_for_user(user, limit=page[0], offset=page[1]),
            ),
            "messages": (
                BAD_PAGE,
                lambda page: chats.list_messages(user, chat, limit=page[0], offset=page[1]),
            ),
        },
    )


def test_catalog_rejects_bad_input(env: Env) -> None:
    catalog, category = CatalogRepository(env.db), env.g.category.id
    bad_category = one_bad(
        {
            "name": bad_text(100),
            "parent_id": BAD_UUID,
            "description": bad_text(100_000, blank_ok=True),
        }
    )
    bad_product = one_bad(
        {
            "name": bad_text(255),
            "category_id": BAD_UUID,
            "nutritional_info": BAD_JSON,
            "storage_info": BAD_JSON,
        }
    )
    env.reject_all(
        "catalog",
        {
            "category": (bad_category, lambda b: catalog.create_category({"name": "Veg", **b})),
            "move": (bad_category, lambda b: catalog.update_category(category, b)),
            "product": (bad_product, lambda b: catalog.create_product({"name": "Kale", **b})),
            "subtree": (BAD_UUID, lambda b: catalog.subtree(b)),
            "products": (
                BAD_PAGE,
                lambda page: catalog.list_products_by_category(
                    category, limit=page[0], offset=page[1]
                ),
            ),
        },
    )


def test_generic_crud_rejects_bad_input(env: Env) -> None:
    logs = CrudRepository(env.db, m.SystemLog)
    columns = set(logs.table.c.keys())
    unknown = st.text(min_size=1, max_size=30).filter(
        lambda name: name.removeprefix("-") not in columns
    )
    valid = {"service": "api", "level": "INFO", "message": "hello"}
    bad_row = st.one_of(
        one_bad(
            {
                "service": oversized(100),
                "message": st.just("a\x00b"),
                "details": BAD_JSON.filter(lambda value: not isinstance(value, dict)),
                "created_at": BAD_DATE,
            }
        ),
        unknown.map(lambda name: {name: 1}),
    )
    bad_filters = st.one_of(unknown.map(lambda name: {name: 1}), st.just({"id": "one"}))
    bad_keys = st.one_of(st.integers(), st.tuples(st.text(string.ascii_letters), st.text()))
    env.reject_all(
        "generic crud",
        {
            "create": (bad_row, lambda b: logs.create({**valid, **b})),
            "filter": (bad_filters, lambda b: logs.list_page(filters=b)),
            "order": (unknown, lambda name: logs.list_page(sort=[name])),
            "page": (BAD_PAGE, lambda page: logs.list_page(limit=page[0], offset=page[1])),
            "get": (bad_keys, lambda key: logs.get(key)),
        },
    )


INJECTIONS = [
    "'; DROP TABLE receipts; --",
    "Robert'); DELETE FROM users WHERE ('1'='1",
    "1' OR '1'='1",
    '" OR ""="',
    "$$; TRUNCATE pantry_items; $$",
    "\\'; SELECT pg_sleep(10); --",
    "%s %(name)s :name ? $1",
    "ü ☃ 🍅 \u200b",
]


def test_injection_text_is_stored_verbatim_and_harmless(env: Env) -> None:
    receipts, chats, g = ReceiptRepository(env.db), ConversationRepository(env.db), env.g
    text = st.one_of(
        st.sampled_from(INJECTIONS),
        st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=255),
    ).filter(lambda value: value != "" and value == value.strip())
    stored = 0

    @PROPERTY
    @given(value=text)
    def check(value: str) -> None:
        nonlocal stored
        receipt = env.run(
            receipts.create_with_items(g.user.id, {"store_name": value}, [{"product_name": value}])
        )
        message = env.run(
            chats.create_message(g.user.id, g.conversation.id, {"content": value, "role": "user"})
        )
        again = env.run(receipts.get_with_items(g.user.id, receipt.id))
        assert again.store_name == again.items[0].product_name == message.content == value
        stored += 1

    check()
    tables = env.run(snapshot(env.db))
    assert tables["receipts"][0] == stored + 1  # every row kept, no table dropped or emptied
    assert tables["users"][0] == 1
    print(f"\ninjection: {stored} hostile strings stored verbatim, every table intact")
