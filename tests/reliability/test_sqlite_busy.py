"""SQLite takes one writer at a time: a write request that waits out the busy timeout for
another process's write answers a 503 that says so, and changes nothing."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from service import db
from service.auth.service import create_key
from service.countries.seed import seed_reference
from service.db import reset_engines, session_scope
from service.main import create_app
from service.migrate import upgrade
from tests.conftest import bearer
from tests.factories import API, assert_problem


@pytest.fixture
def sqlite_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A migrated SQLite file of its own, whatever database the suite runs on."""
    path = tmp_path / "sscmatch.db"
    url = f"sqlite:///{path}"
    upgrade(url)
    monkeypatch.setenv("DATABASE_URL", url)
    reset_engines()
    yield path
    reset_engines()


def test_a_write_that_waits_out_the_busy_timeout_answers_503_saying_the_database_is_busy(
        sqlite_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with session_scope() as session:
        seed_reference(session)
        _key, admin = create_key(session, role="admin", name="busy")
    monkeypatch.setattr(db, "SQLITE_BUSY_TIMEOUT_S", 0.2)
    reset_engines()
    with TestClient(create_app()) as client, \
            closing(sqlite3.connect(sqlite_file, isolation_level=None)) as other:
        other.execute("BEGIN IMMEDIATE")  # another process writing
        response = client.post(f"{API}/groupings", headers=bearer(admin),
                               json={"code": "BUSY", "name": "Busy grouping"})
        other.execute("ROLLBACK")

        problem = assert_problem(response, 503)
        assert "busy with another write" in problem["detail"]
        assert response.headers["Retry-After"] == "5"
        assert client.get(f"{API}/groupings/BUSY", headers=bearer(admin)).status_code == 404
