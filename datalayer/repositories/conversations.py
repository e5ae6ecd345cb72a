"""FoodSave assistant conversations and their messages.

The contract verbs come from :class:`OwnedRepository` (``create``, ``get``, ``find``,
``list_for_user``, ``update``, ``delete``, the acting user first); another user's
conversation is reported exactly like a missing one, is never changed and never gets a
message. A conversation with its messages is read in one statement (a LEFT JOIN, like
``joinedload``). ``list_for_user`` sorts by ``updated_at`` (default ``-updated_at``, most
recently active first), ``created_at`` or ``title``.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import ColumnElement, func, insert, select, update

from datalayer.db import Database, idempotent_read
from datalayer.errors import NotFoundError
from datalayer.models import Conversation, Message
from datalayer.repositories.active_users import require_active_user
from datalayer.repositories.crud import convert_page, fetch_page, table_of
from datalayer.repositories.owned import OwnedRepository
from datalayer.schemas.common import Page, as_uuid, page_request, parse, parse_value
from datalayer.schemas.conversations import (
    ConversationIn,
    ConversationOut,
    ConversationUpdate,
    ConversationWithMessagesOut,
    MessageIn,
    MessageOut,
)
from datalayer.schemas.foodsave import SessionId

_PREFIX = "message_"


class ConversationRepository(OwnedRepository[ConversationIn, ConversationUpdate, ConversationOut]):
    """A user's conversations: find by session id, read with messages, add messages."""

    def __init__(self, db: Database) -> None:
        super().__init__(
            db,
            Conversation,
            schemas=(ConversationIn, ConversationUpdate, ConversationOut),
            id_name="conversation_id",
            sort_keys=("updated_at", "created_at", "title"),
            default_sort="-updated_at",
        )
        self._conversations = self.table
        self._messages = table_of(Message)
        self._not_found = "conversations row not found"

    async def get_by_session_id(self, user_id: uuid.UUID, session_id: str) -> ConversationOut:
        """The user's conversation with ``session_id``, or NotFoundError."""
        found = await self.find_by_session_id(user_id, session_id)
        if found is None:
            raise NotFoundError(self._not_found)
        return found

    async def find_by_session_id(
        self, user_id: uuid.UUID, session_id: str
    ) -> ConversationOut | None:
        """The user's conversation with ``session_id``, or None."""
        row = await self.rows(user_id).find_by({"session_id": _session_id(session_id)})
        return None if row is None else ConversationOut.model_validate(row)

    async def get_with_messages(
        self, user_id: uuid.UUID, conversation_id: uuid.UUID
    ) -> ConversationWithMessagesOut:
        """One of the user's conversations with all its messages, in one query."""
        key = as_uuid(conversation_id, "conversation_id")
        return await self._with_messages(user_id, self._conversations.c.id == key)

    async def get_with_messages_by_session_id(
        self, user_id: uuid.UUID, session_id: str
    ) -> ConversationWithMessagesOut:
        """The user's conversation with ``session_id`` and all its messages, in one query."""
        condition = self._conversations.c.session_id == _session_id(session_id)
        return await self._with_messages(user_id, condition)

    @idempotent_read
    async def _with_messages(
        self, user_id: uuid.UUID, condition: ColumnElement[bool]
    ) -> ConversationWithMessagesOut:
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
        return ConversationWithMessagesOut.model_validate(
            {
                **conversation,
                "messages": [message for message in found if message["id"] is not None],
            }
        )

    async def create_message(
        self, user_id: uuid.UUID, conversation_id: uuid.UUID, data: MessageIn | Mapping[str, Any]
    ) -> MessageOut:
        """Append a message to one of the user's conversations (NotFoundError otherwise) and
        mark the conversation as updated; the user must be active."""
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
            await require_active_user(session, owner)
            if (await session.execute(touch)).first() is None:
                raise NotFoundError(self._not_found)
            statement = (
                insert(self._messages)
                .values(**message.model_dump(), conversation_id=key)
                .returning(*self._messages.c)
            )
            row = (await session.execute(statement)).mappings().one()
        return MessageOut.model_validate(row)

    @idempotent_read
    async def list_messages(
        self,
        user_id: uuid.UUID,
        conversation_id: uuid.UUID,
        *,
        limit: int = 50,
        offset: int = 0,
    ) -> Page[MessageOut]:
        """One page of the messages of one of the user's conversations, oldest first."""
        key = as_uuid(conversation_id, "conversation_id")
        page = page_request(limit, offset)
        messages = self._messages
        statement = (
            select(*messages.c)
            .where(messages.c.conversation_id == key)
            .order_by(messages.c.created_at, messages.c.id)
        )
        async with self._db.read_transaction() as session:
            await self.get(user_id, key, session=session)
            result = await fetch_page(session, statement, page)
        return convert_page(result, MessageOut)


def _session_id(value: Any) -> str:
    session_id: str = parse_value(SessionId, value, "session_id")
    return session_id
