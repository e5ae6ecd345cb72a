"""The pgbouncer-metrics Lambda bundle: same pins as the datalayer, nothing it does not ship."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
REQUIREMENTS = ROOT / "lambdas" / "requirements.txt"
# Import names of the distributions in REQUIREMENTS (and of their own dependencies).
SHIPPED = {
    "sqlalchemy", "psycopg", "psycopg_binary", "pydantic", "pydantic_core", "pydantic_settings",
    "aws_lambda_powertools", "sqlparse", "typing_extensions", "typing_inspection",
    "annotated_types", "greenlet", "dotenv", "jmespath", "datalayer", "lambdas",
    "botocore",  # part of the Lambda Python runtime
    "cython_runtime",  # interpreter-internal, like the _-prefixed modules ignored below
}  # fmt: skip


def _pins(path: Path) -> dict[str, str]:
    result = {}
    for line in path.read_text().splitlines():
        line = line.split("#")[0].strip()
        if "==" in line:
            name, version = line.split("==")
            result[name.split("[")[0].lower()] = version
    return result


def test_pins_match_the_datalayer_and_infra() -> None:
    bundle = _pins(REQUIREMENTS)
    datalayer = _pins(ROOT / "requirements.txt")
    infra = _pins(ROOT / "requirements-infra.txt")
    shared = set(bundle) & set(datalayer)
    assert {"sqlalchemy", "psycopg", "sqlparse"} <= shared
    assert {name: bundle[name] for name in shared} == {name: datalayer[name] for name in shared}
    assert bundle["aws-lambda-powertools"] == infra["aws-lambda-powertools"]


def test_the_handler_imports_only_what_the_bundle_ships() -> None:
    code = (
        "import sys, json; before = set(sys.modules); "
        "import lambdas.pgbouncer_metrics.handler; "
        "new = {m.split('.')[0] for m in set(sys.modules) - before}; "
        "print(json.dumps(sorted(new - set(sys.stdlib_module_names))))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    imported = {name for name in json.loads(result.stdout) if not name.startswith("_")}
    assert imported - SHIPPED == set()
