"""The crash test of bench/crash.py, short: the real server with two workers on a throwaway
database of the suite's kind (SQLite in WAL mode, or PostgreSQL when TEST_DATABASE_URL is set),
SIGKILLed once in the middle of a stream of writes, restarted and checked."""

from __future__ import annotations

import os

import pytest

from tests.reliability.conftest import load_bench

crash = load_bench("crash")


@pytest.mark.server
def test_sigkill_under_writes_loses_no_acknowledged_write() -> None:
    pg_url = os.environ.get("TEST_DATABASE_URL")
    db = "postgresql" if pg_url else "sqlite"

    result = crash.run(db, pg_url=pg_url, kills=1, seconds=4.0, threads=4, workers=2,
                       min_writes=30)

    print(result.line())
    assert result.problems == []
    assert result.acknowledged > 20
    assert result.found == result.acknowledged
