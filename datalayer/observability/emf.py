"""CloudWatch embedded metric format backend for Lambdas, serialized by Powertools.

Points are buffered (counters summed, gauges last value, distribution samples kept) and
written as EMF JSON lines by :meth:`EmfBackend.flush`, which a handler calls before it
returns. A point with a breakdown is published under two dimension sets,
``[Environment]`` (what the alarms read) and ``[Environment, <breakdown>]``. Powertools'
automatic ``service`` dimension is turned off: it would move every point out of the
``Environment``-only series the alarms match exactly.
"""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Callable
from typing import Final

from datalayer.errors import ConfigurationError
from datalayer.metric_names import NAMESPACE, UNITS, Dimension, Metric
from datalayer.observability.emitter import Kind, Point

VALUES_PER_DOCUMENT: Final = 90
"""Samples per metric per EMF document (CloudWatch takes at most 100)."""

MAX_BUFFERED_SAMPLES: Final = 10_000
"""A distribution this long is flushed at once, so a process that never flushes stays bounded."""

_Group = tuple[str, tuple[Dimension, str] | None]


class EmfBackend:
    """Buffers points and writes them as EMF documents, one JSON line each, on flush."""

    def __init__(self, write: Callable[[str], object] | None = None) -> None:
        try:
            from aws_lambda_powertools.metrics.provider.cloudwatch_emf.cloudwatch import (
                AmazonCloudWatchEMFProvider,
            )
        except ImportError:  # pragma: no cover - only in an image without Powertools
            raise ConfigurationError(
                "METRICS_BACKEND=emf needs aws-lambda-powertools installed"
            ) from None
        self._provider_class = AmazonCloudWatchEMFProvider
        self._write = write or _print_line
        self._lock = threading.Lock()
        self._buffer: dict[_Group, dict[Metric, list[float]]] = {}

    def record(self, point: Point) -> None:
        """Buffer the point until the next :meth:`flush`."""
        with self._lock:
            group = self._buffer.setdefault((point.environment, point.breakdown), {})
            values = group.setdefault(point.metric, [])
            if point.kind is Kind.DISTRIBUTION or not values:
                values.append(point.value)
            elif point.kind is Kind.COUNTER:
                values[0] += point.value
            else:
                values[0] = point.value
            full = len(values) >= MAX_BUFFERED_SAMPLES
        if full:
            self.flush()

    def flush(self) -> None:
        """Write every buffered point as EMF and empty the buffer."""
        with self._lock:
            buffered, self._buffer = self._buffer, {}
        for (environment, breakdown), points in buffered.items():
            for document in self._documents(environment, breakdown, points):
                self._write(json.dumps(document, separators=(",", ":")))

    def _documents(
        self,
        environment: str,
        breakdown: tuple[Dimension, str] | None,
        points: dict[Metric, list[float]],
    ) -> list[dict[str, object]]:
        longest = max(len(values) for values in points.values())
        documents = []
        for start in range(0, longest, VALUES_PER_DOCUMENT):
            provider = self._provider_class(namespace=NAMESPACE, service="")
            provider.add_dimension(Dimension.ENVIRONMENT.value, environment)
            if breakdown is not None:
                dimension, label = breakdown
                provider.add_dimensions(
                    **{Dimension.ENVIRONMENT.value: environment, dimension.value: label}
                )
            for metric, values in points.items():
                for value in values[start : start + VALUES_PER_DOCUMENT]:
                    provider.add_metric(name=metric.value, unit=UNITS[metric].value, value=value)
            if provider.metric_set:
                documents.append(dict(provider.serialize_metric_set()))
        return documents


def _print_line(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()
