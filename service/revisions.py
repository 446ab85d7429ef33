"""Write counters shared by all workers: bumped in the writing transaction, read by caches.

A bump is applied when its transaction commits, as the last statements before COMMIT: the
counter's row lock, which every writer of offers (or needs, or pairings) must take, is then
held for two statements and the commit instead of for the rest of the request. Under 50
concurrent writers the lock otherwise queued them behind each other's response building.

A bump of offers or needs also stamps the rows its transaction wrote (their `change_seq`,
NULL after any write) with the new revision: the rows the session flushed, by primary key, or,
after a bulk statement on their table, every row still NULL. Any write of offers or needs
through the session bumps their counter, whether or not the caller asked. Writers take the
counter's lock in turn, so the stamps follow the order of the commits: a reader that holds an
index at revision R and sees the counter at R' finds every row committed in between among
those stamped above R (or still NULL: written behind the session's back, by a statement on
the connection), and reads only those.
"""

from __future__ import annotations

from typing import Literal, cast, get_args

from sqlalchemy import Table, Update, bindparam, event, select, update
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction, UOWTransaction

from models import IndexRevision, Need, Offer

Counter = Literal["offers", "needs", "pairings", "reference"]
"""What a counter covers: offers, needs, pairings, or reference data (countries, groupings)."""
_PENDING = "sscmatch_pending_revisions"
_APPLIED = "sscmatch_applied_revisions"
_WRITTEN = "sscmatch_written_rows"  # counter -> ids of the rows the session flushed
_SWEEP = "sscmatch_sweep_unstamped"  # counters whose table took a bulk statement
_STAMPED: dict[Counter, Table] = {"offers": cast(Table, Offer.__table__),
                                  "needs": cast(Table, Need.__table__)}
_COUNTER_OF: dict[str, Counter] = {table.name: counter for counter, table in _STAMPED.items()}
_MOST_STAMPED_BY_ID = 1000
"""Above this many written rows one statement stamps every NULL row instead of a list of ids."""


def _stamp_statement(table: Table, *, by_id: bool) -> Update:
    """Stamp the rows of `table` still NULL (those with the given ids, if `by_id`).

    Rows another transaction is writing stay for its own bump (SKIP LOCKED: waiting for them,
    while holding the counter that transaction waits for, would deadlock); a transaction's
    own rows are locked by it, so never skipped. updated_at kept: the stamp is not a change
    the client should see.
    """
    unstamped = select(table.c.id).where(table.c.change_seq.is_(None))
    if by_id:
        unstamped = unstamped.where(table.c.id.in_(bindparam("ids", expanding=True)))
    return (update(table).where(table.c.id.in_(unstamped.with_for_update(skip_locked=True)))
            .values(change_seq=bindparam("revision"), updated_at=table.c.updated_at))


# Built once and run on the session's connection: the counters are read by every cached
# request and bumped by every write, and building and running an ORM statement each time cost
# more than the statement itself.
_COUNTERS = cast(Table, IndexRevision.__table__)
_READ_ONE = select(_COUNTERS.c.revision).where(_COUNTERS.c.kind == bindparam("counter"))
_READ_ALL = select(_COUNTERS.c.kind, _COUNTERS.c.revision)
_BUMP = (update(_COUNTERS).where(_COUNTERS.c.kind == bindparam("counter"))
         .values(revision=_COUNTERS.c.revision + 1).returning(_COUNTERS.c.revision))
_STAMP_BY_ID = {c: _stamp_statement(t, by_id=True) for c, t in _STAMPED.items()}
_STAMP_NULL = {c: _stamp_statement(t, by_id=False) for c, t in _STAMPED.items()}


def bump(session: Session, counter: Counter) -> None:
    """Mark offers, needs, pairings or reference data as changed (visible to others when this
    commits).

    The session's pending changes are flushed now, so that rows the caller goes on to read or
    return (timestamps set on update included) are the rows that will be committed.
    """
    session.flush()
    _pend(session, counter)


