"""Fixtures of the command-line tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from service.config import get_settings
from service.db import reset_engines


@contextmanager
def _encode_on_write(monkeypatch: pytest.MonkeyPatch, value: str) -> Iterator[None]:
    monkeypatch.setenv("ENCODE_ON_WRITE", value)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
def encoding_off(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Text encoding on write switched off (fast bulk loads)."""
    with _encode_on_write(monkeypatch, "false"):
        yield


@pytest.fixture
def encoding_on(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Text encoding on write switched on, whatever the environment says."""
    with _encode_on_write(monkeypatch, "true"):
        yield


@pytest.fixture
def cli_db(committed_db: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The committed test database, with text encoding switched off (fast bulk loads)."""
    with _encode_on_write(monkeypatch, "false"):
        yield committed_db


@pytest.fixture
def own_sqlite(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A SQLite file of its own, whatever database the suite runs on."""
    path = tmp_path / "sscmatch.db"
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{path}")
    reset_engines()
    yield path
    reset_engines()
