"""FoodSave assistant conversations and their messages.

Every method acts for a ``user_id``: another user's conversation is reported exactly like a
missing one (NotFoundError, same message), is never changed and never gets a message.
A conversation with its messages is read in one statement (a LEFT JOIN, like ``joinedload``).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import ColumnElement, func, insert, select, update

from datalayer.db import Database
from datalayer.errors import NotFoundError
from datalayer.models import Conversation, Message
from datalayer.repositories.crud import CrudRepository, convert_page, fetch_page, table_of
from datalayer.schemas.common import Page, as_uuid, page_request, parse, parse_value
from datalayer.schemas.conversations import (
    ConversationIn,
    ConversationOut,
    ConversationUpdate,
    ConversationWithMessages,
    MessageIn,
    MessageOut,
)
from datalayer.schemas.foodsave import SessionId

_PREFIX = "message_"


class ConversationRepository:
    """A user's conversations: create, find by session id, read with messages, add messages."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._conversations = table_of(Conversation)
        self._messages = table_of(Message)
        self._not_found = "conversations row not found"

    def _owned(self, user_id: uuid.UUID) -> CrudRepository:
        return CrudRepository(self._db, Conversation, scope={"user_id": user_id})

    async def create(
        self, user_id: uuid.UUID, data: ConversationIn | Mapping[str, Any]
    ) -> ConversationOut:
        """Start a conversation; a session id already in use is ConflictError."""
        owned = self._owned(as_uuid(user_id, "user_id"))
        return ConversationOut.model_validate(await owned.create(parse(ConversationIn, data)))

    async def get(self, user_id: uuid.UUID, conversation_id: uuid.UUID) -> ConversationOut:
        """One of the user's conversations (without messages), or NotFoundError."""
        owned = self._owned(as_uuid(user_id, "user_id"))
        return ConversationOut.model_validate(
            await owned.get(as_uuid(conversation_id, "conversation_id"))
        )

    async def get_by_session_id(self, user_id: uuid.UUID, session_id: str) -> ConversationOut:
        """The user's conversation with ``session_id``, or NotFoundError."""
        owned = self._owned(as_uuid(user_id, "user_id"))
        row = await owned.find_one({"session_id": _session_id(session_id)})
        return ConversationOut.model_validate(row)

    async def get_with_messages(
        self, user_id: uuid.UUID, conversation_id: uuid.UUID
    ) -> ConversationWithMessages:
        """One of the user's conversations with all its messages, in one query."""
        key = as_uuid(conversation_id, "conversation_id")
        return await self._with_messages(user_id, self._conversations.c.id == key)

    async def get_with_messages_by_session_id(
        self, user_id: uuid.UUID, session_id: str
    ) -> ConversationWithMessages:
        """The user's conversation with ``session_id`` and all its messages, in one query."""
        condition = self._conversations.c.session_id == _session_id(session_id)
        return await self._with_messages(user_id, condition)

    async def _with_messages(
        self, user_id: uuid.UUID, condition: ColumnElement[bool]
    ) -> ConversationWithMessages:
        conversations, messages = self._conversations, self._messages
        statement = (
            select(
                *conversations.c,
                *(column.label(_PREFIX + column.name) for column in messages.c),
            )
            .select_from(
                conversations.outerjoin(messages, messages.c.conversation_id == conversations.c.id)
            )
            .where(condition, conversations.c.user_id == as_uuid(user_id, "user_id"))
            .order_by(messages.c.created_at, messages.c.id)
        )
        async with self._db.read_transaction() as session:
            rows = (await session.execute(statement)).mappings().all()
        if not rows:
            raise NotFoundError(self._not_found)
        found = [
            {
                name.removeprefix(_PREFIX): value
                for name, value in row.items()
                if name.startswith(_PREFIX)
            }
            for row in rows
        ]
        conversation = {
            name: value for name, value in rows[0].items() if not name.startswith(_PREFIX)
        }
        return ConversationWithMessages.model_validate(
            {
                **conversation,
                "messages": [message for message in found if message["id"] is not None],
            }
        )

    async def add_message(
        self, user_id: uuid.UUID, conversation_id: uuid.UUID, data: MessageIn | Mapping[str, Any]
    ) -> MessageOut:
        """Append a message to one of the user's conversations (NotFoundError otherwise) and
        mark the conversation as updated."""
        owner = as_uuid(user_id, "user_id")
        key = as_uuid(conversation_id, "conversation_id")
        message = parse(MessageIn, data)
        conversations = self._conversations
        touch = (
            update(conversations)
            .where(conversations.c.id == key, conversations.c.user_id == owner)
            .values(updated_at=func.now())
            .returning(conversations.c.id)
        )
        async with self._db.transaction() as session:
            if (await session.execute(touch)).first() is None:
                raise NotFoundError(self._not_found)
            statement = (
                insert(self._messages)
                .values(**message.model_dump(), conversation_id=key)
                .returning(*self._messages.c)
            )
            row = (await session.execute(statement)).mappings().one()
        return MessageOut.model_validate(row)

    async def list_messages(
        self, user_id: uuid.UUID, conversation_id: uuid.UUID, limit: int = 50, offset: int = 0
    ) -> Page[MessageOut]:
        """One page of the messages of one of the user's conversations, oldest first."""
        owned = self._owned(as_uuid(user_id, "user_id"))
        key = as_uuid(conversation_id, "conversation_id")
        page = page_request(limit, offset)
        messages = self._messages
        statement = (
            select(*messages.c)
            .where(messages.c.conversation_id == key)
            .order_by(messages.c.created_at, messages.c.id)
        )
        async with self._db.read_transaction() as session:
            await owned.get(key, session=session)
            result = await fetch_page(session, statement, page)
        return convert_page(result, MessageOut)

    async def list_for_user(
        self, user_id: uuid.UUID, limit: int = 50, offset: int = 0
    ) -> Page[ConversationOut]:
        """The user's conversations, most recently updated first."""
        owned = self._owned(as_uuid(user_id, "user_id"))
        page = await owned.list_page(limit, offset, order_by=["-updated_at"])
        return convert_page(page, ConversationOut)

    async def update(
        self,
        user_id: uuid.UUID,
        conversation_id: uuid.UUID,
        changes: ConversationUpdate | Mapping[str, Any],
    ) -> ConversationOut:
        """Change the title or metadata of one of the user's conversations, or NotFoundError."""
        owned = self._owned(as_uuid(user_id, "user_id"))
        row = await owned.update(
            as_uuid(conversation_id, "conversation_id"), parse(ConversationUpdate, changes)
        )
        return ConversationOut.model_validate(row)

    async def delete(self, user_id: uuid.UUID, conversation_id: uuid.UUID) -> None:
        """Delete one of the user's conversations and its messages, or NotFoundError."""
        owned = self._owned(as_uuid(user_id, "user_id"))
        await owned.delete(as_uuid(conversation_id, "conversation_id"))


def _session_id(value: Any) -> str:
    session_id: str = parse_value(SessionId, value, "session_id")
    return session_id
