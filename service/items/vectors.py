"""Text vectors of offers and needs: encoded once when an item is written, then stored."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Literal

from sqlalchemy import Row, or_, select
from sqlalchemy.orm import Session

from models import Need, Offer
from service import revisions, scoring
from service.config import get_settings

Kind = Literal["offer", "need"]


ITEM_COLUMNS = ("id", "country_iso3", "factor_code", "language", "modality", "title",
                "description", "target_population")
"""The columns `to_scoring_item` reads (and `capacity`, of offers)."""


def to_scoring_item(row: Offer | Need | Row[Any], kind: Kind) -> scoring.Item:
    """Convert an ORM row, or a result row with `ITEM_COLUMNS` (and an offer's `capacity`),
    into the scorer's plain record."""
    return scoring.Item(
        id=str(row.id), kind=kind, country=row.country_iso3, factor=row.factor_code,
        language=row.language, modality=row.modality, title=row.title,
        description=row.description, target_population=row.target_population or "",
        capacity=None if kind == "need" or isinstance(row, Need) else row.capacity,
    )


def encode_rows(rows: Sequence[Offer | Need], kind: Kind, *, force: bool = False,
                progress: Callable[[int, int], None] | None = None) -> int:
    """Encode and store the text vectors of `rows`; return how many were encoded.

    With encoding on write switched off (and no `force`), the rows' stored vectors are dropped
    instead: callers pass rows whose text is new or changed, so a stored vector is stale.
    Matching encodes such rows in memory, and `sscmatch reencode` stores their vectors later.
    """
    if not rows:
        return 0
    if not (force or get_settings().encode_on_write):
        for row in rows:
            if row.embedding_model is not None:  # a new row has none: left untouched
                row.embedding = row.embedding_model = None
        return 0
    model = scoring.get_text_model()
    texts = [scoring.item_text(to_scoring_item(row, kind)) for row in rows]
    matrix = model.encode(texts, progress=progress)
    for row, vector in zip(rows, matrix, strict=True):
        row.embedding = scoring.vector_to_bytes(vector)
        row.embedding_model = model.name
    return len(rows)


def reencode(session: Session, kind: Kind, *, everything: bool = False,
             progress: Callable[[int, int], None] | None = None) -> int:
    """Encode the rows whose vector is missing or made by another model (or all of them)."""
    model = Offer if kind == "offer" else Need
    stmt = select(model).order_by(model.id)
    if not everything:
        stmt = stmt.where(or_(model.embedding.is_(None),
                              model.embedding_model != scoring.get_text_model().name))
    rows: list[Offer | Need] = list(session.scalars(stmt))
    count = encode_rows(rows, kind, force=True, progress=progress)
    if count:
        revisions.bump(session, "offers" if kind == "offer" else "needs")
    return count
