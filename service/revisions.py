"""Write counters shared by all workers: bumped in the writing transaction, read by caches."""

from __future__ import annotations

from typing import Literal

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from models import IndexRevision

Counter = Literal["offers", "needs", "pairings"]


def bump(session: Session, counter: Counter) -> None:
    """Mark offers, needs or pairings as changed (visible to others when this commits)."""
    session.execute(update(IndexRevision).where(IndexRevision.kind == counter)
                    .values(revision=IndexRevision.revision + 1))


def read(session: Session, counter: Counter) -> int:
    """Return the current value of a counter."""
    value = session.scalar(select(IndexRevision.revision).where(IndexRevision.kind == counter))
    return int(value or 0)
