"""Outcome reports through the API: every view, country scoping, date ranges, exports and the
network picture."""

from __future__ import annotations

import csv
import io
import struct
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import update
from sqlalchemy.orm import Session

from models import PairingPartner
from service.config import Settings
from service.followups.service import today as utc_today
from service.main import create_app
from service.reports import network
from tests.conftest import bearer
from tests.factories import API, assert_problem
from tests.pairings.helpers import World, get
from tests.reports.scenario import pair_at

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _row(rows: list[dict[str, Any]], **match: Any) -> dict[str, Any]:
    [row] = [r for r in rows if all(r[k] == v for k, v in match.items())]
    return row


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height of a PNG (asserting its signature and IHDR chunk)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return int(width), int(height)


def test_table_report_has_every_view(world: World) -> None:
    report = get(world, f"/tables/{world.table_id}/report", "organizer")
    assert report["headline"]["text"] == (
        "4 outcomes = 2 expressions of interest + 1 commitment + 1 agreement")
    assert {r["stage"]: r["count"] for r in report["stages"]} == {
        "suggested": 1, "expression_of_interest": 2, "commitment": 1, "agreement": 1,
        "declined": 1, "withdrawn": 1}
    agriculture = _row(report["factors"], factor="agriculture")
    assert (agriculture["expression_of_interest"], agriculture["outcomes"]) == (2, 2)
    assert agriculture["label"] == "Agriculture"
    chl = _row(report["countries"], country="CHL", role="provider")
    assert (chl["commitment"], chl["agreement"], chl["outcomes"], chl["name"]) == (
        1, 1, 2, "Chile")
    hti = _row(report["countries"], country="HTI", role="recipient")
    assert (hti["expression_of_interest"], hti["withdrawn"], hti["outcomes"]) == (1, 1, 2)
    matrix = report["matrix"]
    assert matrix["providers"] == ["ARG", "BRA", "CHL"]
    assert matrix["recipients"] == ["HTI", "PER"]
    assert _row(matrix["cells"], provider="CHL", recipient="HTI")["agreement"] == 1
    [partner] = report["partners"]
    assert (partner["name"], partner["support"], partner["agreement"], partner["confirmed"]) == (
        "OIT / ILO", "technical", 1, 1)
    total = _row(report["followups"], country="ALL")
    assert (total["planned"], total["done"], total["overdue"], total["total"]) == (2, 1, 1, 3)
    assert _row(report["followups"], country="CHL")["overdue"] == 1
    assert report["scope"]["table_name"] == "Mesa de prueba"


def test_a_partner_typed_in_another_case_spacing_or_accent_form_is_one_row(
        world: World) -> None:
    spellings = ["oit /  ilo", "OIT / ILO", "Agência Brasileira", "Age\u0302ncia Brasileira"]
    for k, name in enumerate(spellings):
        pair_at(world, "PER", "CHL", "ict", "commitment", partner={"name": name, "support": (
            "technical" if k < 2 else "financial")})

    partners = get(world, f"/tables/{world.table_id}/report", "organizer")["partners"]

    assert [(p["name"], p["support"], p["pairings"]) for p in partners] == [
        ("Agência Brasileira", "financial", 2), ("OIT / ILO", "technical", 3)]


def test_a_partner_stored_with_combining_accents_before_nfc_is_one_row_with_its_nfc_form(
        world: World, session: Session) -> None:
    older = pair_at(world, "PER", "CHL", "ict", "commitment",
                    partner={"name": "Agência Brasileira", "support": "financial"})
    pair_at(world, "PER", "CHL", "ict", "commitment",
            partner={"name": "Agência Brasileira", "support": "financial"})
    # As a version before NFC stored it: the accent as a combining mark.
    session.execute(update(PairingPartner).where(PairingPartner.pairing_id == older["id"])
                    .values(name="Age\u0302ncia Brasileira"))
    session.commit()

    partners = get(world, f"/tables/{world.table_id}/report", "organizer")["partners"]

    assert [(p["name"], p["pairings"]) for p in partners if p["support"] == "financial"] == [
        ("Agência Brasileira", 2)]


def test_country_reads_only_its_own_rows(world: World) -> None:
    report = get(world, f"/tables/{world.table_id}/report", "HTI")
    assert report["scope"]["country"] == "HTI"
    assert report["headline"]["outcomes"] == 2
    assert {r["country"] for r in report["countries"]} == {"HTI"}
    assert all("HTI" in (c["provider"], c["recipient"]) for c in report["matrix"]["cells"])
    assert {r["country"] for r in report["followups"]} == {"HTI", "CHL", "ALL"}


