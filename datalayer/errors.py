"""One error tree for everything the datalayer raises.

Callers catch :class:`DataLayerError` (or a subclass) and never see a driver exception:
:func:`translate_db_error` maps PostgreSQL SQLSTATEs to these classes at the boundary.
Messages name the constraint or column at fault, never the offending value, which may be
personal data or a credential.
"""

from __future__ import annotations

from typing import Any


class DataLayerError(Exception):
    """Base class of every error the datalayer raises on purpose."""


class ConfigurationError(DataLayerError):
    """A setting is missing or invalid."""


class InvalidInputError(DataLayerError):
    """The caller's input is malformed or breaks a rule; nothing was written."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class ConstraintViolationError(InvalidInputError):
    """The database rejected a row because it breaks a CHECK, NOT NULL or foreign key."""

    def __init__(self, message: str, *, constraint: str | None = None) -> None:
        super().__init__(message)
        self.constraint = constraint


class NotFoundError(DataLayerError):
    """The entity does not exist, or the acting user may not see it (no existence leak)."""


class ConflictError(DataLayerError):
    """The write conflicts with existing data (duplicate key) or a concurrent transaction."""

    def __init__(self, message: str, *, constraint: str | None = None) -> None:
        super().__init__(message)
        self.constraint = constraint


class PermissionDeniedError(DataLayerError):
    """The database refused the operation (privileges or an append-only table)."""


class UnavailableError(DataLayerError):
    """The database or cache cannot be reached right now; retrying later may succeed."""


class MigrationError(DataLayerError):
    """A migration failed, failed validation, or the schema drifted from the models."""


_INTEGRITY_CLASSES: dict[str, tuple[type[DataLayerError], str]] = {
    "23505": (ConflictError, "duplicate value violates unique constraint"),
    "23P01": (ConflictError, "value violates exclusion constraint"),
    "23001": (ConflictError, "row is still referenced and cannot be removed"),
    "23514": (ConstraintViolationError, "value violates check constraint"),
    "23502": (ConstraintViolationError, "missing required value"),
    "23503": (ConstraintViolationError, "reference to a row that does not exist"),
}


def _diag(exc: BaseException, attribute: str) -> str | None:
    diag = getattr(exc, "diag", None)
    value = getattr(diag, attribute, None) if diag is not None else None
    return value if isinstance(value, str) else None


def _driver_error(exc: BaseException) -> BaseException:
    """The psycopg exception behind a SQLAlchemy wrapper (or the exception itself)."""
    inner: Any = getattr(exc, "orig", None)
    return inner if isinstance(inner, BaseException) else exc


def translate_db_error(exc: BaseException) -> DataLayerError:
    """Map a driver or SQLAlchemy exception to the datalayer's error tree."""
    if isinstance(exc, DataLayerError):
        return exc
    driver = _driver_error(exc)
    sqlstate = getattr(driver, "sqlstate", None) or ""
    constraint = _diag(driver, "constraint_name")
    column = _diag(driver, "column_name")
    if sqlstate == "23503" and (_diag(driver, "message_primary") or "").startswith(
        "update or delete on table"
    ):
        suffix = f" ({constraint})" if constraint else ""
        return ConflictError(f"row is still referenced{suffix}", constraint=constraint)
    if sqlstate in _INTEGRITY_CLASSES:
        cls, text = _INTEGRITY_CLASSES[sqlstate]
        where = constraint or column
        message = f"{text} ({where})" if where else text
        if cls is ConflictError:
            return ConflictError(message, constraint=constraint)
        return ConstraintViolationError(message, constraint=constraint or column)
    if sqlstate in ("40001", "40P01", "55P03"):
        return ConflictError("concurrent update conflict; retry the operation")
    if sqlstate == "42501":
        # PostgreSQL's and our triggers' messages name the object, never row values.
        message = _diag(driver, "message_primary") or "permission denied"
        return PermissionDeniedError(message)
    if sqlstate.startswith("22"):
        return InvalidInputError(f"invalid value ({_data_error_kind(sqlstate)})", field=column)
    if not sqlstate and type(driver).__name__ == "DataError":
        # psycopg refuses some values client-side (e.g. NUL in text): no SQLSTATE.
        return InvalidInputError("invalid value (cannot be sent to the database)")
    if sqlstate.startswith(("08", "57P")) or _is_connection_error(exc):
        return UnavailableError("database unavailable; retry later")
    return DataLayerError(f"database error (SQLSTATE {sqlstate or 'unknown'})")


def _data_error_kind(sqlstate: str) -> str:
    return {
        "22001": "value too long",
        "22003": "number out of range",
        "22007": "invalid datetime format",
        "22008": "datetime out of range",
        "22P02": "invalid text representation",
        "22021": "invalid byte sequence",
        "22000": "invalid data",
        "22023": "invalid parameter value",
    }.get(sqlstate, f"data exception {sqlstate}")


def _is_connection_error(exc: BaseException) -> bool:
    from sqlalchemy.exc import DBAPIError

    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)
