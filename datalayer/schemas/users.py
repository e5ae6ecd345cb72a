"""Input and output models of the user repository."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import Field, StringConstraints, field_validator

from datalayer.schemas.common import InputModel, OutputModel

Username = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=3, max_length=50, pattern=r"^[\w.-]+$")
]
Email = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, to_lower=True, max_length=255, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
    ),
]
Auth0Id = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]
ConsentVersion = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32)
]


class ExportFormat(StrEnum):
    JSON = "json"
    CSV = "csv"


def _small_json(value: dict[str, Any]) -> dict[str, Any]:
    import json

    if len(json.dumps(value, default=str)) > 16_384:
        raise ValueError("must serialise to at most 16 KiB")
    return value


class UserIn(InputModel):
    username: Username
    email: Email
    auth0_user_id: Auth0Id | None = None
    consent_version: ConsentVersion | None = None
    preferences: dict[str, Any] = Field(default_factory=dict)

    _preferences = field_validator("preferences")(_small_json)


class UserUpdate(InputModel):
    username: Username | None = None
    email: Email | None = None
    preferences: dict[str, Any] | None = None

    _preferences = field_validator("preferences")(
        lambda value: None if value is None else _small_json(value)
    )


class UserOut(OutputModel):
    id: uuid.UUID
    username: str
    email: str
    auth0_user_id: str | None
    is_active: bool
    gdpr_consent_version: str | None
    gdpr_consent_at: datetime | None
    deletion_requested_at: datetime | None
    preferences: dict[str, Any]
    created_at: datetime
    updated_at: datetime
