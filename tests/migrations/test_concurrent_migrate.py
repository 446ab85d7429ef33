"""`sscmatch migrate` started several times at once on one database (several
containers whose `serve` migrates first, or `keys create` beside a starting `serve`): one
process migrates and seeds, the others wait for it and find the work done."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from service.db import make_engine
from service.migrate import current_revision, head_revision
from tests.reliability.conftest import load_bench

crash = load_bench("crash")
PROCESSES = 6


def _migrate_at_once(url: str) -> tuple[list[tuple[int, str, str]], str | None, int, int]:
    """Start `sscmatch migrate` PROCESSES times at once on `url`; return each one's (status,
    stdout, stderr), then the database's revision and its countries and factors."""
    env = {**os.environ, "DATABASE_URL": url}
    started = [subprocess.Popen([sys.executable, "-m", "service.cli", "migrate"], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for _ in range(PROCESSES)]
    finished = [(p.wait(timeout=120), *p.communicate()) for p in started]
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            countries: int = conn.execute(text("SELECT count(*) FROM countries")).scalar_one()
            factors: int = conn.execute(text("SELECT count(*) FROM factors")).scalar_one()
        return finished, current_revision(engine), countries, factors
    finally:
        engine.dispose()


# SQLite: the migration takes the write lock before it reads the revision (migrations/env.py);
# without it, one of six often failed with "database is locked": three databases in a row
# make that near certain. PostgreSQL: an advisory lock (`service.migrate.migration_lock`).
@pytest.mark.parametrize(("kind", "rounds"), [("sqlite", 3), ("postgresql", 1)])
def test_concurrent_migrates_of_a_new_database_all_succeed(tmp_path: Path, kind: str,
                                                           rounds: int) -> None:
    if kind == "postgresql" and not os.environ.get("TEST_DATABASE_URL"):
        pytest.skip("needs PostgreSQL (TEST_DATABASE_URL)")
    for round_ in range(rounds):
        workdir = tmp_path / str(round_)
        workdir.mkdir()
        with crash.throwaway_database(kind, os.environ.get("TEST_DATABASE_URL"),
                                      workdir) as url:
            finished, revision, countries, factors = _migrate_at_once(url)

        assert [status for status, _out, _err in finished] == [0] * PROCESSES, finished
        assert all(err == "" for _status, _out, err in finished), finished
        assert revision == head_revision()
        assert (countries, factors) == (249, 8)
