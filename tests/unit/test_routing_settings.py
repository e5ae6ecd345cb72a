"""Replica settings: one URL or a list, never both; thresholds; WAL positions."""

from __future__ import annotations

import pytest

from datalayer.db import RoutingPolicy
from datalayer.db.routing import parse_lsn
from datalayer.errors import ConfigurationError
from datalayer.settings import load_settings

_VARIABLES = (
    "DATABASE_READ_URL",
    "DATABASE_READ_URLS",
    "DATABASE_REPLICA_MAX_LAG_S",
    "DATABASE_READ_YOUR_WRITES_WAIT_S",
    "DATABASE_REPLICA_PROBE_INTERVAL_S",
    "DATABASE_REPLICA_PROBE_TIMEOUT_S",
)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in _VARIABLES:
        monkeypatch.delenv(name, raising=False)


def test_no_replica_by_default() -> None:
    assert load_settings().replica_urls() == []


def test_read_urls_is_a_comma_separated_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "DATABASE_READ_URLS", "postgresql://u:p@replica-1/db, postgresql://u:p@replica-2/db"
    )
    assert load_settings().replica_urls() == [
        "postgresql://u:p@replica-1/db",
        "postgresql://u:p@replica-2/db",
    ]


def test_read_url_is_a_one_replica_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_READ_URL", "postgresql://u:p@replica/db")
    assert load_settings().replica_urls() == ["postgresql://u:p@replica/db"]


def test_both_forms_at_once_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_READ_URL", "postgresql://u:p@replica/db")
    monkeypatch.setenv("DATABASE_READ_URLS", "postgresql://u:p@replica/db")
    with pytest.raises(ConfigurationError, match="DATABASE_READ_URLS or DATABASE_READ_URL"):
        load_settings()


def test_a_bad_url_in_the_list_is_refused_without_echoing_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DATABASE_READ_URLS", "postgresql://u:p@ok/db,mysql://u:hunter2@bad/db")
    with pytest.raises(ConfigurationError, match="DATABASE_READ_URLS") as raised:
        load_settings()
    assert "hunter2" not in str(raised.value)


def test_thresholds_must_be_positive(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_REPLICA_MAX_LAG_S", "0")
    with pytest.raises(ConfigurationError, match="DATABASE_REPLICA_MAX_LAG_S"):
        load_settings()


def test_policy_comes_from_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_REPLICA_MAX_LAG_S", "2.5")
    monkeypatch.setenv("DATABASE_READ_YOUR_WRITES_WAIT_S", "7")
    policy = RoutingPolicy.from_settings(load_settings())
    assert (policy.max_lag_s, policy.read_your_writes_wait_s) == (2.5, 7.0)


def test_wal_positions_compare_as_numbers() -> None:
    assert parse_lsn("0/16B3748") == 0x16B3748
    assert parse_lsn("1/0") == 1 << 32
    assert parse_lsn("A/0") > parse_lsn("9/FFFFFFFF")
