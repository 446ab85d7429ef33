"""What one snapshot per read costs on PostgreSQL: a read unit in REPEATABLE READ, READ ONLY.

    python bench/read_txn.py --database-url postgresql://postgres@127.0.0.1:5432/bench_reads

A unit that only reads (a GET, an export, a report) runs in one REPEATABLE READ, READ ONLY
transaction (`service.db.open_session`), so that its statements see one state of the data.
This times the same read unit (a page of 50 offers and their count, as a list request reads
them) through the service's read session and, as the baseline in the same run, through a
plain session (READ COMMITTED, read-write), in alternating batches; it reports wall and CPU
time per unit. No HTTP: the figures are the database layer's alone. Give an empty database.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _report import machine, write_section
from _setup import settle, use_database
from write_txn import fill_offers

from models import Offer
from service.db import _end, get_engine, session_scope


@contextmanager
def _plain_session() -> Iterator[Session]:
    """The baseline: a session on the engine as configured, READ COMMITTED and read-write."""
    session = Session(bind=get_engine(), expire_on_commit=False)
    try:
        yield session
    finally:
        _end(session, True)


def _service_session() -> AbstractContextManager[Session]:
    return session_scope(writes=False)


def _batch(open_unit: Callable[[], AbstractContextManager[Session]],
           runs: int) -> tuple[float, float]:
    """Run `runs` read units; return wall and CPU ms per unit."""
    wall, cpu = time.perf_counter(), time.process_time()
    for k in range(runs):
        with open_unit() as session:
            page = session.execute(select(Offer.id, Offer.title).order_by(Offer.id)
                                   .offset(k % 4 * 50).limit(50)).all()
            total = session.scalar(select(func.count(Offer.id)))
            assert len(page) == 50
            assert total
    return ((time.perf_counter() - wall) * 1000 / runs,
            (time.process_time() - cpu) * 1000 / runs)


def _isolation(open_unit: Callable[[], AbstractContextManager[Session]]) -> str:
    with open_unit() as session:
        level = session.scalar(text("SHOW transaction_isolation"))
        read_only = session.scalar(text("SHOW transaction_read_only"))
    return f"{str(level).upper()}{', READ ONLY' if read_only == 'on' else ''}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200, help="read units per batch")
    parser.add_argument("--batches", type=int, default=10, help="batches of each kind")
    parser.add_argument("--database-url", required=True, help="an empty PostgreSQL database")
    parser.add_argument("--no-report", action="store_true")
    args = parser.parse_args()
    if not args.database_url.startswith(("postgresql", "postgres:")):
        sys.exit("read units take a snapshot of their own on PostgreSQL only; give its URL")
    tmp = tempfile.TemporaryDirectory()
    use_database(args.database_url, tmp, "reads.db")
    fill_offers(200)
    settle()
    for open_unit in (_service_session, _plain_session):  # warm the statement caches
        _batch(open_unit, args.runs)
    service, plain = [], []
    for _ in range(args.batches):
        plain.append(_batch(_plain_session, args.runs))
        service.append(_batch(_service_session, args.runs))

    def median(rows: list[tuple[float, float]], k: int) -> float:
        return statistics.median(row[k] for row in rows)

    sw, sc, pw, pc = median(service, 0), median(service, 1), median(plain, 0), median(plain, 1)
    command = " ".join(["python bench/read_txn.py",
                        *(a for a in sys.argv[1:] if a != "--no-report")])
    body = f"""## One snapshot per read unit (PostgreSQL)

`{command}` — {machine()}

One read unit reads a page of 50 offers and their count, as a list request does;
{args.batches} batches of {args.runs} through the service's read session alternate with as
many through a plain session (the baseline). Medians of the batches' means.

| read unit | transaction | wall ms | CPU ms |
|---|---|---|---|
| plain session (baseline) | {_isolation(_plain_session)} | {pw:.2f} | {pc:.2f} |
| the service's read session | {_isolation(_service_session)} | {sw:.2f} | {sc:.2f} |

The service's read unit: {sw / pw:.2f}× the wall time, {sc / pc:.2f}× the CPU time of the
baseline ({(sw - pw) * 1000:+.0f} µs of wall time, {(sc - pc) * 1000:+.0f} µs of CPU per unit).
"""
    print(body)
    if not args.no_report:
        write_section("read-txn-postgresql", body)


if __name__ == "__main__":
    main()
