"""Shared pieces of the input and output models (pydantic v2)."""

from __future__ import annotations

import functools
import uuid
from typing import Annotated, Any, Generic, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    computed_field,
)

from datalayer.errors import InvalidInputError

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)

MAX_PAGE_SIZE = 500
MAX_OFFSET = 1_000_000

ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]
LongText = Annotated[str, StringConstraints(max_length=100_000)]
Tag = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]


class InputModel(BaseModel):
    """Base of every input model: unknown fields are errors, strings are stripped."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)


class OutputModel(BaseModel):
    """Base of every output model, built from ORM rows."""

    model_config = ConfigDict(from_attributes=True, frozen=True)


class PageRequest(InputModel):
    """``limit`` and ``offset`` of a list call: integers only (no ``"5"``, no ``True``)."""

    limit: StrictInt = Field(default=50, ge=1, le=MAX_PAGE_SIZE)
    offset: StrictInt = Field(default=0, ge=0, le=MAX_OFFSET)


class Page(BaseModel, Generic[T]):
    """One page of results, the total number of matching rows, and whether more follow.

    Frozen like the output models, since pages are cached and shared between callers.
    """

    model_config = ConfigDict(frozen=True)

    items: list[T]
    total: int
    limit: int
    offset: int

    @computed_field  # type: ignore[prop-decorator]
    @property
    def has_more(self) -> bool:
        """Whether rows follow this page (``offset + len(items) < total``)."""
        return self.offset + len(self.items) < self.total


def parse(model: type[M], data: Any) -> M:
    """Validate ``data`` into ``model``; failures become :class:`InvalidInputError`.

    The message names the fields at fault and the rule they break, never the values.
    """
    if isinstance(data, model):
        return data
    try:
        if isinstance(data, BaseModel):
            data = data.model_dump(exclude_unset=True)
        return model.model_validate(data)
    except ValidationError as exc:
        problems = []
        fields = []
        for error in exc.errors(include_input=False, include_url=False):
            where = ".".join(str(part) for part in error["loc"]) or model.__name__
            fields.append(where)
            problems.append(f"{where}: {error['msg']}")
        raise InvalidInputError(
            f"invalid {model.__name__}: " + "; ".join(problems), field=fields[0] if fields else None
        ) from None


def page_request(limit: int, offset: int) -> PageRequest:
    return parse(PageRequest, {"limit": limit, "offset": offset})


def bounded_int(value: Any, field: str, *, low: int, high: int) -> int:
    """``value`` as an integer in ``low..high``, or :class:`InvalidInputError`.

    Strict: a string, float or bool is refused rather than converted.
    """
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidInputError(f"{field} must be an integer from {low} to {high}", field=field)
    return value


def as_uuid_list(value: Any, field: str, *, max_items: int) -> list[uuid.UUID]:
    """``value`` (a list, tuple or set of UUIDs) as a de-duplicated list in the given order."""
    if isinstance(value, str | bytes) or not isinstance(value, list | tuple | set | frozenset):
        raise InvalidInputError(f"{field} must be a list of UUIDs", field=field)
    if len(value) > max_items:
        raise InvalidInputError(f"{field} must hold at most {max_items} ids", field=field)
    return list(dict.fromkeys(as_uuid(item, field) for item in value))


def require_changes(values: dict[str, Any], field: str = "updates") -> dict[str, Any]:
    """``values`` when it changes something; an empty update is :class:`InvalidInputError`."""
    if not values:
        raise InvalidInputError("nothing to update", field=field)
    return values


def as_uuid(value: Any, field: str) -> uuid.UUID:
    """``value`` as a UUID (a UUID or its string form), or :class:`InvalidInputError`."""
    if isinstance(value, uuid.UUID):
        return value
    try:
        if not isinstance(value, str):
            raise TypeError
        return uuid.UUID(value)
    except (TypeError, ValueError, AttributeError):
        raise InvalidInputError(f"{field} must be a UUID", field=field) from None


def parse_value(annotation: Any, value: Any, field: str) -> Any:
    """Validate a single value against a type (e.g. an ``Annotated`` constraint or enum)."""
    try:
        return _adapter(annotation).validate_python(value)
    except ValidationError as exc:
        message = exc.errors(include_input=False, include_url=False)[0]["msg"]
        raise InvalidInputError(f"{field}: {message}", field=field) from None


@functools.lru_cache(maxsize=128)
def _adapter(annotation: Any) -> TypeAdapter[Any]:
    return TypeAdapter(annotation)
