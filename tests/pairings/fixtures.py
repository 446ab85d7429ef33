"""Fixtures shared by the lifecycle, follow-up and report tests.

One application per test module (its routes are built on the first request, which costs a
few hundred milliseconds), whose request sessions join each test's rolled-back transaction;
and no text encoding on writes (the index encodes what it needs when a pairing is scored).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from service.config import get_settings
from service.main import create_app
from service.matching.index import IndexCache
from tests.conftest import join_test_transaction


@pytest.fixture(autouse=True)
def _no_encoding(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("ENCODE_ON_WRITE", "false")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture(scope="module")
def shared_app() -> FastAPI:
    """An application built once per module."""
    return create_app()


@pytest.fixture
def api(shared_app: FastAPI, session: Session) -> Iterator[TestClient]:
    """A client of the shared app whose request sessions join the test's transaction."""
    # A fresh index per test (creating a pairing scores it): rolled-back tests reuse revision
    # numbers, so an index built in another test's transaction must not be served here.
    shared_app.state.index_cache = IndexCache()
    join_test_transaction(shared_app, session)
    with TestClient(shared_app, raise_server_exceptions=False) as client:
        yield client
    shared_app.dependency_overrides.clear()
