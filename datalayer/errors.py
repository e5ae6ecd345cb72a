"""One error tree for everything the datalayer raises.

Callers catch :class:`DataLayerError` (or a subclass) and never see a driver exception:
:func:`translate_db_error` maps PostgreSQL SQLSTATEs to these classes at the boundary.
Messages name the constraint or column at fault, never the offending value, which may be
personal data or a credential.
"""

from __future__ import annotations

from enum import StrEnum
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


class RecallTargetError(DataLayerError):
    """No ef_search tried reached the recall target (the largest tried was stored)."""


class UnavailableReason(StrEnum):
    """Why a connection failed, in words a caller can act on."""

    REFUSED = "refused"
    TIMED_OUT = "timed out"
    AUTHENTICATION_FAILED = "authentication failed"
    UNKNOWN_DATABASE = "unknown database"
    NAME_NOT_RESOLVED = "name not resolved"
    CONNECTION_LOST = "connection lost"
    SERVER_NOT_READY = "server not ready"
    POOL_EXHAUSTED = "pool exhausted"
    CREDENTIALS_UNAVAILABLE = "credentials unavailable"
    UNKNOWN = "unknown"


# Retrying can help: the server may come back, the network may heal. A wrong password or a
# missing database stays wrong until someone changes the configuration.
_TRANSIENT_REASONS = frozenset(
    {
        UnavailableReason.REFUSED,
        UnavailableReason.TIMED_OUT,
        UnavailableReason.NAME_NOT_RESOLVED,
        UnavailableReason.CONNECTION_LOST,
        UnavailableReason.SERVER_NOT_READY,
        UnavailableReason.POOL_EXHAUSTED,
        UnavailableReason.UNKNOWN,
    }
)


class UnavailableError(DataLayerError):
    """The database or cache cannot be reached right now.

    ``reason`` says why (:class:`UnavailableReason`); ``transient`` says whether retrying
    later may succeed. The message never contains a host password or a secret.
    """

    def __init__(
        self,
        message: str = "database unavailable",
        *,
        reason: UnavailableReason = UnavailableReason.UNKNOWN,
    ) -> None:
        super().__init__(message)
        self.reason = reason

    @property
    def transient(self) -> bool:
        return self.reason in _TRANSIENT_REASONS


class QueryTimeoutError(DataLayerError):
    """A statement ran longer than ``DATABASE_STATEMENT_TIMEOUT_MS`` and was cancelled."""


class MigrationError(DataLayerError):
    """A migration failed, failed validation, or the schema drifted from the models."""


class MaintenanceError(DataLayerError):
    """One or more maintenance tasks failed (the others ran; each result says which)."""


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
    if _is_pool_timeout(exc):
        return _unavailable(UnavailableReason.POOL_EXHAUSTED)
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
    if sqlstate == "57014":
        return QueryTimeoutError("statement cancelled: it ran longer than the statement timeout")
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
    reason = connection_failure_reason(driver, sqlstate)
    if reason is not None:
        return _unavailable(reason)
    if _is_connection_error(exc):
        return _unavailable(UnavailableReason.CONNECTION_LOST)
    return DataLayerError(f"database error (SQLSTATE {sqlstate or 'unknown'})")


def _unavailable(reason: UnavailableReason) -> UnavailableError:
    return UnavailableError(f"database unavailable ({reason})", reason=reason)


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


# libpq reports connection failures without a SQLSTATE: its message (English, from libpq and
# from the server's FATAL line) is all there is. Only the matched reason leaves this module.
_MESSAGE_REASONS: tuple[tuple[str, UnavailableReason], ...] = (
    ("timeout expired", UnavailableReason.TIMED_OUT),
    ("failed to resolve host", UnavailableReason.NAME_NOT_RESOLVED),
    ("could not translate host name", UnavailableReason.NAME_NOT_RESOLVED),
    ("connection refused", UnavailableReason.REFUSED),
    ("password authentication failed", UnavailableReason.AUTHENTICATION_FAILED),
    ("no pg_hba.conf entry", UnavailableReason.AUTHENTICATION_FAILED),
    ("authentication failed", UnavailableReason.AUTHENTICATION_FAILED),
    ("does not exist", UnavailableReason.UNKNOWN_DATABASE),
    ("the database system is", UnavailableReason.SERVER_NOT_READY),
    ("too many clients", UnavailableReason.SERVER_NOT_READY),
    ("no more connections allowed", UnavailableReason.SERVER_NOT_READY),
    ("server closed the connection", UnavailableReason.CONNECTION_LOST),
    ("terminating connection", UnavailableReason.CONNECTION_LOST),
    ("connection is lost", UnavailableReason.CONNECTION_LOST),
    ("connection is closed", UnavailableReason.CONNECTION_LOST),
)

_SQLSTATE_REASONS: dict[str, UnavailableReason] = {
    "28P01": UnavailableReason.AUTHENTICATION_FAILED,
    "28000": UnavailableReason.AUTHENTICATION_FAILED,
    "3D000": UnavailableReason.UNKNOWN_DATABASE,
    "53300": UnavailableReason.SERVER_NOT_READY,
    "57P03": UnavailableReason.SERVER_NOT_READY,
    "25P03": UnavailableReason.CONNECTION_LOST,
}


def connection_failure_reason(
    driver: BaseException, sqlstate: str | None = None
) -> UnavailableReason | None:
    """Why ``driver`` (a psycopg exception) failed to reach the database; ``None`` when the
    error is not a connection failure."""
    import psycopg

    sqlstate = sqlstate if sqlstate is not None else getattr(driver, "sqlstate", None) or ""
    if sqlstate in _SQLSTATE_REASONS:
        return _SQLSTATE_REASONS[sqlstate]
    if isinstance(driver, psycopg.errors.ConnectionTimeout):
        return UnavailableReason.TIMED_OUT
    if sqlstate.startswith(("08", "57P")):
        return UnavailableReason.CONNECTION_LOST
    if sqlstate or not isinstance(driver, psycopg.OperationalError):
        return None
    text = str(driver).lower()
    for fragment, reason in _MESSAGE_REASONS:
        if fragment in text:
            return reason
    return UnavailableReason.UNKNOWN


def _is_pool_timeout(exc: BaseException) -> bool:
    from sqlalchemy.exc import TimeoutError as PoolTimeoutError

    return isinstance(exc, PoolTimeoutError)


def _is_connection_error(exc: BaseException) -> bool:
    from sqlalchemy.exc import DBAPIError

    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)
