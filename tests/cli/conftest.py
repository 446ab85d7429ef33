"""Fixtures of the command-line tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from service.config import get_settings


@pytest.fixture
def cli_db(committed_db: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The committed test database, with text encoding switched off (fast bulk loads)."""
    monkeypatch.setenv("ENCODE_ON_WRITE", "false")
    get_settings.cache_clear()
    yield committed_db
    get_settings.cache_clear()
