"""Real concurrent requests on PostgreSQL: racing confirmations, transitions and creations of
one pairing give one consistent result (row locks + version-checked updates + unique keys),
and a move on that races a withdrawal of its offer waits for it and sees it; a need whose ref
another request takes meanwhile gets the same 409 as a ref taken before.

Each thread has its own client (its own event loop) on one application whose request sessions
commit for real (`committed_db`); all threads start together at a barrier. Skipped on SQLite,
which serialises writers anyway.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, Executable, func, select, text, update

from models import (
    FollowupActivity,
    IdempotencyRecord,
    Need,
    Offer,
    Pairing,
    PairingConsent,
    PairingEvent,
    ProgressNote,
)
from service import planning
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


def _table(app: FastAPI, keys: dict[str, str]) -> int:
    with TestClient(app) as client:
        resp = client.post(f"{API}/tables", headers=bearer(keys["organizer"]), json={
            "name": "Mesa en paralelo", "starts_on": "2026-12-07", "ends_on": "2026-12-09",
            "participants": ["CHL", "HTI"]})
        assert resp.status_code == 201, resp.text
        return int(resp.json()["id"])


def test_racing_plans_of_one_table_are_stored_one_after_the_other(app: FastAPI) -> None:
    keys, _need, _offer = _world(app)
    table = _table(app, keys)
    responses = _race(app, [_post(f"{API}/tables/{table}/plan", keys["organizer"])
                            for _ in range(8)])
    assert Counter(r.status_code for r in responses) == {201: 8}
    assert sorted(r.json()["number"] for r in responses) == list(range(1, 9))
    with session_scope() as session:
        open_pairs = session.scalars(select(Pairing.offer_id).where(
            Pairing.table_id == table, Pairing.stage == "suggested")).all()
    assert len(open_pairs) == 1  # the one candidate, suggested once


def test_racing_table_changes_are_each_kept_with_its_own_version(app: FastAPI) -> None:
    keys, _need, _offer = _world(app)
    table = _table(app, keys)
    url = f"{API}/tables/{table}"
    participants = [["CHL", "HTI"], ["CHL", "HTI", "PER"], ["ARG", "CHL", "HTI"]]
    def patch(body: dict[str, Any]) -> Callable[[TestClient], httpx.Response]:
        return lambda client: client.patch(url, json=body, headers=bearer(keys["organizer"]))

    responses = _race(app, [patch({"participants": participants[n % 3], "rounds": n + 1})
                            for n in range(20)])
    assert Counter(r.status_code for r in responses) == {200: 20}
    assert sorted(r.json()["version"] for r in responses) == list(range(2, 22))
    with TestClient(app) as client:
        last = max((r.json() for r in responses), key=lambda body: body["version"])
        assert client.get(url, headers=bearer(keys["organizer"])).json() == last


@pytest.mark.parametrize(("change", "message"), [
    ({"status": "closed"}, "closed while the plan was computed"),
    ({"participants": ["HTI"]}, "changed while the plan was computed"),
])
def test_a_table_closed_or_changed_while_its_plan_computes_gets_no_plan(
        app: FastAPI, monkeypatch: pytest.MonkeyPatch, change: dict[str, Any],
        message: str) -> None:
    keys, _need, _offer = _world(app)
    table = _table(app, keys)
    compute = planning.plan

    def change_meanwhile(*args: Any, **kwargs: Any) -> planning.Plan:
        with TestClient(app) as other:  # another request, committed before the plan is stored
            changed = other.patch(f"{API}/tables/{table}", json=change,
                                  headers=bearer(keys["organizer"]))
            assert changed.status_code == 200, changed.text
        return compute(*args, **kwargs)

    monkeypatch.setattr(planning, "plan", change_meanwhile)
    with TestClient(app) as client:
        resp = client.post(f"{API}/tables/{table}/plan", headers=bearer(keys["organizer"]))
        assert resp.status_code == 409, resp.text
        assert message in resp.json()["detail"]
        plans = client.get(f"{API}/tables/{table}/plans", headers=bearer(keys["organizer"]))
        assert plans.json()["total"] == 0
    with session_scope() as session:
        assert session.scalar(select(func.count(Pairing.id)).where(
            Pairing.table_id == table)) == 0


def test_a_pairing_taken_up_while_the_plan_computes_gets_the_plan_refused(
        app: FastAPI, monkeypatch: pytest.MonkeyPatch) -> None:
    """The plan counts the table's pairings under way against its limits and schedules their
    meetings: one taken up by another request while the selection runs would be missed, so
    the plan is refused (409) and stores nothing, and the pairing keeps its new stage."""
    keys, _need, _offer = _world(app)
    table = _table(app, keys)
    with TestClient(app) as client:
        first = client.post(f"{API}/tables/{table}/plan", headers=bearer(keys["organizer"]))
        assert first.status_code == 201, first.text
    with session_scope() as session:
        suggested, need, offer = session.execute(select(
            Pairing.id, Pairing.need_id, Pairing.offer_id).where(Pairing.table_id == table)).one()
    compute = planning.plan

    def take_up_meanwhile(candidates: list[planning.Candidate], *args: Any,
                          **kwargs: Any) -> planning.Plan:
        with TestClient(app) as other:  # the recipient takes the suggestion up, committed
            taken = other.post(f"{API}/pairings/{suggested}/transitions",
                               json={"to": "expression_of_interest"}, headers=bearer(keys["HTI"]))
            assert taken.status_code == 200, taken.text
        # As if the selection had chosen other pairings: a plan choosing this one again
        # already fails to store it (another open pairing of the pair).
        others = [c for c in candidates if (c.need_id, c.offer_id) != (str(need), str(offer))]
        return compute(others, *args, **kwargs)

    monkeypatch.setattr(planning, "plan", take_up_meanwhile)
    with TestClient(app) as client:
        resp = client.post(f"{API}/tables/{table}/plan", headers=bearer(keys["organizer"]))
        assert resp.status_code == 409, resp.text
        assert "taken up, declined or withdrawn while the plan was computed" in resp.json()[
            "detail"]
        plans = client.get(f"{API}/tables/{table}/plans", headers=bearer(keys["organizer"]))
        assert plans.json()["total"] == 1
    with session_scope() as session:
        assert session.scalar(select(Pairing.stage).where(Pairing.id == suggested)) == (
            "expression_of_interest")


def _lock_waiters(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(text(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
            "AND datname = current_database()")) or 0)


def _answer_behind(app: FastAPI, engine: Engine, write: Executable,
                   request: Callable[[TestClient], httpx.Response]) -> httpx.Response:
    """Send `request` while `write`, executed on another connection and not yet committed,
    holds its rows: check that the request waits for it, commit it, return the answer."""
    answers: list[httpx.Response] = []

    def send() -> None:
        with TestClient(app, raise_server_exceptions=False) as client:
            answers.append(request(client))

    with engine.connect() as holder:
        holder.execute(write)
        sender = threading.Thread(target=send)
        sender.start()
        deadline = time.monotonic() + 60
        while sender.is_alive() and not _lock_waiters(engine) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert sender.is_alive(), answers[0].text if answers else "no answer"  # it waits
        holder.commit()
    sender.join(timeout=60)
    assert len(answers) == 1
    return answers[0]


def test_a_move_on_racing_a_withdrawal_of_its_offer_waits_for_it_and_is_refused(
        app: FastAPI, engine: Engine) -> None:
    keys, need, offer = _world(app)
    pid = _pairing(app, keys, need, offer)

    answer = _answer_behind(  # a withdrawal of the offer, written, not yet committed
        app, engine, update(Offer).where(Offer.id == offer).values(status="withdrawn"),
        lambda client: client.post(f"{API}/pairings/{pid}/transitions",
                                   json={"to": "commitment"}, headers=bearer(keys["CHL"])))

    assert answer.status_code == 409, answer.text
    assert f"offer {offer} of pairing {pid} is withdrawn" in answer.json()["detail"]
    assert [e.action for e in _events(pid)] == ["created"]
    with session_scope() as session:
        pairing = session.get(Pairing, pid)
        assert pairing is not None
        assert (pairing.stage, pairing.version) == ("expression_of_interest", 1)


def test_a_participant_removed_while_its_suggestion_is_taken_up_is_refused(
        app: FastAPI, engine: Engine) -> None:
    keys, need, offer = _world(app)
    table = _table(app, keys)
    with TestClient(app) as client:
        created = client.post(f"{API}/pairings", headers=bearer(keys["organizer"]), json={
            "need_id": need, "offer_id": offer, "table_id": table})
        assert created.status_code == 201, created.text
    pid = int(created.json()["id"])

    answer = _answer_behind(  # HTI takes the suggestion up: written, not yet committed
        app, engine, update(Pairing).where(Pairing.id == pid)
        .values(stage="expression_of_interest", version=2),
        lambda client: client.patch(f"{API}/tables/{table}", json={"participants": ["HTI"]},
                                    headers=bearer(keys["organizer"])))

    assert answer.status_code == 409, answer.text
    assert answer.json()["pairings"] == [pid]
    with TestClient(app) as client:
        stored = client.get(f"{API}/tables/{table}", headers=bearer(keys["organizer"])).json()
    assert stored["participants"] == ["CHL", "HTI"]


def test_a_new_need_racing_another_for_its_ref_waits_and_gets_the_same_409(
        app: FastAPI, engine: Engine) -> None:
    """The ref check reads before the INSERT: a ref stored meanwhile by another request is
    caught by the unique index, and answered as a ref already taken (it was a 500)."""
    keys, need, _offer = _world(app)
    body = {"country": "HTI", "language": "es", "factor": "education",
            "modality": "technical_assistance", "title": "Necesidad en carrera",
            "description": "Dos solicitudes con la misma referencia.", "ref": "RACE-REF-1"}

    answer = _answer_behind(  # another request's need takes the ref, not yet committed
        app, engine, update(Need).where(Need.id == need).values(ref="RACE-REF-1"),
        lambda client: client.post(f"{API}/needs", json=body, headers=bearer(keys["HTI"])))

    assert answer.status_code == 409, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["errors"] == [{"field": "ref", "message": "taken"}]
    with session_scope() as session:
        assert session.scalar(select(func.count(Need.id))) == 1


def _commitment(app: FastAPI, keys: dict[str, str], need: int, offer: int) -> int:
    pid = _pairing(app, keys, need, offer)
    with TestClient(app) as client:
        for who in ("CHL", "HTI"):
            resp = client.post(f"{API}/pairings/{pid}/transitions", json={"to": "commitment"},
                               headers=bearer(keys[who]))
            assert resp.status_code == 200, resp.text
    return pid


@pytest.mark.parametrize("follow_up", ["activity", "note", "activity_change"])
def test_a_follow_up_racing_a_decline_of_its_pairing_waits_for_it_and_is_refused(
        app: FastAPI, engine: Engine, follow_up: str) -> None:
    """An activity or note added, or an activity moved on, while the pairing is being
    declined waits for the decline and is refused; it was stored on the declined pairing."""
    keys, need, offer = _world(app)
    pid = _commitment(app, keys, need, offer)
    with TestClient(app) as client:
        activity = client.post(f"{API}/pairings/{pid}/activities", headers=bearer(keys["HTI"]),
                               json={"title": "Visita de estudio", "responsible_country": "CHL",
                                     "due_on": "2027-03-15"})
        assert activity.status_code == 201, activity.text
    aid = int(activity.json()["id"])
    requests: dict[str, Callable[[TestClient], httpx.Response]] = {
        "activity": _post(f"{API}/pairings/{pid}/activities", keys["CHL"], {
            "title": "Segunda visita", "responsible_country": "HTI", "due_on": "2027-04-15"}),
        "note": _post(f"{API}/pairings/{pid}/notes", keys["CHL"], {"text": "Avance técnico"}),
        "activity_change": lambda client: client.patch(
            f"{API}/activities/{aid}", json={"status": "in_progress"},
            headers=bearer(keys["CHL"])),
    }

    answer = _answer_behind(  # HTI declines the commitment: written, not yet committed
        app, engine, update(Pairing).where(Pairing.id == pid).values(stage="declined",
                                                                     version=4),
        requests[follow_up])

    assert answer.status_code == 409, answer.text
    assert "declined" in answer.json()["detail"]
    with session_scope() as session:
        activities = session.scalars(select(FollowupActivity).where(
            FollowupActivity.pairing_id == pid)).all()
        assert [(a.id, a.status, a.version) for a in activities] == [(aid, "planned", 1)]
        assert session.scalar(select(func.count(ProgressNote.id))) == 0
    assert [e.action for e in _events(pid)][-1] == "activity_added"


@pytest.mark.parametrize(("kind", "status", "detail"), [
    ("need", 409, "The need {item} is withdrawn"),
    ("offer", 422, "No offer with id {item}."),  # another country's withdrawn offer is hidden
])
def test_a_pairing_proposed_while_its_need_or_offer_is_withdrawn_waits_and_is_refused(
        app: FastAPI, engine: Engine, kind: str, status: int, detail: str) -> None:
    """The items are read under a shared row lock: a proposal racing a withdrawal of its need
    or offer waits for it and gets the answer of a withdrawn item; it was stored, a new
    pairing of an item no longer on offer."""
    keys, need, offer = _world(app)
    model, item = (Need, need) if kind == "need" else (Offer, offer)

    answer = _answer_behind(  # the item's country withdraws it: written, not yet committed
        app, engine, update(model).where(model.id == item).values(status="withdrawn"),
        _post(f"{API}/pairings", keys["HTI"], {"need_id": need, "offer_id": offer}))

    assert answer.status_code == status, answer.text
    assert detail.format(item=item) in answer.json()["detail"]
    with session_scope() as session:
        assert session.scalar(select(func.count(Pairing.id))) == 0
