"""Follow-up of commitments and agreements: activities, progress notes, the overdue list."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import FollowupActivity, ProgressNote
from service.config import Settings
from service.followups.service import today
from service.main import create_app
from tests.conftest import KeyMaker, bearer
from tests.factories import API, assert_problem
from tests.pairings.helpers import World, at_stage, get, history, make_world, moved

TODAY = today()  # the service's day (UTC), not the test machine's local one


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
    located = world.client.get(resp.headers["Location"], headers=bearer(world.key("HTI")))
    assert (located.status_code, located.json()) == (200, body)
    event = history(world, pid)[-1]
    assert (event["action"], event["details"]["activity_id"]) == ("activity_added", body["id"])
    listed = get(world, f"/pairings/{pid}/activities", "CHL")["items"]
    assert [a["id"] for a in listed] == [body["id"]]


@pytest.mark.parametrize("stage", ["suggested", "expression_of_interest", "declined"])
def test_activity_or_note_before_commitment_is_409_and_stores_nothing(
        world: World, session: Session, stage: str) -> None:
    pid = at_stage(world, stage)["id"]
    assert_problem(_activity(world, pid), 409)
    note = world.client.post(f"{API}/pairings/{pid}/notes", json={"text": "Avance"},
                             headers=bearer(world.key("HTI")))
    assert_problem(note, 409)
    assert _stored(session) == (0, 0)


def test_new_activity_due_before_it_starts_names_both_days(
        world: World, session: Session) -> None:
    pid = at_stage(world, "commitment")["id"]
    resp = _activity(world, pid, starts_on="2027-03-10", due_on="2027-03-01")
    messages = [e["message"] for e in assert_problem(resp, 422, "due_on")["errors"]]
    assert any("due_on (2027-03-01) must not be before starts_on (2027-03-10)" in m
               for m in messages), messages
    assert _stored(session) == (0, 0)


@pytest.mark.parametrize(("fields", "field"), [
    ({"starts_on": "2027-03-10", "due_on": "2027-03-01"}, "due_on"),  # as a PATCH names it
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
    ({"text": "..."}, "text"),
    ({"text": "\u200b\u200b"}, "text"),
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
    notes = get(world, f"/pairings/{pid}/notes", "HTI")["items"]
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
    assert get(world, f"/pairings/{pid}/activities")["items"][0]["version"] == 3


def test_activity_update_with_stale_version_or_bad_dates_changes_nothing(world: World) -> None:
    pid = at_stage(world, "commitment")["id"]
    activity = _activity(world, pid, starts_on=(TODAY + timedelta(days=5)).isoformat()).json()
    url = f"{API}/activities/{activity['id']}"
    key = bearer(world.key("HTI"))
    world.client.patch(url, json={"title": "Nuevo título"}, headers=key)
    stale = world.client.patch(url, json={"status": "done"}, headers=key | {"If-Match": '"1"'})
    assert_problem(stale, 412)
    early = world.client.patch(url, json={"due_on": TODAY.isoformat()}, headers=key)
    assert (f"due_on ({TODAY}) must not be before starts_on ({TODAY + timedelta(days=5)})"
            in assert_problem(early, 422, "due_on")["detail"])
    assert_problem(world.client.patch(url, json={"due_on": None}, headers=key), 422)
    assert_problem(world.client.patch(f"{API}/activities/987654", json={"status": "done"},
                                      headers=key), 404)
    after = get(world, f"/pairings/{pid}/activities")["items"][0]
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


def test_a_closed_pairing_has_nothing_overdue_and_its_activities_change_no_more(
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
    assert assert_problem(edit, 409)["allowed"] == []  # cancelled with the pairing
    assert cancel.status_code == 200, cancel.text  # already so: nothing to change
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
    now = get(world, f"/pairings/{pid}/activities")["items"][0]
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


STATUSES = ("planned", "in_progress", "done", "cancelled")


def _closed_with_activities(world: World, stage: str) -> tuple[int, dict[str, int]]:
    """A commitment with an activity in each status, then declined or withdrawn by CHL."""
    pid = at_stage(world, "commitment")["id"]
    ids = {status: _activity(world, pid, status=status, title=f"Actividad {status}").json()["id"]
           for status in STATUSES}
    moved(world, pid, "CHL", stage, reason="Cambio de prioridades")
    return pid, ids


# What each activity of `_closed_with_activities` is once its pairing is closed, by the status
# it had: the open ones are cancelled with the pairing, the others stay as they were.
AFTER_CLOSING = {"planned": "cancelled", "in_progress": "cancelled", "done": "done",
                 "cancelled": "cancelled"}


@pytest.mark.parametrize("stage", ["declined", "withdrawn"])
def test_closing_a_pairing_cancels_its_open_activities_in_every_list(
        world: World, stage: str) -> None:
    pid, ids = _closed_with_activities(world, stage)
    expected: dict[int, tuple[str, list[str]]] = {
        ids[status]: (after, []) for status, after in AFTER_CLOSING.items()}
    listed = get(world, f"/pairings/{pid}/activities")["items"]
    followups = get(world, "/followups", "CHL")["items"]
    one = [get(world, f"/activities/{ids[status]}", "HTI") for status in STATUSES]
    for shown in (listed, followups, one):
        assert {a["id"]: (a["status"], a["allowed_status"]) for a in shown} == expected
    assert get(world, "/followups", "organizer", status="planned")["total"] == 0
    assert get(world, "/followups", "organizer", status="in_progress")["total"] == 0
    versions = {a["id"]: a["version"] for a in listed}
    assert versions == {ids["planned"]: 2, ids["in_progress"]: 2, ids["done"]: 1,
                        ids["cancelled"]: 1}  # a new ETag for each activity cancelled


@pytest.mark.parametrize("stage", ["declined", "withdrawn"])
def test_closing_a_pairing_records_each_cancelled_activity_in_its_history(
        world: World, stage: str) -> None:
    pid, ids = _closed_with_activities(world, stage)
    events = history(world, pid)
    closing = next(i for i, e in enumerate(events) if e["to_stage"] == stage
                   and e["action"] == "stage_changed")
    cancelled = events[closing + 1:]
    assert [(e["action"], e["details"]) for e in cancelled] == [
        ("activity_updated", {"activity_id": ids[status], "version": 2, "pairing_closed": stage,
                              "changes": {"status": {"from": status, "to": "cancelled"}}})
        for status in ("planned", "in_progress")]
    who = ("by", "key_id", "role", "country", "on_behalf_of", "reason", "version")
    assert events[closing]["country"] == "CHL"
    assert events[closing]["reason"] == "Cambio de prioridades"
    for event in cancelled:  # who and why: the closing's; when: with it
        assert {k: event[k] for k in who} == {k: events[closing][k] for k in who}
        assert datetime.fromisoformat(event["at"]) >= datetime.fromisoformat(
            events[closing]["at"])


@pytest.mark.parametrize("stage", ["declined", "withdrawn"])
def test_a_closed_pairings_activities_are_counted_cancelled_in_the_report(
        world: World, stage: str) -> None:
    _closed_with_activities(world, stage)
    report = get(world, f"/tables/{world.table_id}/report", "organizer")
    [total] = [row for row in report["followups"] if row["country"] == "ALL"]
    assert {k: total[k] for k in ("planned", "in_progress", "done", "cancelled", "overdue",
                                  "total")} == {"planned": 0, "in_progress": 0, "done": 1,
                                                "cancelled": 3, "overdue": 0, "total": 4}


def test_an_agreement_withdrawn_cancels_its_open_activities_and_keeps_the_done_ones(
        world: World) -> None:
    pid = at_stage(world, "agreement")["id"]
    ids = {status: _activity(world, pid, status=status).json()["id"]
           for status in ("planned", "done")}
    moved(world, pid, "HTI", "withdrawn", reason="Fin del financiamiento")
    listed = get(world, f"/pairings/{pid}/activities", "HTI")["items"]
    assert {a["id"]: a["status"] for a in listed} == {ids["planned"]: "cancelled",
                                                      ids["done"]: "done"}
    assert history(world, pid)[-1]["reason"] == "Fin del financiamiento"


@pytest.mark.parametrize("stage", ["declined", "withdrawn"])
def test_patch_of_a_closed_pairings_activity_accepts_exactly_its_allowed_status(
        world: World, stage: str) -> None:
    pid, _ids = _closed_with_activities(world, stage)
    key = bearer(world.key("HTI"))
    for activity in get(world, f"/pairings/{pid}/activities")["items"]:
        url = f"{API}/activities/{activity['id']}"
        # `cancelled` last: the only move that may succeed, and after it nothing is allowed.
        for status in STATUSES:
            if status == activity["status"]:
                continue
            resp = world.client.patch(url, json={"status": status}, headers=key)
            if status in activity["allowed_status"]:
                assert resp.status_code == 200, resp.text
                assert resp.json()["allowed_status"] == []
            else:
                assert assert_problem(resp, 409)["allowed"] == activity["allowed_status"]


@pytest.mark.parametrize("as_of", ["86400", "0", "0001-01-01", "9999-12-31", "1999-12-31",
                                   "2027-13-01", "2027-03-01T00:00:00", "20270301"])
def test_followups_as_of_not_a_day_from_2000_to_2100_is_422_naming_it(
        world: World, as_of: str) -> None:
    resp = world.client.get(f"{API}/followups", params={"as_of": as_of},
                            headers=bearer(world.admin))
    assert_problem(resp, 422, "as_of")


@pytest.mark.parametrize(("as_of", "message"), [
    ("1999-12-31", "Input should be greater than or equal to 2000-01-01"),
    ("2101-01-01", "Input should be less than or equal to 2100-12-31"),
])
def test_followups_as_of_out_of_range_names_the_bound_as_a_day(
        world: World, as_of: str, message: str) -> None:
    """The bound was shown as Python wrote it: "datetime.date(2000, 1, 1)"."""
    resp = world.client.get(f"{API}/followups", params={"as_of": as_of},
                            headers=bearer(world.admin))
    assert assert_problem(resp, 422, "as_of")["errors"][0]["message"] == message


def _walk(world: World, path: str, limit: int) -> list[dict[str, Any]]:
    """Every item of a list, following `next_cursor` from the first page."""
    items: list[dict[str, Any]] = []
    params: dict[str, Any] = {"limit": limit}
    while True:
        page = get(world, path, "CHL", **params)
        assert (page["limit"], page["total"]) == (limit, 3)
        items += page["items"]
        if page["next_cursor"] is None:
            return items
        params["cursor"] = page["next_cursor"]


def test_pairing_activities_and_notes_are_pages_walked_by_cursor_in_order(
        world: World) -> None:
    pid = at_stage(world, "agreement")["id"]
    for days in (20, 10, 30):
        due = (TODAY + timedelta(days=days)).isoformat()
        assert _activity(world, pid, due_on=due, title=f"En {days} días").status_code == 201
    for text in ("Primera", "Segunda", "Tercera"):
        resp = world.client.post(f"{API}/pairings/{pid}/notes", json={"text": text},
                                 headers=bearer(world.key("HTI")))
        assert resp.status_code == 201, resp.text
    activities = _walk(world, f"/pairings/{pid}/activities", 2)
    notes = _walk(world, f"/pairings/{pid}/notes", 2)
    assert [a["title"] for a in activities] == ["En 10 días", "En 20 días", "En 30 días"]
    assert [n["text"] for n in notes] == ["Primera", "Segunda", "Tercera"]
    whole = get(world, f"/pairings/{pid}/notes")
    assert (whole["total"], whole["limit"], whole["next_cursor"]) == (3, 50, None)
    skipped = get(world, f"/pairings/{pid}/activities", offset=2)
    assert [a["title"] for a in skipped["items"]] == ["En 30 días"]


@pytest.mark.parametrize("resource", ["activities", "notes"])
@pytest.mark.parametrize(("params", "status", "field"), [
    ({"limit": 500}, 400, "limit"),
    ({"cursor": "2", "offset": 1}, 400, "offset"),
    ({"cursor": "abc"}, 400, None),
    ({"limit": 0}, 422, "limit"),
    ({"offset": -1}, 422, "offset"),
])
def test_pairing_activities_or_notes_with_bad_paging_is_a_problem(
        world: World, resource: str, params: dict[str, Any], status: int,
        field: str | None) -> None:
    pid = at_stage(world, "commitment")["id"]
    resp = world.client.get(f"{API}/pairings/{pid}/{resource}", params=params,
                            headers=bearer(world.admin))
    assert_problem(resp, status, field)


def test_get_activity_returns_it_with_its_etag_for_if_match(world: World) -> None:
    pid = at_stage(world, "commitment")["id"]
    created = _activity(world, pid).json()
    url = f"{API}/activities/{created['id']}"
    key = bearer(world.key("HTI"))
    world.client.patch(url, json={"title": "Visita ampliada"}, headers=key)
    read = world.client.get(url, headers=key)
    assert read.status_code == 200, read.text
    assert read.headers["ETag"] == '"2"'
    assert read.json() == get(world, f"/pairings/{pid}/activities", "HTI")["items"][0]
    change = world.client.patch(url, json={"status": "in_progress"},
                                headers=key | {"If-Match": read.headers["ETag"]})
    assert change.status_code == 200, change.text
    assert world.client.get(url, headers=key).headers["ETag"] == '"3"'


@pytest.mark.parametrize(("who", "status"), [("PER", 404), ("ARG", 404), (None, 401)])
def test_get_activity_of_a_pairing_the_key_may_not_see_is_a_problem(
        world: World, who: str | None, status: int) -> None:
    pid = at_stage(world, "commitment")["id"]
    activity = _activity(world, pid).json()
    headers = bearer(world.key(who)) if who else {}
    assert_problem(world.client.get(f"{API}/activities/{activity['id']}", headers=headers),
                   status)


def test_get_unknown_activity_is_404(world: World) -> None:
    assert_problem(world.client.get(f"{API}/activities/987654",
                                    headers=bearer(world.organizer)), 404)


@pytest.mark.parametrize("stage", ["declined", "withdrawn"])
def test_cancelling_a_closed_pairings_activity_with_its_unchanged_fields_is_accepted(
        world: World, stage: str) -> None:
    """A form sends every field back: a cancellation of an activity the closing already
    cancelled changes nothing and answers 200, as on a followed pairing; any other change is
    a 409."""
    pid, ids = _closed_with_activities(world, stage)
    url = f"{API}/activities/{ids['planned']}"
    key = bearer(world.key("HTI"))
    shown = get(world, f"/activities/{ids['planned']}", "HTI")
    form = {field: shown[field] for field in ("title", "description", "responsible_country",
                                              "starts_on", "due_on")}
    events = len(history(world, pid))

    cancelled = world.client.patch(url, json=form | {"status": "cancelled"}, headers=key)
    again = world.client.patch(url, json=form | {"status": "cancelled"}, headers=key)
    reopened = world.client.patch(url, json=form | {"status": "planned"}, headers=key)
    edited = world.client.patch(url, json=form | {"status": "cancelled", "title": "Otra"},
                                headers=key)

    assert cancelled.status_code == 200, cancelled.text
    assert again.status_code == 200, again.text
    assert [r.json()["version"] for r in (cancelled, again)] == [2, 2]
    assert cancelled.json()["status"] == "cancelled"
    assert assert_problem(reopened, 409)["allowed"] == []
    assert assert_problem(edited, 409)["allowed"] == []
    assert len(history(world, pid)) == events
    assert get(world, f"/activities/{ids['planned']}", "HTI") == shown


def test_followups_document_overdue_as_judged_on_as_of() -> None:
    """Lateness is judged on `as_of`: the OpenAPI said "due before today"."""
    openapi = create_app(Settings()).openapi()
    params = {p["name"]: p for p in openapi["paths"][f"{API}/followups"]["get"]["parameters"]}
    field = openapi["components"]["schemas"]["ActivityRead"]["properties"]["overdue"]

    for description in (params["overdue"]["description"], field["description"]):
        assert "`as_of`" in description
        assert "default: today" in description
