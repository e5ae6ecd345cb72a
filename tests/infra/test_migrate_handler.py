"""The migrate Lambda handler against a real (embedded) PostgreSQL; moto plays Secrets Manager."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass

import boto3
import psycopg
import pytest
from moto import mock_aws
from sqlalchemy.engine import make_url

from datalayer.db.credentials import RdsSecret
from datalayer.errors import MigrationError
from lambdas.migrate import handler as migrate
from lambdas.migrate.login_roles import set_login_passwords


@dataclass
class FakeContext:
    """The attributes Powertools reads from a Lambda context."""

    function_name: str = "recipe-test-migrate"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:recipe-test-migrate"
    aws_request_id: str = "00000000-0000-0000-0000-000000000000"


@pytest.fixture
def secret_arn(empty_database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """An RDS-shaped secret (as Secrets Manager stores it) for the test database."""
    for name, value in {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "DATABASE_SSLMODE": "disable",  # the local server has no certificate
    }.items():
        monkeypatch.setenv(name, value)
    url = make_url(empty_database_url)
    with mock_aws():
        client = boto3.client("secretsmanager")
        arn = client.create_secret(
            Name="recipe/test/database/master",
            SecretString=json.dumps(
                {
                    "engine": "postgres",
                    "username": url.username,
                    "password": url.password or "",
                    "host": url.host,
                    "port": url.port,
                    "dbname": url.database,
                }
            ),
        )["ARN"]
        monkeypatch.setenv("DATABASE_SECRET_ARN", arn)
        logins = [
            client.create_secret(
                Name=f"recipe/test/database/{name}",
                SecretString=json.dumps({"username": username, "password": f"{name}-Pw-1"}),
            )["ARN"]
            for name, username in (("app", "recipe_app_login"), ("pgbouncer", "pgbouncer_auth"))
        ]
        monkeypatch.setenv("LOGIN_ROLE_SECRET_ARNS", ",".join(logins))
        yield arn


def test_handler_migrates_the_database_named_by_the_secret(
    secret_arn: str, empty_database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    first = migrate.handler({}, FakeContext())
    assert first["revision"] == "head"
    assert first["applied"], "nothing was applied to an empty database"
    assert first["login_roles"] == ["recipe_app_login", "pgbouncer_auth"]
    url = make_url(empty_database_url)
    with psycopg.connect(
        host=url.host, port=url.port, dbname=url.database, user="recipe_app_login",
        password="app-Pw-1",
    ) as connection:  # fmt: skip
        assert connection.execute("SELECT current_user").fetchone() == ("recipe_app_login",)
    second = migrate.handler({"revision": "head"}, FakeContext())
    assert second["applied"] == []  # idempotent: a redeploy applies nothing twice
    password = make_url(empty_database_url).password
    if password:
        assert password not in capsys.readouterr().out


def test_database_url_encodes_credentials() -> None:
    secret = {
        "username": "admin@x",
        "password": "p@ss:w/rd%?#",
        "host": "db.internal",
        "port": 5432,
        "dbname": "recipes",
    }
    url = make_url(RdsSecret.model_validate(secret).url())
    assert (url.username, url.password, url.host, url.port, url.database) == (
        "admin@x",
        "p@ss:w/rd%?#",
        "db.internal",
        5432,
        "recipes",
    )
    assert url.drivername == "postgresql+psycopg"
    assert url.query["sslmode"] == "require"


def test_only_the_migrations_login_roles_can_be_set(empty_database_url: str) -> None:
    with pytest.raises(MigrationError) as error:
        set_login_passwords(empty_database_url, [{"username": "postgres", "password": "x-y-z"}])
    assert "x-y-z" not in str(error.value)
