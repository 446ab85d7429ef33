"""Report files through the API: the CSV byte-order mark, text that looks like a formula, dates
in XLSX, and network pictures of tables whose names hold dollar signs."""

from __future__ import annotations

import codecs
import csv
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import matplotlib
import pytest
from openpyxl import load_workbook
from openpyxl.cell.cell import Cell

from tests.conftest import bearer
from tests.factories import API, assert_problem
from tests.pairings.helpers import World
from tests.reports.test_reports import png_size

DOLLAR_NAMES = ["Mesa $\\undefinedcmd$ 2027", "Mesa US$ 5 and $ 6"]
FORMULA_NAMES = ["=1+1 Mesa", "+Mesa 2027", "-Mesa 2027", "@Mesa 2027",
                 "'=1+1 Mesa"]  # an apostrophe of its own: shown as typed, not taken as a mark


def _rename(world: World, name: str) -> None:
    resp = world.client.patch(f"{API}/tables/{world.table_id}", json={"name": name},
                              headers=bearer(world.organizer))
    assert resp.status_code == 200, resp.text


def _download(world: World, path: str, fmt: str, **params: str) -> bytes:
    resp = world.client.get(f"{API}{path}", params={"format": fmt, **params},
                            headers=bearer(world.organizer))
    assert resp.status_code == 200, resp.text
    data: bytes = resp.content
    return data


def _csv_summary(data: bytes) -> dict[str, str]:
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    end = rows.index([])
    return {row[0]: row[1] for row in rows[2:end]}


def _xlsx_summary(data: bytes, tmp_path: Path) -> dict[str, Cell]:
    path = tmp_path / "report.xlsx"
    path.write_bytes(data)
    sheet = load_workbook(path)["summary"]
    return {str(item.value): value for item, value in sheet.iter_rows(min_row=2)}


@pytest.mark.parametrize("path", ["/tables/{table_id}/report", "/reports"])
def test_csv_export_starts_with_a_byte_order_mark(world: World, path: str) -> None:
    _rename(world, "Mesa de cooperación técnica")
    resp = world.client.get(f"{API}{path.format(table_id=world.table_id)}",
                            params={"format": "csv"}, headers=bearer(world.organizer))
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"] == "text/csv; charset=utf-8"
    assert resp.content.startswith(codecs.BOM_UTF8)
    assert resp.content.decode("utf-8-sig").startswith("# summary\r\n")
    if "{table_id}" in path:
        assert _csv_summary(resp.content)["table_name"] == "Mesa de cooperación técnica"


@pytest.mark.parametrize("path", ["/tables/{table_id}/report", "/reports"])
def test_csv_export_separates_cells_by_the_delimiter_asked_for(world: World, path: str) -> None:
    """Before, `delimiter` was ignored: CSV was always comma-separated, one column in Excel
    where the decimal mark is a comma (es, pt, fr)."""
    _rename(world, "Mesa; Chile, Perú")
    url = path.format(table_id=world.table_id)

    def rows(data: bytes, separator: str) -> list[list[str]]:
        read = csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""),
                          delimiter=separator)
        return [row for row in read if row[:1] not in (["generated_at"], ["as_of"])]

    comma = _download(world, url, "csv")
    assert rows(_download(world, url, "csv", delimiter="comma"), ",") == rows(comma, ",")
    for name, separator in (("semicolon", ";"), ("tab", "\t")):
        data = _download(world, url, "csv", delimiter=name)
        assert data.decode("utf-8-sig").startswith(f"# summary\r\nitem{separator}value\r\n")
        assert rows(data, separator) == rows(comma, ",")


@pytest.mark.parametrize("params", [{"format": "csv", "delimiter": "pipe"},
                                    {"format": "csv", "delimiter": ";"},
                                    {"format": "xlsx", "delimiter": "semicolon"},
                                    {"delimiter": "tab"}], ids=str)
@pytest.mark.parametrize("path", ["/tables/{table_id}/report", "/reports"])
def test_an_unknown_delimiter_or_one_for_another_format_is_a_422_naming_it(
        world: World, path: str, params: dict[str, str]) -> None:
    resp = world.client.get(f"{API}{path.format(table_id=world.table_id)}", params=params,
                            headers=bearer(world.organizer))

    assert_problem(resp, 422, "delimiter")


@pytest.mark.parametrize("name", FORMULA_NAMES)
def test_xlsx_export_keeps_formula_like_text_as_a_plain_string(
        world: World, tmp_path: Path, name: str) -> None:
    _rename(world, name)
    data = _download(world, f"/tables/{world.table_id}/report", "xlsx")
    cell = _xlsx_summary(data, tmp_path)["table_name"]
    assert (cell.value, cell.data_type, cell.quotePrefix) == (name, "s", True)


@pytest.mark.parametrize("name", FORMULA_NAMES)
def test_csv_export_keeps_an_apostrophe_before_formula_like_text(world: World,
                                                                 name: str) -> None:
    _rename(world, name)
    data = _download(world, f"/tables/{world.table_id}/report", "csv")
    assert _csv_summary(data)["table_name"] == "'" + name  # '=x as ''=x, as forms write it


def test_xlsx_summary_dates_are_date_cells_in_naive_utc(world: World, tmp_path: Path) -> None:
    params = {"from": "2026-01-02", "to": "2099-12-31"}
    summary = _xlsx_summary(_download(world, "/reports", "xlsx", **params), tmp_path)
    assert all(summary[item].is_date for item in ("from", "to", "generated_at", "as_of"))
    assert summary["from"].value == datetime(2026, 1, 2)
    assert summary["to"].value == datetime(2099, 12, 31)
    generated = summary["generated_at"].value
    assert isinstance(generated, datetime)
    assert generated.tzinfo is None
    assert abs(datetime.now(UTC).replace(tzinfo=None) - generated) < timedelta(minutes=5)


def test_csv_summary_dates_stay_iso_text(world: World) -> None:
    params = {"from": "2026-01-02", "to": "2099-12-31"}
    summary = _csv_summary(_download(world, "/reports", "csv", **params))
    assert (summary["from"], summary["to"]) == ("2026-01-02", "2099-12-31")
    assert datetime.fromisoformat(summary["generated_at"]).tzinfo is not None


@pytest.mark.parametrize("name", DOLLAR_NAMES)
def test_network_picture_draws_a_name_with_dollars_as_plain_text(world: World,
                                                                 name: str) -> None:
    _rename(world, name)
    url = f"{API}/tables/{world.table_id}/report/network"
    # Text as <text> elements instead of glyph paths, so that the title can be read back.
    with matplotlib.rc_context({"svg.fonttype": "none"}):
        svg = world.client.get(f"{url}.svg", headers=bearer(world.organizer))
    assert (svg.status_code, svg.headers["content-type"]) == (200, "image/svg+xml")
    assert svg.content.startswith(b"<?xml")
    assert f">{name}</text>".encode() in svg.content
    png = world.client.get(f"{url}.png", headers=bearer(world.organizer))
    assert (png.status_code, png.headers["content-type"]) == (200, "image/png")
    assert min(png_size(png.content)) >= 800
