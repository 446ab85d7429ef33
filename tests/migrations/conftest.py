"""Fixtures of the migration tests: a throwaway database per test (SQLite file, or a
PostgreSQL database when TEST_DATABASE_URL is set), and the API served on it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from service.config import get_settings
from service.db import make_engine, reset_engines
from service.main import create_app
from tests.reliability.conftest import load_bench

crash = load_bench("crash")


@pytest.fixture
def fresh_url(tmp_path: Path) -> Iterator[str]:
    """URL of an empty database that exists only for this test."""
    server = os.environ.get("TEST_DATABASE_URL")
    with crash.throwaway_database("postgresql" if server else "sqlite", server, tmp_path) as url:
        yield url


@pytest.fixture
def fresh_engine(fresh_url: str) -> Iterator[Engine]:
    engine = make_engine(fresh_url)
    yield engine
    engine.dispose()


@pytest.fixture
def no_encoding(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Store items without computing text vectors (the migrations do not touch them)."""
    monkeypatch.setenv("ENCODE_ON_WRITE", "false")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@contextmanager
def client_on(url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    """The API served on the database at `url`, as `sscmatch serve` would serve it."""
    monkeypatch.setenv("DATABASE_URL", url)
    reset_engines()
    try:
        with TestClient(create_app()) as client:
            yield client
    finally:
        reset_engines()
