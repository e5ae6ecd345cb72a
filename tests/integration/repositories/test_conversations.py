"""The conversation repository: sessions, messages, and reading both in one query."""

from __future__ import annotations

import pytest

from datalayer.db import Database
from datalayer.errors import ConflictError, InvalidInputError, NotFoundError
from datalayer.models.conversations import MESSAGE_ROLES
from datalayer.repositories.conversations import ConversationRepository
from datalayer.schemas.conversations import MessageRole
from tests.integration.repositories.support import (
    count_statements,
    new_user,
    snapshot,
)


@pytest.fixture
def chats(db: Database) -> ConversationRepository:
    return ConversationRepository(db)


def test_roles_match_the_check_constraint() -> None:
    assert tuple(role.value for role in MessageRole) == MESSAGE_ROLES


async def test_create_and_find_by_session_id(db: Database, chats: ConversationRepository) -> None:
    user = await new_user(db)
    created = await chats.create(
        user, {"session_id": " s-1 ", "title": "Dinner", "metadata": {"k": 1}}
    )
    assert (created.session_id, created.metadata) == ("s-1", {"k": 1})
    assert await chats.get_by_session_id(user, " s-1") == created
    assert await chats.get(user, created.id) == created
    with pytest.raises(ConflictError):
        await chats.create(await new_user(db), {"session_id": "s-1"})
    with pytest.raises(NotFoundError):
        await chats.get_by_session_id(user, "s-2")
    with pytest.raises(InvalidInputError, match="session_id"):
        await chats.get_by_session_id(user, "x" * 101)


async def test_messages_in_one_query(db: Database, chats: ConversationRepository) -> None:
    user = await new_user(db)
    chat = await chats.create(user, {"session_id": "s-1"})
    for index, role in enumerate(["user", "assistant", "tool", "system"]):
        await chats.create_message(
            user, chat.id, {"content": f"m{index}", "role": role, "confidence": 0.5}
        )
    await chats.get(user, chat.id)  # warm the pool: connecting runs statements of its own

    with count_statements(db.read_engine) as statements:
        loaded = await chats.get_with_messages(user, chat.id)
        by_session = await chats.get_with_messages_by_session_id(user, "s-1")

    assert len(statements) == 2
    assert [m.content for m in loaded.messages] == ["m0", "m1", "m2", "m3"]
    assert [m.role for m in loaded.messages][:2] == [MessageRole.USER, MessageRole.ASSISTANT]
    assert by_session == loaded
    assert loaded.model_dump(exclude={"messages", "updated_at"}) == chat.model_dump(
        exclude={"updated_at"}
    )


async def test_a_conversation_without_messages(db: Database, chats: ConversationRepository) -> None:
    user = await new_user(db)
    chat = await chats.create(user, {"session_id": "s-1"})
    assert (await chats.get_with_messages(user, chat.id)).messages == []


async def test_add_message_touches_the_conversation(
    db: Database, chats: ConversationRepository
) -> None:
    user = await new_user(db)
    older = await chats.create(user, {"session_id": "older"})
    newer = await chats.create(user, {"session_id": "newer"})
    assert [c.id for c in (await chats.list_for_user(user)).items] == [newer.id, older.id]

    message = await chats.create_message(
        user,
        older.id,
        {"content": "hi", "role": "assistant", "agent_used": "chef", "metadata": {"t": 1}},
    )

    assert (message.conversation_id, message.agent_used, message.metadata) == (
        older.id,
        "chef",
        {"t": 1},
    )
    assert [c.id for c in (await chats.list_for_user(user)).items] == [older.id, newer.id]
    page = await chats.list_for_user(user, limit=1, offset=1)
    assert ([c.id for c in page.items], page.total) == ([newer.id], 2)


async def test_bad_messages_write_nothing(db: Database, chats: ConversationRepository) -> None:
    user = await new_user(db)
    chat = await chats.create(user, {"session_id": "s-1"})
    before = await snapshot(db)
    for bad in (
        {"content": "hi", "role": "robot"},
        {"content": "hi", "role": "User"},
        {"content": "  ", "role": "user"},
        {"content": "hi", "role": "user", "confidence": float("nan")},
        {"content": "hi", "role": "user", "confidence": 1.01},
        {"content": "hi", "role": "user", "agent_used": "a" * 51},
        {"content": "hi", "role": "user", "metadata": {"x": float("inf")}},
        {"content": "hi", "role": "user", "conversation_id": chat.id},
    ):
        with pytest.raises(InvalidInputError):
            await chats.create_message(user, chat.id, bad)
    assert await snapshot(db) == before


async def test_list_messages_is_paginated(db: Database, chats: ConversationRepository) -> None:
    user = await new_user(db)
    chat = await chats.create(user, {"session_id": "s-1"})
    for index in range(5):
        await chats.create_message(user, chat.id, {"content": f"m{index}", "role": "user"})
    page = await chats.list_messages(user, chat.id, limit=2, offset=2)
    assert ([m.content for m in page.items], page.total) == (["m2", "m3"], 5)


async def test_update_and_delete(db: Database, chats: ConversationRepository) -> None:
    user = await new_user(db)
    chat = await chats.create(user, {"session_id": "s-1", "title": "a"})
    await chats.create_message(user, chat.id, {"content": "hi", "role": "user"})

    updated = await chats.update(user, chat.id, {"title": None, "metadata": {"pinned": True}})
    assert (updated.title, updated.metadata, updated.session_id) == (None, {"pinned": True}, "s-1")
    with pytest.raises(InvalidInputError, match="session_id"):
        await chats.update(user, chat.id, {"session_id": "s-2"})

    await chats.delete(user, chat.id)
    with pytest.raises(NotFoundError):
        await chats.get_with_messages(user, chat.id)
    assert (await snapshot(db))["messages"][0] == 0
