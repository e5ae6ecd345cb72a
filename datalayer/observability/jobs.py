"""Job results as metrics: ``JobSucceeded`` / ``JobFailed`` and ``JobDuration`` per job."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from datalayer.metric_names import Job, Metric
from datalayer.observability.emitter import Metrics
from datalayer.observability.emitter import metrics as default_metrics


@contextmanager
def job_run(job: Job, emitter: Metrics | None = None) -> Iterator[None]:
    """Time the block and count it as a success, or as a failure if it raises (re-raised)."""
    metrics = emitter or default_metrics
    started = time.perf_counter()
    try:
        yield
    except BaseException:
        metrics.count(Metric.JOB_FAILED, job=job.value)
        raise
    else:
        metrics.count(Metric.JOB_SUCCEEDED, job=job.value)
    finally:
        metrics.observe(Metric.JOB_DURATION, (time.perf_counter() - started) * 1000, job=job.value)
