"""`sscmatch report` and the demo: exports written by the command line, on committed data."""

from __future__ import annotations

import codecs
import csv
import io
import json
from datetime import timedelta
from pathlib import Path

import matplotlib
import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import select

from models import CooperationTable
from service.auth.service import create_key
from service.cli import main
from service.db import session_scope
from service.demo.load import demo_table
from service.followups.service import today
from service.main import create_app
from tests.conftest import bearer
from tests.factories import API
from tests.pairings.helpers import World
from tests.reports.scenario import build
from tests.reports.test_reports import png_size

PARTICIPANTS = ["ARG", "BRA", "CHL", "HTI", "PER"]


@pytest.fixture
def table_id(committed_db: str) -> int:  # noqa: ARG001 (the data is committed there)
    """A committed table with the report scenario, built through the API."""
    secrets: dict[str, str] = {}
    with session_scope() as session:
        for role, country in (("admin", None), ("organizer", None), ("country", "HTI"),
                              ("country", "CHL"), ("country", "PER"), ("country", "ARG")):
            _key, secret = create_key(session, role=role, country=country, name="cli")
            secrets[country or role] = secret
    with TestClient(create_app()) as client:
        organizer = bearer(secrets["organizer"])
        resp = client.post(f"{API}/tables", headers=organizer, json={
            "name": "Mesa CLI", "starts_on": "2026-12-07", "ends_on": "2026-12-08",
            "participants": PARTICIPANTS})
        table = int(resp.json()["id"])
        client.patch(f"{API}/tables/{table}", json={"status": "in_session"}, headers=organizer)
        world = World(client=client, admin=secrets["admin"], organizer=secrets["organizer"],
                      table_id=table, keys={c: secrets[c] for c in ("HTI", "CHL", "PER", "ARG")})
        build(world)
    return table


def test_report_command_writes_csv_xlsx_json_and_png(
        table_id: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for fmt in ("csv", "xlsx", "json", "png"):
        assert main(["report", str(table_id), "--format", fmt,
                     "--out", str(tmp_path / f"out.{fmt}")]) == 0
    assert "4 outcomes = 2 expressions of interest" in capsys.readouterr().out
    rows = list(csv.reader(io.StringIO((tmp_path / "out.csv").read_text("utf-8-sig"))))
    assert ["agreement", "1"] in rows
    book = load_workbook(tmp_path / "out.xlsx")
    assert "matrix" in book.sheetnames
    report = json.loads((tmp_path / "out.json").read_text("utf-8"))
    assert report["headline"]["outcomes"] == 4
    assert min(png_size((tmp_path / "out.png").read_bytes())) >= 800


def test_report_command_writes_csv_with_a_byte_order_mark(table_id: int, tmp_path: Path) -> None:
    with session_scope() as session:
        table = session.get(CooperationTable, table_id)
        assert table is not None
        table.name = "Mesa de cooperación"
    out = tmp_path / "out.csv"
    assert main(["report", str(table_id), "--out", str(out)]) == 0
    data = out.read_bytes()
    assert data.startswith(codecs.BOM_UTF8)
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0] == ["# summary"]
    assert ["table_name", "Mesa de cooperación"] in rows


@pytest.mark.parametrize(("delimiter", "separator"), [("semicolon", ";"), ("tab", "\t")])
def test_report_command_writes_csv_with_the_delimiter_asked_for(
        table_id: int, tmp_path: Path, delimiter: str, separator: str) -> None:
    """Before, report CSV was always comma-separated, one column in Excel where the decimal
    mark is a comma (es, pt, fr)."""
    with session_scope() as session:
        table = session.get(CooperationTable, table_id)
        assert table is not None
        table.name = "Mesa; Chile, Perú"
    comma, other = tmp_path / "comma.csv", tmp_path / "other.csv"
    assert main(["report", str(table_id), "--out", str(comma)]) == 0
    assert main(["report", str(table_id), "--out", str(other), "--delimiter", delimiter]) == 0

    def rows(path: Path, sep: str) -> list[list[str]]:
        read = csv.reader(io.StringIO(path.read_text("utf-8-sig"), newline=""), delimiter=sep)
        return [row for row in read if row[:1] not in (["generated_at"], ["as_of"])]

    assert f"\nstage{separator}count\n" in other.read_text("utf-8-sig")
    assert ["table_name", "Mesa; Chile, Perú"] in rows(other, separator)
    assert rows(other, separator) == rows(comma, ",")


@pytest.mark.parametrize("name", ["Mesa $\\undefinedcmd$ 2027", "Mesa US$ 5 and $ 6"])
def test_report_command_draws_a_table_named_with_dollars(
        table_id: int, tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str) -> None:
    with session_scope() as session:
        table = session.get(CooperationTable, table_id)
        assert table is not None
        table.name = name
    assert main(["report", str(table_id), "--out", str(tmp_path / "x.png")]) == 0
    assert "Traceback" not in capsys.readouterr().err
    assert min(png_size((tmp_path / "x.png").read_bytes())) >= 800
    # Text as <text> elements instead of glyph paths, so that the title can be read back.
    with matplotlib.rc_context({"svg.fonttype": "none"}):
        assert main(["report", str(table_id), "--out", str(tmp_path / "x.svg")]) == 0
    assert f">{name}</text>".encode() in (tmp_path / "x.svg").read_bytes()


