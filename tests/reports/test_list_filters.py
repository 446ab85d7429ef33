"""The `country` and `factor` filters of every list (offers, needs, pairings, follow-ups, a
table's suggestions) refuse an unknown or malformed code as the reports do, with a 422 naming
the parameter and the code, instead of answering "nothing found".

The scenario is the reports' (tests/reports/scenario.py): pairings HTI ← CHL education
agreement, PER ← CHL migration commitment, HTI ← ARG and PER ← BRA agriculture interests,
ARG ← PER education declined, HTI ← BRA migration withdrawn, BRA ← ARG ict suggested; CHL
must carry out two activities, HTI one.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from service.config import Settings
from service.main import create_app
from tests.conftest import bearer
from tests.factories import API, assert_problem
from tests.pairings.helpers import World

LISTS = ["/offers", "/needs", "/pairings", "/followups", "/tables/{table_id}/suggestions"]
COUNTRY_FILTERS = [(path, "country") for path in LISTS] + [("/followups", "responsible")]
FACTOR_FILTERS = ["/offers", "/needs", "/tables/{table_id}/suggestions"]
REPORTS = ["/reports", "/tables/{table_id}/report"]


def _get(world: World, path: str, params: dict[str, str]) -> Any:
    return world.client.get(f"{API}{path.format(table_id=world.table_id)}", params=params,
                            headers=bearer(world.organizer))


def _ids(world: World, path: str, params: dict[str, str]) -> list[Any]:
    resp = _get(world, path, params | {"limit": "200"})
    assert resp.status_code == 200, resp.text
    return [item.get("id", (item.get("need_id"), item.get("offer_id")))
            for item in resp.json()["items"]]


@pytest.mark.parametrize(("path", "param"), COUNTRY_FILTERS)
@pytest.mark.parametrize(("code", "said"), [
    ("GTX", "Unknown country code 'GTX'"),
    ("gtx", "Unknown country code 'gtx'"),
    ("GT", "'GT': use an ISO 3166-1 alpha-3 code such as GTM (Guatemala)"),
    ("G-1", "Unknown country code 'G-1'"),  # malformed: refused as unknown, named
    ("Guatemala", "Unknown country code 'Guatemala'"),
])
def test_unknown_country_filter_is_422_naming_it_as_the_reports_do(
        world: World, path: str, param: str, code: str, said: str) -> None:
    resp = _get(world, path, {param: code})

    body = assert_problem(resp, 422)
    assert body["errors"] == [{"field": f"query.{param}", "message": "unknown country code"}]
    assert said in body["detail"]
    report = assert_problem(_get(world, "/reports", {"country": code}), 422)
    assert body["detail"] == report["detail"]


@pytest.mark.parametrize("path", LISTS)
def test_unknown_filter_without_a_key_is_401_first(world: World, path: str) -> None:
    resp = world.client.get(f"{API}{path.format(table_id=world.table_id)}",
                            params={"country": "GTX"})

    assert_problem(resp, 401)


@pytest.mark.parametrize("path", FACTOR_FILTERS)
@pytest.mark.parametrize("code", ["migracion", "Fishing", "mi gration", "x' OR '1'='1"])
def test_unknown_factor_filter_is_422_listing_the_known_ones_as_the_reports_do(
        world: World, path: str, code: str) -> None:
    resp = _get(world, path, {"factor": code})

    body = assert_problem(resp, 422)
    assert body["errors"] == [{"field": "query.factor", "message": "unknown factor"}]
    said = f"Unknown accelerator factor '{code.lower()}'. Known: indigenous, education, "
    assert said in body["detail"]
    report = assert_problem(_get(world, "/reports", {"factor": code}), 422)
    assert body["detail"] == report["detail"]


@pytest.mark.parametrize("path", [p for p, _ in COUNTRY_FILTERS] + FACTOR_FILTERS + REPORTS)
def test_too_long_filter_is_422_naming_the_parameter(world: World, path: str) -> None:
    param = "factor" if path in FACTOR_FILTERS else "country"

    assert_problem(_get(world, path, {param: "X" * 41}), 422, f"query.{param}")


@pytest.mark.parametrize(("path", "params", "expected"), [
    ("/offers", {"country": "chl"}, 3),  # the world's offer and two of the scenario's
    ("/needs", {"factor": "MIGRATION"}, 2),
    ("/needs", {"country": "Per", "factor": "Agriculture"}, 1),
    ("/pairings", {"country": "per"}, 3),
    ("/followups", {"country": "hti"}, 2),
    ("/followups", {"responsible": "cHl"}, 2),
])
def test_filter_in_any_letter_case_filters_as_in_the_stored_case(
        world: World, path: str, params: dict[str, str], expected: int) -> None:
    stored = {key: value.lower() if key == "factor" else value.upper()
              for key, value in params.items()}

    found = _ids(world, path, params)

    assert len(found) == expected
    assert found == _ids(world, path, stored)


def test_table_suggestions_filter_in_any_letter_case_keeps_the_pairs_with_it(
        world: World) -> None:
    path = "/tables/{table_id}/suggestions"
    pairs = _get(world, path, {"limit": "200"}).json()["items"]
    assert pairs
    by_country = _get(world, path, {"country": "hti", "limit": "200"}).json()["items"]
    by_factor = _get(world, path, {"factor": "Agriculture", "limit": "200"}).json()["items"]

    assert by_country == [p for p in pairs if "HTI" in (p["need_country"], p["offer_country"])]
    assert by_factor == _get(world, path, {"factor": "agriculture", "limit": "200"}).json()[
        "items"]
    assert by_factor
    assert len(by_factor) < len(pairs)


def test_disabled_country_is_still_a_filter_of_every_list(world: World) -> None:
    before = {path: _ids(world, path, {"country": "PER"}) for path in LISTS}
    responsible = _ids(world, "/followups", {"responsible": "CHL"})
    for country in ("PER", "CHL"):
        disabled = world.client.patch(f"{API}/countries/{country}", json={"enabled": False},
                                      headers=bearer(world.admin))
        assert disabled.status_code == 200, disabled.text

    for path in LISTS:
        found = _ids(world, path, {"country": "per"})
        if path.endswith("/suggestions"):  # a disabled country leaves the table's suggestions
            assert (found, before[path] != []) == ([], True), path
        else:
            assert found == before[path], path
            assert found, path
    assert _ids(world, "/followups", {"responsible": "chl"}) == responsible
    assert len(responsible) == 2
    assert _get(world, "/reports", {"country": "per"}).status_code == 200


@pytest.fixture
def statements(engine: Engine) -> Iterator[list[str]]:
    """The SQL statements sent while the test runs."""
    sent: list[str] = []

    def record(*args: Any) -> None:
        sent.append(args[2])

    event.listen(engine, "before_cursor_execute", record)
    yield sent
    event.remove(engine, "before_cursor_execute", record)


def _lookups(statements: list[str]) -> int:
    """The statements that read the countries or factors tables."""
    return sum(1 for sql in statements if re.search(r"\bFROM (countries|factors)\b", sql))


@pytest.mark.parametrize("path", LISTS)
def test_each_filter_costs_one_lookup_and_none_when_absent(
        world: World, session: Session, statements: list[str], path: str) -> None:
    params = {"factor": "education"} if path in FACTOR_FILTERS else {}
    counts = []
    for filters in ({}, {}, {"country": "HTI"} | params):  # the first fills the caches
        session.expunge_all()  # the requests share the test's session: each starts empty
        statements.clear()
        _ids(world, path, filters)
        counts.append(_lookups(statements))

    assert counts[2] - counts[1] == 1 + len(params)


@pytest.mark.parametrize(("path", "param"), COUNTRY_FILTERS + [
    (path, "factor") for path in FACTOR_FILTERS])
def test_each_list_documents_its_filter_as_the_reports_do(path: str, param: str) -> None:
    paths = create_app(Settings()).openapi()["paths"]
    params = {p["name"]: p for p in paths[f"{API}{path}"]["get"]["parameters"]}
    report = {p["name"]: p for p in paths[f"{API}/reports"]["get"]["parameters"]}
    same = report["factor" if param == "factor" else "country"]

    described = params[param]
    assert described["description"].split(". ", 1)[1] == same["description"].split(". ", 1)[1]
    assert described["schema"]["examples"] == same["schema"]["examples"]
    assert "422" in described["description"]


ID_FILTERS = [("/pairings", "table_id", "No cooperation table with id 99999."),
              ("/followups", "table_id", "No cooperation table with id 99999."),
              ("/pairings", "need_id", "No need with id 99999."),
              ("/pairings", "offer_id", "No offer with id 99999.")]


@pytest.mark.parametrize(("path", "param", "said"), ID_FILTERS)
def test_unknown_id_filter_is_404_naming_it_as_the_reports_do(
        world: World, path: str, param: str, said: str) -> None:
    resp = _get(world, path, {param: "99999"})

    body = assert_problem(resp, 404)
    assert body["detail"] == said
    if param == "table_id":
        report = assert_problem(_get(world, "/tables/99999/report", {}), 404)
        assert body["detail"] == report["detail"]


@pytest.mark.parametrize("path", ["/pairings", "/followups"])
def test_id_filter_of_an_existing_table_without_rows_is_an_empty_list(
        world: World, path: str) -> None:
    table = {"name": "Mesa vacía", "starts_on": "2026-12-07", "ends_on": "2026-12-09",
             "participants": ["HTI", "CHL"]}
    created = world.client.post(f"{API}/tables", json=table, headers=bearer(world.organizer))
    assert created.status_code == 201, created.text

    assert _ids(world, path, {"table_id": str(created.json()["id"])}) == []
    assert _ids(world, path, {"table_id": str(world.table_id)})


@pytest.mark.parametrize("path", ["/pairings", "/followups"])
def test_unknown_id_filter_without_a_key_is_401_first(world: World, path: str) -> None:
    resp = world.client.get(f"{API}{path}", params={"table_id": "99999"})

    assert_problem(resp, 401)


def test_item_filter_keeps_a_partners_withdrawn_offer_for_its_pairings_only(
        world: World) -> None:
    pairing = _get(world, "/pairings", {"country": "HTI", "stage": "expression_of_interest"}
                   ).json()["items"][0]
    offer_id = str(pairing["offer_id"])
    withdrawn = world.client.delete(f"{API}/offers/{offer_id}", headers=bearer(world.admin))
    assert withdrawn.status_code == 200, withdrawn.text
    params = {"offer_id": offer_id}

    def as_key(country: str) -> Any:
        return world.client.get(f"{API}/pairings", params=params,
                                headers=bearer(world.key(country)))

    assert [p["id"] for p in as_key("HTI").json()["items"]] == [pairing["id"]]
    hidden = assert_problem(as_key("PER"), 404)
    assert hidden["detail"] == f"No offer with id {offer_id}."
    assert world.client.get(f"{API}/offers/{offer_id}",
                            headers=bearer(world.key("PER"))).status_code == 404
