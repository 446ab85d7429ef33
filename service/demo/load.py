"""Load the demo data set (offers, needs, a cooperation table taken through the pairing
lifecycle) into the database."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import Need, Offer
from service.db import lock_for_transaction
from service.items import service as items_service
from service.items import vectors
from service.items.schemas import NeedCreate, OfferCreate
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


def load_demo(session: Session, *,
              progress: Callable[[int, int], None] | None = None) -> DemoResult:
    """Insert the demo items that are not there yet (matched by ref); safe to run twice, also
    at once: a second load waits for the first to commit, then finds the data present."""
    lock_for_transaction(session, DEMO_LOCK_KEY)
    existing = set(session.scalars(select(Offer.ref))) | set(session.scalars(select(Need.ref)))
    created: dict[Kind, list[Offer | Need]] = {"offer": [], "need": []}
    for entry in demo_items():
        ref = DEMO_REF_PREFIX + entry["key"]
        if ref in existing:
            continue
        fields = {k: v for k, v in entry.items() if k not in ("key", "kind")}
        kind: Kind = "offer" if entry["kind"] == "offer" else "need"
        data = (OfferCreate if kind == "offer" else NeedCreate).model_validate(
            fields | {"ref": ref})
        row = items_service.create_item(session, kind=kind, data=data, principal=None,
                                        encode=False)
        created[kind].append(row)
    all_rows = created["offer"] + created["need"]
    done = 0

    def _progress(n: int, _total: int) -> None:
        if progress:
            progress(done + n, len(all_rows))

    kinds: tuple[Kind, ...] = ("offer", "need")
    for kind in kinds:
        vectors.encode_rows(created[kind], kind, progress=_progress)
        done += len(created[kind])
    definition = demo_table()
    tables = load_demo_table(session, definition)
    session.flush()
    pairings = load_demo_lifecycle(session, definition["name"])
    return DemoResult(offers=len(created["offer"]), needs=len(created["need"]), tables=tables,
                      pairings=pairings)