def test_report_over_all_tables_and_date_ranges(world: World) -> None:
    other = world.client.post(f"{API}/tables", headers=bearer(world.organizer), json={
        "name": "Otra mesa", "starts_on": "2027-01-10", "ends_on": "2027-01-11",
        "participants": ["HTI", "CHL"]}).json()
    world.client.post(f"{API}/pairings", headers=bearer(world.key("HTI")), json={
        "need_id": world.need("HTI"), "offer_id": world.offer("CHL"), "table_id": other["id"]})
    assert get(world, "/reports", "admin")["headline"]["outcomes"] == 5
    today = utc_today()  # report days are UTC days, not the test machine's local ones
    assert get(world, "/reports", "admin", **{"from": today.isoformat(),
                                             "to": today.isoformat()})["headline"]["outcomes"] == 5
    later = (today + timedelta(days=1)).isoformat()
    empty = get(world, "/reports", "admin", **{"from": later})
    assert (empty["headline"]["outcomes"], empty["matrix"]["cells"]) == (0, [])
    backwards = world.client.get(f"{API}/reports", headers=bearer(world.admin),
                                 params={"from": later, "to": today.isoformat()})
    assert_problem(backwards, 422)



def test_table_report_and_network_take_a_date_range_like_the_command_line(world: World) -> None:
    path = f"/tables/{world.table_id}/report"
    today = utc_today().isoformat()
    later = (utc_today() + timedelta(days=1)).isoformat()
    assert get(world, path, "organizer", **{"from": today, "to": today})["headline"][
        "outcomes"] == 4
    empty = get(world, path, "organizer", **{"from": later})
    assert (empty["scope"]["date_from"], empty["headline"]["outcomes"]) == (later, 0)
    assert empty["matrix"]["cells"] == []
    csv_file = world.client.get(f"{API}{path}", headers=bearer(world.organizer),
                                params={"from": later, "format": "csv"})
    assert f"from,{later}" in csv_file.text
    assert "0 outcomes" in csv_file.text
    svg = world.client.get(f"{API}{path}/network.svg", headers=bearer(world.organizer),
                           params={"from": later})
    assert svg.status_code == 200
    assert b"No outcomes yet" in svg.content or later.encode() in svg.content
    for sub in ("", "/network.svg", "/network.png"):
        backwards = world.client.get(f"{API}{path}{sub}", headers=bearer(world.organizer),
                                     params={"from": later, "to": today})
        # The days are named, as a client built the query from its own fields.
        assert f"({today}) must not be before `from` ({later})" in assert_problem(
            backwards, 422)["detail"]

def test_csv_export_has_a_section_per_view(world: World) -> None:
    resp = world.client.get(f"{API}/tables/{world.table_id}/report?format=csv",
                            headers=bearer(world.organizer))
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/csv")
    assert "attachment" in resp.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(resp.content.decode("utf-8-sig"))))
    sections = [r[0][2:] for r in rows if r and r[0].startswith("# ")]
    assert sections == ["summary", "stages", "factors", "countries", "matrix", "partners",
                        "followups"]
    start = rows.index(["# matrix"])
    assert rows[start + 1] == ["provider \\ recipient", "HTI", "PER"]
    assert rows[start + 4] == ["CHL", "1", "1"]


def test_xlsx_export_has_a_sheet_per_view(world: World, tmp_path: Path) -> None:
    resp = world.client.get(f"{API}/tables/{world.table_id}/report",
                            params={"format": "xlsx"}, headers=bearer(world.organizer))
    assert (resp.status_code, resp.headers["content-type"]) == (200, XLSX)
    path = tmp_path / "report.xlsx"
    path.write_bytes(resp.content)
    book = load_workbook(path)
    assert book.sheetnames == ["summary", "stages", "factors", "countries", "matrix",
                               "partners", "followups"]
    stages = {row[0]: row[1] for row in book["stages"].iter_rows(min_row=2, values_only=True)}
    assert stages["agreement"] == 1
    assert book["partners"]["A2"].value == "OIT / ILO"


@pytest.mark.parametrize("path", ["report", "report/network.svg", "report/network.png"])
def test_report_of_unknown_table_is_404_and_needs_a_key(world: World, path: str) -> None:
    assert_problem(world.client.get(f"{API}/tables/987654/{path}",
                                    headers=bearer(world.admin)), 404)
    assert_problem(world.client.get(f"{API}/tables/{world.table_id}/{path}"), 401)


