"""Matches, table suggestions and plans through the API."""

from __future__ import annotations

import csv
import gc
import io
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from models import Offer, Pairing
from service.config import get_settings
from service.main import create_app, create_served_app, warm_index
from service.matching.index import Kind
from tests.conftest import KeyMaker, bearer
from tests.factories import assert_problem, create_item

ITEMS: list[dict[str, Any]] = [
    {"kind": "need", "country": "HTI", "factor": "education", "language": "fr",
     "modality": "technical_assistance",
     "title": "Système d'alerte précoce contre l'abandon scolaire des enfants travailleurs",
     "description": "Nous voulons repérer à temps les enfants qui quittent l'école pour "
                    "travailler, en croisant les absences scolaires et les données sociales."},
    {"kind": "offer", "country": "CHL", "factor": "education", "language": "es",
     "modality": "technical_assistance",
     "title": "Sistema de alerta temprana de deserción escolar por trabajo infantil",
     "description": "Chile comparte su sistema que cruza asistencia escolar y datos de "
                    "programas sociales para detectar a tiempo a niños en riesgo de dejar la "
                    "escuela por trabajar.", "capacity": 2},
    {"kind": "offer", "country": "BRA", "factor": "agriculture", "language": "pt",
     "modality": "study_visit",
     "title": "Inspeção do trabalho rural nas colheitas de café",
     "description": "Equipes móveis de inspeção do trabalho visitam fazendas de café durante "
                    "a colheita para retirar crianças do trabalho perigoso.", "capacity": 1},
    {"kind": "offer", "country": "HTI", "factor": "education", "language": "fr",
     "modality": "training", "title": "Formation des enseignants haïtiens au repérage",
     "description": "Nos enseignants repèrent les enfants absents pour travail domestique.",
     "capacity": 1},
    {"kind": "need", "country": "PER", "factor": "agriculture", "language": "es",
     "modality": "study_visit",
     "title": "Inspección laboral en zonas rurales durante la cosecha de café",
     "description": "Necesitamos conocer cómo organizar inspecciones móviles en fincas "
                    "cafetaleras durante la cosecha para detectar trabajo infantil."},
]


def _create_all(client: TestClient, admin: str) -> dict[str, int]:
    ids = {}
    for n, item in enumerate(ITEMS):
        payload = {k: v for k, v in item.items() if k != "kind"}
        resp = client.post(f"/api/v1/{item['kind']}s", json=payload, headers=bearer(admin))
        assert resp.status_code == 201, resp.text
        ids[f"{item['kind']}{n}"] = resp.json()["id"]
    return ids


@pytest.mark.slow
def test_need_matches_rank_cross_language_answer_first_and_exclude_own_country(
        app_client: TestClient, make_key: KeyMaker) -> None:
    ids = _create_all(app_client, make_key("admin"))
    key = make_key("country", "HTI")
    resp = app_client.get(f"/api/v1/needs/{ids['need0']}/matches?limit=5", headers=bearer(key))
    assert resp.status_code == 200, resp.text
    matches = resp.json()["matches"]
    assert matches[0]["offer_id"] == ids["offer1"]
    assert all(m["offer_country"] != "HTI" for m in matches)
    scores = [m["score"] for m in matches]
    assert scores == sorted(scores, reverse=True)
    for m in matches:
        assert set(m["components"]) >= {"text", "factor", "language", "region"}
        assert all(0 <= c["value"] <= 1 for c in m["components"].values())


@pytest.mark.slow
def test_offer_matches_list_needs_of_other_countries(
        app_client: TestClient, make_key: KeyMaker) -> None:
    ids = _create_all(app_client, make_key("admin"))
    resp = app_client.get(f"/api/v1/offers/{ids['offer2']}/matches",
                          headers=bearer(make_key("organizer")))
    assert resp.status_code == 200
    assert resp.json()["matches"][0]["need_id"] == ids["need4"]


@pytest.mark.slow
def test_withdrawn_offer_disappears_from_matches(
        app_client: TestClient, make_key: KeyMaker) -> None:
    admin = make_key("admin")
    ids = _create_all(app_client, admin)
    app_client.delete(f"/api/v1/offers/{ids['offer1']}", headers=bearer(admin))
    matches = app_client.get(f"/api/v1/needs/{ids['need0']}/matches",
                             headers=bearer(admin)).json()["matches"]
    assert ids["offer1"] not in [m["offer_id"] for m in matches]


