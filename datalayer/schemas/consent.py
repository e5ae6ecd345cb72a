"""Input and output models of consent records."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import StringConstraints

from datalayer.schemas.common import InputModel, OutputModel


class ConsentPurpose(StrEnum):
    PERSONALIZATION = "personalization"
    ANALYTICS = "analytics"
    MARKETING = "marketing"


PolicyVersion = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32)
]


class ConsentIn(InputModel):
    purpose: ConsentPurpose
    granted: bool
    policy_version: PolicyVersion


class ConsentOut(OutputModel):
    id: uuid.UUID
    user_id: uuid.UUID
    purpose: ConsentPurpose
    granted: bool
    policy_version: str
    recorded_at: datetime
