"""Input and output models of the conversation repository."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import ConfigDict, Field

from datalayer.schemas.common import InputModel, OutputModel
from datalayer.schemas.foodsave import Confidence, Content, JsonObject, Name50, Name255, SessionId


class MessageRole(StrEnum):
    """Who wrote a message (the ``ck_messages_role`` constraint)."""

    USER = "user"
    ASSISTANT = "assistant"
    SYSTEM = "system"
    TOOL = "tool"


class ConversationIn(InputModel):
    session_id: SessionId
    title: Name255 | None = None
    metadata: JsonObject = Field(default_factory=dict)


class ConversationUpdate(InputModel):
    title: Name255 | None = None
    metadata: JsonObject | None = None


class MessageIn(InputModel):
    model_config = ConfigDict(use_enum_values=True)

    content: Content
    role: MessageRole
    agent_used: Name50 | None = None
    confidence: Confidence | None = None
    metadata: JsonObject = Field(default_factory=dict)


class ConversationOut(OutputModel):
    id: uuid.UUID
    user_id: uuid.UUID
    session_id: str
    title: str | None
    metadata: dict[str, Any]
    created_at: datetime
    updated_at: datetime


class MessageOut(OutputModel):
    id: uuid.UUID
    conversation_id: uuid.UUID
    content: str
    role: MessageRole
    agent_used: str | None
    confidence: float | None
    metadata: dict[str, Any]
    created_at: datetime


class ConversationWithMessagesOut(ConversationOut):
    """A conversation and all its messages, oldest first."""

    messages: list[MessageOut]
