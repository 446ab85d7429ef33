"""`sscmatch migrate` started several times at once on one PostgreSQL database (several
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
pytestmark = pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL"),
                                reason="needs PostgreSQL (TEST_DATABASE_URL)")
PROCESSES = 4


def test_concurrent_migrates_of_a_new_database_all_succeed(tmp_path: Path) -> None:
    with crash.throwaway_database("postgresql", os.environ["TEST_DATABASE_URL"],
                                  tmp_path) as url:
        env = {**os.environ, "DATABASE_URL": url}
        started = [subprocess.Popen([sys.executable, "-m", "service.cli", "migrate"], env=env,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                   for _ in range(PROCESSES)]
        finished = [(p.wait(timeout=120), *p.communicate()) for p in started]

        engine = make_engine(url)
        try:
            revision = current_revision(engine)
            with engine.connect() as conn:
                countries: int = conn.execute(text("SELECT count(*) FROM countries")).scalar_one()
                factors: int = conn.execute(text("SELECT count(*) FROM factors")).scalar_one()
        finally:
            engine.dispose()

    assert [status for status, _out, _err in finished] == [0] * PROCESSES, finished
    assert all(err == "" for _status, _out, err in finished), finished
    assert revision == head_revision()
    assert (countries, factors) == (249, 8)
