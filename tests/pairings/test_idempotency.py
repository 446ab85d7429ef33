"""`Idempotency-Key` on POST: a retry returns the first response and changes nothing again."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from models import ApiKey, FollowupActivity, IdempotencyRecord, Pairing, PairingEvent, utcnow
from tests.conftest import KeyMaker, bearer
from tests.factories import API, assert_problem
from tests.pairings.helpers import World, at_stage, create, history, make_world, move


@pytest.fixture
def world(api: TestClient, make_key: KeyMaker) -> World:
    return make_world(api, make_key)


def _count(session: Session, model: type[Pairing] | type[PairingEvent] |
           type[FollowupActivity] | type[IdempotencyRecord]) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(model)) or 0


def test_retried_create_returns_first_response_and_creates_one_pairing(
        world: World, session: Session) -> None:
    key = {"Idempotency-Key": "3f1c0a9e-create"}
    first = create(world, "HTI", headers=key)
    assert first.status_code == 201, first.text
    again = create(world, "HTI", headers=key)
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.headers["Location"] == first.headers["Location"]
    assert "Idempotent-Replayed" not in first.headers
    assert (_count(session, Pairing), _count(session, PairingEvent)) == (1, 1)


def test_same_key_with_another_body_is_422_and_creates_nothing(
        world: World, session: Session) -> None:
    key = {"Idempotency-Key": "reused-key"}
    assert create(world, "HTI", headers=key).status_code == 201
    other = create(world, "HTI", headers=key, need_id=world.need("HTI"))
    assert_problem(other, 422, "Idempotency-Key")
    assert _count(session, Pairing) == 1


def test_retried_confirmation_returns_first_response_and_one_event(
        world: World, session: Session) -> None:
    pid = at_stage(world, "expression_of_interest")["id"]
    key = {"Idempotency-Key": "confirm-1"}
    first = move(world, pid, "CHL", "commitment", headers=key)
    assert first.status_code == 200, first.text
    events = len(history(world, pid))
    again = move(world, pid, "CHL", "commitment", headers=key)
    assert (again.status_code, again.json()) == (200, first.json())
    assert len(history(world, pid)) == events
    assert_problem(move(world, pid, "CHL", "commitment"), 409)  # without the key: a new request
    assert _count(session, PairingEvent) == events


def test_keys_are_scoped_to_the_calling_key(world: World, session: Session) -> None:
    key = {"Idempotency-Key": "shared-string"}
    assert create(world, "HTI", headers=key).status_code == 201
    other_need = world.need("PER")
    resp = create(world, "PER", headers=key, need_id=other_need)
    assert resp.status_code == 201
    assert "Idempotent-Replayed" not in resp.headers
    assert _count(session, Pairing) == 2


def test_failed_request_is_not_stored_and_can_be_retried(
        world: World, session: Session) -> None:
    pid = at_stage(world, "suggested")["id"]
    key = {"Idempotency-Key": "decline-1"}
    assert_problem(move(world, pid, "CHL", "declined", headers=key), 422, "reason")
    assert _count(session, IdempotencyRecord) == 0
    assert move(world, pid, "CHL", "declined", headers=key, reason="Sin fondos").status_code == 200


def test_retried_activity_and_note_are_created_once(world: World, session: Session) -> None:
    pid = at_stage(world, "commitment")["id"]
    body = {"title": "Visita técnica", "responsible_country": "HTI", "due_on": "2027-01-31"}
    url = f"{API}/pairings/{pid}/activities"
    headers = bearer(world.key("HTI")) | {"Idempotency-Key": "act-1"}
    first = world.client.post(url, json=body, headers=headers)
    second = world.client.post(url, json=body, headers=headers)
    assert (first.status_code, second.status_code) == (201, 201)
    assert first.json() == second.json()
    assert _count(session, FollowupActivity) == 1
    note_headers = bearer(world.key("CHL")) | {"Idempotency-Key": "note-1"}
    notes = [world.client.post(f"{API}/pairings/{pid}/notes", json={"text": "Avance"},
                               headers=note_headers) for _ in range(2)]
    assert [n.status_code for n in notes] == [201, 201]
    assert world.client.get(f"{API}/pairings/{pid}/notes",
                            headers=bearer(world.admin)).json()["total"] == 1


def _records_of(session: Session, role: str) -> list[str]:
    session.expire_all()
    return list(session.scalars(
        select(IdempotencyRecord.key).join(ApiKey, ApiKey.id == IdempotencyRecord.principal_key_id)
        .where(ApiKey.role == role).order_by(IdempotencyRecord.key)))


def _age_records(session: Session, hours: int) -> None:
    session.execute(update(IdempotencyRecord).values(
        created_at=utcnow() - timedelta(hours=hours)))
    session.commit()


def test_expired_records_are_deleted_by_the_next_claim_of_their_key(
        world: World, session: Session) -> None:
    first = create(world, "organizer", headers={"Idempotency-Key": "old-1"})
    assert first.status_code == 201, first.text
    assert create(world, "organizer", need_id=world.need("PER"),
                  headers={"Idempotency-Key": "old-2"}).status_code == 201
    assert create(world, "admin", need_id=world.need("PER"),
                  headers={"Idempotency-Key": "admin-old"}).status_code == 201
    _age_records(session, 25)
    # A key stored more than a day ago is free again: another request under it runs.
    again = create(world, "organizer", need_id=world.need("ARG"),
                   headers={"Idempotency-Key": "old-1"})
    assert again.status_code == 201, again.text
    assert "Idempotent-Replayed" not in again.headers
    # The claim deleted the caller's other expired record, and nobody else's.
    assert _records_of(session, "organizer") == ["old-1"]
    assert _records_of(session, "admin") == ["admin-old"]


def test_records_younger_than_a_day_are_kept_and_replayed(
        world: World, session: Session) -> None:
    key = {"Idempotency-Key": "recent"}
    first = create(world, "organizer", headers=key)
    _age_records(session, 23)
    assert create(world, "organizer", need_id=world.need("ARG"),
                  headers={"Idempotency-Key": "other"}).status_code == 201
    again = create(world, "organizer", headers=key)
    assert (again.status_code, again.json()) == (201, first.json())
    assert again.headers["Idempotent-Replayed"] == "true"
    assert _records_of(session, "organizer") == ["other", "recent"]


def test_revoking_a_key_deletes_its_records(world: World, session: Session) -> None:
    assert create(world, "organizer", headers={"Idempotency-Key": "k"}).status_code == 201
    organizer_id = session.scalar(select(ApiKey.id).where(ApiKey.role == "organizer"))
    revoked = world.client.delete(f"{API}/keys/{organizer_id}", headers=bearer(world.admin))
    assert revoked.status_code == 200, revoked.text
    assert _records_of(session, "organizer") == []


@pytest.mark.parametrize("bad", [b"", b"x" * 201, "clé".encode("latin-1"), b"with space"])
def test_invalid_idempotency_key_is_422(world: World, session: Session, bad: bytes) -> None:
    headers: dict[str, str | bytes] = {**bearer(world.key("HTI")), "Idempotency-Key": bad}
    resp = world.client.post(f"{API}/pairings", headers=headers,
                             json={"need_id": world.need_id, "offer_id": world.offer_id})
    assert resp.status_code in (400, 422), resp.text
    assert _count(session, Pairing) == 0
