"""Migrations on a database holding the demo data (offers, needs, a table, pairings through
their life, follow-ups): step down one revision at a time, then back up to head. Every table
that a step keeps must keep every row and every value of the columns it keeps; a step may
only lose what it removes (the tables and columns its revision added, which is the nature of
a downgrade). The tables each step drops are printed (`-s`)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, MetaData, select
from sqlalchemy.orm import Session

from service.config import get_settings
from service.countries.seed import seed_reference
from service.db import make_engine
from service.demo.load import load_demo
from service.migrate import alembic_config, current_revision, downgrade, head_revision, upgrade
from tests.reliability.conftest import load_bench

crash = load_bench("crash")
Rows = dict[tuple[Any, ...], dict[str, Any]]
Snapshot = dict[str, Rows]
# Rows that a revision inserts itself (its counters), and so removes on downgrade.
REVISION_ROWS = {"index_revisions"}


@pytest.fixture
def demo_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, Engine]]:
    """A throwaway database at head with the demo data (no text vectors, for speed)."""
    monkeypatch.setenv("ENCODE_ON_WRITE", "false")
    get_settings.cache_clear()
    pg_url = os.environ.get("TEST_DATABASE_URL")
    with crash.throwaway_database("postgresql" if pg_url else "sqlite", pg_url, tmp_path) as url:
        upgrade(url)
        engine = make_engine(url)
        with Session(engine) as session:
            seed_reference(session)
            load_demo(session)
            session.commit()
        try:
            yield url, engine
        finally:
            engine.dispose()
            get_settings.cache_clear()


def snapshot(engine: Engine) -> Snapshot:
    """Every row of every table, keyed by primary key."""
    meta = MetaData()
    meta.reflect(engine)
    out: Snapshot = {}
    with engine.connect() as conn:
        for table in meta.sorted_tables:
            key = list(table.primary_key.columns) or list(table.columns)
            out[table.name] = {tuple(r._mapping[c.name] for c in key): dict(r._mapping)
                               for r in conn.execute(select(table))}
    return out


def kept_the_same(before: Snapshot, after: Snapshot) -> list[str]:
    """Rows lost or values changed in the tables and columns present in both snapshots."""
    problems = []
    for name in sorted(before.keys() & after.keys() - {"alembic_version"}):
        for key, row in before[name].items():
            if key not in after[name]:
                if name not in REVISION_ROWS:
                    problems.append(f"{name} lost row {key}")
                continue
            other = after[name][key]
            problems += [f"{name}{key}.{c} changed" for c in row.keys() & other.keys()
                         if row[c] != other[c]]
    return problems


def test_stepping_down_and_up_keeps_every_kept_table(demo_db: tuple[str, Engine]) -> None:
    url, engine = demo_db
    script = ScriptDirectory.from_config(alembic_config(url))
    steps = len(list(script.walk_revisions())) - 1
    at_head = snapshot(engine)
    assert len(at_head["offers"]) + len(at_head["needs"]) >= 100
    assert len(at_head.get("pairings", {})) > 0

    current = at_head
    for step in range(steps):
        downgrade(url, "-1")
        lower = snapshot(engine)
        print(f"down {step + 1}: dropped {sorted(current.keys() - lower.keys())}, "
              f"columns dropped {_dropped_columns(current, lower)}")
        assert kept_the_same(current, lower) == []
        current = lower
    upgrade(url)
    back = snapshot(engine)

    assert current_revision(engine) == head_revision()
    # The tables of the lowest revision kept everything (the others were lost by the descent,
    # by nature); for the rows a revision inserts itself, only those kept all along count.
    kept = {name: {k: v for k, v in at_head[name].items()
                   if name not in REVISION_ROWS or k in current[name]} for name in current}
    assert kept_the_same(kept, back) == []
    assert all(len(back[name]) >= len(kept[name]) for name in kept)


def _dropped_columns(before: Snapshot, after: Snapshot) -> list[str]:
    def columns(rows: Rows) -> set[str]:
        return set(next(iter(rows.values()), {}))

    return sorted(f"{t}.{c}" for t in before.keys() & after.keys()
                  for c in columns(before[t]) - columns(after[t]))
