"""Outcome reports filtered by `country` (provider or recipient) and `factor` (of the need):
every view, with `from` and `to`, the exports, the network pictures, errors and country keys.

The scenario's pairings (recipient ← provider): HTI ← CHL education agreement, PER ← CHL
migration commitment, HTI ← ARG and PER ← BRA agriculture interests, ARG ← PER education
declined, HTI ← BRA migration withdrawn, BRA ← ARG ict suggested.
"""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from pathlib import Path
from typing import Any

import matplotlib
import pytest
from openpyxl import load_workbook

from service.config import Settings
from service.followups.service import today as utc_today
from service.main import create_app
from tests.conftest import bearer
from tests.factories import API, assert_problem
from tests.pairings.helpers import World, at_stage, get

PATHS = ["/tables/{table_id}/report", "/tables/{table_id}/report/network.svg",
         "/tables/{table_id}/report/network.png", "/reports", "/reports/network.svg",
         "/reports/network.png"]


def _stages(report: dict[str, Any]) -> dict[str, int]:
    return {r["stage"]: r["count"] for r in report["stages"] if r["count"]}


def _countries(report: dict[str, Any]) -> dict[tuple[str, str], int]:
    """(country, role): pairings at any stage."""
    stages = ("suggested", "expression_of_interest", "commitment", "agreement", "declined",
              "withdrawn")
    return {(r["country"], r["role"]): sum(r[s] for s in stages) for r in report["countries"]}


def _cells(report: dict[str, Any]) -> dict[tuple[str, str], int]:
    return {(c["provider"], c["recipient"]): c["outcomes"] for c in report["matrix"]["cells"]}


def _table(world: World) -> str:
    return f"/tables/{world.table_id}/report"


