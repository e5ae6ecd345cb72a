"""Credentials from Secrets Manager (moto) against a real PostgreSQL whose password rotates.

The application keeps working across a rotation: a connection the server rejects makes the
datalayer fetch the secret once more and log in with the new password.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import boto3
import psycopg
import pytest
from moto import mock_aws
from psycopg import sql
from sqlalchemy import text
from sqlalchemy.engine import make_url

from datalayer.db import Database, credentials_provider, secret_database_url
from datalayer.errors import UnavailableError, UnavailableReason
from datalayer.settings import Settings, load_settings
from tests.services import PostgresHarness


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for name, value in {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        yield boto3.client("secretsmanager")


class RotatingLogin:
    """A LOGIN role on the session server, its RDS-shaped secret, and a rotation."""

    def __init__(self, postgres: PostgresHarness, database_url: str, client: Any) -> None:
        self.admin_url = postgres.admin_url
        self.role = f"rotating_{uuid.uuid4().hex[:8]}"
        self.client = client
        target = make_url(database_url)
        self._admin(
            sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                sql.Identifier(self.role), sql.Literal("first-password")
            )
        )
        self.secret = {
            "engine": "postgres",
            "username": self.role,
            "password": "first-password",
            "host": target.host,
            "port": target.port,
            "dbname": target.database,
        }
        self.arn = client.create_secret(
            Name=f"recipe/test/{self.role}", SecretString=json.dumps(self.secret)
        )["ARN"]

    def change_password(self, password: str, *, update_secret: bool) -> None:
        """What a rotation does: new password on the server (and in the secret); the old
        sessions are closed, so the next connections must log in again."""
        self._admin(
            sql.SQL("ALTER ROLE {} PASSWORD {}").format(
                sql.Identifier(self.role), sql.Literal(password)
            )
        )
        if update_secret:
            self.secret["password"] = password
            self.client.put_secret_value(SecretId=self.arn, SecretString=json.dumps(self.secret))
        self._admin(
            sql.SQL(
                # With a timeout it returns once each backend has exited (and said goodbye).
                "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity WHERE usename = {}"
            ).format(sql.Literal(self.role))
        )

    def drop(self) -> None:
        self._admin(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(self.role)))

    def _admin(self, statement: sql.Composable) -> None:
        with psycopg.connect(self.admin_url, autocommit=True) as connection:
            connection.execute(statement)


@pytest.fixture
def login(postgres: PostgresHarness, database_url: str, aws: Any) -> Iterator[RotatingLogin]:
    rotating = RotatingLogin(postgres, database_url, aws)
    yield rotating
    rotating.drop()


@pytest.fixture
def secret_settings(login: RotatingLogin) -> Settings:
    return load_settings(
        database_secret_arn=login.arn, database_sslmode="disable", database_pool_size=2
    )


@pytest.fixture
async def secret_db(secret_settings: Settings) -> AsyncIterator[Database]:
    database = Database.connect(secret_database_url(secret_settings), secret_settings)
    yield database
    await database.dispose()


async def _whoami(database: Database) -> str:
    async with database.read_transaction() as session:
        return str((await session.execute(text("SELECT current_user"))).scalar_one())


async def test_the_app_keeps_working_across_a_password_rotation(
    login: RotatingLogin, secret_db: Database, secret_settings: Settings
) -> None:
    provider = credentials_provider(secret_settings)
    assert provider is not None
    for _ in range(3):
        assert await _whoami(secret_db) == login.role
    assert provider.fetches == 1  # cached, not fetched per connection

    login.change_password("second-password", update_secret=True)
    for _ in range(3):
        assert await _whoami(secret_db) == login.role
    assert provider.fetches == 2  # fetched once more, after the server said no


async def test_a_password_the_secret_does_not_know_fails_after_one_refetch(
    login: RotatingLogin, secret_db: Database, secret_settings: Settings
) -> None:
    provider = credentials_provider(secret_settings)
    assert provider is not None
    assert await _whoami(secret_db) == login.role
    login.change_password("only-the-server-knows", update_secret=False)
    with pytest.raises(UnavailableError) as caught:
        await _whoami(secret_db)
    assert caught.value.reason is UnavailableReason.AUTHENTICATION_FAILED
    assert "first-password" not in str(caught.value)
    assert provider.fetches == 2


def test_the_url_comes_from_the_secret(login: RotatingLogin, secret_settings: Settings) -> None:
    url = make_url(secret_database_url(secret_settings))
    assert (url.username, url.password, url.query["sslmode"]) == (
        login.role,
        "first-password",
        "disable",
    )
