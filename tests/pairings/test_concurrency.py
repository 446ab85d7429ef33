"""Real concurrent requests on PostgreSQL: racing confirmations, transitions and creations of
one pairing give one consistent result (row locks + version-checked updates + unique keys).

Each thread has its own client (its own event loop) on one application whose request sessions
commit for real (`committed_db`); all threads start together at a barrier. Skipped on SQLite,
which serialises writers anyway.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from models import IdempotencyRecord, Pairing, PairingConsent, PairingEvent
from service.auth.service import create_key
from service.db import session_scope
from service.main import create_app
from tests.conftest import bearer
from tests.factories import API, create_need, create_offer

pytestmark = pytest.mark.postgres
THREADS = 30


@pytest.fixture
def app(committed_db: str) -> FastAPI:
    if not committed_db.startswith("postgresql"):
        pytest.skip("real concurrency is tested on PostgreSQL (TEST_DATABASE_URL)")
    application = create_app()
    with TestClient(application) as warm:
        warm.get(f"{API}/tables")  # build the routes once, before the race
    return application


def _keys() -> dict[str, str]:
    out = {}
    with session_scope() as session:
        for role, country in (("admin", None), ("organizer", None), ("country", "HTI"),
                              ("country", "CHL")):
            _key, secret = create_key(session, role=role, country=country, name="race")
            out[country or role] = secret
    return out


def _world(app: FastAPI) -> tuple[dict[str, str], int, int]:
    keys = _keys()
    with TestClient(app) as client:
        need = create_need(client, keys["admin"], country="HTI", language="es")["id"]
        offer = create_offer(client, keys["admin"], country="CHL", capacity=10)["id"]
    return keys, int(need), int(offer)


def _race(app: FastAPI, calls: list[Callable[[TestClient], httpx.Response]]
          ) -> list[httpx.Response]:
    """Run every call in its own thread and client, all released at once."""
    barrier = threading.Barrier(len(calls))
    results: list[httpx.Response | None] = [None] * len(calls)

    def run(n: int) -> None:
        with TestClient(app, raise_server_exceptions=False) as client:
            barrier.wait()
            results[n] = calls[n](client)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert all(r is not None for r in results)
    return [r for r in results if r is not None]


def _post(url: str, key: str, body: dict[str, Any] | None = None,
          headers: dict[str, str] | None = None) -> Callable[[TestClient], httpx.Response]:
    return lambda client: client.post(url, json=body, headers=bearer(key) | (headers or {}))


def _pairing(app: FastAPI, keys: dict[str, str], need: int, offer: int) -> int:
    with TestClient(app) as client:
        resp = client.post(f"{API}/pairings", json={"need_id": need, "offer_id": offer},
                           headers=bearer(keys["HTI"]))
        assert resp.status_code == 201, resp.text
        return int(resp.json()["id"])


def _events(pairing_id: int) -> list[PairingEvent]:
    with session_scope() as session:
        return list(session.scalars(select(PairingEvent).where(
            PairingEvent.pairing_id == pairing_id).order_by(PairingEvent.id)))


def test_racing_confirmations_give_one_consent_per_side_and_one_stage_change(
        app: FastAPI) -> None:
    keys, need, offer = _world(app)
    pid = _pairing(app, keys, need, offer)
    url = f"{API}/pairings/{pid}/transitions"
    calls = [_post(url, keys["HTI" if n % 2 else "CHL"], {"to": "commitment"})
             for n in range(THREADS)]
    statuses = Counter(r.status_code for r in _race(app, calls))
    assert statuses == {200: 2, 409: THREADS - 2}
    events = _events(pid)
    assert [(e.action, e.to_stage) for e in events[1:]] in (
        [("confirmed", "expression_of_interest"), ("confirmed", "commitment")],)
    assert [e.version for e in events] == [1, 2, 3]
    with session_scope() as session:
        pairing = session.get(Pairing, pid)
        assert pairing is not None
        assert (pairing.stage, pairing.version) == ("commitment", 3)
        consents = session.scalars(select(PairingConsent.side).where(
            PairingConsent.pairing_id == pid)).all()
        assert sorted(consents) == ["provider", "recipient"]


def test_racing_transitions_with_if_match_give_exactly_one_change(app: FastAPI) -> None:
    keys, need, offer = _world(app)
    pid = _pairing(app, keys, need, offer)
    url = f"{API}/pairings/{pid}/transitions"
    calls = [_post(url, keys["HTI"], {"to": "withdrawn", "reason": "Ya no es prioridad"},
                   {"If-Match": '"1"'}) if n % 2 else
             _post(url, keys["CHL"], {"to": "declined", "reason": "Sin presupuesto"},
                   {"If-Match": '"1"'}) for n in range(THREADS)]
    statuses = Counter(r.status_code for r in _race(app, calls))
    assert statuses[200] == 1
    assert statuses[200] + statuses[412] + statuses[409] == THREADS
    events = _events(pid)
    assert len(events) == 2
    with session_scope() as session:
        pairing = session.get(Pairing, pid)
        assert pairing is not None
        assert (pairing.stage, pairing.version) == (events[1].to_stage, 2)


def test_racing_creations_with_one_idempotency_key_create_one_pairing(app: FastAPI) -> None:
    keys, need, offer = _world(app)
    body = {"need_id": need, "offer_id": offer, "reason": "Nos interesa"}
    calls = [_post(f"{API}/pairings", keys["HTI"], body, {"Idempotency-Key": "race-1"})
             for _ in range(20)]
    responses = _race(app, calls)
    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["id"] for r in responses}) == 1
    assert sum(r.headers.get("Idempotent-Replayed") == "true" for r in responses) == 19
    with session_scope() as session:
        assert session.scalar(select(func.count(Pairing.id)).where(Pairing.need_id == need)) == 1
        assert session.scalar(select(func.count(PairingEvent.id))) == 1
        assert session.scalar(select(func.count(IdempotencyRecord.id))) == 1


def test_racing_creations_of_one_pair_without_key_give_one_pairing(app: FastAPI) -> None:
    keys, need, offer = _world(app)
    body = {"need_id": need, "offer_id": offer}
    responses = _race(app, [_post(f"{API}/pairings", keys["organizer" if n % 2 else "HTI"],
                                  body) for n in range(20)])
    assert Counter(r.status_code for r in responses) == {201: 1, 409: 19}
    with session_scope() as session:
        assert session.scalar(select(func.count(Pairing.id)).where(Pairing.need_id == need)) == 1
