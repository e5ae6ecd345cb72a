"""Settings: defaults, validation that names the variable, secrets kept out of output."""

from __future__ import annotations

import pytest

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


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (*SEED_VARIABLES, "HNSW_EF_SEARCH", "DATABASE_PGBOUNCER"):
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
