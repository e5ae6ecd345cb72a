"""Prometheus backend for containers: the shared metric names in a registry of their own.

Prometheus names are the CloudWatch names verbatim (``QueryLatency``, ``CacheL1Hits``) and
the labels are the dimension names (``Environment``, ``DataType`` ...), so one mapping rule
carries a scraped series to the metric the alarms read. Counters are exposed with the
client's ``_total`` suffix, distributions as histograms (milliseconds) or, for recall, as a
summary (its ``_sum / _count`` is the average the alarm reads).
"""

from __future__ import annotations

import threading
from typing import Final

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Summary
from prometheus_client.exposition import generate_latest, start_http_server

from datalayer.metric_names import BREAKDOWNS, UNITS, Dimension, Metric, Unit
from datalayer.observability.emitter import KINDS, Kind, Point

LATENCY_BUCKETS_MS: Final = (1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000)
"""Histogram buckets of the millisecond distributions (alarm thresholds 500 ms and 3 s)."""

_Instrument = Counter | Gauge | Histogram | Summary


class PrometheusBackend:
    """Keeps every point in a :class:`CollectorRegistry`; scrape it with :meth:`serve`."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry(auto_describe=True)
        self._instruments: dict[Metric, _Instrument] = {}
        self._lock = threading.Lock()

    def record(self, point: Point) -> None:
        """Update the point's instrument, labelled with its dimensions."""
        labels = {Dimension.ENVIRONMENT.value: point.environment}
        breakdown = BREAKDOWNS.get(point.metric)
        if breakdown is not None:
            labels[breakdown.value] = point.breakdown[1] if point.breakdown else ""
        child = self._instrument(point.metric).labels(**labels)
        if isinstance(child, Counter):
            child.inc(point.value)
        elif isinstance(child, Gauge):
            child.set(point.value)
        else:
            child.observe(point.value)

    def flush(self) -> None:
        """Nothing to do: Prometheus pulls."""

    def exposition(self) -> bytes:
        """The registry in the Prometheus text format (what ``/metrics`` serves)."""
        return generate_latest(self.registry)

    def serve(self, port: int, address: str = "0.0.0.0") -> None:  # noqa: S104 - container port
        """Serve ``/metrics`` on ``port`` from a daemon thread."""
        start_http_server(port, addr=address, registry=self.registry)

    def _instrument(self, metric: Metric) -> _Instrument:
        with self._lock:
            instrument = self._instruments.get(metric)
            if instrument is None:
                instrument = _create(metric, self.registry)
                self._instruments[metric] = instrument
            return instrument


def _create(metric: Metric, registry: CollectorRegistry) -> _Instrument:
    labels = [Dimension.ENVIRONMENT.value]
    breakdown = BREAKDOWNS.get(metric)
    if breakdown is not None:
        labels.append(breakdown.value)
    unit = UNITS[metric]
    description = f"{metric.value} ({unit.value})"
    kind = KINDS[metric]
    if kind is Kind.COUNTER:
        return Counter(metric.value, description, labels, registry=registry)
    if kind is Kind.GAUGE:
        return Gauge(metric.value, description, labels, registry=registry)
    if unit is Unit.MILLISECONDS:
        return Histogram(
            metric.value, description, labels, registry=registry, buckets=LATENCY_BUCKETS_MS
        )
    return Summary(metric.value, description, labels, registry=registry)
