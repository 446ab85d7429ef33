"""The write counters that tell every worker's caches that offers, needs or pairings changed."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from models import IndexRevision
from service import revisions
from service.db import session_scope


def _stored(session: Session, counter: revisions.Counter) -> int:
    """The counter as stored, without applying this session's pending bumps."""
    return int(session.scalar(select(IndexRevision.revision)
                              .where(IndexRevision.kind == counter)) or 0)


def test_a_bump_is_written_when_its_transaction_commits(session: Session) -> None:
    before = _stored(session, "offers")

    revisions.bump(session, "offers")
    revisions.bump(session, "offers")
    assert _stored(session, "offers") == before
    session.commit()

    assert _stored(session, "offers") == before + 1
    assert _stored(session, "needs") == revisions.read(session, "needs")


def test_reading_a_counter_sees_the_transactions_own_bump_once(session: Session) -> None:
    before = revisions.read(session, "pairings")

    revisions.bump(session, "pairings")
    assert revisions.read(session, "pairings") == before + 1
    session.commit()

    assert revisions.read(session, "pairings") == before + 1


def test_a_rolled_back_bump_is_forgotten(session: Session) -> None:
    before = revisions.read(session, "needs")

    revisions.bump(session, "needs")
    session.rollback()
    session.commit()

    assert revisions.read(session, "needs") == before


@pytest.mark.usefixtures("committed_db")
def test_other_sessions_see_a_bump_only_once_it_is_committed(engine: Engine) -> None:
    with session_scope(engine, writes=False) as reader:
        before = revisions.read(reader, "offers")
    with session_scope(engine) as writer:
        revisions.bump(writer, "offers")
        with session_scope(engine, writes=False) as reader:
            assert revisions.read(reader, "offers") == before
    with session_scope(engine, writes=False) as reader:
        assert revisions.read(reader, "offers") == before + 1
