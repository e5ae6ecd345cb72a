"""Structured JSON logs without personal data or secrets.

:func:`configure_logging` sends every record through :class:`JsonFormatter`: one JSON object
per line with ``timestamp``, ``level``, ``logger``, ``message``, the record's ``extra`` fields
and any exception. Before a record is written, :func:`scrub` removes what must never reach a
log: e-mail addresses, passwords and tokens in ``key=value`` text, credentials in URLs,
PostgreSQL's ``Key (column)=(value)`` details and SQLAlchemy's ``[parameters: ...]``; extra
fields named like a secret or a personal attribute are replaced whole. SQLAlchemy's engine
logger is held at WARNING so statement parameters are never logged.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import traceback
from datetime import UTC, datetime
from typing import IO, Any, Final

REDACTED: Final = "[redacted]"

_SENSITIVE_KEY: Final = re.compile(
    r"pass|secret|token|auth|credential|api_?key|cookie|session_?key|"
    r"email|e_mail|phone|address|first_?name|last_?name|full_?name|birth|ssn|\bip\b",
    re.IGNORECASE,
)
_PATTERNS: Final = (
    (re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"), "[email]"),
    (re.compile(r"(://)[^/\s:@]+:[^/\s@]+@"), r"\1" + REDACTED + "@"),
    (
        re.compile(
            r"\b(password|passwd|pwd|secret|token|api_?key|auth_?token)(\s*[=:]\s*)"
            r"(?:'[^']*'|\"[^\"]*\"|\S+)",
            re.IGNORECASE,
        ),
        r"\1\2" + REDACTED,
    ),
    (re.compile(r"\b(PASSWORD\s+)'(?:[^']|'')*'", re.IGNORECASE), r"\1" + REDACTED),
    (re.compile(r"(Key \([^)]*\)=\().*?(\)(?: already exists| is not present|\s|$))"),
     r"\1" + REDACTED + r"\2"),
    (re.compile(r"\[parameters: .*?\](?=\s*(?:\(|$|\n))", re.DOTALL), "[parameters: redacted]"),
)  # fmt: skip

_STANDARD_ATTRIBUTES: Final = frozenset(
    vars(logging.LogRecord("", 0, "", 0, "", None, None)).keys() | {"message", "asctime"}
)


def scrub(text: str) -> str:
    """``text`` with e-mail addresses, credentials and row values replaced."""
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def _clean(key: str, value: Any) -> Any:
    if _SENSITIVE_KEY.search(key):
        return REDACTED
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, bool | int | float) or value is None:
        return value
    if isinstance(value, dict):
        return {str(k): _clean(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(key, item) for item in value]
    return scrub(str(value))


class JsonFormatter(logging.Formatter):
    """One scrubbed JSON object per record."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as a JSON line (values scrubbed, sensitive fields redacted)."""
        document: dict[str, Any] = {
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": scrub(record.getMessage()),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRIBUTES and not key.startswith("_"):
                document[key] = _clean(key, value)
        if record.exc_info and record.exc_info[0] is not None:
            exc_type, exc, tb = record.exc_info
            document["exception"] = {
                "type": exc_type.__name__,
                "traceback": scrub("".join(traceback.format_exception(exc_type, exc, tb))),
            }
        return json.dumps(document, default=str, ensure_ascii=False)


_HANDLER_NAME: Final = "datalayer-json"


def configure_logging(level: str = "INFO", stream: IO[str] | None = None) -> logging.Handler:
    """Log JSON lines to ``stream`` (stderr by default) from every logger, at ``level``.

    Replaces the handler an earlier call installed, so calling it twice is harmless.
    """
    root = logging.getLogger()
    for existing in list(root.handlers):
        if existing.get_name() == _HANDLER_NAME:
            root.removeHandler(existing)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(JsonFormatter())
    root.addHandler(handler)
    root.setLevel(level)
    # INFO on the engine logger prints every statement's parameters.
    logging.getLogger("sqlalchemy.engine").setLevel(logging.WARNING)
    return handler
