"""The shared metric names: one definition, light to import, used verbatim by the infra."""

from __future__ import annotations

import subprocess
import sys

from datalayer.metric_names import NAMESPACE, UNITS, Dimension, Metric
from tests.infra.conftest import repo_root


def test_every_metric_has_a_unit_and_a_unique_name() -> None:
    assert set(UNITS) == set(Metric)
    assert len({metric.value for metric in Metric}) == len(Metric)
    assert NAMESPACE == "RecipeApp/DataLayer"
    assert Dimension.ENVIRONMENT.value == "Environment"


def test_importing_it_pulls_in_nothing_but_the_standard_library() -> None:
    code = (
        "import sys; before = set(sys.modules); import datalayer.metric_names; "
        "new = {m.split('.')[0] for m in set(sys.modules) - before}; "
        "print(sorted(new - set(sys.stdlib_module_names) - {'datalayer'}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=repo_root(), capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
