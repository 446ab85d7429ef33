"""SIGTERM stops a command by unwinding it: what it was writing is rolled back, and the
process exits with 143 (in a container, a command that is PID 1 would otherwise ignore it)."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from service import db
from service.auth import service as auth_service
from service.cli import ops
from service.db import reset_engines
from tests.cli.helpers import free_port, run


@pytest.mark.usefixtures("encoding_off")  # the demo's texts are encoded before the load
def test_sigterm_during_the_demo_load_rolls_it_back_and_exits_143(
        own_sqlite: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    def load_then_stop(session: Session, **_kw: Any) -> None:
        auth_service.create_key(session, role="admin", name="half done")
        session.flush()
        os.kill(os.getpid(), signal.SIGTERM)  # as `docker stop` would, mid-load
        raise AssertionError("SIGTERM did not stop the command")

    monkeypatch.setattr(ops, "load_demo", load_then_stop)
    before = signal.getsignal(signal.SIGTERM)

    status, stdout, err = run(capsys, "demo")

    assert (status, stdout, err) == (143, "", "stopped: SIGTERM\n")
    assert signal.getsignal(signal.SIGTERM) == before
    reset_engines()
    with sqlite3.connect(own_sqlite) as conn:
        assert conn.execute("SELECT count(*) FROM api_keys").fetchone() == (0,)


def test_serve_leaves_sigterm_to_the_server(
        own_sqlite: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    import uvicorn

    seen: list[Any] = []
    monkeypatch.setattr(uvicorn, "run",
                        lambda *_a, **_kw: seen.append(signal.getsignal(signal.SIGTERM)))

    status, _out, err = run(capsys, "serve", "--port", free_port())

    assert status == 0, err
    assert seen == [signal.SIG_DFL]  # uvicorn installs its own, and raises SIGTERM again after
    assert own_sqlite.is_file()


@pytest.mark.parametrize("stopped", [False, True])
def test_a_command_leaves_the_whole_database_in_its_file(
        own_sqlite: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str], stopped: bool) -> None:
    """After any command, finished or stopped, a copy of the SQLite file alone holds what the
    command committed: no write-ahead log is left beside it."""
    def stop(*_a: Any, **_kw: Any) -> None:
        os.kill(os.getpid(), signal.SIGTERM)

    monkeypatch.setattr(ops, "load_demo", stop)
    status, _out, err = run(capsys, "keys", "create", "--role", "admin", "--name", "kept")
    if stopped:
        assert run(capsys, "demo")[0] == 143

    assert status == 0, err
    assert sorted(p.name for p in own_sqlite.parent.iterdir()) == ["sscmatch.db"]
    copy = own_sqlite.with_name("copy.db")
    copy.write_bytes(own_sqlite.read_bytes())
    with closing(sqlite3.connect(copy)) as conn:
        assert conn.execute("SELECT name FROM api_keys").fetchall() == [("kept",)]


def test_serve_from_another_thread_leaves_the_signals_alone(
        own_sqlite: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Signal handlers belong to the main thread: a command run from another thread (as an
    embedding program might) neither sets nor restores them, and does not fail on them."""
    import uvicorn

    from service.cli import main

    monkeypatch.setattr(uvicorn, "run", lambda *_a, **_kw: None)
    before = signal.getsignal(signal.SIGTERM)
    port = free_port()
    results: list[int | BaseException] = []

    def serve() -> None:
        try:
            results.append(main(["serve", "--port", port]))
        except BaseException as exc:  # the test reports what came out
            results.append(exc)

    thread = threading.Thread(target=serve)
    thread.start()
    thread.join(timeout=60)

    assert results == [0]
    assert signal.getsignal(signal.SIGTERM) == before
    assert own_sqlite.is_file()


def test_sigterm_while_the_commands_load_stops_the_command(tmp_path: Path) -> None:
    """`sscmatch` takes a few seconds to import its commands before it runs one; a SIGTERM
    then (`docker stop` just after `docker run`) stops it too. Without a handler by then, a
    process that is PID 1, as in a container, ignores the signal and runs on."""
    database = tmp_path / "sscmatch.db"
    code = "\n".join([
        "import os, signal, sys",
        "class StopWhileLoading:",
        "    def find_spec(self, name, path=None, target=None):",
        "        if name == 'service.cli.commands':",
        "            os.kill(os.getpid(), signal.SIGTERM)",
        "sys.meta_path.insert(0, StopWhileLoading())",
        "from service.cli import main",
        "sys.exit(main(['migrate']))",
    ])
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{database}"}

    done = subprocess.run([sys.executable, "-c", code], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=120, check=False)

    assert (done.returncode, done.stdout, done.stderr) == (143, "", "stopped: SIGTERM\n")
    assert not database.exists()


def test_a_command_waits_for_the_write_lock_beyond_the_busy_timeout(
        own_sqlite: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """Another process may hold SQLite's write lock longer than the busy timeout (the demo
    load plans a table): a command waits for it, saying so, rather than failing with
    "database is locked"."""
    assert run(capsys, "migrate")[0] == 0
    monkeypatch.setattr(db, "SQLITE_BUSY_TIMEOUT_S", 0.2)
    reset_engines()
    with closing(sqlite3.connect(own_sqlite, isolation_level=None,
                                 check_same_thread=False)) as other:
        other.execute("BEGIN IMMEDIATE")
        release = threading.Timer(1.5, other.execute, args=("ROLLBACK",))
        release.start()
        try:
            status, out, err = run(capsys, "keys", "create", "--role", "admin", "--name", "late")
        finally:
            release.join()

    assert status == 0, err
    assert "created admin key" in out
    assert err.startswith("waiting for the database: another process is writing to it")
    with closing(sqlite3.connect(own_sqlite)) as conn:
        assert conn.execute("SELECT name FROM api_keys").fetchall() == [("late",)]
