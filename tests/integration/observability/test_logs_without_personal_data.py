"""Sentinel personal data and secrets pass through real calls and never reach the JSON logs."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from datalayer.db import Database
from datalayer.errors import DataLayerError
from datalayer.observability.logs import configure_logging
from datalayer.observability.queries import QueryMonitor
from datalayer.repositories.users import UserRepository
from datalayer.settings import Settings
from tests.unit.observability.test_emitter import emf_emitter

SENTINEL_EMAIL = "zz.sentinel.person@example.org"
SENTINEL_PASSWORD = "Sentinel-Secret-4471"
SENTINEL_AUTH0 = "auth0|sentinel-subject-9182"
SENTINELS = (SENTINEL_EMAIL, SENTINEL_PASSWORD, SENTINEL_AUTH0, "sentinel_user")

log = logging.getLogger("app.signup")


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    previous_level = root.level
    engine_level = logging.getLogger("sqlalchemy.engine").level
    stream = io.StringIO()
    handler = configure_logging("DEBUG", stream=stream)
    yield stream
    root.removeHandler(handler)
    root.setLevel(previous_level)
    logging.getLogger("sqlalchemy.engine").setLevel(engine_level)


async def test_sentinels_never_reach_the_logs(
    db: Database, settings: Settings, captured: io.StringIO
) -> None:
    emitter, documents = emf_emitter()
    # Threshold 0: every statement is logged as slow, so every statement is a chance to leak.
    monitor = QueryMonitor.install(db.write_engine, slow_query_ms=0, emitter=emitter)
    users = UserRepository(db, settings)
    signup = {"username": "sentinel_user", "email": SENTINEL_EMAIL, "auth0_user_id": SENTINEL_AUTH0}
    created = await users.create_user(signup)
    try:
        await users.create_user(signup)
    except DataLayerError:
        log.exception("signup failed")
    async with db.transaction() as session:
        await session.execute(text("SELECT CAST(:secret AS text)"), {"secret": SENTINEL_PASSWORD})
    # An untranslated driver error: its text holds the SQL parameters and the row's values.
    async with db.write_engine.connect() as connection:
        try:
            await connection.execute(
                text("INSERT INTO users (username, email) VALUES (:u, :e)"),
                {"u": "sentinel_user2", "e": SENTINEL_EMAIL},
            )
        except IntegrityError as exc:
            assert SENTINEL_EMAIL in str(exc)  # the raw error does carry it
            log.exception("raw insert failed")
    log.info("login attempt for %s", SENTINEL_EMAIL)
    log.info("signup", extra={"email": SENTINEL_EMAIL, "password": SENTINEL_PASSWORD})
    log.warning("connecting to postgresql://app:%s@db:5432/recipes", SENTINEL_PASSWORD)
    log.info("retry with password=%s token: %s", SENTINEL_PASSWORD, SENTINEL_AUTH0)
    log.info(
        "user created", extra={"user_id": str(created.id), "profile": {"email": SENTINEL_EMAIL}}
    )
    monitor.detach(db.write_engine)
    emitter.flush()

    output = captured.getvalue()
    lines = [json.loads(line) for line in output.splitlines()]
    for sentinel in SENTINELS:
        assert sentinel.lower() not in output.lower()
        assert sentinel.lower() not in json.dumps(documents).lower()
    # The records were written (scrubbed), not dropped.
    messages = [line["message"] for line in lines]
    assert messages.count("slow statement") >= 4
    assert any(line.get("statement", "").startswith("INSERT INTO users") for line in lines)
    assert {"signup failed", "raw insert failed", "login attempt for [email]"} <= set(messages)
    raw = next(line for line in lines if line["message"] == "raw insert failed")
    assert raw["exception"]["type"] == "IntegrityError"
    assert "[parameters: redacted]" in raw["exception"]["traceback"]
    extras = next(line for line in lines if line["message"] == "signup")
    assert extras["email"] == extras["password"] == "[redacted]"
    assert all({"timestamp", "level", "logger", "message"} <= set(line) for line in lines)
