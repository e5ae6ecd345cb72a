"""Snapshot of every stack in every environment (content hashes normalised).

Update after an intended change with ``pytest tests/infra --snapshot-update`` and review the
diff of ``tests/infra/__snapshots__``.
"""

from __future__ import annotations

import pytest
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.json import JSONSnapshotExtension

from infra.tooling.synth import STACK_KINDS, SynthResult
from tests.infra.conftest import normalize


@pytest.fixture
def json_snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    return snapshot.use_extension(JSONSnapshotExtension)


@pytest.mark.parametrize("kind", STACK_KINDS)
def test_stack_matches_snapshot(
    synth: dict[str, SynthResult], env: str, kind: str, json_snapshot: SnapshotAssertion
) -> None:
    assert normalize(synth[env].templates[kind]) == json_snapshot


def test_normalisation_removes_only_content_hashes() -> None:
    template = {
        "Resources": {
            "FnCurrentVersionAD40F45D9bb05e893fbe71ad377eab21a5faa4eb": {
                "Properties": {"S3Key": "a" * 64 + ".zip", "Name": "recipe-dev"}
            }
        }
    }
    assert normalize(template) == {
        "Resources": {
            "FnCurrentVersionAD40F45D<hash>": {
                "Properties": {"S3Key": "<sha256>.zip", "Name": "recipe-dev"}
            }
        }
    }
