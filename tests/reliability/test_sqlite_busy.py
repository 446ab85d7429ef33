"""SQLite takes one writer at a time: a write request that waits out the busy timeout for
another process's write answers a 503 that says so, and changes nothing."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from service import db
from service.db import reset_engines
from service.main import create_app
from tests.cli.helpers import own_sqlite_file
from tests.conftest import bearer
from tests.factories import API, assert_problem


def test_a_write_that_waits_out_the_busy_timeout_answers_503_saying_the_database_is_busy(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    with own_sqlite_file(tmp_path, monkeypatch, "busy") as path:
        admin = capsys.readouterr().out.splitlines()[-1]  # `keys create` prints it last
        monkeypatch.setattr(db, "SQLITE_BUSY_TIMEOUT_S", 0.2)
        reset_engines()
        with TestClient(create_app()) as client, \
                closing(sqlite3.connect(path, isolation_level=None)) as other:
            other.execute("BEGIN IMMEDIATE")  # another process writing
            response = client.post(f"{API}/groupings", headers=bearer(admin),
                                   json={"code": "BUSY", "name": "Busy grouping"})
            other.execute("ROLLBACK")

            problem = assert_problem(response, 503)
            assert "busy with another write" in problem["detail"]
            assert response.headers["Retry-After"] == "5"
            assert client.get(f"{API}/groupings/BUSY", headers=bearer(admin)).status_code == 404
