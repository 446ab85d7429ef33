"""Per-process index of the published offers and needs with their text vectors.

Several stateless workers share one database, so each keeps its own index and checks, on every
use, the revision counter that every write bumps in the same transaction (`index_revisions`).
When the counter moved, the index re-reads only the ids and versions of published rows and
loads the rows that are new or changed; withdrawn, unpublished or deleted rows drop out.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, TypeVar, cast

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Need, Offer
from service import revisions, scoring
from service.items.vectors import ITEM_COLUMNS, to_scoring_item

Kind = Literal["offer", "need"]
T = TypeVar("T")
# Entries kept per kind of cached result (the first element of a memo key), least recently
# used first out. A table's suggestions can be large; one item's matches are a few rows.
MEMO_SIZES = {"item_matches": 1024}
MEMO_SIZE = 32
log = logging.getLogger("service.index")


@dataclass
class ItemIndex:
    """The published items of one kind, their versions and a matrix of their vectors."""

    kind: Kind
    url: str = ""
    revision: int = -1
    # A tuple: the scorer memoises the columns of a tuple it sees again (not of a list).
    items: tuple[scoring.Item, ...] = ()
    versions: dict[int, int] = field(default_factory=dict)
    vectors: NDArray[np.float32] = field(
        default_factory=lambda: np.zeros((0, 0), dtype=np.float32))
    position: dict[str, int] = field(default_factory=dict)

    def vectors_for(self, ids: list[str]) -> NDArray[np.float32]:
        """Return the rows of the vector matrix for these item ids."""
        return self.vectors[[self.position[i] for i in ids]]


class IndexCache:
    """One process's (one application's) indexes of published offers and needs."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._indexes: dict[tuple[str, Kind], ItemIndex] = {}
        self._memo: dict[object, OrderedDict[tuple[object, ...], object]] = {}

    def get(self, session: Session, kind: Kind, *, revision: int | None = None) -> ItemIndex:
        """Return the index of `kind`, refreshed if any writer changed the data since;
        `revision`: the counter of `kind` as the caller read it in this transaction."""
        key = (session.get_bind().engine.url.render_as_string(hide_password=True), kind)
        if revision is None:
            revision = revisions.read(session, "offers" if kind == "offer" else "needs")
        with self._lock:
            index = self._indexes.get(key)
            if index is not None and index.revision == revision:
                return index
            fresh = _refresh(session, kind, index, revision, key[0])
            self._indexes[key] = fresh
            return fresh

    def memo(self, key: tuple[object, ...], compute: Callable[[], T]) -> T:
        """Return the value cached under `key`, computing it once; keys must name every
        revision the value depends on, so that a write anywhere makes a new key. The first
        element of the key names the kind of result; each kind has its own size bound."""
        kind = key[0]
        with self._lock:
            entries = self._memo.setdefault(kind, OrderedDict())
            if key in entries:
                entries.move_to_end(key)
                return cast(T, entries[key])
        value = compute()
        with self._lock:
            entries[key] = value
            while len(entries) > MEMO_SIZES.get(str(kind), MEMO_SIZE):
                entries.popitem(last=False)
        return value

    def clear(self) -> None:
        """Forget every index and cached result (after re-encoding)."""
        with self._lock:
            self._indexes.clear()
            self._memo.clear()


def _refresh(session: Session, kind: Kind, old: ItemIndex | None, revision: int,
             url: str) -> ItemIndex:
    model = Offer if kind == "offer" else Need
    rows = session.execute(
        select(model.id, model.version).where(model.status == "published").order_by(model.id)
    ).all()
    versions = {row.id: row.version for row in rows}
    model_name = scoring.get_text_model().name
    keep: dict[int, tuple[scoring.Item, NDArray[np.float32]]] = {}
    if old is not None and old.vectors.size:
        for item in old.items:
            item_id = int(item.id)
            if versions.get(item_id) == old.versions.get(item_id):
                keep[item_id] = (item, old.vectors[old.position[item.id]])
    missing = [i for i in versions if i not in keep]
    loaded = _load(session, kind, missing, model_name)
    merged = {**keep, **loaded}
    ordered = sorted(merged)
    items = [merged[i][0] for i in ordered]
    dim = scoring.get_text_model().dim
    matrix = (np.vstack([merged[i][1] for i in ordered]).astype(np.float32, copy=False)
              if ordered else np.zeros((0, dim), dtype=np.float32))
    log.info("%s index at revision %d: %d items (%d loaded)", kind, revision, len(items),
             len(loaded))
    return ItemIndex(kind=kind, url=url, revision=revision, items=tuple(items),
                     versions={i: versions[i] for i in ordered}, vectors=matrix,
                     position={item.id: n for n, item in enumerate(items)})


def _load(session: Session, kind: Kind, ids: list[int],
          model_name: str) -> dict[int, tuple[scoring.Item, NDArray[np.float32]]]:
    out: dict[int, tuple[scoring.Item, NDArray[np.float32]]] = {}
    text_model = scoring.get_text_model()
    to_encode: list[tuple[int, scoring.Item]] = []
    model = Offer if kind == "offer" else Need
    # Plain result rows of the columns needed, not ORM entities (a third of a refresh's CPU).
    columns = [getattr(model, name) for name in
               (*ITEM_COLUMNS, *(("capacity",) if kind == "offer" else ()),
                "embedding", "embedding_model")]
    for start in range(0, len(ids), 2000):
        chunk = ids[start:start + 2000]
        for row in session.execute(select(*columns).where(model.id.in_(chunk))):
            item = to_scoring_item(row, kind)
            if row.embedding is not None and row.embedding_model == model_name:
                out[row.id] = (item, scoring.vector_from_bytes(row.embedding, text_model.dim))
            else:
                to_encode.append((row.id, item))
    if to_encode:
        # Rows written with encoding switched off or by another model version: encode them
        # in memory so that matching still sees them (`sscmatch reencode` stores them).
        matrix = text_model.encode([scoring.item_text(item) for _, item in to_encode])
        for (row_id, item), vector in zip(to_encode, matrix, strict=True):
            out[row_id] = (item, vector)
    return out
