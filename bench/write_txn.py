"""What the write counters add to one write transaction of an offer.

    python bench/write_txn.py                  # SQLite in a temporary directory
    python bench/write_txn.py --database-url postgresql://postgres@127.0.0.1:5432/bench_writes

Every write of offers or needs bumps their counter and stamps the rows it wrote with the new
revision, just before COMMIT (`service/revisions.py`), so that every worker's caches notice it.
This times the same transaction (read one offer by id, change its capacity, commit) with the
counters and, as the baseline in the same run, with their session hooks taken off, in
alternating batches; it reports wall and CPU time per transaction and the statements each
sends. No HTTP: the figures are the database layer's alone.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event, select, text
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _report import machine, write_section
from _setup import engine_name, settle, use_database

from models import Offer
from service import revisions
from service.countries.seed import MEMBERS, seed_reference
from service.db import session_scope

# The hooks by which the counters follow a session's writes (see service/revisions.py).
_HOOKS: tuple[tuple[str, Callable[..., Any]], ...] = (
    ("after_flush", revisions._note_written_rows),
    ("do_orm_execute", revisions._note_bulk_statements),
    ("before_commit", revisions._bump_before_commit),
    ("after_transaction_end", revisions._forget_at_end),
)


@contextmanager
def _without_counters() -> Iterator[None]:
    for name, hook in _HOOKS:
        event.remove(Session, name, hook)
    try:
        yield
    finally:
        for name, hook in _HOOKS:
            event.listen(Session, name, hook)


def fill_offers(n: int) -> list[int]:
    """Store the reference data and `n` published offers in an empty database; their ids."""
    with session_scope() as session:
        if session.scalar(select(Offer.id).limit(1)) is not None:
            sys.exit("the database already holds offers: give an empty one")
        seed_reference(session)
        session.execute(text("UPDATE countries SET enabled = true"))
        offers = [Offer(ref=f"W-{i}", country_iso3=MEMBERS[i % len(MEMBERS)],
                        factor_code="education", title=f"Oferta {i}",
                        description="Formación de inspectores laborales.", language="es",
                        modality="training", status="published", capacity=1)
                  for i in range(n)]
        session.add_all(offers)
        session.flush()
        return [offer.id for offer in offers]


def _batch(ids: list[int], runs: int) -> tuple[float, float]:
    """Run `runs` write transactions; return wall and CPU ms per transaction."""
    wall, cpu = time.perf_counter(), time.process_time()
    for k in range(runs):
        with session_scope() as session:
            offer = session.get(Offer, ids[k % len(ids)])
            assert offer is not None
            offer.capacity = 1 + (offer.capacity % 4)
    return ((time.perf_counter() - wall) * 1000 / runs,
            (time.process_time() - cpu) * 1000 / runs)


def _statements(ids: list[int]) -> list[str]:
    sent: list[str] = []

    def note(*args: Any) -> None:
        words = str(args[2]).split()
        table = next((words[i + 1] for i, w in enumerate(words[:-1])
                      if w in ("FROM", "UPDATE", "INTO")), "")
        sent.append(f"{words[0]} {table}".strip())

    # On every engine: on SQLite, writes go through a writer engine of their own.
    event.listen(Engine, "before_cursor_execute", note)
    try:
        _batch(ids, 1)
    finally:
        event.remove(Engine, "before_cursor_execute", note)
    return sent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200, help="transactions per batch")
    parser.add_argument("--batches", type=int, default=10, help="batches of each kind")
    parser.add_argument("--database-url", help="default: a temporary SQLite file")
    parser.add_argument("--no-report", action="store_true")
    args = parser.parse_args()
    tmp = tempfile.TemporaryDirectory()
    url = use_database(args.database_url, tmp, "writes.db")
    ids = fill_offers(50)
    settle()
    with session_scope() as session:
        before = revisions.read(session, "offers")
    _batch(ids, args.runs)  # warm the statement caches of both kinds
    with _without_counters():
        _batch(ids, args.runs)
    counted, plain = [], []
    for _ in range(args.batches):
        with _without_counters():
            plain.append(_batch(ids, args.runs))
        counted.append(_batch(ids, args.runs))  # last: it writes (and stamps) every offer
    with session_scope() as session:
        bumps = revisions.read(session, "offers") - before
        unstamped = session.scalar(select(Offer.id).where(Offer.change_seq.is_(None)).limit(1))
    assert bumps == args.runs * (args.batches + 1), bumps  # one per counted transaction
    assert unstamped is None, "a counted write left its row unstamped"
    with_counters = _statements(ids)
    with _without_counters():
        without = _statements(ids)

    def median(rows: list[tuple[float, float]], k: int) -> float:
        return statistics.median(row[k] for row in rows)

    cw, cc, pw, pc = median(counted, 0), median(counted, 1), median(plain, 0), median(plain, 1)
    engine = engine_name(url)
    command = "python bench/write_txn.py" + (
        f" --database-url {args.database_url}" if args.database_url else "")
    body = f"""## The write counters' share of a write transaction ({engine})

`{command}` — {machine()}

One transaction reads an offer by id, changes its capacity and commits; {args.batches} batches
of {args.runs} with the counters alternate with as many without them (their session hooks
taken off: the baseline). Medians of the batches' means.

| transaction | wall ms | CPU ms | statements |
|---|---|---|---|
| without the counters (baseline) | {pw:.2f} | {pc:.2f} | {len(without)} |
| with the counters (bump and stamp before COMMIT) | {cw:.2f} | {cc:.2f} | {len(with_counters)} |

With the counters: {cw / pw:.2f}× the wall time, {cc / pc:.2f}× the CPU time of the baseline.
Statements with them: {", ".join(f'`{s}`' for s in with_counters)}.
"""
    print(body)
    if not args.no_report:
        write_section(f"write-txn-{engine.lower()}", body)


if __name__ == "__main__":
    main()
