"""Load the demo data set (offers, needs, a cooperation table taken through the pairing
lifecycle) into the database."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import Need, Offer
from service import scoring
from service.config import get_settings
from service.db import lock_for_transaction
from service.items import service as items_service
from service.items import vectors
from service.items.schemas import ItemCreateBase, NeedCreate, OfferCreate
from service.items.service import Kind
from service.pairings.demo import load_demo_lifecycle
from service.tables.demo import load_demo_table

DEMO_REF_PREFIX = "DEMO-"
DEMO_LOCK_KEY = 0x7373636D_64656D6F  # "sscmdemo": the advisory lock of `load_demo`


@dataclass(frozen=True, slots=True)
class DemoResult:
    """What a demo load added."""

    offers: int
    needs: int
    tables: int
    pairings: int = 0


def demo_items() -> list[dict[str, Any]]:
    """Return the demo offers and needs shipped with the package."""
    text = resources.files("service.demo").joinpath("items.json").read_text("utf-8")
    items: list[dict[str, Any]] = json.loads(text)
    return items


def demo_table() -> dict[str, Any]:
    """Return the demo cooperation table definition."""
    text = resources.files("service.demo").joinpath("table.json").read_text("utf-8")
    table: dict[str, Any] = json.loads(text)
    return table


def is_empty(session: Session) -> bool:
    """True when the database holds no offers and no needs."""
    offers = session.scalar(select(func.count(Offer.id))) or 0
    needs = session.scalar(select(func.count(Need.id))) or 0
    return offers + needs == 0


def _validated(entry: Mapping[str, Any]) -> tuple[Kind, ItemCreateBase]:
    """A demo entry as the item it creates, validated as the API validates one."""
    fields = {k: v for k, v in entry.items() if k not in ("key", "kind")}
    kind: Kind = "offer" if entry["kind"] == "offer" else "need"
    data = (OfferCreate if kind == "offer" else NeedCreate).model_validate(
        fields | {"ref": DEMO_REF_PREFIX + entry["key"]})
    return kind, data


def _stored_refs(session: Session) -> set[str]:
    return set(session.scalars(select(Offer.ref))) | set(session.scalars(select(Need.ref)))


def texts_to_encode(session: Session) -> list[str]:
    """The texts (as encoded) of the demo items not stored yet; none when encoding on write is
    off, since the load then stores no vectors."""
    if not get_settings().encode_on_write:
        return []
    stored = _stored_refs(session)
    texts: dict[str, None] = {}
    for entry in demo_items():
        kind, data = _validated(entry)
        if data.ref in stored:
            continue
        item = scoring.Item(id=str(data.ref), kind=kind, country=data.country or "",
                            factor=data.factor, language=data.language or "",
                            modality=data.modality, title=data.title,
                            description=data.description,
                            target_population=data.target_population)
        texts[scoring.item_text(item)] = None
    return list(texts)


def encode_texts(texts: list[str], *,
                 progress: Callable[[int, int], None] | None = None) -> dict[str, bytes]:
    """Encode `texts` (from `texts_to_encode`): the vectors `load_demo` stores, by text.

    Run with no transaction open, before `load_demo`: encoding the demo takes seconds, and on
    SQLite a loading transaction holds the database's write lock from its start, so every
    other writer (a second load, the service's workers) would wait that long more.
    """
    if not texts:
        return {}
    matrix = scoring.get_text_model().encode(texts, progress=progress)
    return {text: scoring.vector_to_bytes(vector)
            for text, vector in zip(texts, matrix, strict=True)}


def load_demo(session: Session, *, progress: Callable[[int, int], None] | None = None,
              encoded: Mapping[str, bytes] | None = None) -> DemoResult:
    """Insert the demo items that are not there yet (matched by ref); safe to run twice, also
    at once: a second load waits for the first to commit, then finds the data present.

    `encoded` holds vectors made beforehand by `encode_texts`, by text; the items whose text
    is not there are encoded here (with `progress`)."""
    lock_for_transaction(session, DEMO_LOCK_KEY)
    existing = _stored_refs(session)
    created: dict[Kind, list[Offer | Need]] = {"offer": [], "need": []}
    for entry in demo_items():
        kind, data = _validated(entry)
        if data.ref in existing:
            continue
        row = items_service.create_item(session, kind=kind, data=data, principal=None,
                                        encode=False)
        created[kind].append(row)
    to_encode = {kind: vectors.use_vectors(rows, kind, encoded or {})
                 for kind, rows in created.items()}
    total = sum(map(len, to_encode.values()))
    done = 0

    def _progress(n: int, _total: int) -> None:
        if progress:
            progress(done + n, total)

    kinds: tuple[Kind, ...] = ("offer", "need")
    for kind in kinds:
        vectors.encode_rows(to_encode[kind], kind, progress=_progress)
        done += len(to_encode[kind])
    definition = demo_table()
    tables = load_demo_table(session, definition)
    session.flush()
    pairings = load_demo_lifecycle(session, definition["name"])
    return DemoResult(offers=len(created["offer"]), needs=len(created["need"]), tables=tables,
                      pairings=pairings)
