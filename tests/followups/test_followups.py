"""Follow-up of commitments and agreements: activities, progress notes, the overdue list."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import FollowupActivity, ProgressNote
from tests.conftest import KeyMaker, bearer
from tests.factories import API, assert_problem
from tests.pairings.helpers import World, at_stage, get, history, make_world, moved

TODAY = date.today()


@pytest.fixture
def world(api: TestClient, make_key: KeyMaker) -> World:
    return make_world(api, make_key)


def _stored(session: Session) -> tuple[int, int]:
    session.expire_all()
    return (session.scalar(select(func.count(FollowupActivity.id))) or 0,
            session.scalar(select(func.count(ProgressNote.id))) or 0)


def _activity(world: World, pairing_id: int, who: str = "HTI", **fields: Any) -> Any:
    body = {"title": "Visita de estudio", "responsible_country": "CHL",
            "due_on": (TODAY + timedelta(days=30)).isoformat()} | fields
    return world.client.post(f"{API}/pairings/{pairing_id}/activities", json=body,
                             headers=bearer(world.key(who)))


def test_activity_on_commitment_is_created_and_in_history(world: World) -> None:
    pid = at_stage(world, "commitment")["id"]
    resp = _activity(world, pid, starts_on=TODAY.isoformat(), description="Equipo técnico")
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert (body["status"], body["overdue"], body["responsible_country"]) == (
        "planned", False, "CHL")
    assert body["allowed_status"] == ["in_progress", "done", "cancelled"]
    assert resp.headers["ETag"] == '"1"'
    event = history(world, pid)[-1]
    assert (event["action"], event["details"]["activity_id"]) == ("activity_added", body["id"])
    assert [a["id"] for a in get(world, f"/pairings/{pid}/activities", "CHL")] == [body["id"]]


@pytest.mark.parametrize("stage", ["suggested", "expression_of_interest", "declined"])
def test_activity_or_note_before_commitment_is_409_and_stores_nothing(
        world: World, session: Session, stage: str) -> None:
    pid = at_stage(world, stage)["id"]
    assert_problem(_activity(world, pid), 409)
    note = world.client.post(f"{API}/pairings/{pid}/notes", json={"text": "Avance"},
                             headers=bearer(world.key("HTI")))
    assert_problem(note, 409)
    assert _stored(session) == (0, 0)


@pytest.mark.parametrize(("fields", "field"), [
    ({"starts_on": "2027-03-10", "due_on": "2027-03-01"}, "body"),
    ({"due_on": "1999-12-31"}, "due_on"),
    ({"due_on": "2027-02-30"}, "due_on"),
    ({"responsible_country": "PER"}, "responsible_country"),
    ({"title": "x" * 201}, "title"),
    ({"title": "ok\nbut two lines"}, "title"),
    ({"status": "finished"}, "status"),
])
def test_bad_activity_is_422_and_stores_nothing(
        world: World, session: Session, fields: dict[str, Any], field: str) -> None:
    pid = at_stage(world, "commitment")["id"]
    assert_problem(_activity(world, pid, **fields), 422, field)
    assert _stored(session) == (0, 0)


@pytest.mark.parametrize(("body", "field"), [
    ({"text": "x" * 4001}, "text"),
    ({"text": ""}, "text"),
    ({"text": "Avance", "activity_id": 987654}, "activity_id"),
])
def test_bad_note_is_422_and_stores_nothing(
        world: World, session: Session, body: dict[str, Any], field: str) -> None:
    pid = at_stage(world, "agreement")["id"]
    resp = world.client.post(f"{API}/pairings/{pid}/notes", json=body,
                             headers=bearer(world.key("CHL")))
    assert_problem(resp, 422, field)
    assert _stored(session) == (0, 0)


def test_notes_by_either_country_are_listed_oldest_first(world: World) -> None:
    pid = at_stage(world, "agreement")["id"]
    activity = _activity(world, pid).json()
    for who, text in (("HTI", "Reunión técnica realizada"), ("CHL", "Expertos designados")):
        resp = world.client.post(f"{API}/pairings/{pid}/notes", headers=bearer(world.key(who)),
                                 json={"text": text, "activity_id": activity["id"]})
        assert resp.status_code == 201, resp.text
    notes = get(world, f"/pairings/{pid}/notes", "HTI")
    assert [(n["country"], n["text"]) for n in notes] == [
        ("HTI", "Reunión técnica realizada"), ("CHL", "Expertos designados")]


def test_activity_status_moves_forward_only(world: World) -> None:
    pid = at_stage(world, "commitment")["id"]
    activity = _activity(world, pid).json()
    url = f"{API}/activities/{activity['id']}"
    key = bearer(world.key("CHL"))
    assert world.client.patch(url, json={"status": "in_progress"}, headers=key).status_code == 200
    done = world.client.patch(url, json={"status": "done"}, headers=key)
    assert (done.json()["status"], done.json()["version"]) == ("done", 3)
    back = assert_problem(world.client.patch(url, json={"status": "planned"}, headers=key), 409)
    assert back["allowed"] == []
    assert get(world, f"/pairings/{pid}/activities")[0]["version"] == 3


def test_activity_update_with_stale_version_or_bad_dates_changes_nothing(world: World) -> None:
    pid = at_stage(world, "commitment")["id"]
    activity = _activity(world, pid, starts_on=(TODAY + timedelta(days=5)).isoformat()).json()
    url = f"{API}/activities/{activity['id']}"
    key = bearer(world.key("HTI"))
    world.client.patch(url, json={"title": "Nuevo título"}, headers=key)
    stale = world.client.patch(url, json={"status": "done"}, headers=key | {"If-Match": '"1"'})
    assert_problem(stale, 412)
    early = world.client.patch(url, json={"due_on": TODAY.isoformat()}, headers=key)
    assert_problem(early, 422, "due_on")
    assert_problem(world.client.patch(url, json={"due_on": None}, headers=key), 422)
    assert_problem(world.client.patch(f"{API}/activities/987654", json={"status": "done"},
                                      headers=key), 404)
    after = get(world, f"/pairings/{pid}/activities")[0]
    assert (after["version"], after["status"], after["due_on"]) == (
        2, "planned", activity["due_on"])


def test_followups_list_overdue_by_country_and_keeps_countries_to_their_own(
        world: World) -> None:
    mine = at_stage(world, "commitment")["id"]
    theirs = at_stage(world, "agreement", need_id=world.need("PER"),
                      offer_id=world.offer("ARG"))["id"]
    late = (TODAY - timedelta(days=3)).isoformat()
    _activity(world, mine, due_on=late, title="Informe atrasado")
    _activity(world, mine, title="Informe a tiempo")
    done = _activity(world, mine, due_on=late, title="Hecho a tiempo").json()
    world.client.patch(f"{API}/activities/{done['id']}", json={"status": "done"},
                       headers=bearer(world.admin))
    _activity(world, theirs, who="PER", due_on=late, responsible_country="ARG",
              title="Taller atrasado")
    overdue = get(world, "/followups", "organizer", overdue="true")
    assert [a["title"] for a in overdue["items"]] == ["Informe atrasado", "Taller atrasado"]
    assert all(a["overdue"] for a in overdue["items"])
    by_country = get(world, "/followups", "organizer", overdue="true", country="ARG")
    assert [a["title"] for a in by_country["items"]] == ["Taller atrasado"]
    by_responsible = get(world, "/followups", "organizer", responsible="CHL")
    assert by_responsible["total"] == 3
    as_hti = get(world, "/followups", "HTI", overdue="true", country="ARG")
    assert as_hti["total"] == 0
    assert get(world, "/followups", "HTI")["total"] == 3
    not_late = get(world, "/followups", "admin", overdue="false")
    assert {a["title"] for a in not_late["items"]} == {"Informe a tiempo", "Hecho a tiempo"}
    past = get(world, "/followups", "admin", overdue="true", as_of=late)
    assert past["total"] == 0


def test_followups_with_bad_filters_is_422(world: World) -> None:
    for params in ({"country": "XX"}, {"status": "late"}, {"as_of": "2027-13-01"}):
        resp = world.client.get(f"{API}/followups", params=params, headers=bearer(world.admin))
        assert_problem(resp, 422)
    too_many = world.client.get(f"{API}/followups", params={"limit": 500},
                                headers=bearer(world.admin))
    assert_problem(too_many, 400, "limit")  # MAX_PAGE_SIZE, as on every list
    assert_problem(world.client.get(f"{API}/followups"), 401)


def test_a_closed_pairing_has_nothing_overdue_and_its_activities_can_only_be_cancelled(
        world: World) -> None:
    pid = at_stage(world, "commitment")["id"]
    late = (TODAY - timedelta(days=3)).isoformat()
    kept = _activity(world, pid, due_on=late, title="Informe atrasado").json()
    other = _activity(world, pid, due_on=late, title="Taller atrasado").json()
    moved(world, pid, "CHL", "withdrawn", reason="Cambio de prioridades")

    overdue = get(world, "/followups", "organizer", overdue="true")
    listed = get(world, "/followups", "organizer")["items"]
    report = get(world, f"/tables/{world.table_id}/report", "organizer")
    edit = world.client.patch(f"{API}/activities/{kept['id']}", json={"title": "Otro"},
                              headers=bearer(world.admin))
    cancel = world.client.patch(f"{API}/activities/{other['id']}",
                                json={"status": "cancelled"}, headers=bearer(world.admin))

    assert overdue["total"] == 0
    assert [a["overdue"] for a in listed] == [False, False]
    assert [row["overdue"] for row in report["followups"]] == [0] * len(report["followups"])
    assert assert_problem(edit, 409)["allowed"] == ["cancelled"]
    assert cancel.status_code == 200, cancel.text
    assert get(world, "/followups", "organizer", overdue="false")["total"] == 2


def _events(world: World, pairing_id: int, action: str) -> list[dict[str, Any]]:
    return [e["details"] for e in history(world, pairing_id) if e["action"] == action]


def test_activity_added_event_records_every_field_set(world: World) -> None:
    pid = at_stage(world, "commitment")["id"]
    starts, due = TODAY + timedelta(days=2), TODAY + timedelta(days=20)
    body = _activity(world, pid, description="Equipo técnico de Haití", status="in_progress",
                     starts_on=starts.isoformat(), due_on=due.isoformat()).json()
    assert _events(world, pid, "activity_added") == [{
        "activity_id": body["id"], "title": "Visita de estudio",
        "description": "Equipo técnico de Haití", "responsible": "CHL",
        "starts_on": starts.isoformat(), "due_on": due.isoformat(), "status": "in_progress"}]


def test_activity_update_event_records_each_changed_field_before_and_after(
        world: World) -> None:
    pid = at_stage(world, "commitment")["id"]
    starts, due = TODAY + timedelta(days=2), TODAY + timedelta(days=20)
    activity = _activity(world, pid, description="Texto original",
                         starts_on=starts.isoformat(), due_on=due.isoformat()).json()
    new_starts, new_due = starts + timedelta(days=5), due + timedelta(days=10)
    resp = world.client.patch(f"{API}/activities/{activity['id']}", headers=bearer(
        world.key("HTI")) | {"If-Match": '"1"'}, json={
            "title": "Visita de estudio", "description": "Texto corregido",
            "starts_on": new_starts.isoformat(), "due_on": new_due.isoformat()})
    assert resp.status_code == 200, resp.text
    assert _events(world, pid, "activity_updated") == [{
        "activity_id": activity["id"], "version": 2, "changes": {
            "description": {"from": "Texto original", "to": "Texto corregido"},
            "starts_on": {"from": starts.isoformat(), "to": new_starts.isoformat()},
            "due_on": {"from": due.isoformat(), "to": new_due.isoformat()}}}]


def test_activity_history_replayed_gives_the_current_activity(world: World) -> None:
    pid = at_stage(world, "commitment")["id"]
    activity = _activity(world, pid, description="Primera versión",
                         starts_on=TODAY.isoformat()).json()
    url, key = f"{API}/activities/{activity['id']}", bearer(world.admin)
    for change in ({"starts_on": None, "responsible_country": "HTI"},
                   {"description": "Segunda versión", "status": "in_progress"},
                   {"title": "Visita de estudio ampliada", "description": ""}):
        assert world.client.patch(url, json=change, headers=key).status_code == 200
    added = _events(world, pid, "activity_added")[0]
    state = {k: v for k, v in added.items() if k != "activity_id"}
    for event in _events(world, pid, "activity_updated"):
        for field, values in event["changes"].items():
            assert state[field] == values["from"]
            state[field] = values["to"]
    now = get(world, f"/pairings/{pid}/activities")[0]
    assert state == {"title": now["title"], "description": now["description"],
                     "responsible": now["responsible_country"], "starts_on": now["starts_on"],
                     "due_on": now["due_on"], "status": now["status"]}
    assert state["starts_on"] is None


def test_activity_update_that_changes_nothing_records_no_event(world: World) -> None:
    pid = at_stage(world, "commitment")["id"]
    activity = _activity(world, pid, description="Igual").json()
    events = len(history(world, pid))
    resp = world.client.patch(f"{API}/activities/{activity['id']}", headers=bearer(
        world.key("CHL")), json={"description": "Igual", "due_on": activity["due_on"]})
    assert (resp.status_code, resp.json()["version"]) == (200, 1)
    assert len(history(world, pid)) == events
