"""The log scrubber and the JSON formatter."""

from __future__ import annotations

import io
import json
import logging

from datalayer.observability.logs import configure_logging, scrub


def test_scrub_removes_emails_credentials_and_row_values() -> None:
    assert scrub("mail ann.lee+x@mail.example.co.uk now") == "mail [email] now"
    assert scrub("postgresql://app:s3cr3t@db:5432/x") == "postgresql://[redacted]@db:5432/x"
    assert scrub("password=abc token: 'x y' ok") == "password=[redacted] token: [redacted] ok"
    assert scrub("ALTER ROLE app PASSWORD 'it''s'") == "ALTER ROLE app PASSWORD [redacted]"
    assert (
        scrub("DETAIL:  Key (username)=(ann) already exists.")
        == "DETAIL:  Key (username)=([redacted]) already exists."
    )
    assert (
        scrub("[SQL: SELECT 1]\n[parameters: {'a': 'ann'}]\n(Background")
        == "[SQL: SELECT 1]\n[parameters: redacted]\n(Background"
    )
    assert scrub("SELECT count(*) FROM users") == "SELECT count(*) FROM users"


def test_records_are_json_with_sensitive_extras_redacted() -> None:
    stream = io.StringIO()
    handler = configure_logging("INFO", stream=stream)
    try:
        logging.getLogger("t").info(
            "hello %s", "world", extra={"api_key": "k-123", "rows": 3, "note": "to bob@x.org"}
        )
        assert configure_logging("INFO", stream=stream) is not handler  # replaced, not doubled
        assert handler not in logging.getLogger().handlers
    finally:
        for installed in list(logging.getLogger().handlers):
            if installed.get_name() == "datalayer-json":
                logging.getLogger().removeHandler(installed)
    (line,) = stream.getvalue().splitlines()
    record = json.loads(line)
    assert record["message"] == "hello world"
    assert record["api_key"] == "[redacted]"
    assert record["rows"] == 3
    assert record["note"] == "to [email]"
    assert record["level"] == "INFO" and record["logger"] == "t"