def _csv_rows(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def test_factor_filter_keeps_the_pairings_of_that_factor_in_every_view(world: World) -> None:
    report = get(world, _table(world), "organizer", factor="migration")

    assert report["scope"]["factor"] == "migration"
    assert report["headline"]["text"] == (
        "1 outcome = 0 expressions of interest + 1 commitment + 0 agreements")
    assert _stages(report) == {"commitment": 1, "withdrawn": 1}
    assert [(r["factor"], r["commitment"], r["withdrawn"]) for r in report["factors"]] == [
        ("migration", 1, 1)]
    assert _countries(report) == {("BRA", "provider"): 1, ("CHL", "provider"): 1,
                                  ("HTI", "recipient"): 1, ("PER", "recipient"): 1}
    assert _cells(report) == {("CHL", "PER"): 1}
    assert report["partners"] == []  # the partner's pairing is on education
    assert [(r["country"], r["total"], r["overdue"]) for r in report["followups"]] == [
        ("CHL", 1, 1), ("ALL", 1, 1)]


def test_factor_filter_follows_the_need_when_the_offer_is_on_another_factor(
        world: World) -> None:
    at_stage(world, "expression_of_interest", need_id=world.need("PER", factor="migration"),
             offer_id=world.offer("ARG", factor="education"))

    migration = get(world, _table(world), "organizer", factor="migration")
    education = get(world, _table(world), "organizer", factor="education")

    assert _cells(migration) == {("CHL", "PER"): 1, ("ARG", "PER"): 1}
    assert _stages(education) == {"agreement": 1, "declined": 1}


def test_factor_filter_takes_any_letter_case(world: World) -> None:
    upper = get(world, _table(world), "organizer", factor="MIGRATION")
    lower = get(world, _table(world), "organizer", factor="migration")
    assert upper["scope"]["factor"] == "migration"
    assert (upper["stages"], upper["matrix"]) == (lower["stages"], lower["matrix"])


def test_country_filter_keeps_the_pairings_where_it_is_provider_or_recipient(
        world: World) -> None:
    report = get(world, _table(world), "organizer", country="per")

    assert report["scope"]["country_filter"] == "PER"
    assert report["scope"]["country"] is None
    assert _stages(report) == {"expression_of_interest": 1, "commitment": 1, "declined": 1}
    assert _countries(report) == {("PER", "recipient"): 2, ("PER", "provider"): 1,
                                  ("CHL", "provider"): 1, ("BRA", "provider"): 1,
                                  ("ARG", "recipient"): 1}
    assert _cells(report) == {("BRA", "PER"): 1, ("CHL", "PER"): 1}
    assert {(r["factor"], r["outcomes"]) for r in report["factors"]} == {
        ("migration", 1), ("agriculture", 1), ("education", 0)}
    assert [r["country"] for r in report["followups"]] == ["CHL", "ALL"]


def test_country_and_factor_filters_combine_with_each_other_and_a_date_range(
        world: World) -> None:
    today = utc_today().isoformat()
    later = (utc_today() + timedelta(days=1)).isoformat()

    both = get(world, "/reports", "admin", country="PER", factor="agriculture",
               **{"from": today, "to": today})
    empty = get(world, "/reports", "admin", country="PER", factor="agriculture",
                **{"from": later})

    assert _stages(both) == {"expression_of_interest": 1}
    assert _cells(both) == {("BRA", "PER"): 1}
    assert (both["scope"]["country_filter"], both["scope"]["factor"]) == ("PER", "agriculture")
    assert (empty["headline"]["outcomes"], empty["matrix"]["cells"]) == (0, [])


def test_country_key_filters_narrow_its_own_rows_and_never_widen_them(world: World) -> None:
    own = get(world, _table(world), "HTI")
    with_chl = get(world, _table(world), "HTI", country="CHL")
    with_per = get(world, _table(world), "HTI", country="PER")
    itself = get(world, _table(world), "HTI", country="HTI")
    agriculture = get(world, "/reports", "HTI", factor="agriculture")

    assert _stages(with_chl) == {"agreement": 1}
    assert _cells(with_chl) == {("CHL", "HTI"): 1}
    assert {r["country"] for r in with_chl["countries"]} == {"HTI"}
    assert (with_chl["scope"]["country"], with_chl["scope"]["country_filter"]) == ("HTI", "CHL")
    # HTI and PER never paired: PER's own pairings stay out of HTI's report.
    assert (_stages(with_per), with_per["matrix"]["cells"]) == ({}, [])
    assert [r["country"] for r in with_per["followups"]] == ["ALL"]
    assert (itself["stages"], itself["matrix"]) == (own["stages"], own["matrix"])
    assert _cells(agriculture) == {("ARG", "HTI"): 1}


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize(("params", "field", "said"), [
    ({"country": "ZZZ"}, "query.country", "Unknown country code 'ZZZ'"),
    ({"country": "GT"}, "query.country", "'GT': use an ISO 3166-1 alpha-3 code such as GTM"),
    ({"country": "G-1"}, "query.country", "Unknown country code 'G-1'"),
    ({"factor": "fishing"}, "query.factor", "Unknown accelerator factor 'fishing'. Known: "),
    ({"factor": "mi gration"}, "query.factor", "Unknown accelerator factor 'mi gration'"),
    ({"country": "X" * 41}, "query.country", "invalid fields: query.country"),
])
def test_unknown_or_malformed_filter_is_422_naming_it(world: World, path: str,
                                                      params: dict[str, str], field: str,
                                                      said: str) -> None:
    resp = world.client.get(f"{API}{path.format(table_id=world.table_id)}", params=params,
                            headers=bearer(world.organizer))
    body = assert_problem(resp, 422, field)
    assert said in body["detail"]


def test_csv_export_names_its_filters_in_the_summary_and_the_file_name(world: World) -> None:
    today = utc_today().isoformat()
    resp = world.client.get(f"{API}{_table(world)}", headers=bearer(world.organizer),
                            params={"format": "csv", "country": "per", "factor": "Migration",
                                    "from": today})

    assert resp.status_code == 200, resp.text
    assert resp.headers["content-disposition"] == (
        f'attachment; filename="table-{world.table_id}-report-PER-migration-{today}.csv"')
    rows = _csv_rows(resp.content)
    assert ["country_filter", "PER"] in rows
    assert ["factor", "migration"] in rows
    start = rows.index(["# matrix"])
    assert rows[start + 1:start + 3] == [["provider \\ recipient", "PER"], ["CHL", "1"]]


@pytest.mark.parametrize(("params", "name"), [
    ({"from": "2026-06-30"}, "report-2026-06-30.csv"),
    ({"to": "2026-06-30"}, "report-to-2026-06-30.csv"),
    ({"from": "2026-01-01", "to": "2026-06-30"}, "report-2026-01-01-2026-06-30.csv"),
])
def test_export_file_name_tells_a_range_that_ends_from_one_that_starts(
        world: World, params: dict[str, str], name: str) -> None:
    resp = world.client.get(f"{API}/reports", headers=bearer(world.organizer),
                            params={"format": "csv", **params})

    assert resp.status_code == 200, resp.text
    assert resp.headers["content-disposition"] == f'attachment; filename="{name}"'


def test_xlsx_export_of_all_tables_names_its_filters(world: World, tmp_path: Path) -> None:
    resp = world.client.get(f"{API}/reports", headers=bearer(world.organizer),
                            params={"format": "xlsx", "factor": "agriculture"})

    assert resp.status_code == 200, resp.text
    assert resp.headers["content-disposition"] == (
        'attachment; filename="report-agriculture.xlsx"')
    path = tmp_path / "report.xlsx"
    path.write_bytes(resp.content)
    book = load_workbook(path)
    summary = {row[0]: row[1] for row in book["summary"].iter_rows(min_row=2, values_only=True)}
    assert (summary["factor"], summary["country_filter"]) == ("agriculture", None)
    stages = {row[0]: row[1] for row in book["stages"].iter_rows(min_row=2, values_only=True)}
    assert (stages["expression_of_interest"], stages["commitment"]) == (2, 0)


def test_network_picture_draws_only_the_filtered_pairings(world: World) -> None:
    url = f"{API}{_table(world)}/network"
    # Text as <text> elements instead of glyph paths, so that the names can be read back.
    with matplotlib.rc_context({"svg.fonttype": "none"}):
        whole = world.client.get(f"{url}.svg", headers=bearer(world.organizer))
        filtered = world.client.get(f"{url}.svg", headers=bearer(world.organizer),
                                    params={"country": "PER", "factor": "migration"})
    png = world.client.get(f"{url}.png", headers=bearer(world.organizer),
                           params={"country": "PER", "factor": "migration"})

    assert (filtered.status_code, png.status_code) == (200, 200)
    assert b">HTI</text>" in whole.content
    # Only CHL -> PER: HTI, a participant with no pairing in the filter, is not drawn.
    assert b">PER</text>" in filtered.content
    assert b">CHL</text>" in filtered.content
    assert b">HTI</text>" not in filtered.content
    assert b"PER \xe2\x80\x94 migration</text>" in filtered.content  # in the title
    assert png.headers["content-type"] == "image/png"


@pytest.mark.parametrize("path", PATHS)
def test_each_report_documents_its_country_and_factor_filters(path: str) -> None:
    operation = create_app(Settings()).openapi()["paths"][f"{API}{path}"]["get"]
    params = {p["name"]: p for p in operation["parameters"]}
    country, factor = params["country"], params["factor"]
    assert (country["schema"]["examples"], factor["schema"]["examples"]) == (
        ["GTM"], ["migration"])
    assert "is provider or recipient" in country["description"]
    assert "whose need is on this accelerator factor" in factor["description"]
