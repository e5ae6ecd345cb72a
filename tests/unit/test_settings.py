"""Settings: defaults, validation that names the variable, secrets kept out of output."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from datalayer.errors import ConfigurationError
from datalayer.settings import Settings, load_settings

SEED_VARIABLES = (
    "DATABASE_URL",
    "DATABASE_READ_URL",
    "REDIS_URL",
    "DATABASE_POOL_SIZE",
    "DATABASE_MAX_OVERFLOW",
    "DATABASE_POOL_TIMEOUT",
    "DATABASE_POOL_RECYCLE",
    "DATABASE_ECHO",
    "EMBEDDING_DIM",
)


CONNECTION_VARIABLES = (
    "DATABASE_CONNECT_TIMEOUT_S",
    "DATABASE_STATEMENT_TIMEOUT_MS",
    "DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS",
    "DATABASE_LOCK_TIMEOUT_MS",
    "DATABASE_LOCK_RETRIES",
    "DATABASE_READ_RETRY_ATTEMPTS",
    "DATABASE_READ_RETRY_BACKOFF_MS",
    "DATABASE_READ_RETRY_MAX_BACKOFF_MS",
    "DATABASE_SECRET_ARN",
    "DATABASE_SSLMODE",
)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        *SEED_VARIABLES,
        "HNSW_EF_SEARCH",
        "DATABASE_PGBOUNCER",
        "AWS_LAMBDA_FUNCTION_NAME",
        "DATABASE_APP_ROLE",
        *CONNECTION_VARIABLES,
    ):
        monkeypatch.delenv(name, raising=False)


def test_defaults_follow_the_seeds() -> None:
    settings = load_settings()
    assert settings.database_url is None
    assert (settings.database_pool_size, settings.database_max_overflow) == (20, 30)
    assert (settings.database_pool_timeout, settings.database_pool_recycle) == (30, 3600)
    assert settings.database_echo is False
    assert settings.embedding_dim == 1536


def test_every_seed_variable_is_a_setting() -> None:
    assert {name.lower() for name in SEED_VARIABLES} <= set(Settings.model_fields)


def test_values_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_POOL_SIZE", "7")
    monkeypatch.setenv("DATABASE_ECHO", "true")
    monkeypatch.setenv("EMBEDDING_DIM", "384")
    settings = load_settings()
    assert (settings.database_pool_size, settings.database_echo, settings.embedding_dim) == (
        7,
        True,
        384,
    )


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("DATABASE_POOL_SIZE", "zero"),
        ("DATABASE_POOL_SIZE", "0"),
        ("DATABASE_MAX_OVERFLOW", "-1"),
        ("EMBEDDING_DIM", "0"),
        ("DATABASE_ECHO", "maybe"),
        ("REDIS_URL", "http://cache:6379"),
    ],
)
def test_invalid_values_fail_fast_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigurationError, match=variable):
        load_settings()


def test_a_bad_url_error_does_not_echo_the_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "mysql://admin:hunter2-secret@db/app")
    with pytest.raises(ConfigurationError, match="DATABASE_URL") as caught:
        load_settings()
    assert "hunter2" not in str(caught.value)


def test_secrets_do_not_appear_in_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://app:hunter2-secret@db/app")
    monkeypatch.setenv("REDIS_URL", "rediss://:redis-secret@cache:6379/0")
    settings = load_settings()
    assert "hunter2" not in repr(settings) and "redis-secret" not in repr(settings)
    assert settings.database_url is not None
    assert "hunter2" in settings.database_url.get_secret_value()


def test_every_connection_variable_is_a_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    assert {name.lower() for name in CONNECTION_VARIABLES} <= set(Settings.model_fields)
    monkeypatch.setenv("DATABASE_CONNECT_TIMEOUT_S", "3")
    monkeypatch.setenv("DATABASE_LOCK_TIMEOUT_MS", "250")
    monkeypatch.setenv("DATABASE_READ_RETRY_ATTEMPTS", "4")
    settings = load_settings()
    assert (
        settings.database_connect_timeout_s,
        settings.database_lock_timeout_ms,
        settings.database_read_retry_attempts,
    ) == (3, 250, 4)


def test_connections_time_out_by_default() -> None:
    settings = load_settings()
    assert 1 <= settings.database_connect_timeout_s <= 10
    assert settings.database_statement_timeout_ms > 0
    assert settings.database_idle_in_transaction_timeout_ms > 0


def test_lambda_pool_fits_one_invocation(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "recipe-prod-api")
    settings = load_settings()
    assert (settings.database_pool_size, settings.database_max_overflow) == (2, 0)


def test_an_explicit_pool_size_wins_in_lambda(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "recipe-prod-api")
    monkeypatch.setenv("DATABASE_POOL_SIZE", "4")
    settings = load_settings()
    assert (settings.database_pool_size, settings.database_max_overflow) == (4, 0)


def test_a_non_numeric_port_is_a_one_line_configuration_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://app:hunter2-secret@db:fivefour/app")
    with pytest.raises(ConfigurationError, match="DATABASE_URL: has a port") as caught:
        load_settings()
    assert "\n" not in str(caught.value) and "hunter2" not in str(caught.value)


def test_the_app_role_error_keeps_its_rule_in_a_rich_terminal(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DATABASE_APP_ROLE", "Recipe-App")
    with pytest.raises(ConfigurationError) as caught:
        load_settings()
    console = Console(file=io.StringIO(), width=400, color_system=None)
    console.print(f"error: {caught.value}")
    printed = console.file.getvalue()  # type: ignore[attr-defined]
    assert "DATABASE_APP_ROLE" in printed
    assert "lowercase" in printed and "62" in printed
