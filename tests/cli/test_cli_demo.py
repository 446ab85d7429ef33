"""`sscmatch demo` and `sscmatch migrate` against a committed database."""

from __future__ import annotations

import argparse
import re
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import Engine, select, text

from models import Need, Offer
from service import scoring
from service.cli import ops
from service.db import session_scope
from service.items import vectors
from service.items.vectors import Kind
from tests.cli.helpers import counts, run

KINDS: tuple[Kind, ...] = ("offer", "need")
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


class _Stop(Exception):
    """Ends a demo load from its progress callback, once the callback has looked."""


@pytest.mark.usefixtures("encoding_on")
def test_demo_encodes_its_texts_before_it_takes_the_write_lock(
        own_sqlite: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Encoding the demo takes seconds: on SQLite it happens before the loading transaction
    takes the database's write lock, so other writers (a second load, the service's workers)
    do not wait for it, and a load stopped while encoding has written nothing."""
    free_to_write: list[bool] = []

    def probe(_label: str) -> Callable[[int, int], None]:
        def report(_done: int, _total: int) -> None:
            with closing(sqlite3.connect(own_sqlite, timeout=0)) as conn:
                conn.isolation_level = None
                try:
                    conn.execute("BEGIN IMMEDIATE")
                    conn.execute("ROLLBACK")
                    free_to_write.append(True)
                except sqlite3.OperationalError:  # "database is locked"
                    free_to_write.append(False)
            raise _Stop
        return report

    monkeypatch.setattr(ops, "progress_printer", probe)
    with pytest.raises(_Stop):
        ops.cmd_demo(argparse.Namespace())

    assert free_to_write == [True]
    with closing(sqlite3.connect(own_sqlite)) as conn:
        assert conn.execute("SELECT (SELECT count(*) FROM offers) + (SELECT count(*) FROM needs)"
                            ).fetchone() == (0,)


@pytest.mark.usefixtures("encoding_on", "own_sqlite")
def test_demo_stores_the_vectors_it_encoded_beforehand(capsys: pytest.CaptureFixture[str]) -> None:
    status, _out, err = run(capsys, "demo")
    with session_scope(writes=False) as session:
        rows = {kind: vectors.rows_to_reencode(session, kind, everything=True) for kind in KINDS}
        stored = {kind: {row.id: row for row in session.execute(
                      select(table.id, table.embedding, table.embedding_model))}
                  for kind, table in (("offer", Offer), ("need", Need))}

    assert status == 0, err
    assert "encoding demo items: " in err
    for kind in KINDS:
        assert rows[kind]
        assert {row.embedding_model for row in stored[kind].values()} == {
            scoring.get_text_model().name}
        sample = rows[kind][:3]  # encoded again, as an item written alone would be
        for row, vector in zip(sample, vectors.encode_texts(sample, kind), strict=True):
            assert np.allclose(np.frombuffer(stored[kind][row.id].embedding, "<f4"),
                               np.frombuffer(vector, "<f4"), atol=1e-5)
