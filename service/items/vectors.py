"""Text vectors of offers and needs: encoded once when an item is written, then stored."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal, cast

from sqlalchemy import CursorResult, Row, or_, select, update
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


def encode_rows(rows: Sequence[Offer | Need], kind: Kind, *,
                progress: Callable[[int, int], None] | None = None) -> int:
    """Encode and store the text vectors of `rows`; return how many were encoded.

    With encoding on write switched off, the rows' stored vectors are dropped
    instead: callers pass rows whose text is new or changed, so a stored vector is stale.
    Matching encodes such rows in memory, and `sscmatch reencode` stores their vectors later.
    """
    if not rows:
        return 0
    if not get_settings().encode_on_write:
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


def use_vectors(rows: Sequence[Offer | Need], kind: Kind,
                encoded: Mapping[str, bytes]) -> list[Offer | Need]:
    """Give `rows` the vectors of their texts found in `encoded` (vectors of the current text
    model, by text as `scoring.item_text` writes it); return the rows left without one."""
    if not encoded or not get_settings().encode_on_write:
        return list(rows)
    name = scoring.get_text_model().name
    left: list[Offer | Need] = []
    for row in rows:
        vector = encoded.get(scoring.item_text(to_scoring_item(row, kind)))
        if vector is None:
            left.append(row)
        else:
            row.embedding, row.embedding_model = vector, name
    return left


def rows_to_reencode(session: Session, kind: Kind, *,
                     everything: bool = False) -> list[Row[Any]]:
    """The rows whose vector is missing or made by another model (or all of them): their
    `ITEM_COLUMNS`, and their `version`, which `store_vectors` checks."""
    model = Offer if kind == "offer" else Need
    columns = [getattr(model, name) for name in
               (*ITEM_COLUMNS, *(("capacity",) if kind == "offer" else ()), "version")]
    stmt = select(*columns).order_by(model.id)
    if not everything:
        stmt = stmt.where(or_(model.embedding.is_(None),
                              model.embedding_model != scoring.get_text_model().name))
    return list(session.execute(stmt))


def encode_texts(rows: Sequence[Row[Any]], kind: Kind, *,
                 progress: Callable[[int, int], None] | None = None) -> list[bytes]:
    """Encode the texts of `rows` (from `rows_to_reencode`); needs no database."""
    if not rows:
        return []
    texts = [scoring.item_text(to_scoring_item(row, kind)) for row in rows]
    matrix = scoring.get_text_model().encode(texts, progress=progress)
    return [scoring.vector_to_bytes(vector) for vector in matrix]


def store_vectors(session: Session, kind: Kind, *, rows: Sequence[Row[Any]],
                  encoded: Sequence[bytes]) -> int:
    """Store the vectors `encode_texts` made of `rows`; return how many were stored.

    A row is written only if it is still at the version it was read at: an item edited while
    its old text was being encoded keeps what its own write stored (the new text's vector, or
    none, for the next `sscmatch reencode`), never the vector of a text it no longer has.
    """
    model = Offer if kind == "offer" else Need
    name = scoring.get_text_model().name
    stored = 0
    for row, vector in zip(rows, encoded, strict=True):
        result = session.execute(
            update(model).where(model.id == row.id, model.version == row.version)
            .values(embedding=vector, embedding_model=name)
            .execution_options(synchronize_session=False))
        stored += cast(CursorResult[Any], result).rowcount
    if stored:
        revisions.bump(session, "offers" if kind == "offer" else "needs")
    return stored
