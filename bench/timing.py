"""Latency summaries and the shared progress display."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


def latency_summary(seconds: Sequence[float]) -> dict[str, float]:
    """p50/p95/p99 and mean of per-call durations, in milliseconds."""
    samples = np.asarray(seconds, dtype=np.float64) * 1000.0
    p50, p95, p99 = np.percentile(samples, [50, 95, 99])
    return {
        "p50_ms": round(float(p50), 3),
        "p95_ms": round(float(p95), 3),
        "p99_ms": round(float(p99), 3),
        "mean_ms": round(float(samples.mean()), 3),
        "samples": int(samples.size),
    }


def progress_display() -> Progress:
    """A rich progress display with one bar per benchmark step."""
    return Progress(
        TextColumn("[progress.description]{task.description:<44}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
