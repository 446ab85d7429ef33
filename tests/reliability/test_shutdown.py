"""A stopped SQLite server leaves its whole database in one file: a plain copy of that file,
the backup the README describes, holds every acknowledged write."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
from pathlib import Path

import httpx
import pytest

from tests.factories import item_payload
from tests.reliability.conftest import load_bench

crash = load_bench("crash")


@pytest.mark.server
@pytest.mark.parametrize("workers", [1, 2])
def test_a_stopped_server_leaves_every_write_in_the_database_file(tmp_path: Path,
                                                                 workers: int) -> None:
    db = tmp_path / "sscmatch.db"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{db}", "ENCODE_ON_WRITE": "false",
           "LOG_LEVEL": "warning"}
    env.pop("CORS_ORIGINS", None)
    server = crash.Server(env, workers=workers, log=tmp_path / "server.log")
    server.start()  # migrates the new database first
    try:
        key = crash.create_key(env, "country", "CHL")
        created = httpx.post(f"{server.url}/api/v1/offers", json=item_payload("offer"),
                             headers={"Authorization": f"Bearer {key}"}, timeout=30)
        assert created.status_code == 201, created.text
    finally:
        server.stop()
    # uvicorn exits by the signal it stopped for, once it has shut down (one process).
    assert server.proc is not None
    assert server.proc.returncode in (0, -signal.SIGTERM), (tmp_path / "server.log").read_text()

    wal = db.with_name(db.name + "-wal")
    assert not wal.exists() or wal.stat().st_size == 0
    copy = tmp_path / "copy.db"
    shutil.copyfile(db, copy)  # the file alone, as a backup would take it
    with sqlite3.connect(copy) as conn:
        titles = [row[0] for row in conn.execute("SELECT title FROM offers")]
    assert titles == [created.json()["title"]]