@pytest.fixture
def settings_restored(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """After a test that changes settings through the environment, the settings as before."""
    yield
    monkeypatch.undo()
    get_settings.cache_clear()


@pytest.mark.slow
@pytest.mark.usefixtures("settings_restored")
def test_an_edit_with_encoding_off_is_scored_by_its_new_text(
        app_client: TestClient, make_key: KeyMaker, session: Session,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """An item encoded when written, then edited while ENCODE_ON_WRITE is off, loses its stored
    vector (matching encodes its new text; `reencode` stores it): its old vector scored the
    old text."""
    admin = make_key("admin")
    ids = _create_all(app_client, admin)
    url = f"/api/v1/needs/{ids['need4']}/matches?limit=10"
    monkeypatch.setenv("ENCODE_ON_WRITE", "false")
    get_settings.cache_clear()
    coffee = {key: ITEMS[2][key] for key in ("title", "description")}
    edited = app_client.patch(f"/api/v1/offers/{ids['offer1']}", headers=bearer(admin),
                              json=coffee)  # the Chilean offer now speaks of coffee harvests
    twin = {k: v for k, v in ITEMS[1].items() if k != "kind"} | coffee | {"country": "ARG"}
    fresh = app_client.post("/api/v1/offers", headers=bearer(admin), json=twin)

    assert edited.status_code == 200, edited.text
    assert fresh.status_code == 201, fresh.text
    stored = session.scalar(select(Offer.embedding).where(Offer.id == ids["offer1"]))
    assert stored is None
    text = {m["offer_id"]: m["components"]["text"]["value"]
            for m in app_client.get(url, headers=bearer(admin)).json()["matches"]}
    assert text[ids["offer1"]] == pytest.approx(text[fresh.json()["id"]])


@pytest.mark.slow
def test_cached_matches_follow_a_later_withdrawal(
        app_client: TestClient, make_key: KeyMaker) -> None:
    admin = make_key("admin")
    ids = _create_all(app_client, admin)
    url = f"/api/v1/needs/{ids['need0']}/matches"
    first = app_client.get(url, headers=bearer(admin)).json()["matches"]
    assert app_client.get(url, headers=bearer(admin)).json()["matches"] == first
    assert ids["offer1"] in [m["offer_id"] for m in first]

    app_client.delete(f"/api/v1/offers/{ids['offer1']}", headers=bearer(admin))

    again = app_client.get(url, headers=bearer(admin)).json()["matches"]
    assert ids["offer1"] not in [m["offer_id"] for m in again]


@pytest.mark.slow
def test_cached_matches_of_a_draft_stay_hidden_from_other_countries(
        app_client: TestClient, make_key: KeyMaker) -> None:
    admin = make_key("admin")
    _create_all(app_client, admin)
    draft = {k: v for k, v in ITEMS[0].items() if k != "kind"} | {"status": "draft"}
    resp = app_client.post("/api/v1/needs", json=draft, headers=bearer(admin))
    assert resp.status_code == 201, resp.text
    url = f"/api/v1/needs/{resp.json()['id']}/matches"
    assert app_client.get(url, headers=bearer(admin)).status_code == 200

    resp = app_client.get(url, headers=bearer(make_key("country", "PER")))

    assert resp.status_code == 404


def test_matches_of_unknown_need_is_404(app_client: TestClient, make_key: KeyMaker) -> None:
    resp = app_client.get("/api/v1/needs/999999/matches", headers=bearer(make_key("admin")))
    assert resp.status_code == 404
    assert resp.headers["content-type"].startswith("application/problem+json")


def _table(client: TestClient, key: str, **extra: Any) -> dict[str, Any]:
    body = {"name": "Mesa", "starts_on": "2026-12-07", "ends_on": "2026-12-08",
            "participants": ["BRA", "CHL", "HTI", "PER"], "rounds": 3, "tables_per_round": 2,
            "max_meetings_per_delegation": 3} | extra
    resp = client.post("/api/v1/tables", json=body, headers=bearer(key))
    assert resp.status_code == 201, resp.text
    result: dict[str, Any] = resp.json()
    return result


@pytest.mark.slow
def test_table_suggestions_only_pair_participants_and_filter(
        app_client: TestClient, make_key: KeyMaker) -> None:
    admin = make_key("admin")
    ids = _create_all(app_client, admin)
    table = _table(app_client, admin, participants=["BRA", "HTI", "PER"])
    url = f"/api/v1/tables/{table['id']}/suggestions"
    items = app_client.get(url, headers=bearer(admin)).json()["items"]
    countries = {c for s in items for c in (s["need_country"], s["offer_country"])}
    assert countries <= {"BRA", "HTI", "PER"}
    assert ids["offer1"] not in [s["offer_id"] for s in items]
    only = app_client.get(f"{url}?factor=agriculture", headers=bearer(admin)).json()["items"]
    assert only
    assert app_client.get(f"{url}?factor=AGRICULTURE", headers=bearer(admin)).json()[
        "items"] == only  # factor codes in any case, as on the item lists
    assert all("agriculture" in _factors(app_client, admin, s) for s in only)
    by_country = app_client.get(f"{url}?country=PER", headers=bearer(admin)).json()["items"]
    assert all("PER" in (s["need_country"], s["offer_country"]) for s in by_country)


@pytest.mark.slow
def test_table_suggestions_name_the_open_pairing_of_a_pair_and_a_turned_down_one(
        app_client: TestClient, make_key: KeyMaker) -> None:
    """A suggestion whose pair already has an open pairing (here or at another table) names
    it, since creating another answers 409; one declined or withdrawn at this table says so,
    since a plan leaves it out."""
    admin = make_key("admin")
    _create_all(app_client, admin)
    table, other = _table(app_client, admin), _table(app_client, admin)
    url = f"/api/v1/tables/{table['id']}/suggestions?limit=200"
    first, second, *rest = app_client.get(url, headers=bearer(admin)).json()["items"]
    assert (first["open_pairing"], first["turned_down"]) == (None, False)
    made = [app_client.post("/api/v1/pairings", headers=bearer(admin), json={
        "need_id": s["need_id"], "offer_id": s["offer_id"], "table_id": t["id"]}).json()
        for s, t in ((first, table), (second, other))]
    withdrawn = app_client.post(f"/api/v1/pairings/{made[0]['id']}/transitions",
                                headers=bearer(admin),
                                json={"to": "withdrawn", "reason": "Ya no aplica."})
    assert withdrawn.status_code == 200, withdrawn.text

    items = app_client.get(url, headers=bearer(admin)).json()["items"]

    by_pair = {(s["need_id"], s["offer_id"]): s for s in items}
    assert by_pair[first["need_id"], first["offer_id"]] | {"open_pairing": None} == (
        first | {"turned_down": True})
    assert by_pair[second["need_id"], second["offer_id"]]["open_pairing"] == {
        "id": made[1]["id"], "stage": "suggested", "table_id": other["id"]}
    assert all((s["open_pairing"], s["turned_down"]) == (None, False) for s in items[2:])
    assert len(items) == len(rest) + 2


def _factors(client: TestClient, key: str, pair: dict[str, Any]) -> set[str]:
    need = client.get(f"/api/v1/needs/{pair['need_id']}", headers=bearer(key)).json()
    offer = client.get(f"/api/v1/offers/{pair['offer_id']}", headers=bearer(key)).json()
    return {need["factor"], offer["factor"]}


def test_table_suggestions_for_country_key_is_403(
        app_client: TestClient, make_key: KeyMaker) -> None:
    table = _table(app_client, make_key("organizer"))
    resp = app_client.get(f"/api/v1/tables/{table['id']}/suggestions",
                          headers=bearer(make_key("country", "BRA")))
    assert resp.status_code == 403


@pytest.mark.parametrize(("params", "field"), [
    ({"factor": "migracion"}, "factor"),
    ({"country": "GTX"}, "country"),
    ({"factor": "migration", "country": "GT"}, "country"),
])
def test_table_suggestions_of_an_unknown_table_is_404_before_a_bad_filter(
        app_client: TestClient, make_key: KeyMaker, params: dict[str, str], field: str) -> None:
    """As a table's report: the table is looked up first, then the filter codes."""
    key = bearer(make_key("organizer"))
    table = _table(app_client, make_key("organizer"))

    missing = app_client.get("/api/v1/tables/999999/suggestions", params=params, headers=key)
    found = app_client.get(f"/api/v1/tables/{table['id']}/suggestions", params=params,
                           headers=key)

    assert assert_problem(missing, 404)["detail"] == "No cooperation table with id 999999."
    assert_problem(found, 422, f"query.{field}")


@pytest.mark.slow
def test_plan_is_stored_versioned_and_keeps_pairings_past_suggested(
        app_client: TestClient, make_key: KeyMaker, session: Session) -> None:
    admin = make_key("admin")
    _create_all(app_client, admin)
    table = _table(app_client, admin)
    url = f"/api/v1/tables/{table['id']}/plan"
    first = app_client.post(url, headers=bearer(admin))
    assert first.status_code == 201, first.text
    plan = first.json()
    assert plan["number"] == 1
    summary = plan["summary"]
    assert summary["lower_bound"] <= summary["rounds_used"] <= summary["upper_bound"]
    seen: set[tuple[int, str]] = set()
    for meeting in plan["meetings"]:
        for country in meeting["countries"]:
            assert (meeting["round"], country) not in seen
            seen.add((meeting["round"], country))
    stored = list(session.scalars(select(Pairing).where(Pairing.table_id == table["id"])))
    assert stored
    assert all(p.stage == "suggested" for p in stored)
    kept = stored[0]
    session.execute(update(Pairing).where(Pairing.id == kept.id)
                    .values(stage="expression_of_interest"))
    session.commit()
    second = app_client.post(url, headers=bearer(admin)).json()
    assert second["number"] == 2
    session.expire_all()
    again = session.get(Pairing, kept.id)
    assert again is not None
    assert again.stage == "expression_of_interest"
    latest = app_client.get(url, headers=bearer(make_key("country", "BRA"))).json()
    assert latest["number"] == 2


@pytest.mark.slow
def test_a_plan_names_each_participant_left_without_a_meeting_and_why(
        app_client: TestClient, make_key: KeyMaker) -> None:
    admin = make_key("admin")
    _create_all(app_client, admin)
    table = _table(app_client, admin, participants=["BRA", "CHL", "HTI", "JAM", "PER"])
    url = f"/api/v1/tables/{table['id']}"

    plan = app_client.post(f"{url}/plan", headers=bearer(admin))

    assert plan.status_code == 201, plan.text
    reasons = plan.json()["summary"]["participants_without_meeting"]
    seated = {c for m in plan.json()["meetings"] for c in m["countries"]}
    assert set(reasons) == {"BRA", "CHL", "HTI", "JAM", "PER"} - seated
    assert reasons["JAM"].startswith("no candidate pairing")  # JAM submitted nothing
    exported = app_client.get(f"{url}/plans/1?format=csv", headers=bearer(admin))
    summary = {row["item"]: row["value"]
               for row in _csv_sections(exported.text)["summary"]}
    assert f"JAM: {reasons['JAM']}" in summary["participants_without_meeting"]


@pytest.mark.slow
def test_plans_are_listed_newest_first_and_read_by_number(
        app_client: TestClient, make_key: KeyMaker) -> None:
    admin = make_key("admin")
    _create_all(app_client, admin)
    table = _table(app_client, admin)
    url = f"/api/v1/tables/{table['id']}"
    first = app_client.post(f"{url}/plan?time_limit_s=5.5", headers=bearer(admin))
    assert first.status_code == 201, first.text
    assert first.headers["location"] == f"{url}/plans/1"
    assert first.json()["summary"]["time_limit_s"] == 5.5
    assert 0 <= first.json()["summary"]["seconds"] < 5 + 5
    second = app_client.post(f"{url}/plan", headers=bearer(admin)).json()
    assert second["summary"]["time_limit_s"] == 20  # the setting's default
    country = make_key("country", "PER")

    page = app_client.get(f"{url}/plans?limit=1", headers=bearer(country)).json()
    assert (page["total"], page["limit"]) == (2, 1)
    assert [p["number"] for p in page["items"]] == [2]
    after = app_client.get(f"{url}/plans?limit=1&cursor={page['next_cursor']}",
                           headers=bearer(country)).json()
    assert ([p["number"] for p in after["items"]], after["next_cursor"]) == ([1], None)
    assert "meetings" not in page["items"][0]
    assert page["items"][0]["summary"] == second["summary"]
    rest = app_client.get(f"{url}/plans?limit=1&offset=1", headers=bearer(country)).json()
    assert [p["number"] for p in rest["items"]] == [1]
    assert rest["next_cursor"] is None
    assert app_client.get(f"{url}/plans/1", headers=bearer(country)).json() == first.json()
    assert app_client.get(f"{url}/plan", headers=bearer(country)).json() == second

    missing = assert_problem(app_client.get(f"{url}/plans/3", headers=bearer(country)), 404)
    assert "plans" in missing["detail"]
    assert_problem(app_client.get(f"{url}/plans/0", headers=bearer(country)), 422)
    assert_problem(app_client.get(f"{url}/plans?limit=0", headers=bearer(country)), 422)
    assert_problem(app_client.get("/api/v1/tables/999999/plans", headers=bearer(country)), 404)
    empty = _table(app_client, admin)
    listed = app_client.get(f"/api/v1/tables/{empty['id']}/plans", headers=bearer(country))
    assert listed.json() | {"items": None} == {"items": None, "total": 0, "limit": 50,
                                               "next_cursor": None}


@pytest.mark.parametrize("limit", ["0", "-1", "abc", "3601", "nan", "1_0", "+2", "2e0", " 2"])
def test_plan_with_a_bad_time_limit_is_422_and_stores_nothing(
        app_client: TestClient, make_key: KeyMaker, limit: str) -> None:
    organizer = make_key("organizer")
    table = _table(app_client, organizer)
    url = f"/api/v1/tables/{table['id']}"
    resp = app_client.post(f"{url}/plan", params={"time_limit_s": limit},
                           headers=bearer(organizer))
    assert_problem(resp, 422, "time_limit_s")
    assert app_client.get(f"{url}/plans", headers=bearer(organizer)).json()["total"] == 0


@pytest.mark.parametrize("body", [b'{"time_limit_s": 2}', b"time_limit_s=2"])
def test_plan_with_a_request_body_is_422_and_stores_nothing(
        app_client: TestClient, make_key: KeyMaker, body: bytes) -> None:
    organizer = make_key("organizer")
    table = _table(app_client, organizer)
    url = f"/api/v1/tables/{table['id']}"
    resp = app_client.post(f"{url}/plan", content=body,
                           headers=bearer(organizer) | {"Content-Type": "application/json"})
    problem = assert_problem(resp, 422, "body")
    assert "?time_limit_s=" in problem["detail"]
    assert app_client.get(f"{url}/plans", headers=bearer(organizer)).json()["total"] == 0


def _csv_sections(text: str) -> dict[str, list[dict[str, str]]]:
    sections: dict[str, list[dict[str, str]]] = {}
    text = text.removeprefix("\ufeff")  # the byte-order mark that Excel needs
    for block in text.strip("\r\n").split("\r\n\r\n"):
        name, body = block.split("\r\n", 1)
        sections[name.removeprefix("# ")] = list(csv.DictReader(io.StringIO(body)))
    return sections


@pytest.mark.slow
def test_plan_exports_its_schedule_as_csv_and_xlsx(
        app_client: TestClient, make_key: KeyMaker) -> None:
    admin = make_key("admin")
    ids = _create_all(app_client, admin)
    table = _table(app_client, admin)
    url = f"/api/v1/tables/{table['id']}"
    plan = app_client.post(f"{url}/plan", headers=bearer(admin)).json()
    pairings = [(p["need_id"], p["offer_id"], m["round"], m["table"])
                for m in plan["meetings"] for p in m["pairings"]]
    assert (ids["need0"], ids["offer1"]) in [(n, o) for n, o, _, _ in pairings]

    resp = app_client.get(f"{url}/plans/1?format=csv", headers=bearer(admin))
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith("text/csv")
    assert (f'filename="table-{table["id"]}-plan-1.csv"'
            in resp.headers["content-disposition"])
    sections = _csv_sections(resp.text)
    assert list(sections) == ["summary", "schedule", "left_out"]
    summary = {row["item"]: row["value"] for row in sections["summary"]}
    assert summary["plan_number"] == "1"
    assert summary["meetings"] == str(plan["summary"]["meetings"])
    assert summary["changed_since"] == "nothing"
    assert summary["settings.participants"] == ", ".join(sorted(table["participants"]))
    assert summary["settings.rounds"] == str(table["rounds"])
    assert summary["settings.weights"].splitlines()[0] == f"text: {table['weights']['text']}"
    assert "settings" not in summary
    schedule = sections["schedule"]
    assert sorted((int(r["need_id"]), int(r["offer_id"]), int(r["round"]),
                   int(r["meeting_table"])) for r in schedule) == sorted(pairings)
    assert [int(r["round"]) for r in schedule] == sorted(int(r["round"]) for r in schedule)
    row = next(r for r in schedule if int(r["offer_id"]) == ids["offer1"])
    assert row["offer_title"] == ITEMS[1]["title"]
    assert row["need_title"] == ITEMS[0]["title"]
    assert {row["delegation_a"], row["delegation_b"]} == {"CHL", "HTI"}
    assert {row["delegation_a_name"], row["delegation_b_name"]} == {"Chile", "Haiti"}

    # The offer is withdrawn after the plan: other countries no longer see its title.
    chile = make_key("country", "CHL")
    assert app_client.delete(f"/api/v1/offers/{ids['offer1']}",
                             headers=bearer(chile)).status_code == 200
    for key, title in ((make_key("country", "PER"), ""), (chile, ITEMS[1]["title"]),
                       (make_key("organizer"), ITEMS[1]["title"])):
        text = app_client.get(f"{url}/plan?format=csv", headers=bearer(key)).text
        row = next(r for r in _csv_sections(text)["schedule"]
                   if int(r["offer_id"]) == ids["offer1"])
        assert (row["offer_title"], row["offer_status"]) == (title, "withdrawn")

    book = app_client.get(f"{url}/plan?format=xlsx", headers=bearer(admin))
    assert book.status_code == 200
    workbook = load_workbook(io.BytesIO(book.content))
    assert workbook.sheetnames == ["summary", "schedule", "left_out"]
    rows = list(workbook["schedule"].iter_rows(values_only=True))
    assert list(rows[0]) == list(schedule[0])
    assert len(rows) - 1 == len(schedule)
    figures = dict(workbook["summary"].iter_rows(values_only=True))
    assert isinstance(figures["created_at"], datetime)  # a date cell, in UTC
    stamp = datetime.fromisoformat(plan["created_at"]).astimezone(UTC).replace(tzinfo=None)
    assert abs(figures["created_at"] - stamp) < timedelta(seconds=1)

    bad = app_client.get(f"{url}/plan?format=pdf", headers=bearer(admin))
    assert_problem(bad, 422, "format")


def test_plan_of_table_without_plan_is_404(app_client: TestClient, make_key: KeyMaker) -> None:
    table = _table(app_client, make_key("organizer"))
    resp = app_client.get(f"/api/v1/tables/{table['id']}/plan",
                          headers=bearer(make_key("organizer")))
    assert resp.status_code == 404


@pytest.mark.slow
@pytest.mark.usefixtures("committed_db")
def test_two_app_instances_see_each_others_writes_in_matches() -> None:
    """Two workers on one database: writes through one never leave the other stale."""
    from service.auth.service import create_key
    from service.db import session_scope

    with session_scope() as s:
        _key, admin = create_key(s, role="admin", name="workers")
    with TestClient(create_app()) as worker_a, TestClient(create_app()) as worker_b:
        need = {k: v for k, v in ITEMS[0].items() if k != "kind"}
        offer = {k: v for k, v in ITEMS[1].items() if k != "kind"}
        need_id = worker_a.post("/api/v1/needs", json=need, headers=bearer(admin)).json()["id"]
        url = f"/api/v1/needs/{need_id}/matches"
        assert worker_b.get(url, headers=bearer(admin)).json()["matches"] == []
        offer_id = worker_a.post("/api/v1/offers", json=offer,
                                 headers=bearer(admin)).json()["id"]
        seen = worker_b.get(url, headers=bearer(admin)).json()["matches"]
        assert [m["offer_id"] for m in seen] == [offer_id]
        worker_a.patch(f"/api/v1/offers/{offer_id}", json={"title": "Otro título de la oferta"},
                       headers=bearer(admin))
        seen = worker_b.get(url, headers=bearer(admin)).json()["matches"]
        assert seen[0]["counterpart"]["title"] == "Otro título de la oferta"
        worker_a.delete(f"/api/v1/offers/{offer_id}", headers=bearer(admin))
        assert worker_b.get(url, headers=bearer(admin)).json()["matches"] == []


def _component_of_brazil_offer(client: TestClient, key: str, ids: dict[str, int],
                               component: str) -> float:
    """A score component of Brazil's offer among the matches of Peru's need."""
    matches = client.get(f"/api/v1/needs/{ids['need4']}/matches",
                         headers=bearer(key)).json()["matches"]
    match = next(m for m in matches if m["offer_id"] == ids["offer2"])
    return float(match["components"][component]["value"])


@pytest.mark.slow
def test_cached_matches_follow_a_later_country_language_change(
        app_client: TestClient, make_key: KeyMaker) -> None:
    admin = make_key("admin")
    ids = _create_all(app_client, admin)

    def language_of_brazil_offer() -> float:
        return _component_of_brazil_offer(app_client, admin, ids, "language")

    before = language_of_brazil_offer()
    assert language_of_brazil_offer() == before  # served from the cache
    resp = app_client.patch("/api/v1/countries/PER", json={"languages": ["es", "pt"]},
                            headers=bearer(admin))
    assert resp.status_code == 200, resp.text

    assert language_of_brazil_offer() > before


@pytest.mark.slow
def test_cached_matches_follow_a_later_commitment_of_the_offer(
        app_client: TestClient, make_key: KeyMaker) -> None:
    """The scoring context (offer loads, pairing history) is cached per pairings revision:
    a pairing that moves past `suggested` must reach the next ranking."""
    admin, peru = make_key("admin"), make_key("country", "PER")
    ids = _create_all(app_client, admin)

    def capacity_of_brazil_offer() -> float:
        return _component_of_brazil_offer(app_client, admin, ids, "capacity")

    assert capacity_of_brazil_offer() == 1.0
    assert capacity_of_brazil_offer() == 1.0  # served from the cache
    made = app_client.post("/api/v1/pairings", headers=bearer(peru),
                           json={"need_id": ids["need4"], "offer_id": ids["offer2"]})
    assert made.status_code == 201, made.text
    pairing = made.json()
    if pairing["stage"] == "suggested":
        moved = app_client.post(f"/api/v1/pairings/{pairing['id']}/transitions",
                                headers=bearer(peru), json={"to": "expression_of_interest"})
        assert moved.status_code == 200, moved.text
        pairing = moved.json()
    assert pairing["stage"] == "expression_of_interest"

    assert capacity_of_brazil_offer() == 0.0  # capacity 1, now taken


@pytest.mark.usefixtures("committed_db")
def test_a_served_worker_reads_its_index_at_start(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    """The index is read in the background when a server worker starts, so that its first
    matches find it current instead of reading every published item."""
    from service import revisions
    from service.auth.service import create_key
    from service.db import session_scope

    with session_scope() as s:
        _key, admin = create_key(s, role="admin", name="warm-up")
    with TestClient(create_app()) as writer:
        for item in ITEMS[:2]:
            body = {k: v for k, v in item.items() if k != "kind"}
            reply = writer.post(f"/api/v1/{item['kind']}s", json=body, headers=bearer(admin))
            assert reply.status_code == 201, reply.text
    monkeypatch.setattr(gc, "freeze", lambda: None)  # keep the test process as it is
    caplog.set_level(logging.INFO, logger="service.index")

    app = create_served_app()
    app.state.index_warm_up.join(timeout=60)
    assert not app.state.index_warm_up.is_alive()
    read_at_start = [r.getMessage() for r in caplog.records if "items read" in r.getMessage()]
    assert [m.split()[0] for m in read_at_start] == ["offer", "need"]

    cache = app.state.index_cache
    kinds: tuple[tuple[Kind, revisions.Counter], ...] = (("offer", "offers"), ("need", "needs"))
    with session_scope(writes=False) as s:
        for kind, counter in kinds:
            index = cache.get(s, kind)
            assert index.revision == revisions.read(s, counter)
            assert len(index.items) == 1
    # The reads after it found the index current: nothing was read again.
    assert sum("items read" in r.getMessage() for r in caplog.records) == 2


def test_the_warm_up_is_switched_off_by_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    from service.config import get_settings

    monkeypatch.setenv("WARM_INDEX_ON_START", "false")
    monkeypatch.setattr(gc, "freeze", lambda: None)
    get_settings.cache_clear()
    try:
        app = create_served_app()
    finally:
        get_settings.cache_clear()
    assert app.state.index_warm_up is None


def test_a_warm_up_on_a_database_not_migrated_logs_and_leaves_it_to_requests(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    from service.db import reset_engines
    from service.matching.index import IndexCache

    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/empty.db")
    reset_engines()
    try:
        warm_index(IndexCache())
    finally:
        reset_engines()
    assert "matching index not read at start" in caplog.text


@pytest.mark.slow
@pytest.mark.parametrize(("country", "languages"), [("BRA", ["pt", "es"]), ("PER", ["es", "pt"])])
def test_disabling_a_country_keeps_the_scores_of_its_published_items(
        app_client: TestClient, make_key: KeyMaker, country: str, languages: list[str]) -> None:
    """Disabling stops a country submitting and joining tables; its working languages still
    count in the scores of its items that stay published (Peru's need in Spanish, Brazil's
    offer in Portuguese: one shared language makes the language component 1)."""
    admin = make_key("admin")
    ids = _create_all(app_client, admin)
    resp = app_client.patch(f"/api/v1/countries/{country}", json={"languages": languages},
                            headers=bearer(admin))
    assert resp.status_code == 200, resp.text
    url = f"/api/v1/needs/{ids['need4']}/matches"
    before = app_client.get(url, headers=bearer(admin)).json()["matches"]
    assert _component_of_brazil_offer(app_client, admin, ids, "language") == 1.0

    resp = app_client.patch(f"/api/v1/countries/{country}", json={"enabled": False},
                            headers=bearer(admin))
    assert resp.status_code == 200, resp.text

    assert app_client.get(url, headers=bearer(admin)).json()["matches"] == before


@pytest.mark.parametrize("kind", ["need", "offer"])
@pytest.mark.parametrize("limit", ["201", "1000"])
def test_matches_limit_over_the_largest_page_is_400_as_on_the_lists(
        app_client: TestClient, make_key: KeyMaker, kind: str, limit: str) -> None:
    admin = make_key("admin")
    item = create_item(app_client, admin, "need" if kind == "need" else "offer")
    listed = app_client.get(f"/api/v1/{kind}s", params={"limit": limit}, headers=bearer(admin))

    resp = app_client.get(f"/api/v1/{kind}s/{item['id']}/matches", params={"limit": limit},
                          headers=bearer(admin))

    problem = assert_problem(resp, 400, "limit")
    assert problem["detail"] == f"limit={limit} is too large; the largest page is 200."
    assert (problem["detail"], problem["errors"]) == (listed.json()["detail"],
                                                      listed.json()["errors"])


@pytest.mark.parametrize("kind", ["need", "offer"])
def test_matches_limit_of_the_largest_page_is_accepted(
        app_client: TestClient, make_key: KeyMaker, kind: str) -> None:
    admin = make_key("admin")
    item = create_item(app_client, admin, "need" if kind == "need" else "offer")

    resp = app_client.get(f"/api/v1/{kind}s/{item['id']}/matches?limit=200",
                          headers=bearer(admin))

    assert resp.status_code == 200, resp.text
    assert resp.json()["matches"] == []


@pytest.mark.parametrize("participants", [[], ["PER"]])
def test_plan_of_a_table_with_fewer_than_two_participants_is_409_and_takes_no_number(
        app_client: TestClient, make_key: KeyMaker, participants: list[str]) -> None:
    organizer = make_key("organizer")
    table = _table(app_client, organizer, participants=participants)
    url = f"/api/v1/tables/{table['id']}"

    refused = app_client.post(f"{url}/plan", headers=bearer(organizer))

    body = assert_problem(refused, 409)
    assert body["participants"] == participants
    assert "Add the participants first" in body["detail"]
    assert app_client.get(f"{url}/plans", headers=bearer(organizer)).json()["total"] == 0
    added = app_client.patch(url, json={"participants": ["BRA", "PER"]}, headers=bearer(organizer))
    assert added.status_code == 200, added.text
    planned = app_client.post(f"{url}/plan", headers=bearer(organizer))
    assert (planned.status_code, planned.json()["number"]) == (201, 1), planned.text


def test_plan_of_participants_without_candidates_is_stored_and_says_why(
        app_client: TestClient, make_key: KeyMaker) -> None:
    """An empty plan is the table's current answer: it replaces the suggestions of an earlier
    plan that no longer hold, and names each participant and why it has no meeting."""
    organizer = make_key("organizer")
    table = _table(app_client, organizer, participants=["BRA", "PER"])

    resp = app_client.post(f"/api/v1/tables/{table['id']}/plan", headers=bearer(organizer))

    assert resp.status_code == 201, resp.text
    plan = resp.json()
    assert (plan["number"], plan["meetings"], plan["summary"]["candidates"]) == (1, [], 0)
    reasons = plan["summary"]["participants_without_meeting"]
    assert sorted(reasons) == ["BRA", "PER"]
    assert all(reason.startswith("no candidate pairing") for reason in reasons.values())


def test_plan_of_a_closed_table_is_409_naming_its_status_and_stores_nothing(
        app_client: TestClient, make_key: KeyMaker) -> None:
    organizer = make_key("organizer")
    table = _table(app_client, organizer)
    url = f"/api/v1/tables/{table['id']}"
    closed = app_client.patch(url, json={"status": "closed"}, headers=bearer(organizer))
    assert closed.status_code == 200, closed.text

    body = assert_problem(app_client.post(f"{url}/plan", headers=bearer(organizer)), 409)

    assert body["current_status"] == "closed"
    assert "no plan can be computed" in body["detail"]
    assert app_client.get(f"{url}/plans", headers=bearer(organizer)).json()["total"] == 0


@pytest.mark.slow
def test_plan_csv_takes_a_delimiter_and_refuses_an_unknown_one(
        app_client: TestClient, make_key: KeyMaker) -> None:
    """Before, `delimiter` was ignored and a plan's CSV always comma-separated."""
    admin = make_key("admin")
    _create_all(app_client, admin)
    url = f"/api/v1/tables/{_table(app_client, admin)['id']}"
    assert app_client.post(f"{url}/plan", headers=bearer(admin)).status_code == 201

    def rows(params: str, separator: str) -> list[list[str]]:
        resp = app_client.get(f"{url}/plan?format=csv{params}", headers=bearer(admin))
        assert resp.status_code == 200, resp.text
        return list(csv.reader(io.StringIO(resp.text, newline=""), delimiter=separator))

    by_tab = rows("&delimiter=tab", "\t")
    assert by_tab[1][:2] == ["item", "value"]
    assert by_tab == rows("", ",")
    for params in ("?format=csv&delimiter=pipe", "?format=json&delimiter=semicolon"):
        for path in ("plan", "plans/1"):
            assert_problem(app_client.get(f"{url}/{path}{params}", headers=bearer(admin)),
                           422, "delimiter")


def test_paging_plans_is_not_shifted_by_a_plan_computed_meanwhile(
        app_client: TestClient, make_key: KeyMaker) -> None:
    organizer = make_key("organizer")
    table = _table(app_client, organizer, participants=["BRA", "CHL"])
    url = f"/api/v1/tables/{table['id']}"
    for _ in range(3):  # no items: each plan is stored, empty, with the reasons
        assert app_client.post(f"{url}/plan", headers=bearer(organizer)).status_code == 201
    first = app_client.get(f"{url}/plans?limit=2", headers=bearer(organizer)).json()
    assert [p["number"] for p in first["items"]] == [3, 2]
    assert app_client.post(f"{url}/plan", headers=bearer(organizer)).status_code == 201

    rest = app_client.get(f"{url}/plans?limit=2&cursor={first['next_cursor']}",
                          headers=bearer(organizer)).json()

    assert [p["number"] for p in rest["items"]] == [1]  # not plan 2 again
    assert (rest["total"], rest["next_cursor"]) == (4, None)
    by_offset = app_client.get(f"{url}/plans?limit=2&offset=2", headers=bearer(organizer))
    assert [p["number"] for p in by_offset.json()["items"]] == [2, 1]
    assert_problem(app_client.get(f"{url}/plans?cursor=aWQ6MQx", headers=bearer(organizer)),
                   400)


@pytest.mark.usefixtures("committed_db")
def test_other_writes_go_on_while_a_plan_computes(monkeypatch: pytest.MonkeyPatch) -> None:
    """The selection may search for up to the time limit (20 s by default): meanwhile the
    plan holds no lock, so that on SQLite too other requests write without waiting for it
    (they waited for the whole plan, and past 30 s failed)."""
    from service import planning
    from service.auth.service import create_key
    from service.db import session_scope

    with session_scope() as session:
        _key, organizer = create_key(session, role="organizer", name="plan")
    app = create_app()
    with TestClient(app) as client:
        table = _table(client, organizer, participants=["BRA", "CHL"])
        other = _table(client, organizer)
        compute = planning.plan
        meanwhile: list[int] = []

        def write_meanwhile(*args: Any, **kwargs: Any) -> planning.Plan:
            with TestClient(app, raise_server_exceptions=False) as second:
                meanwhile.append(second.patch(
                    f"/api/v1/tables/{other['id']}", json={"venue": "Lima"},
                    headers=bearer(organizer)).status_code)
            return compute(*args, **kwargs)

        monkeypatch.setattr(planning, "plan", write_meanwhile)
        resp = client.post(f"/api/v1/tables/{table['id']}/plan", headers=bearer(organizer))

        assert resp.status_code == 201, resp.text
        assert meanwhile == [200]
        assert client.get(f"/api/v1/tables/{other['id']}",
                          headers=bearer(organizer)).json()["venue"] == "Lima"
