"""Write counters shared by all workers: bumped in the writing transaction, read by caches.

A bump is applied when its transaction commits, as the last statement before COMMIT: the
counter's row lock, which every writer of offers (or needs, or pairings) must take, is then
held for one statement and the commit instead of for the rest of the request. Under 50
concurrent writers the lock otherwise queued them behind each other's response building.
"""

from __future__ import annotations

from typing import Literal, get_args

from sqlalchemy import event, select, update
from sqlalchemy.orm import Session, SessionTransaction

from models import IndexRevision

Counter = Literal["offers", "needs", "pairings", "reference"]
"""What a counter covers: offers, needs, pairings, or reference data (countries, groupings)."""
_PENDING = "sscmatch_pending_revisions"


def bump(session: Session, counter: Counter) -> None:
    """Mark offers, needs, pairings or reference data as changed (visible to others when this
    commits).

    The session's pending changes are flushed now, so that rows the caller goes on to read or
    return (timestamps set on update included) are the rows that will be committed.
    """
    session.flush()
    session.info.setdefault(_PENDING, set()).add(counter)


def read(session: Session, counter: Counter) -> int:
    """Return the current value of a counter (this transaction's own bump included)."""
    _apply(session, only=counter)
    value = session.scalar(select(IndexRevision.revision).where(IndexRevision.kind == counter))
    return int(value or 0)


def read_all(session: Session) -> tuple[int, ...]:
    """Return every counter, in the order of `Counter`, read in one query (this transaction's
    own bumps included): the key of a result that depends on all the data."""
    _apply(session)
    rows = session.execute(select(IndexRevision.kind, IndexRevision.revision)).all()
    values = {kind: revision for kind, revision in rows}
    return tuple(int(values.get(counter) or 0) for counter in get_args(Counter))


def _apply(session: Session, only: Counter | None = None) -> None:
    pending: set[Counter] = session.info.get(_PENDING, set())
    # A fixed order, so that two transactions bumping the same counters cannot deadlock.
    for counter in sorted(c for c in pending if only is None or c == only):
        session.execute(update(IndexRevision).where(IndexRevision.kind == counter)
                        .values(revision=IndexRevision.revision + 1))
        pending.discard(counter)


@event.listens_for(Session, "before_commit")
def _bump_before_commit(session: Session) -> None:
    _apply(session)


@event.listens_for(Session, "after_transaction_end")
def _forget_at_end(session: Session, transaction: SessionTransaction) -> None:
    # After a commit nothing is pending; after a rollback what was pending never happened.
    # (A savepoint rolled back inside a transaction keeps its bumps: one too many is harmless.)
    if transaction.parent is None:
        session.info.pop(_PENDING, None)
