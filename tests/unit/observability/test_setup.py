"""METRICS_BACKEND picks the backend; METRICS_ENVIRONMENT tags every point."""

from __future__ import annotations

import pytest

from datalayer.errors import ConfigurationError
from datalayer.observability.emf import EmfBackend
from datalayer.observability.emitter import Metrics, NoOpBackend
from datalayer.observability.prometheus import PrometheusBackend
from datalayer.observability.setup import configure_metrics
from datalayer.settings import load_settings


@pytest.mark.parametrize(
    ("choice", "backend_type"),
    [("none", NoOpBackend), ("prometheus", PrometheusBackend), ("emf", EmfBackend)],
)
def test_the_backend_follows_the_settings(choice: str, backend_type: type) -> None:
    emitter = Metrics()
    settings = load_settings(metrics_backend=choice, metrics_environment="staging")
    backend = configure_metrics(settings, emitter)
    assert isinstance(backend, backend_type)
    assert emitter.backend is backend
    assert emitter.environment == "staging"


def test_bad_metrics_settings_are_configuration_errors() -> None:
    with pytest.raises(ConfigurationError, match="METRICS_BACKEND"):
        load_settings(metrics_backend="statsd")
    with pytest.raises(ConfigurationError, match="METRICS_ENVIRONMENT"):
        load_settings(metrics_environment="Prod Env")
    with pytest.raises(ConfigurationError, match="DATABASE_SLOW_QUERY_MS"):
        load_settings(database_slow_query_ms=0)
