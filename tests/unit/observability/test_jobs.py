"""Job results: success or failure counted per job, duration observed either way."""

from __future__ import annotations

import pytest

from datalayer.metric_names import Job
from datalayer.observability.jobs import job_run
from tests.unit.observability.test_emitter import emf_emitter


def test_a_job_run_counts_its_outcome_and_duration() -> None:
    emitter, documents = emf_emitter()
    with job_run(Job.GDPR_EXPORT, emitter):
        pass
    with pytest.raises(RuntimeError), job_run(Job.GDPR_EXPORT, emitter):
        raise RuntimeError("boom")
    emitter.flush()
    (document,) = documents
    assert document["Job"] == "gdpr-export"
    assert document["JobSucceeded"] == [1.0]
    assert document["JobFailed"] == [1.0]
    assert len(document["JobDuration"]) == 2
