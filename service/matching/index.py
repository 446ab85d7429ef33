"""Per-process index of the published offers and needs with their text vectors.

Several stateless workers share one database, so each keeps its own index and checks, on every
use, the revision counter that every write bumps in the same transaction (`index_revisions`).
When the counter moved, the index reads only the rows written since the revision it holds
(their `change_seq`, see `service.revisions`): changed rows replace their old entries,
withdrawn or unpublished ones drop out, new ones come in. The first use, a counter that went
backwards (a restored database) or another text model reads everything.

Items stay ordered by id, as a full read would give them. The vectors live in a matrix with
spare rows at the end: new items with the highest ids (a new published offer) are written
into the spare rows, which older indexes never look at, and items whose text and vector did
not change (a new capacity, a status flip of another row) are swapped in the tuple only; a
withdrawal, a new vector or an id in the middle copies the matrix once.

A request whose transaction began before the last write another request already applied (its
snapshot reads an older counter) is served the kept index taken back to its revision: the
ids of the rows each recent refresh read are kept, and only those rows are read again, as its
snapshot sees them. The kept index stays as it is (it is newer).
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from itertools import pairwise
from typing import Literal, TypeVar, cast

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from models import Need, Offer
from service import revisions, scoring
from service.items.vectors import ITEM_COLUMNS, to_scoring_item

Kind = Literal["offer", "need"]
T = TypeVar("T")
Vectors = NDArray[np.float32]
# Entries kept per kind of cached result (the first element of a memo key), least recently
# used first out. A table's suggestions can be large; one item's matches are a few rows.
MEMO_SIZES = {"item_matches": 1024}
MEMO_SIZE = 32
CHUNK = 2000
# Recent refreshes remembered per index (the ids they read), to serve older snapshots, and the
# most rows read again for one: an older snapshot beyond them reads everything.
STEPS = 64
MOST_STEP_ROWS = 5000
log = logging.getLogger("service.index")


@dataclass(frozen=True)
class ItemIndex:
    """The published items of one kind, ordered by id, and a matrix of their vectors."""

    kind: Kind
    url: str = ""
    revision: int = -1
    model: str = ""
    # A tuple: the scorer memoises the columns of a tuple it sees again (not of a list).
    items: tuple[scoring.Item, ...] = ()
    ids: NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    vectors: Vectors = field(default_factory=lambda: np.zeros((0, 0), dtype=np.float32))
    position: dict[str, int] = field(default_factory=dict)
    # `vectors` is the first len(items) rows of `store`; the rest are free for appends.
    store: Vectors = field(default_factory=lambda: np.zeros((0, 0), dtype=np.float32))

    def vectors_for(self, ids: list[str]) -> Vectors:
        """Return the rows of the vector matrix for these item ids."""
        return self.vectors[[self.position[i] for i in ids]]


class IndexCache:
    """One process's (one application's) indexes of published offers and needs."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._indexes: dict[tuple[str, Kind], ItemIndex] = {}
        # Per index: revision reached -> (revision it came from, ids of the rows read).
        self._steps: dict[tuple[str, Kind], OrderedDict[int, tuple[int, frozenset[int]]]] = {}
        self._memo: dict[object, OrderedDict[tuple[object, ...], object]] = {}

    def get(self, session: Session, kind: Kind, *, revision: int | None = None) -> ItemIndex:
        """Return the index of `kind`, refreshed if any writer changed the data since;
        `revision`: the counter of `kind` as the caller read it in this transaction."""
        key = (session.get_bind().engine.url.render_as_string(hide_password=True), kind)
        counter: revisions.Counter = "offers" if kind == "offer" else "needs"
        if revision is None:
            revision = revisions.read(session, counter)
        with self._lock:
            index = self._indexes.get(key)
            if index is not None and index.revision == revision:
                return index
            steps = self._steps.setdefault(key, OrderedDict())
            if index is not None and revision < index.revision:
                # A transaction older than the kept index (another request refreshed it since
                # this one began): take the index back, do not read everything nor replace it.
                changed = _changed_since(steps, revision, index.revision)
                if changed is not None:
                    return _back(session, kind, index, changed, revision)
            # Rows this transaction wrote may yet be rolled back: use them, do not keep them.
            mine = revisions.uncommitted(session, counter)
            fresh, read = _refresh(session, kind, index, revision, key[0], private=mine)
            if not mine:
                if index is None or read is None:
                    steps.clear()
                else:
                    steps[revision] = (index.revision, read)
                    while len(steps) > STEPS:
                        steps.popitem(last=False)
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
            self._steps.clear()
            self._memo.clear()


@dataclass
class _Changes:
    """Rows read for a refresh, in id order: published ones with their item and vector
    (row j of `vectors`), and the ids of rows that are no longer published."""

    ids: list[int]
    items: list[scoring.Item]
    vectors: Vectors
    gone: list[int]


