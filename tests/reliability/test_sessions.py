"""The request's database session (`service.db.get_session`), on a real app and database:
it connects only when used, and every request gives its connection back, whatever its end."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import Engine, QueuePool, func, select

from models import Offer
from service.db import get_engine, open_session
from tests.factories import API, item_payload
from tests.reliability.conftest import OWN, World


def checked_out(engine: Engine) -> int:
    """Connections of the engine's pool in use now."""
    assert isinstance(engine.pool, QueuePool), engine.pool
    return engine.pool.checkedout()


def test_a_new_session_holds_no_connection_until_used(engine: Engine) -> None:
    for writes in (False, True):
        session = open_session(engine, writes=writes)
        try:
            assert checked_out(engine) == 0
            session.scalar(select(func.count(Offer.id)))
            assert checked_out(engine) == 1
        finally:
            session.close()
        assert checked_out(engine) == 0


def test_every_request_gives_its_connection_back(world: World) -> None:
    own = world.headers("own_country")
    offer = f"{API}/offers/{world.ids['offer']}"
    stale = {"If-Match": 'W/"offer-0"'}
    calls = [
        ("GET", f"{API}/offers", None, own),                           # 200
        ("GET", f"{API}/offers/999999", None, own),                    # 404 after a read
        ("POST", f"{API}/offers", {"title": ""}, own),                 # 422 before any read
        ("PATCH", offer, {"capacity": 3}, own | stale),                # 412 after a read
        ("PATCH", offer, {"capacity": 3}, world.headers("revoked")),   # 401
        ("POST", f"{API}/offers", item_payload("offer", country=OWN), own),  # 201
    ] * 10

    with ThreadPoolExecutor(8) as pool:
        statuses = sorted(set(pool.map(lambda c: world.client.request(
            c[0], c[1], json=c[2], headers=c[3]).status_code, calls)))

    assert statuses == [200, 201, 401, 404, 412, 422]
    assert checked_out(get_engine()) == 0


def test_a_failed_write_request_leaves_nothing(world: World) -> None:
    own = world.headers("own_country")
    before = world.client.get(f"{API}/offers", headers=own).json()["total"]
    duplicate = item_payload("offer", country=OWN, ref="SESSION-REF")
    assert world.client.post(f"{API}/offers", json=duplicate, headers=own).status_code == 201

    again = world.client.post(f"{API}/offers", json=duplicate, headers=own)

    assert again.status_code == 409, again.text
    assert world.client.get(f"{API}/offers", headers=own).json()["total"] == before + 1
    assert checked_out(get_engine()) == 0