def test_report_command_over_all_tables_and_bad_arguments(
        table_id: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "all.json"
    assert main(["report", "all", "--out", str(out), "--from", "2000-01-01"]) == 0
    assert json.loads(out.read_text("utf-8"))["scope"]["table_id"] is None
    assert main(["report", str(table_id + 1000), "--out", str(tmp_path / "x.json")]) == 1
    assert "No cooperation table" in capsys.readouterr().err
    assert main(["report", str(table_id), "--out", str(tmp_path / "x.pdf")]) == 1
    # A suffix that names another format is refused, and nothing is written.
    assert main(["report", str(table_id), "--format", "json",
                 "--out", str(tmp_path / "x.csv")]) == 1
    assert "a .csv file cannot hold the json format" in capsys.readouterr().err
    assert not (tmp_path / "x.csv").exists()
    # A failed report leaves no folder behind; a written one creates its folders.
    assert main(["report", str(table_id + 1000), "--out", str(tmp_path / "new/x.json")]) == 1
    assert not (tmp_path / "new").exists()
    assert main(["report", str(table_id), "--out", str(tmp_path / "new/x.json")]) == 0
    with pytest.raises(SystemExit):
        main(["report", "first", "--out", str(out)])


def test_report_command_filters_by_country_and_factor(table_id: int, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "per.json"
    assert main(["report", str(table_id), "--out", str(out), "--country", "per",
                 "--factor", "Migration", "--from", "2000-01-01"]) == 0
    assert "1 outcome = 0 expressions of interest + 1 commitment" in capsys.readouterr().out
    report = json.loads(out.read_text("utf-8"))
    assert (report["scope"]["country_filter"], report["scope"]["factor"]) == ("PER", "migration")
    assert [(c["provider"], c["recipient"]) for c in report["matrix"]["cells"]] == [
        ("CHL", "PER")]
    assert main(["report", "all", "--out", str(tmp_path / "per.csv"), "--country", "PER"]) == 0
    rows = list(csv.reader(io.StringIO((tmp_path / "per.csv").read_text("utf-8-sig"))))
    assert ["country_filter", "PER"] in rows
    assert ["commitment", "1"] in rows


@pytest.mark.parametrize(("option", "value", "said"), [
    ("--country", "GT", "error: Unknown country code 'GT': use an ISO 3166-1 alpha-3 code "
                        "such as GTM (Guatemala). (--country)"),
    ("--factor", "fishing", "error: Unknown accelerator factor 'fishing'. Known: "),
])
def test_report_command_refuses_an_unknown_country_or_factor(
        table_id: int, tmp_path: Path, capsys: pytest.CaptureFixture[str], option: str,
        value: str, said: str) -> None:
    out = tmp_path / "x.json"
    assert main(["report", str(table_id), "--out", str(out), option, value]) == 1
    err = capsys.readouterr().err
    assert said in err
    assert err.rstrip().endswith(f"({option})")
    assert not out.exists()


@pytest.mark.slow
@pytest.mark.usefixtures("committed_db")
def test_demo_takes_its_table_through_every_stage_once(tmp_path: Path) -> None:
    assert main(["demo"]) == 0
    with session_scope() as session:
        demo_id = session.scalar(select(CooperationTable.id).where(
            CooperationTable.name == demo_table()["name"]))
    out = tmp_path / "demo.json"
    assert main(["report", str(demo_id), "--out", str(out)]) == 0
    report = json.loads(out.read_text("utf-8"))
    counts = {r["stage"]: r["count"] for r in report["stages"]}
    assert all(counts[s] > 0 for s in counts), counts
    assert len(report["partners"]) == 2
    followups = report["followups"][-1]
    assert followups["overdue"] > 0
    assert followups["done"] > 0
    assert main(["demo"]) == 0
    assert main(["report", str(demo_id), "--out", str(out)]) == 0
    again = json.loads(out.read_text("utf-8"))
    assert {r["stage"]: r["count"] for r in again["stages"]} == counts


def test_report_command_judges_follow_up_lateness_on_as_of(table_id: int,
                                                           tmp_path: Path) -> None:
    """The `followups` view counted as overdue what was late on the day the command ran."""
    out = tmp_path / "later.json"
    later = (today() + timedelta(days=60)).isoformat()
    assert main(["report", str(table_id), "--out", str(out), "--as-of", later]) == 0
    report = json.loads(out.read_text("utf-8"))
    assert report["scope"]["as_of"] == later
    assert [row["overdue"] for row in report["followups"] if row["country"] == "ALL"] == [2]
    assert main(["report", str(table_id), "--out", str(out)]) == 0
    report = json.loads(out.read_text("utf-8"))
    assert report["scope"]["as_of"] == today().isoformat()
    assert [row["overdue"] for row in report["followups"] if row["country"] == "ALL"] == [1]


@pytest.mark.parametrize("value", ["2027-13-01", "1999-12-31", "20270301"])
def test_report_command_refuses_an_as_of_not_a_day(
        table_id: int, tmp_path: Path, capsys: pytest.CaptureFixture[str], value: str) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["report", str(table_id), "--out", str(tmp_path / "x.json"), "--as-of", value])
    assert exit_.value.code == 2
    assert "not a date from 2000-01-01 to 2100-12-31" in capsys.readouterr().err


def test_report_command_refuses_as_of_for_a_network_picture(
        table_id: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "x.svg"
    assert main(["report", str(table_id), "--out", str(out), "--as-of", "2027-03-01"]) == 1
    err = capsys.readouterr().err
    assert "--as-of" in err
    assert len(err.strip().splitlines()) == 1
    assert not out.exists()