def _refresh(session: Session, kind: Kind, old: ItemIndex | None, revision: int, url: str,
             *, private: bool = False) -> tuple[ItemIndex, frozenset[int] | None]:
    """The index at `revision`, and the ids of the rows read to bring `old` to it (None after
    a full read)."""
    model = Offer if kind == "offer" else Need
    text_model = scoring.get_text_model()
    model_name = text_model.name
    if old is None or revision < old.revision or old.model != model_name:
        changes = _read(session, kind, model.status == "published", spare=True)
        blank = np.zeros((0, text_model.dim), dtype=np.float32)
        empty = ItemIndex(kind=kind, url=url, model=model_name, vectors=blank, store=blank)
        # The rows come in id order, their vectors in one matrix with spare rows: that matrix
        # is the index's, not copied.
        items = tuple(changes.items)
        fresh = _index(empty, revision, items, np.asarray(changes.ids, dtype=np.int64),
                       changes.vectors, {item.id: k for k, item in enumerate(items)},
                       np.full(len(items), -1, dtype=np.intp))
        log.info("%s index at revision %d: %d items read", kind, revision, len(fresh.items))
        return fresh, None
    changes = _read(session, kind, or_(model.change_seq > old.revision,
                                       model.change_seq.is_(None)))
    fresh = _assemble(old, changes, revision, private=private)
    log.info("%s index at revision %d: %d items, %d changed, %d dropped", kind, revision,
             len(fresh.items), len(changes.ids), len(changes.gone))
    return fresh, frozenset([*changes.ids, *changes.gone])


def _changed_since(steps: OrderedDict[int, tuple[int, frozenset[int]]], revision: int,
                   newest: int) -> frozenset[int] | None:
    """The ids of every row the refreshes from `revision` (or earlier) to `newest` read; None
    when they are not all remembered, or too many."""
    changed: set[int] = set()
    at = newest
    while at > revision:
        step = steps.get(at)
        if step is None:
            return None
        at, ids = step
        changed |= ids
        if len(changed) > MOST_STEP_ROWS:
            return None
    return frozenset(changed)


def _back(session: Session, kind: Kind, newer: ItemIndex, changed: frozenset[int],
          revision: int) -> ItemIndex:
    """`newer` taken back to the older `revision` of the caller's snapshot: the rows changed
    since are read again as the snapshot sees them (those it does not see published, or at
    all, drop out). Not kept: the result is private to the caller."""
    model = Offer if kind == "offer" else Need
    changes = _read(session, kind, model.id.in_(sorted(changed))) if changed else _Changes(
        [], [], np.zeros((0, newer.store.shape[1]), dtype=np.float32), [])
    changes.gone = sorted(changed - set(changes.ids))
    older = _assemble(newer, changes, revision, private=True)
    log.info("%s index taken back to revision %d for an older snapshot: %d rows read again",
             kind, revision, len(changed))
    return older


def _read(session: Session, kind: Kind, where: ColumnElement[bool], *,
          spare: bool = False) -> _Changes:
    """The rows matching `where`: items and vectors of the published ones (encoded in memory
    when not stored by the current model), ids of the others; `spare`: the vectors' matrix
    has the spare rows of a new index's store after them (see `_allocate`)."""
    model = Offer if kind == "offer" else Need
    text_model = scoring.get_text_model()
    # Plain result rows of the columns needed, not ORM entities (a third of a refresh's CPU).
    columns = [getattr(model, name) for name in
               (*ITEM_COLUMNS, *(("capacity",) if kind == "offer" else ()),
                "status", "embedding", "embedding_model")]
    ids: list[int] = []
    items: list[scoring.Item] = []
    stored: list[bytes] = []
    gone: list[int] = []
    to_encode: list[int] = []
    blank = bytes(4 * text_model.dim)
    stmt = select(*columns).where(where).order_by(model.id).execution_options(yield_per=CHUNK)
    for row in session.execute(stmt):
        if row.status != "published":
            gone.append(row.id)
            continue
        if row.embedding is not None and row.embedding_model == text_model.name:
            stored.append(row.embedding)
        else:
            to_encode.append(len(ids))
            stored.append(blank)
        ids.append(row.id)
        items.append(to_scoring_item(row, kind))
    vectors = scoring.vectors_from_bytes(stored, text_model.dim,
                                         spare=_spare_rows(len(stored)) if spare else 0)
    if to_encode:
        # Rows written with encoding switched off or by another model version: encode them
        # in memory so that matching still sees them (`sscmatch reencode` stores them).
        vectors[to_encode] = text_model.encode([scoring.item_text(items[k]) for k in to_encode])
    return _Changes(ids, items, vectors, gone)


