"""The per-process index: after a write it reads only the rows changed since its revision and
must then hold exactly what a full read would."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from models import Offer
from service import revisions, scoring
from service.matching.index import IndexCache, ItemIndex, Vectors, _assemble, _Changes
from tests.conftest import KeyMaker, bearer
from tests.factories import API, create_offer


def _assert_same(incremental: ItemIndex, full: ItemIndex) -> None:
    assert incremental.revision == full.revision
    assert incremental.items == full.items
    assert incremental.ids.tolist() == [int(item.id) for item in full.items]
    assert full.ids.tolist() == [int(item.id) for item in full.items]
    assert incremental.position == full.position
    assert np.array_equal(incremental.vectors, full.vectors)


class World:
    def __init__(self, client: TestClient, session: Session, admin: str) -> None:
        self.client, self.session, self.admin = client, session, admin
        self.cache = IndexCache()

    def patch(self, offer_id: int, **change: Any) -> None:
        url = f"{API}/offers/{offer_id}"
        etag = self.client.get(url, headers=bearer(self.admin)).headers["etag"]
        reply = self.client.patch(url, json=change,
                                  headers=bearer(self.admin) | {"If-Match": etag})
        assert reply.status_code == 200, reply.text

    def refreshed(self) -> ItemIndex:
        """The kept index brought up to date, checked against a full read."""
        incremental = self.cache.get(self.session, "offer")
        _assert_same(incremental, IndexCache().get(self.session, "offer"))
        return incremental


@pytest.fixture
def world(app_client: TestClient, session: Session, make_key: KeyMaker) -> World:
    return World(app_client, session, make_key("admin"))


def _offers(world: World, n: int, **fields: Any) -> list[int]:
    return [int(create_offer(world.client, world.admin, title=f"Oferta {k} de registro laboral",
                             **fields)["id"]) for k in range(n)]


def test_a_new_capacity_swaps_the_item_and_keeps_the_matrix(world: World) -> None:
    ids = _offers(world, 4)
    before = world.refreshed()

    world.patch(ids[1], capacity=7)
    after = world.refreshed()

    assert after.items[1].capacity == 7
    assert after.store is before.store  # no copy of the vectors
    assert before.items[1].capacity == 2  # the older index is untouched


def test_a_new_title_brings_in_its_new_vector(world: World) -> None:
    ids = _offers(world, 3)
    before = world.refreshed()
    old_vector = before.vectors[1].copy()

    world.patch(ids[1], title="Certificación de competencias de trabajadores migrantes")
    after = world.refreshed()

    assert not np.array_equal(after.vectors[1], old_vector)
    assert np.array_equal(before.vectors[1], old_vector)


def test_new_offers_with_the_highest_ids_go_into_the_spare_rows(world: World) -> None:
    _offers(world, 3)
    before = world.refreshed()

    _offers(world, 2)
    after = world.refreshed()

    assert len(after.items) == len(before.items) + 2
    assert after.store is before.store
    assert len(before.vectors) == len(before.items)


def test_withdrawn_and_unpublished_offers_drop_out(world: World) -> None:
    ids = _offers(world, 5)
    world.refreshed()

    assert world.client.delete(f"{API}/offers/{ids[1]}",
                               headers=bearer(world.admin)).status_code == 200
    world.patch(ids[3], status="draft")
    after = world.refreshed()

    assert str(ids[1]) not in after.position
    assert str(ids[3]) not in after.position

    for offer_id in (ids[0], ids[2], ids[4]):
        world.patch(offer_id, status="draft")
    assert world.refreshed().items == ()


def test_a_published_draft_with_a_lower_id_takes_its_place_in_id_order(world: World) -> None:
    draft = _offers(world, 1, status="draft")[0]
    _offers(world, 3)
    before = world.refreshed()
    assert str(draft) not in before.position

    world.patch(draft, status="published")
    after = world.refreshed()

    assert after.position[str(draft)] == 0


def test_every_write_is_stamped_with_its_counters_revision(world: World) -> None:
    ids = _offers(world, 2)
    row = world.session.get(Offer, ids[0])
    assert row is not None
    updated_at = row.updated_at

    assert row.change_seq == revisions.read(world.session, "offers") - 1  # one per creation
    world.patch(ids[1], capacity=3)
    world.session.expire_all()
    stamped = {i: world.session.get(Offer, i) for i in ids}
    assert stamped[ids[1]].change_seq == revisions.read(world.session, "offers")  # type: ignore[union-attr]
    # The stamp of the later write did not touch the other row, nor its update time.
    assert stamped[ids[0]].change_seq < stamped[ids[1]].change_seq  # type: ignore[operator,union-attr]
    assert stamped[ids[0]].updated_at == updated_at  # type: ignore[union-attr]


def _stamps(world: World, ids: list[int]) -> list[int | None]:
    world.session.expire_all()
    rows = world.session.execute(select(Offer.id, Offer.change_seq).where(Offer.id.in_(ids)))
    stamps = {offer_id: stamp for offer_id, stamp in rows}
    return [stamps[i] for i in ids]


def test_a_write_stamps_its_own_rows_by_id_and_leaves_other_rows_alone(world: World) -> None:
    """A row left NULL behind the session's back (a statement on the connection, after the
    counter was applied) is not stamped by another transaction's write: every refresh reads
    it."""
    ids = _offers(world, 3)
    world.refreshed()
    revisions.bump(world.session, "offers")
    revisions.read(world.session, "offers")
    world.session.connection().execute(update(Offer).where(Offer.id == ids[2])
                                       .values(capacity=5, change_seq=None))
    world.session.commit()
    assert [world.refreshed().items[2].capacity] == [5]

    world.patch(ids[0], capacity=6)
    after = world.refreshed()

    assert [after.items[k].capacity for k in (0, 2)] == [6, 5]
    stamps = _stamps(world, ids)
    assert stamps[0] == revisions.read(world.session, "offers")
    assert stamps[2] is None


def test_an_orm_write_bumps_its_counter_and_is_stamped_without_being_asked(world: World) -> None:
    ids = _offers(world, 2)
    before = world.refreshed()

    row = world.session.get(Offer, ids[1])
    assert row is not None
    row.capacity = 7
    world.session.commit()

    assert world.refreshed().revision == before.revision + 1
    assert _stamps(world, ids)[1] == before.revision + 1


def test_a_write_after_the_counter_was_read_is_stamped_by_a_second_bump(world: World) -> None:
    ids = _offers(world, 2)
    before = world.refreshed()

    world.patch(ids[0], capacity=2)
    row = world.session.get(Offer, ids[0])
    assert row is not None
    row.capacity = 3
    world.session.flush()
    applied = revisions.read(world.session, "offers")  # applies the bump mid-transaction
    row.capacity = 4
    world.session.commit()

    assert revisions.read(world.session, "offers") == applied + 1 > before.revision
    assert _stamps(world, ids)[0] == applied + 1
    assert world.refreshed().items[0].capacity == 4


def test_a_bulk_statement_makes_the_bump_stamp_every_null_row(world: World) -> None:
    ids = _offers(world, 3)
    untouched = world.refreshed().items[2].capacity
    world.session.connection().execute(update(Offer).where(Offer.id == ids[2])
                                       .values(change_seq=None))
    world.session.commit()

    world.session.execute(update(Offer).where(Offer.id.in_(ids[:2])).values(capacity=9))
    world.session.commit()

    revision = revisions.read(world.session, "offers")
    assert _stamps(world, ids) == [revision] * 3
    assert [item.capacity for item in world.refreshed().items] == [9, 9, untouched]


def test_a_transaction_writing_many_rows_stamps_every_null_row(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """Past `_MOST_STAMPED_BY_ID` written rows, one statement stamps every NULL row instead of
    a list of ids as long as the transaction."""
    monkeypatch.setattr(revisions, "_MOST_STAMPED_BY_ID", 2)
    ids = _offers(world, 4)
    world.refreshed()
    world.session.connection().execute(update(Offer).where(Offer.id == ids[3])
                                       .values(change_seq=None))
    world.session.commit()

    for offer_id in ids[:3]:
        row = world.session.get(Offer, offer_id)
        assert row is not None
        row.capacity = 4
    world.session.commit()

    assert _stamps(world, ids) == [revisions.read(world.session, "offers")] * 4
    assert [item.capacity for item in world.refreshed().items[:3]] == [4, 4, 4]


def test_an_index_read_by_a_writing_transaction_is_not_kept(world: World) -> None:
    ids = _offers(world, 2)
    kept = world.refreshed()

    world.session.execute(update(Offer).where(Offer.id == ids[0]).values(capacity=4))
    revisions.bump(world.session, "offers")
    seen = world.cache.get(world.session, "offer")
    assert seen.items[0].capacity == 4  # the transaction sees its own write
    world.session.rollback()

    again = world.cache.get(world.session, "offer")
    assert again.items[0].capacity == kept.items[0].capacity
    _assert_same(again, IndexCache().get(world.session, "offer"))


def _synthetic(i: int, version: int) -> scoring.Item:
    return scoring.Item(id=str(i), kind="offer", country=("ARG", "CHL", "PER")[i % 3],
                        factor="education", language="es", modality="training",
                        title=f"oferta {i} v{version}", description="", capacity=1 + version % 3)


@pytest.mark.parametrize("seed", range(6))
def test_random_sequences_of_changes_give_what_a_full_read_gives(seed: int) -> None:
    """Changes of every kind (new capacity, new vector, withdrawal, new id at the top or in
    the middle, rows that were never in the index) in random batches, applied one refresh
    after another, some of them private; every index built on the way must stay as built."""
    rng = np.random.default_rng(seed)
    dim = 3
    truth: dict[int, tuple[scoring.Item, Vectors]] = {}
    blank = np.zeros((0, dim), dtype=np.float32)
    index = ItemIndex(kind="offer", vectors=blank, store=blank)
    built: list[tuple[ItemIndex, list[scoring.Item], Vectors]] = []
    for step in range(40):
        batch = sorted({int(i) for i in rng.integers(0, 300, size=int(rng.integers(1, 12)))})
        if step % 5 == 4:  # a run of new ids above all others
            top = max(truth, default=0)
            batch = sorted({*batch, *range(top + 1, top + int(rng.integers(1, 400)))})
        # Every third batch changes no vector and adds ids only at the top: no copy needed.
        quiet = step % 3 == 0
        top = max(truth, default=-1)
        if quiet:
            batch = [i for i in batch if i in truth or i > top]
        ids, items, rows, gone = [], [], [], []
        for i in batch:
            roll = 0.3 if quiet else rng.random()
            if i in truth and roll < 0.25:
                gone.append(i)
                del truth[i]
                continue
            if roll < 0.1:
                gone.append(i)  # a draft that never was in the index
                continue
            item = _synthetic(i, step)
            vector = (truth[i][1] if i in truth and roll < 0.6
                      else rng.standard_normal(dim).astype(np.float32))
            truth[i] = (item, vector)
            ids.append(i)
            items.append(item)
            rows.append(vector)
        changes = _Changes(ids, items, np.asarray(rows, dtype=np.float32).reshape(-1, dim),
                           gone)
        index = _assemble(index, changes, step, private=bool(rng.random() < 0.2))
        expected = sorted(truth)
        assert index.ids.tolist() == expected
        assert [item.id for item in index.items] == [str(i) for i in expected]
        assert index.items == tuple(truth[i][0] for i in expected)
        assert np.array_equal(index.vectors, np.asarray([truth[i][1] for i in expected],
                                                        dtype=np.float32).reshape(-1, dim))
        assert index.position == {str(i): k for k, i in enumerate(expected)}
        built.append((index, list(index.items), index.vectors.copy()))
    for kept, items_then, vectors_then in built:
        assert list(kept.items) == items_then
        assert np.array_equal(kept.vectors, vectors_then)


@pytest.mark.usefixtures("committed_db")
def test_an_older_snapshot_is_served_without_a_full_read_nor_a_step_back(
        caplog: pytest.LogCaptureFixture) -> None:
    """A request whose transaction began before a write that another request has already
    brought into the kept index (it waited for the index's lock, say) sees the items as its
    snapshot has them; it neither reads every item again nor sets the kept index back."""
    from service.auth.service import create_key
    from service.db import open_session, session_scope
    from service.main import create_app

    with session_scope() as s:
        _key, admin = create_key(s, role="admin", name="snapshots")
    with TestClient(create_app()) as client:
        first, second, third = (int(create_offer(client, admin, title=f"Oferta {k} de registro "
                                                 "laboral")["id"]) for k in range(3))
        cache = IndexCache()
        older = open_session(writes=False)
        try:
            assert [i.id for i in cache.get(older, "offer").items] == [
                str(first), str(second), str(third)]  # `older`'s snapshot begins here
            url = f"{API}/offers/{second}"
            etag = client.get(url, headers=bearer(admin)).headers["etag"]
            assert client.patch(url, json={"title": "Inspección móvil en fincas de café"},
                                headers=bearer(admin) | {"If-Match": etag}).status_code == 200
            assert client.delete(f"{API}/offers/{third}",
                                 headers=bearer(admin)).status_code in (200, 204)
            fourth = int(create_offer(client, admin, title="Oferta nueva")["id"])
            with session_scope(writes=False) as newer:
                kept = cache.get(newer, "offer")
            assert [i.id for i in kept.items] == [str(first), str(second), str(fourth)]
            caplog.set_level(logging.INFO, logger="service.index")
            caplog.clear()

            seen = cache.get(older, "offer")

            assert "items read" not in caplog.text  # no full read
            _assert_same(seen, IndexCache().get(older, "offer"))
            assert [i.id for i in seen.items] == [str(first), str(second), str(third)]
            assert seen.items[1].title == "Oferta 1 de registro laboral"
            with session_scope(writes=False) as newer:
                assert cache.get(newer, "offer") is kept
        finally:
            older.close()
