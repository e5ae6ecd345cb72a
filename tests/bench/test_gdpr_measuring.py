"""The GDPR benchmark's transaction timing on marks whose answers are known by hand."""

from __future__ import annotations

import pytest

from bench.gdpr import TransactionClock, render_gdpr_markdown, transaction_spans


def test_each_transaction_runs_from_the_previous_commit_to_its_own() -> None:
    marks = [
        ("started", 1.0),
        ("started:committed", 1.5),
        ("recipes:delete", 2.0),
        ("recipes:committed", 4.0),
        ("users:delete", 4.5),
        ("users:committed", 4.75),
        ("completed", 5.0),
    ]
    assert transaction_spans(marks, started=0.5, finished=6.0) == [
        ("started", 1.0),
        ("recipes", 2.5),
        ("users", 0.75),
        ("completed", 1.25),
    ]


def test_time_after_the_last_commit_is_a_final_transaction() -> None:
    assert transaction_spans([("a:committed", 2.0)], started=0.0, finished=3.0) == [
        ("a", 2.0),
        ("final", 1.0),
    ]
    assert transaction_spans([("a:committed", 2.0)], started=0.0, finished=2.0) == [("a", 2.0)]


def test_the_clock_records_marks_from_the_callback() -> None:
    ticks = iter([10.0, 10.25, 11.0, 11.5])
    clock = TransactionClock(clock=lambda: next(ticks))
    clock.start()
    clock("x:delete")
    clock("x:committed")
    clock("completed")
    assert clock.spans(finished=12.0) == [("x", 1.0), ("completed", 1.0)]


def test_markdown_lists_every_figure_and_target() -> None:
    results = {
        "generated_at": "2026-12-02T17:00:00+00:00",
        "machine": {"load_average_at_start": [1.0, 1.0, 1.0], "cpu_cores": 2, "cpu_model": "x"},
        "load_average_at_end": [2.0, 2.0, 2.0],
        "export_s": 1.5,
        "erase_s": 2.5,
        "rows_exported": 10,
        "rows_erased": 9,
        "export_rows_per_s": 7,
        "erase_rows_per_s": 4,
        "export_bytes": 100,
        "max_lock_ms": 12.5,
        "max_lock_transaction": "recipes",
        "erase_transactions": 3,
        "verified": True,
        "load_s": 1.0,
        "targets": [
            {"target": "export <= 2 s", "measured": 1.5, "met": True},
            {"target": "erasure <= 2 s", "measured": 2.5, "met": False},
        ],
        "rows_per_table": {"recipes": 5},
    }
    text = render_gdpr_markdown(results)
    assert "| `max_lock_ms` | 12.5 |" in text
    assert "| erasure <= 2 s | 2.5 | no |" in text
    assert "- `recipes`: 5" in text


@pytest.mark.parametrize("finished", [0.0, -1.0])
def test_no_marks_and_no_time_means_no_transaction(finished: float) -> None:
    assert transaction_spans([], started=0.0, finished=finished) == []