def _assemble(old: ItemIndex, changes: _Changes, revision: int, *,
              private: bool) -> ItemIndex:
    """`old` with the changed rows applied, at `revision`; `private`: the result must not
    write into the spare rows of `old`'s matrix (it may be dropped, and `old` refreshed
    again)."""
    if not changes.ids and not any(i in old.position for i in map(str, changes.gone)):
        return replace(old, revision=revision)
    dim = old.store.shape[1]
    n_old = len(old.items)
    changed_at = {int(old.ids[p]): p for p in
                  (old.position.get(str(i)) for i in (*changes.ids, *changes.gone))
                  if p is not None}
    same_vectors = all(
        np.array_equal(old.vectors[changed_at[i]], changes.vectors[j])
        for j, i in enumerate(changes.ids) if i in changed_at)
    appended = [k for k, i in enumerate(changes.ids) if i not in changed_at]
    top = int(old.ids[-1]) if n_old else -1
    if (not private and same_vectors and not any(i in changed_at for i in changes.gone)
            and all(changes.ids[k] > top for k in appended)):
        return _append(old, changes, revision, changed_at, appended, dim)
    return _rebuild(old, changes, revision, changed_at, dim)


def _append(old: ItemIndex, changes: _Changes, revision: int, changed_at: dict[int, int],
            appended: list[int], dim: int) -> ItemIndex:
    """Swap items whose vector did not change and write new ones (highest ids) into the
    spare rows: no copy of the matrix while it has room."""
    n_old, n = len(old.items), len(old.items) + len(appended)
    store = old.store
    if store.shape[0] < n:
        store = _allocate(n, dim)
        store[:n_old] = old.vectors
    items = list(old.items)
    source = np.arange(n, dtype=np.intp)
    source[n_old:] = -1
    for i, item in zip(changes.ids, changes.items, strict=True):
        if i in changed_at:
            items[changed_at[i]] = item
            source[changed_at[i]] = -1
    position = dict(old.position)
    for offset, k in enumerate(appended):
        store[n_old + offset] = changes.vectors[k]
        items.append(changes.items[k])
        position[changes.items[k].id] = n_old + offset
    ids = np.concatenate([old.ids, np.asarray([changes.ids[k] for k in appended],
                                              dtype=np.int64)])
    return _index(old, revision, tuple(items), ids, store, position, source)


def _rebuild(old: ItemIndex, changes: _Changes, revision: int, changed_at: dict[int, int],
             dim: int) -> ItemIndex:
    """Merge the kept rows of `old` and the changed ones into a new matrix, in id order."""
    keep = np.ones(len(old.items), dtype=bool)
    keep[list(changed_at.values())] = False
    kept = np.flatnonzero(keep)
    new_ids = np.asarray(changes.ids, dtype=np.int64)
    merged = np.concatenate([old.ids[kept], new_ids])
    order = np.argsort(merged, kind="stable")
    n = len(merged)
    # source[k]: the row of `old` that output row k copies, or -1 - j for changed row j.
    source = np.concatenate([kept, -1 - np.arange(len(new_ids))]).astype(np.intp)[order]
    store = _allocate(n, dim)
    # Rows come in runs of consecutive rows of `old` (source rising by 1) or of the changed
    # rows (source falling by 1): one slice copy per run.
    before = np.concatenate([source[:1], source[:-1]])
    ongoing = (((source >= 0) & (before >= 0) & (source - before == 1))
               | ((source < 0) & (before < 0) & (source - before == -1)))
    ongoing[:1] = False
    starts = np.flatnonzero(~ongoing)
    for a, b in pairwise([*starts.tolist(), n]):
        first = int(source[a])
        if first >= 0:
            store[a:b] = old.vectors[first:first + b - a]
        else:
            store[a:b] = changes.vectors[-1 - first:-1 - first + b - a]
    items = tuple(old.items[s] if s >= 0 else changes.items[-1 - s] for s in source.tolist())
    position = {item.id: k for k, item in enumerate(items)}
    source[source < 0] = -1
    return _index(old, revision, items, merged[order], store, position, source)


def _index(old: ItemIndex, revision: int, items: tuple[scoring.Item, ...],
           ids: NDArray[np.int64], store: Vectors, position: dict[str, int],
           source: NDArray[np.intp]) -> ItemIndex:
    # The scorer's columns of the new tuple, derived from those of the old one.
    scoring.derive_columns(old.items, items, source)
    return replace(old, revision=revision, items=items, ids=ids, store=store,
                   vectors=store[:len(items)], position=position)


def _spare_rows(n: int) -> int:
    """Rows kept free for appends after n rows of vectors: about 1/8 more, at least 256."""
    return max(256, n // 8)


def _allocate(n: int, dim: int) -> Vectors:
    """A matrix for n rows of vectors and spare rows for appends."""
    return np.zeros((n + _spare_rows(n), dim), dtype=np.float32)
