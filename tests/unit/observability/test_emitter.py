"""The emitter checks points against the shared names; each backend publishes them."""

from __future__ import annotations

import json
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from datalayer.errors import InvalidInputError
from datalayer.metric_names import NAMESPACE, Metric
from datalayer.observability.emf import VALUES_PER_DOCUMENT, EmfBackend
from datalayer.observability.emitter import Metrics, NoOpBackend
from datalayer.observability.prometheus import PrometheusBackend


def emf_emitter(environment: str = "prod") -> tuple[Metrics, list[dict[str, Any]]]:
    """An emitter on a real EMF backend whose lines land in a list."""
    lines: list[str] = []
    documents: list[dict[str, Any]] = []

    def write(line: str) -> None:
        lines.append(line)
        documents.append(json.loads(line))

    return Metrics(EmfBackend(write), environment=environment), documents


def test_points_that_break_the_shared_names_are_rejected() -> None:
    emitter = Metrics(NoOpBackend())
    with pytest.raises(InvalidInputError):
        emitter.observe(Metric.CACHE_L1_HITS, 1)  # a counter
    with pytest.raises(InvalidInputError):
        emitter.count(Metric.SLOW_STATEMENTS_LOGGED)  # only a log metric filter emits it
    with pytest.raises(InvalidInputError):
        emitter.count(Metric.CACHE_L1_HITS, data_type="x", job="y")
    with pytest.raises(InvalidInputError):
        emitter.count(Metric.CACHE_L1_HITS, job="gdpr-export")  # not its breakdown
    with pytest.raises(InvalidInputError):
        emitter.observe(Metric.QUERY_LATENCY, 3.0, data_type="user_profile")  # no breakdown
    with pytest.raises(InvalidInputError):
        emitter.observe(Metric.QUERY_LATENCY, float("nan"))
    with pytest.raises(InvalidInputError):
        emitter.count(Metric.CACHE_MISSES, data_type=" ")


def test_emf_documents_carry_the_alarm_dimension_set_and_the_breakdown(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "would-add-a-service-dimension")
    emitter, documents = emf_emitter("staging")
    emitter.count(Metric.CACHE_L1_HITS, data_type="user_profile")
    emitter.count(Metric.CACHE_L1_HITS, 2, data_type="user_profile")
    emitter.gauge(Metric.POOL_USAGE, 10, pool="primary")
    emitter.gauge(Metric.POOL_USAGE, 40, pool="primary")
    emitter.observe(Metric.QUERY_LATENCY, 1.5)
    emitter.observe(Metric.QUERY_LATENCY, 2.5)
    assert documents == []  # buffered until flush
    emitter.flush()
    by_dimensions = {
        json.dumps(doc["_aws"]["CloudWatchMetrics"][0]["Dimensions"]): doc for doc in documents
    }
    assert set(by_dimensions) == {
        '[["Environment"], ["Environment", "DataType"]]',
        '[["Environment"], ["Environment", "Pool"]]',
        '[["Environment"]]',
    }
    cache = by_dimensions['[["Environment"], ["Environment", "DataType"]]']
    assert cache["CacheL1Hits"] == [3.0]  # counts summed
    assert cache["Environment"] == "staging" and cache["DataType"] == "user_profile"
    assert "service" not in cache
    assert by_dimensions['[["Environment"], ["Environment", "Pool"]]']["PoolUsage"] == [40.0]
    latency = by_dimensions['[["Environment"]]']
    assert latency["QueryLatency"] == [1.5, 2.5]
    definition = latency["_aws"]["CloudWatchMetrics"][0]
    assert definition["Namespace"] == NAMESPACE
    assert definition["Metrics"] == [{"Name": "QueryLatency", "Unit": "Milliseconds"}]
    documents.clear()
    emitter.flush()
    assert documents == []  # the buffer was emptied


def test_emf_splits_long_distributions_into_documents_of_at_most_100_values() -> None:
    emitter, documents = emf_emitter()
    for value in range(VALUES_PER_DOCUMENT * 2 + 5):
        emitter.observe(Metric.VECTOR_SEARCH_LATENCY, value)
    emitter.flush()
    sizes = [len(doc["VectorSearchLatency"]) for doc in documents]
    assert sizes == [VALUES_PER_DOCUMENT, VALUES_PER_DOCUMENT, 5]
    assert [value for doc in documents for value in doc["VectorSearchLatency"]] == [
        float(v) for v in range(VALUES_PER_DOCUMENT * 2 + 5)
    ]


def test_emf_flushes_by_itself_when_a_distribution_grows_too_long(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("datalayer.observability.emf.MAX_BUFFERED_SAMPLES", 5)
    emitter, documents = emf_emitter()
    for value in range(12):
        emitter.observe(Metric.QUERY_LATENCY, value)
    assert [doc["QueryLatency"] for doc in documents] == [
        [0.0, 1.0, 2.0, 3.0, 4.0],
        [5.0, 6.0, 7.0, 8.0, 9.0],
    ]


def test_prometheus_exposes_the_shared_names_with_dimension_labels() -> None:
    backend = PrometheusBackend()
    emitter = Metrics(backend, environment="dev")
    emitter.count(Metric.CACHE_MISSES, 4, data_type="recipe_details")
    emitter.observe(Metric.QUERY_LATENCY, 12)
    emitter.observe(Metric.VECTOR_SEARCH_RECALL, 90)
    emitter.observe(Metric.VECTOR_SEARCH_RECALL, 100)
    emitter.gauge(Metric.PGBOUNCER_CLIENT_WAIT, 250, pgbouncer_database="recipes")
    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(backend.exposition().decode())
        for sample in family.samples
    }
    assert (
        samples[("CacheMisses_total", (("DataType", "recipe_details"), ("Environment", "dev")))]
        == 4
    )
    assert samples[("QueryLatency_count", (("Environment", "dev"),))] == 1
    assert samples[("QueryLatency_bucket", (("Environment", "dev"), ("le", "25.0")))] == 1
    assert samples[("QueryLatency_bucket", (("Environment", "dev"), ("le", "10.0")))] == 0
    recall_sum = samples[("VectorSearchRecall_sum", (("Environment", "dev"),))]
    recall_count = samples[("VectorSearchRecall_count", (("Environment", "dev"),))]
    assert recall_sum / recall_count == 95
    assert (
        samples[("PgBouncerClientWait", (("Environment", "dev"), ("PgBouncerDatabase", "recipes")))]
        == 250
    )


def test_the_process_emitter_can_be_pointed_at_a_backend_and_back() -> None:
    from datalayer.observability import metrics

    emitter, documents = emf_emitter()
    backend = emitter.backend
    before = metrics.backend
    with metrics.use(backend, environment="prod"):
        metrics.count(Metric.JOB_FAILED, job="gdpr-erasure")
    assert metrics.backend is before
    assert documents and documents[0]["JobFailed"] == [1.0]  # flushed when swapped out
    assert documents[0]["Job"] == "gdpr-erasure"


def test_every_metric_but_the_log_filter_one_has_a_kind_and_breakdowns_are_extra() -> None:
    from datalayer.metric_names import BREAKDOWNS, Dimension
    from datalayer.observability.emitter import KINDS

    assert set(KINDS) == set(Metric) - {Metric.SLOW_STATEMENTS_LOGGED}
    assert set(BREAKDOWNS) <= set(KINDS)
    assert Dimension.ENVIRONMENT not in BREAKDOWNS.values()
