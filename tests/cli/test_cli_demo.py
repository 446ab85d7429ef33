"""`sscmatch demo` and `sscmatch migrate` against a committed database."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from sqlalchemy import Engine, text

from tests.cli.helpers import counts, run

FACTORS = {"indigenous", "education", "agriculture", "value_chains", "migration",
           "youth_employment", "decentralisation", "ict"}


def _distinct(engine: Engine, column: str) -> set[str]:
    with engine.connect() as conn:
        rows = conn.execute(text(f"SELECT {column} FROM offers UNION SELECT {column} FROM needs"))
        return {str(r[0]) for r in rows}


@pytest.mark.usefixtures("cli_db")
def test_demo_loads_at_least_120_items_in_four_languages_and_eight_factors(
    engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, _err = run(capsys, "demo")

    assert status == 0
    offers, needs = counts(engine)
    assert offers + needs >= 120
    assert offers > 0
    assert needs > 0
    assert f"{offers} offers, {needs} needs, 1 tables added" in out
    assert _distinct(engine, "factor_code") == FACTORS
    assert _distinct(engine, "language") == {"es", "pt", "en", "fr"}
    with engine.connect() as conn:
        tables: int = conn.execute(text("SELECT count(*) FROM cooperation_tables")).scalar_one()
    assert tables == 1


@pytest.mark.usefixtures("cli_db")
def test_demo_second_run_adds_nothing(
    engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, "demo")[0] == 0
    before = counts(engine)

    status, out, _err = run(capsys, "demo")

    assert status == 0
    assert "0 offers, 0 needs, 0 tables added" in out
    assert counts(engine) == before


@pytest.mark.usefixtures("cli_db")
def test_migrate_on_migrated_database_succeeds_and_keeps_data(
    engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, "demo")[0] == 0
    before = counts(engine)

    status, out, _err = run(capsys, "migrate")

    assert status == 0
    assert "latest migration" in out
    assert counts(engine) == before


@pytest.mark.usefixtures("cli_db")
def test_demo_runs_at_once_load_the_data_once_and_both_succeed(engine: Engine) -> None:
    # Two processes, as two `sscmatch demo` (or `serve --demo`) started together: each checks
    # which demo rows exist, then inserts the others.
    runs = [subprocess.Popen([sys.executable, "-m", "service.cli", "demo"], text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]
    ended = [(one.returncode, out, err) for one in runs for out, err in [one.communicate()]]

    assert [status for status, _out, _err in ended] == [0, 0], ended
    loaded = sorted(re.findall(r"demo data: (\d+) offers, (\d+) needs, (\d+) tables added",
                               "".join(out for _status, out, _err in ended)))
    assert loaded == sorted([("0", "0", "0"), (*map(str, counts(engine)), "1")]), ended
    with engine.connect() as conn:
        tables: int = conn.execute(text("SELECT count(*) FROM cooperation_tables")).scalar_one()
    assert tables == 1
