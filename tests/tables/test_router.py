"""Cooperation tables through the API."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.orm import Session

from models import CooperationTable
from tests.conftest import KeyMaker, bearer
from tests.factories import assert_problem

TABLE: dict[str, Any] = {
    "name": "Mesa de prueba",
    "starts_on": "2026-12-07",
    "ends_on": "2026-12-09",
    "venue": "Lima",
    "host_country": "PER",
    "participants": ["ARG", "BRA", "HTI", "PER"],
    "rounds": 4,
    "tables_per_round": 3,
}


def test_create_table_as_organizer_returns_effective_settings(
        app_client: TestClient, make_key: KeyMaker) -> None:
    key = make_key("organizer")
    resp = app_client.post("/api/v1/tables", json=TABLE, headers=bearer(key))
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert body["status"] == "planning"
    assert body["participants"] == ["ARG", "BRA", "HTI", "PER"]
    assert body["weights"]["text"] > 0
    assert resp.headers["Location"] == f"/api/v1/tables/{body['id']}"
    assert resp.headers["ETag"] == '"1"'


@pytest.mark.parametrize(("role", "country", "expected"), [
    (None, None, 401), ("country", "ARG", 403), ("organizer", None, 201), ("admin", None, 201),
])
def test_create_table_by_role_gets_expected_status(
        app_client: TestClient, make_key: KeyMaker, role: str | None, country: str | None,
        expected: int) -> None:
    headers = bearer(make_key(role, country)) if role else {}
    assert app_client.post("/api/v1/tables", json=TABLE, headers=headers).status_code == expected


@pytest.mark.parametrize(("patch", "field"), [
    ({"ends_on": "2026-12-01"}, "ends_on"),
    ({"starts_on": "2026-12-10"}, "starts_on"),
    ({"starts_on": "2026-12-10", "ends_on": "2026-12-08"}, "ends_on"),
    ({"tables_per_round": 0}, "tables_per_round"),
    ({"tables_per_round": -2}, "tables_per_round"),
    ({"rounds": -1}, "rounds"),
    ({"max_meetings_per_delegation": 0}, "max_meetings_per_delegation"),
    ({"max_offers_per_need": 0}, "max_offers_per_need"),
    ({"host_country": "XXX"}, "host_country"),
    ({"participants": ["ARG", "XXX"]}, "participants"),
    ({"participants": ["MOZ"]}, "participants"),
    ({"weights": {"text": -1}}, "weights"),
    ({"weights": {"bogus": 1}}, "weights"),
    ({"weights": {k: 0 for k in ("text", "factor", "modality", "language", "region",
                                 "reciprocity", "novelty", "capacity")}}, "weights"),
    ({"rounds": 0}, "rounds"),
    ({"factor_affinity": {"foo:bar": 0.5}}, "factor_affinity"),
    ({"factor_affinity": {"ict:agriculture": 0.5, "ict:farming": 0.5}}, "farming"),
    ({"factor_affinity": {"ict:ict": 0.2}}, "same factor twice"),
    ({"factor_affinity": {"ict:agriculture": 0.9, "agriculture:ict": 0.1}}, "same pair as"),
    ({"rounds": None}, "rounds"),
])
def test_update_table_with_bad_settings_is_rejected_and_unchanged(
        app_client: TestClient, make_key: KeyMaker, patch: dict[str, Any], field: str) -> None:
    key = make_key("organizer")
    created = app_client.post("/api/v1/tables", json=TABLE, headers=bearer(key)).json()
    resp = app_client.patch(f"/api/v1/tables/{created['id']}", json=patch, headers=bearer(key))
    assert resp.status_code == 422, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert field in resp.text
    after = app_client.get(f"/api/v1/tables/{created['id']}", headers=bearer(key)).json()
    assert after == created


@pytest.mark.parametrize(("patch", "error"), [
    ({"starts_on": "2026-12-10"}, {"field": "starts_on", "message": "after ends_on"}),
    ({"ends_on": "2026-12-06"}, {"field": "ends_on", "message": "before starts_on"}),
    ({"starts_on": "2026-12-10", "ends_on": "2026-12-08"},
     {"field": "ends_on", "message": "before starts_on"}),
])
def test_update_table_dates_out_of_order_names_the_date_sent_and_is_unchanged(
        app_client: TestClient, make_key: KeyMaker, patch: dict[str, Any],
        error: dict[str, str]) -> None:
    key = make_key("organizer")
    created = app_client.post("/api/v1/tables", json=TABLE, headers=bearer(key)).json()

    resp = app_client.patch(f"/api/v1/tables/{created['id']}", json=patch, headers=bearer(key))

    assert assert_problem(resp, 422)["errors"] == [error]
    assert app_client.get(f"/api/v1/tables/{created['id']}", headers=bearer(key)).json() == created


def test_update_table_status_backwards_is_conflict_naming_both_and_the_allowed_ones(
        app_client: TestClient, make_key: KeyMaker) -> None:
    key = make_key("organizer")
    table = app_client.post("/api/v1/tables", json=TABLE, headers=bearer(key)).json()
    url = f"/api/v1/tables/{table['id']}"
    moved = app_client.patch(url, json={"status": "matching"}, headers=bearer(key))
    assert moved.status_code == 200
    resp = app_client.patch(url, json={"status": "open", "rounds": 2}, headers=bearer(key))
    body = assert_problem(resp, 409)
    assert (body["current_status"], body["requested_status"]) == ("matching", "open")
    assert body["allowed"] == ["in_session", "closed"]
    assert "'matching'" in body["detail"]
    assert "in_session, closed" in body["detail"]
    assert app_client.get(url, headers=bearer(key)).json() == moved.json()


@pytest.mark.parametrize("steps", [["open", "matching", "in_session", "closed"],
                                   ["in_session"], ["matching", "closed"], ["closed"]])
def test_update_table_status_moves_forward_and_may_skip_steps(
        app_client: TestClient, make_key: KeyMaker, steps: list[str]) -> None:
    key = make_key("organizer")
    table = app_client.post("/api/v1/tables", json=TABLE, headers=bearer(key)).json()
    for step in steps:
        resp = app_client.patch(f"/api/v1/tables/{table['id']}", json={"status": step},
                                headers=bearer(key))
        assert (resp.status_code, resp.json()["status"]) == (200, step), resp.text


@pytest.mark.parametrize("status", ["planning", "open", "matching", "in_session"])
def test_a_closed_table_cannot_go_back_to_any_status(
        app_client: TestClient, make_key: KeyMaker, status: str) -> None:
    key = make_key("organizer")
    table = app_client.post("/api/v1/tables", json=TABLE, headers=bearer(key)).json()
    url = f"/api/v1/tables/{table['id']}"
    closed = app_client.patch(url, json={"status": "closed"}, headers=bearer(key)).json()

    body = assert_problem(app_client.patch(url, json={"status": status}, headers=bearer(key)),
                          409)

    assert (body["current_status"], body["requested_status"]) == ("closed", status)
    assert body["allowed"] == []
    assert "closed table stays closed" in body["detail"]
    assert app_client.get(url, headers=bearer(key)).json() == closed


@pytest.mark.parametrize(("patch", "fields"), [
    ({"rounds": 2}, ["rounds"]),
    ({"participants": ["ARG", "BRA"], "weights": {"text": 0.5}}, ["participants", "weights"]),
    ({"status": "closed", "host_country": None}, ["host_country"]),
])
def test_a_closed_table_refuses_settings_and_participants_naming_them(
        app_client: TestClient, make_key: KeyMaker, patch: dict[str, Any],
        fields: list[str]) -> None:
    key = make_key("organizer")
    table = app_client.post("/api/v1/tables", json=TABLE, headers=bearer(key)).json()
    url = f"/api/v1/tables/{table['id']}"
    closed = app_client.patch(url, json={"status": "closed"}, headers=bearer(key)).json()

    body = assert_problem(app_client.patch(url, json=patch, headers=bearer(key)), 409)

    assert (body["current_status"], body["fields"]) == ("closed", fields)
    assert all(field in body["detail"] for field in fields)
    assert app_client.get(url, headers=bearer(key)).json() == closed


def test_create_table_with_end_before_start_is_422(
        app_client: TestClient, make_key: KeyMaker) -> None:
    bad = TABLE | {"ends_on": "2026-12-01"}
    resp = app_client.post("/api/v1/tables", json=bad, headers=bearer(make_key("admin")))
    assert resp.status_code == 422
    assert resp.json()["errors"] == [{"field": "ends_on", "message": "before starts_on"}]
    assert resp.json()["detail"] == ("ends_on (2026-12-01) must not be before starts_on "
                                     f"({TABLE['starts_on']}).")
    assert app_client.get("/api/v1/tables", headers=bearer(make_key("admin"))).json()["total"] == 0


def test_create_table_with_unknown_factors_in_the_affinity_table_is_422(
        app_client: TestClient, make_key: KeyMaker) -> None:
    key = make_key("organizer")
    before = app_client.get("/api/v1/tables", headers=bearer(key)).json()["total"]
    body = {**TABLE, "factor_affinity": {"ict:agriculture": 0.6, "foo:ict": 0.5}}
    resp = app_client.post("/api/v1/tables", json=body, headers=bearer(key))
    assert resp.status_code == 422, resp.text
    assert resp.json()["errors"] == [{"field": "factor_affinity", "message": "unknown: foo"}]
    assert app_client.get("/api/v1/tables", headers=bearer(key)).json()["total"] == before
    body["factor_affinity"] = {"ict:agriculture": 0.6}
    created = app_client.post("/api/v1/tables", json=body, headers=bearer(key))
    assert created.status_code == 201, created.text
    assert created.json()["factor_affinity"] == {"ict:agriculture": 0.6}


@pytest.mark.parametrize("key", ["ICT:agriculture", "ict-agriculture", "ict", "ict:"])
def test_an_affinity_key_not_written_as_two_codes_is_422_saying_how_to_write_it(
        app_client: TestClient, make_key: KeyMaker, key: str) -> None:
    organiser = make_key("organizer")
    created = app_client.post("/api/v1/tables", json=TABLE, headers=bearer(organiser)).json()
    resp = app_client.patch(f"/api/v1/tables/{created['id']}",
                            json={"factor_affinity": {key: 0.5}}, headers=bearer(organiser))
    assert resp.status_code == 422, resp.text
    [error] = resp.json()["errors"]
    assert error["field"] == f"body.factor_affinity.{key}.[key]"
    assert "'ict:agriculture'" in error["message"]
    assert "lower case" in error["message"]
    assert "pattern" not in error["message"]
    after = app_client.get(f"/api/v1/tables/{created['id']}", headers=bearer(organiser)).json()
    assert after == created


def test_update_table_weights_and_affinity_change_only_what_they_name(
        app_client: TestClient, make_key: KeyMaker) -> None:
    key = make_key("organizer")
    body = {**TABLE, "weights": {"text": 0.9}, "factor_affinity": {"ict:agriculture": 0.6}}
    created = app_client.post("/api/v1/tables", json=body, headers=bearer(key)).json()
    url = f"/api/v1/tables/{created['id']}"
    defaults = app_client.post("/api/v1/tables", json=TABLE, headers=bearer(key)).json()

    added = app_client.patch(url, headers=bearer(key), json={
        "weights": {"region": 0.05}, "factor_affinity": {"education:ict": 0.4}})
    turned = app_client.patch(url, headers=bearer(key), json={
        "factor_affinity": {"agriculture:ict": 0.7}})  # the same pair, named the other way
    reset = app_client.patch(url, headers=bearer(key), json={
        "weights": {"text": None}, "factor_affinity": {"ict:education": None}})

    assert added.status_code == 200, added.text
    assert (added.json()["weights"]["text"], added.json()["weights"]["region"]) == (0.9, 0.05)
    assert added.json()["factor_affinity"] == {"ict:agriculture": 0.6, "education:ict": 0.4}
    assert turned.json()["factor_affinity"] == {"education:ict": 0.4, "agriculture:ict": 0.7}
    assert reset.status_code == 200, reset.text
    assert reset.json()["weights"] == defaults["weights"] | {"region": 0.05}
    assert reset.json()["factor_affinity"] == {"agriculture:ict": 0.7}
    assert reset.json()["version"] == 4


def test_a_weight_or_affinity_of_minus_zero_is_stored_and_shown_as_zero(
        app_client: TestClient, make_key: KeyMaker) -> None:
    key = make_key("organizer")
    body = {**TABLE, "weights": {"region": -0.0}, "factor_affinity": {"ict:agriculture": -0.0}}

    created = app_client.post("/api/v1/tables", json=body, headers=bearer(key))

    assert created.status_code == 201, created.text
    assert '"region":0.0' in created.text
    assert '"ict:agriculture":0.0' in created.text
    assert "-0.0" not in app_client.get(f"/api/v1/tables/{created.json()['id']}",
                                        headers=bearer(key)).text


def test_update_table_weights_that_leave_all_zero_are_refused(
        app_client: TestClient, make_key: KeyMaker) -> None:
    key = make_key("organizer")
    names = ("text", "factor", "modality", "language", "region", "reciprocity", "novelty",
             "capacity")
    body = {**TABLE, "weights": {name: 0 for name in names if name != "text"}}
    created = app_client.post("/api/v1/tables", json=body, headers=bearer(key)).json()

    resp = app_client.patch(f"/api/v1/tables/{created['id']}", headers=bearer(key),
                            json={"weights": {"text": 0}})

    assert resp.status_code == 422, resp.text
    assert resp.json()["errors"][0]["field"] == "weights"
    assert app_client.get(f"/api/v1/tables/{created['id']}", headers=bearer(key)).json() == created


def test_update_table_with_a_stale_if_match_is_412_and_unchanged(
        app_client: TestClient, make_key: KeyMaker) -> None:
    key = make_key("organizer")
    created = app_client.post("/api/v1/tables", json=TABLE, headers=bearer(key)).json()
    url = f"/api/v1/tables/{created['id']}"
    read = app_client.get(url, headers=bearer(key))
    assert read.headers["ETag"] == '"1"'
    first = app_client.patch(url, json={"rounds": 5}, headers=bearer(key) | {"If-Match": '"1"'})
    assert (first.status_code, first.headers["ETag"]) == (200, '"2"')

    stale = app_client.patch(url, json={"rounds": 7}, headers=bearer(key) | {"If-Match": '"1"'})

    assert stale.status_code == 412, stale.text
    assert stale.json()["current_version"] == 2
    after = app_client.get(url, headers=bearer(key)).json()
    assert (after["rounds"], after["version"]) == (5, 2)


def test_a_null_names_its_field_and_clears_only_the_host(
        app_client: TestClient, make_key: KeyMaker) -> None:
    key = make_key("organizer")
    created = app_client.post("/api/v1/tables", json=TABLE, headers=bearer(key)).json()
    url = f"/api/v1/tables/{created['id']}"

    refused = app_client.patch(url, json={"rounds": None, "name": None}, headers=bearer(key))
    cleared = app_client.patch(url, json={"host_country": None}, headers=bearer(key))

    assert refused.status_code == 422, refused.text
    assert refused.json()["errors"] == [{"field": "name", "message": "may not be null"},
                                        {"field": "rounds", "message": "may not be null"}]
    assert cleared.status_code == 200, cleared.text
    assert (cleared.json()["host_country"], cleared.json()["version"]) == (None, 2)


@pytest.mark.parametrize("patch", [{}, {"rounds": 4, "participants": ["PER", "HTI", "BRA", "ARG"],
                                        "host_country": "PER", "status": "planning"}])
def test_a_patch_that_changes_nothing_keeps_the_version(
        app_client: TestClient, make_key: KeyMaker, patch: dict[str, Any]) -> None:
    key = make_key("organizer")
    created = app_client.post("/api/v1/tables", json=TABLE, headers=bearer(key)).json()
    url = f"/api/v1/tables/{created['id']}"

    resp = app_client.patch(url, json=patch, headers=bearer(key) | {"If-Match": '"1"'})

    assert resp.status_code == 200, resp.text
    assert resp.json() == created
    assert resp.headers["ETag"] == '"1"'
    closed = app_client.patch(url, json={"status": "closed"}, headers=bearer(key)).json()
    again = app_client.patch(url, json={}, headers=bearer(key))
    assert (again.status_code, again.json()) == (200, closed)


def test_an_affinity_given_again_in_the_other_order_changes_nothing(
        app_client: TestClient, make_key: KeyMaker) -> None:
    """'agriculture:ict' and 'ict:agriculture' are one entry: giving the stored value again
    under the other name bumped the version (a stale ETag for everyone else) and re-spelt
    the key, so every plan of the table said its factor affinities had changed."""
    key = make_key("organizer")
    body = {**TABLE, "factor_affinity": {"ict:agriculture": 0.6}}
    created = app_client.post("/api/v1/tables", json=body, headers=bearer(key)).json()
    url = f"/api/v1/tables/{created['id']}"
    plan = app_client.post(f"{url}/plan", headers=bearer(key))
    assert plan.status_code == 201, plan.text

    resp = app_client.patch(url, json={"factor_affinity": {"agriculture:ict": 0.6}},
                            headers=bearer(key) | {"If-Match": '"1"'})

    assert resp.status_code == 200, resp.text
    assert resp.json() == created
    assert resp.headers["ETag"] == '"1"'
    read = app_client.get(f"{url}/plans/{plan.json()['number']}", headers=bearer(key))
    assert read.json()["changed_since"] == []


def test_closing_a_closed_table_again_is_a_no_op_but_any_other_change_is_refused(
        app_client: TestClient, make_key: KeyMaker) -> None:
    """A client that retries its close (its answer was lost) is told the table is closed,
    not that its request conflicts; changing anything else stays a 409."""
    key = make_key("organizer")
    created = app_client.post("/api/v1/tables", json=TABLE, headers=bearer(key)).json()
    url = f"/api/v1/tables/{created['id']}"
    closed = app_client.patch(url, json={"status": "closed"}, headers=bearer(key))

    again = app_client.patch(url, json={"status": "closed"},
                             headers=bearer(key) | {"If-Match": closed.headers["ETag"]})
    changed = app_client.patch(url, json={"status": "closed", "rounds": 2}, headers=bearer(key))

    assert (again.status_code, again.json()) == (200, closed.json()), again.text
    assert again.headers["ETag"] == closed.headers["ETag"]
    assert changed.status_code == 409, changed.text
    assert app_client.get(url, headers=bearer(key)).json() == closed.json()


def test_a_country_disabled_after_joining_does_not_lock_the_table(
        app_client: TestClient, make_key: KeyMaker) -> None:
    admin = bearer(make_key("admin"))
    created = app_client.post("/api/v1/tables", json=TABLE, headers=admin)
    assert created.status_code == 201, created.text
    url = f"/api/v1/tables/{created.json()['id']}"
    for iso3 in ("PER", "JAM"):  # the host and a participant, and one that never joined
        off = app_client.patch(f"/api/v1/countries/{iso3}", json={"enabled": False},
                               headers=admin)
        assert off.status_code == 200, off.text

    kept = app_client.patch(url, headers=admin, json={
        "participants": [*TABLE["participants"], "CHL"], "host_country": "PER", "venue": "Cusco"})
    refused = app_client.patch(url, headers=admin, json={
        "participants": [*TABLE["participants"], "CHL", "JAM"]})

    assert kept.status_code == 200, kept.text
    assert kept.json()["participants"] == ["ARG", "BRA", "CHL", "HTI", "PER"]
    assert kept.json()["host_country"] == "PER"
    assert refused.status_code == 422
    assert "JAM" in refused.json()["detail"]
    assert "PER" not in refused.json()["detail"]


def test_a_table_stored_with_a_weight_now_too_small_is_read_with_its_ratios(
        app_client: TestClient, make_key: KeyMaker, session: Session) -> None:
    admin = bearer(make_key("admin"))
    created = app_client.post("/api/v1/tables", json=TABLE, headers=admin)
    assert created.status_code == 201, created.text
    table_id = created.json()["id"]
    names = list(created.json()["weights"])
    stored = dict.fromkeys(names, 0.0) | {"text": 5e-324, "region": 1e-320}
    session.execute(update(CooperationTable).where(CooperationTable.id == table_id)
                    .values(weights=stored))  # as a release that let such weights in left it
    session.commit()

    read = app_client.get(f"/api/v1/tables/{table_id}", headers=admin)
    suggestions = app_client.get(f"/api/v1/tables/{table_id}/suggestions", headers=admin)

    assert read.status_code == 200, read.text
    weights = read.json()["weights"]
    assert weights["region"] == 1.0
    assert weights["text"] == pytest.approx(5e-324 / 1e-320)
    assert suggestions.status_code == 200, suggestions.text
    # A change of another weight keeps those ratios (it is not refused for the tiny ones).
    changed = app_client.patch(f"/api/v1/tables/{table_id}", headers=admin,
                               json={"weights": {"factor": 0.5}})
    assert changed.status_code == 200, changed.text
    assert changed.json()["weights"] == weights | {"factor": 0.5}


def test_a_host_country_need_not_take_part_and_is_not_made_a_participant(
        app_client: TestClient, make_key: KeyMaker) -> None:
    key = make_key("organizer")
    body = TABLE | {"host_country": "JAM"}  # hosts only: not among the participants

    created = app_client.post("/api/v1/tables", json=body, headers=bearer(key))
    moved = app_client.patch(f"/api/v1/tables/{created.json()['id']}",
                             json={"host_country": "CHL"}, headers=bearer(key))

    assert created.status_code == 201, created.text
    assert (created.json()["host_country"], created.json()["participants"]) == (
        "JAM", TABLE["participants"])
    assert moved.status_code == 200, moved.text
    assert (moved.json()["host_country"], moved.json()["participants"]) == (
        "CHL", TABLE["participants"])


@pytest.mark.parametrize("host", ["XXX", "MOZ"])  # unknown; not a member country
def test_create_table_with_an_unknown_host_is_422_naming_it_and_stores_nothing(
        app_client: TestClient, make_key: KeyMaker, host: str) -> None:
    key = make_key("organizer")

    resp = app_client.post("/api/v1/tables", json=TABLE | {"host_country": host},
                           headers=bearer(key))

    assert assert_problem(resp, 422)["errors"] == [
        {"field": "host_country", "message": f"unknown or not enabled: {host}"}]
    assert app_client.get("/api/v1/tables", headers=bearer(key)).json()["total"] == 0
