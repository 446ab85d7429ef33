"""The planning module stays pure: no web layer, no ORM, no randomness."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "service" / "planning"
ALLOWED = {
    "__future__", "collections", "dataclasses", "itertools", "math", "time", "typing",
    "numpy", "scipy", "service",
}  # fmt: skip
FORBIDDEN = {"fastapi", "sqlalchemy", "pydantic", "models", "starlette", "random", "datetime"}
FILES = sorted(PACKAGE.rglob("*.py"))


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
        elif isinstance(node, ast.ImportFrom):
            names.add("service.planning")  # relative import stays inside the package
    return names


def test_package_has_files() -> None:
    assert len(FILES) >= 5


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_imports_are_pure(path: Path) -> None:
    for name in _imports(path):
        top = name.split(".")[0]
        assert top not in FORBIDDEN, f"{path.name} imports {name}"
        assert top in ALLOWED, f"{path.name} imports {name}, not in the allowed list"
        if top == "service":
            assert name.startswith("service.planning"), f"{path.name} imports {name}"


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_files_stay_short(path: Path) -> None:
    assert len(path.read_text(encoding="utf-8").splitlines()) <= 400
