"""The shape of infra/: grouped by role, no import circles, names shared with the migrations."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from infra.config import EnvironmentConfig
from lambdas.migrate.login_roles import LOGIN_ROLES
from tests.infra.conftest import repo_root

INFRA = repo_root() / "infra"


def _module(path: Path) -> str:
    parts = path.relative_to(repo_root()).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports() -> dict[str, set[str]]:
    """infra module -> the infra modules it imports (TYPE_CHECKING imports included)."""
    modules = {_module(path): path for path in INFRA.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                candidates = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
                targets |= {c for c in candidates if c in modules}
            elif isinstance(node, ast.Import):
                targets |= {a.name for a in node.names if a.name in modules}
        graph[name] = targets - {name}
    return graph


def test_no_import_circles() -> None:
    graph = _imports()
    state: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for target in graph[node]:
            if state.get(target) == 1:
                raise AssertionError(" -> ".join([*path, node, target]))
            if target not in state:
                visit(target, [*path, node])
        state[node] = 2

    for node in graph:
        if node not in state:
            visit(node, [])


def test_infra_is_grouped_by_role() -> None:
    loose = sorted(p.name for p in INFRA.glob("*.py") if p.name != "__init__.py")
    assert loose == ["deployment.py"]
    for folder in ("config", "compliance", "constructs", "stacks", "tooling"):
        assert (INFRA / folder / "__init__.py").exists(), folder


def test_login_role_names_match_migration_0002(configs: dict[str, EnvironmentConfig]) -> None:
    migration = (repo_root() / "datalayer/migrations/versions/0002_login_roles.py").read_text()
    names = dict(re.findall(r'^(APP_LOGIN_ROLE|PGBOUNCER_AUTH_ROLE) = "(\w+)"', migration, re.M))
    for config in configs.values():
        assert names["APP_LOGIN_ROLE"] == config.database.app_login_username
        assert names["PGBOUNCER_AUTH_ROLE"] == config.database.pgbouncer_auth_username
    assert set(names.values()) == LOGIN_ROLES
