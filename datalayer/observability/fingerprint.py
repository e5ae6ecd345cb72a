"""Statement fingerprints: SQL with every value taken out, so it is safe to log and group.

sqlparse's lexer splits the statement (it knows quoted strings, dollar quotes, comments and
placeholders); every literal and bind placeholder becomes ``?``, comments go, whitespace is
folded, and lists of values collapse (``IN (?, ?, ?)`` and ``IN (?)`` both become
``IN (...)``, multi-row ``VALUES (...), (...)`` becomes ``VALUES (...), ...``), so statements
that differ only in their values or list lengths share one fingerprint.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Final

from sqlparse import tokens
from sqlparse.lexer import tokenize

_VALUE_LIST: Final = re.compile(r"\(\s*\?(?:\s*,\s*\?)*\s*\)")
_ARRAY: Final = re.compile(r"\[\s*\?(?:\s*,\s*\?)*\s*\]")
_ROWS: Final = re.compile(r"\(\.\.\.\)(?:\s*,\s*\(\.\.\.\))+")
_STRING_PREFIX: Final = frozenset({"E", "e", "B", "b", "X", "x", "N", "n"})
MAX_STATEMENT_CHARS: Final = 20_000
"""Longer statements are fingerprinted on their first characters (values cut off too)."""


@dataclass(frozen=True)
class Fingerprint:
    """A normalized statement and its short stable id (first 16 hex of its SHA-256)."""

    id: str
    sql: str


def _is_value(ttype: tokens._TokenType) -> bool:
    return ttype in tokens.Literal or ttype in tokens.Name.Placeholder


def normalize(statement: str) -> str:
    """``statement`` with literals, placeholders and comments replaced or removed."""
    parts: list[str] = []
    for ttype, text in tokenize(statement[:MAX_STATEMENT_CHARS]):  # type: ignore[no-untyped-call]
        if ttype in tokens.Comment:
            continue
        if ttype in tokens.Whitespace or ttype in tokens.Newline:
            parts.append(" ")
        elif ttype in tokens.String.Symbol:  # "quoted identifier", not a value
            parts.append(text)
        elif _is_value(ttype):
            if parts and parts[-1] in _STRING_PREFIX:
                parts.pop()  # E'...', B'...', X'...' prefixes belong to the literal
            parts.append("?")
        else:
            parts.append(text)
    text = re.sub(r"\s+", " ", "".join(parts)).strip()
    text = _VALUE_LIST.sub("(...)", text)
    text = _ARRAY.sub("[...]", text)
    return _ROWS.sub("(...), ...", text)


@lru_cache(maxsize=4096)
def fingerprint(statement: str) -> Fingerprint:
    """The fingerprint of ``statement`` (cached: the datalayer repeats its statements)."""
    sql = normalize(statement)
    return Fingerprint(hashlib.sha256(sql.encode()).hexdigest()[:16], sql)