def test_report_with_unknown_format_is_422(world: World) -> None:
    resp = world.client.get(f"{API}/tables/{world.table_id}/report?format=pdf",
                            headers=bearer(world.admin))
    assert_problem(resp, 422)


def test_network_picture_is_a_valid_png_and_svg(world: World, tmp_path: Path) -> None:
    png = world.client.get(f"{API}/tables/{world.table_id}/report/network.png",
                           headers=bearer(world.organizer))
    assert (png.status_code, png.headers["content-type"]) == (200, "image/png")
    width, height = png_size(png.content)
    assert min(width, height) >= 800
    assert len(png.content) > 20_000
    (tmp_path / "network.png").write_bytes(png.content)
    svg = world.client.get(f"{API}/reports/network.svg", headers=bearer(world.key("HTI")))
    assert svg.headers["content-type"].startswith("image/svg+xml")
    assert b"<svg" in svg.content
    assert b"HTI" in svg.content or b"glyph" in svg.content


def test_network_of_thirty_countries_renders(tmp_path: Path) -> None:
    codes = ["ARG", "BHS", "BLZ", "BOL", "BRA", "BRB", "CHL", "COL", "CRI", "CUB", "DOM",
             "ECU", "GRD", "GTM", "GUY", "HND", "HTI", "JAM", "MEX", "NIC", "PAN", "PER",
             "PRY", "SLV", "SUR", "TTO", "URY", "VEN", "ESP", "PRT"]
    stages = ("expression_of_interest", "commitment", "agreement")
    edges = [(codes[i], codes[(i * 7 + 3) % 30], stages[i % 3], 1 + i % 4) for i in range(30)]
    edges += [(codes[i], codes[(i * 11 + 5) % 30], stages[(i + 1) % 3], 1) for i in range(25)]
    data = network.render(edges, fmt="png", title="Mesa de 30 países",
                          subtitle="55 outcomes", nodes=codes)
    (tmp_path / "thirty.png").write_bytes(data)
    assert png_size(data) == (1100, 1160)
    empty = network.render([], fmt="svg", title="Mesa vacía")
    assert b"No outcomes yet" in empty or b"<svg" in empty


@pytest.mark.parametrize("path", ["/tables/{table_id}/report/network.svg",
                                  "/tables/{table_id}/report/network.png",
                                  "/reports/network.svg", "/reports/network.png"])
def test_each_picture_is_documented_in_its_own_format(path: str) -> None:
    schema = create_app(Settings()).openapi()
    answer = schema["paths"][f"{API}{path}"]["get"]["responses"]["200"]
    expected = "image/svg+xml" if path.endswith(".svg") else "image/png"
    assert list(answer["content"]) == [expected]


@pytest.mark.parametrize("path", ["/tables/{table_id}/report", "/reports"])
@pytest.mark.parametrize(("days", "overdue"), [(-20, 0), (0, 1), (60, 2)])
def test_report_judges_follow_up_lateness_on_as_of(
        world: World, path: str, days: int, overdue: int) -> None:
    """The `followups` view counted as overdue what was late today, whatever day was asked."""
    as_of = (utc_today() + timedelta(days=days)).isoformat()
    report = get(world, path.format(table_id=world.table_id), "organizer", as_of=as_of)

    assert report["scope"]["as_of"] == as_of
    total = _row(report["followups"], country="ALL")
    assert (total["overdue"], total["total"]) == (overdue, 3)
    late = get(world, "/followups", "organizer", overdue="true", as_of=as_of,
               table_id=str(world.table_id))
    assert late["total"] == overdue
    csv_text = world.client.get(f"{API}{path.format(table_id=world.table_id)}",
                                params={"as_of": as_of, "format": "csv"},
                                headers=bearer(world.organizer)).text
    assert ["as_of", as_of] in list(csv.reader(io.StringIO(csv_text)))


@pytest.mark.parametrize("path", ["/tables/{table_id}/report", "/reports"])
@pytest.mark.parametrize("as_of", ["2027-13-01", "1999-12-31", "2101-01-01", "20270301",
                                   "2027-03-01T00:00:00"])
def test_report_as_of_not_a_day_from_2000_to_2100_is_422_as_on_followups(
        world: World, path: str, as_of: str) -> None:
    resp = world.client.get(f"{API}{path.format(table_id=world.table_id)}",
                            params={"as_of": as_of}, headers=bearer(world.organizer))
    followups = world.client.get(f"{API}/followups", params={"as_of": as_of},
                                 headers=bearer(world.organizer))

    body = assert_problem(resp, 422, "as_of")
    assert body["errors"] == assert_problem(followups, 422, "as_of")["errors"]