def read(session: Session, counter: Counter) -> int:
    """Return the current value of a counter (this transaction's own bump included)."""
    _apply(session, only=counter)
    return int(session.connection().scalar(_READ_ONE, {"counter": counter}) or 0)


def uncommitted(session: Session, counter: Counter) -> bool:
    """Whether this transaction has changed what `counter` covers and not committed yet: what
    it reads of that data may still be rolled back, so it must not be cached."""
    return counter in session.info.get(_PENDING, ()) or counter in session.info.get(_APPLIED, ())


def read_all(session: Session) -> tuple[int, ...]:
    """Return every counter, in the order of `Counter`, read in one query (this transaction's
    own bumps included): the key of a result that depends on all the data."""
    _apply(session)
    rows = session.connection().execute(_READ_ALL)
    values: dict[str, int] = {row.kind: row.revision for row in rows}
    return tuple(values.get(counter, 0) for counter in get_args(Counter))


def _apply(session: Session, only: Counter | None = None) -> None:
    pending: set[Counter] = session.info.get(_PENDING, set())
    # A fixed order, so that two transactions bumping the same counters cannot deadlock.
    for counter in sorted(c for c in pending if only is None or c == only):
        revision = session.connection().scalar(_BUMP, {"counter": counter})
        if counter in _STAMPED and revision is not None:
            _stamp(session, counter, revision)
        pending.discard(counter)
        session.info.setdefault(_APPLIED, set()).add(counter)


def _stamp(session: Session, counter: Counter, revision: int) -> None:
    """Stamp the rows this transaction wrote to the counter's table with `revision`."""
    written: set[int] = session.info.get(_WRITTEN, {}).pop(counter, set())
    swept: set[Counter] = session.info.get(_SWEEP, set())
    if counter in swept or len(written) > _MOST_STAMPED_BY_ID:
        swept.discard(counter)
        session.connection().execute(_STAMP_NULL[counter], {"revision": revision})
    elif written:
        session.connection().execute(_STAMP_BY_ID[counter],
                                     {"revision": revision, "ids": sorted(written)})


def _pend(session: Session, counter: Counter) -> None:
    session.info.setdefault(_PENDING, set()).add(counter)


@event.listens_for(Session, "after_flush")
def _note_written_rows(session: Session, _flush: UOWTransaction) -> None:
    # Rows this flush inserted or changed are stamped, by id, at the bump; a deleted row
    # needs no stamp, but its counter must move all the same.
    dirty = session.dirty  # computed once: it walks every changed object of the session
    for row in (*session.new, *dirty, *session.deleted):
        if isinstance(row, Offer | Need) and (row not in dirty or session.is_modified(row)):
            counter = _COUNTER_OF[row.__tablename__]
            _pend(session, counter)
            if row not in session.deleted:
                session.info.setdefault(_WRITTEN, {}).setdefault(counter, set()).add(row.id)


@event.listens_for(Session, "do_orm_execute")
def _note_bulk_statements(state: ORMExecuteState) -> None:
    # A statement on offers or needs outside the unit of work (an INSERT of many rows, an
    # UPDATE by criteria) names no rows the session could track: its bump stamps every row
    # that is still NULL.
    if not (state.is_insert or state.is_update or state.is_delete):
        return
    table = getattr(state.statement, "table", None)
    counter = _COUNTER_OF.get(getattr(table, "name", ""))
    if counter is not None:
        _pend(state.session, counter)
        state.session.info.setdefault(_SWEEP, set()).add(counter)


@event.listens_for(Session, "before_commit")
def _bump_before_commit(session: Session) -> None:
    # The commit's own flush comes after this hook: flush first (nothing to do if nothing
    # changed), so that the bumps its writes call for and their stamps are applied.
    session.flush()
    _apply(session)


@event.listens_for(Session, "after_transaction_end")
def _forget_at_end(session: Session, transaction: SessionTransaction) -> None:
    # After a commit nothing is pending; after a rollback what was pending never happened.
    # (A savepoint rolled back inside a transaction keeps its bumps: one too many is harmless.)
    if transaction.parent is None:
        for key in (_PENDING, _APPLIED, _WRITTEN, _SWEEP):
            session.info.pop(key, None)
