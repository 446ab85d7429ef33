"""Bad input to the commands gets a one-line error and an exit status, never a traceback:
settings, databases that cannot be used, out-of-range numbers, files and folders."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from fastapi.testclient import TestClient
from sqlalchemy import text

from service.config import Settings, get_settings
from service.db import make_engine, reset_engines
from service.migrate import alembic_config, current_revision, head_revision, upgrade
from tests.cli.helpers import run
from tests.conftest import KeyMaker, bearer
from tests.factories import API, assert_problem


@pytest.fixture
def other_database(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """Point the commands at another DATABASE_URL (set by the test); restore afterwards."""
    reset_engines()
    get_settings.cache_clear()
    yield monkeypatch
    monkeypatch.undo()
    reset_engines()
    get_settings.cache_clear()


def test_keys_on_a_database_never_migrated_prepare_it_first(
        other_database: pytest.MonkeyPatch, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    other_database.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'fresh.db'}")

    listed = run(capsys, "keys", "list")
    created = run(capsys, "keys", "create", "--role", "admin", "--name", "Secretaría")

    assert listed[0] == 0, listed
    assert listed[1].split() == ["id", "role", "country", "prefix", "state", "name"]
    assert created[0] == 0, created
    assert "created admin key #1" in created[1]


def _revision(path: Path) -> str | None:
    engine = make_engine(f"sqlite:///{path}")
    try:
        return current_revision(engine)
    finally:
        engine.dispose()


@pytest.mark.parametrize("command", ["export", "import", "report"])
@pytest.mark.parametrize("state", ["missing", "never-migrated", "behind"])
def test_data_commands_refuse_a_database_that_is_missing_or_not_migrated(
        other_database: pytest.MonkeyPatch, tmp_path: Path,
        capsys: pytest.CaptureFixture[str], command: str, state: str) -> None:
    db = tmp_path / "typo.db"
    if state == "never-migrated":
        db.touch()
    elif state == "behind":
        head = head_revision()
        assert head is not None
        script = ScriptDirectory.from_config(alembic_config("sqlite://"))
        previous = script.get_revision(head).down_revision
        assert isinstance(previous, str)
        upgrade(f"sqlite:///{db}", previous)
    before = _revision(db) if db.exists() else None
    other_database.setenv("DATABASE_URL", f"sqlite:///{db}")
    form = tmp_path / "form.csv"
    form.write_text("kind,factor,modality,title,description\n", encoding="utf-8")
    argv = {"export": ["export", "--out", str(tmp_path / "forms.csv")],
            "import": ["import", str(form)],
            "report": ["report", "all", "--out", str(tmp_path / "forms.csv")]}[command]

    status, out, err = run(capsys, *argv)

    assert (status, out) == (1, "")
    assert len(err.splitlines()) == 1, err
    assert err.startswith("error: ")
    assert "`sscmatch migrate`" in err
    assert not (tmp_path / "forms.csv").exists()
    if state == "missing":
        assert not db.exists()
    else:
        assert _revision(db) == before


@pytest.mark.parametrize("command", ["migrate", "keys", "export", "import", "report"])
def test_a_database_migrated_by_a_later_version_is_a_one_line_error_and_left_as_it_is(
        other_database: pytest.MonkeyPatch, tmp_path: Path,
        capsys: pytest.CaptureFixture[str], command: str) -> None:
    db = tmp_path / "later.db"
    upgrade(f"sqlite:///{db}")
    engine = make_engine(f"sqlite:///{db}")
    try:
        with engine.begin() as conn:  # as a later version's migration would leave it
            conn.execute(text("UPDATE alembic_version SET version_num = '0123456789ab'"))
    finally:
        engine.dispose()
    other_database.setenv("DATABASE_URL", f"sqlite:///{db}")
    form = tmp_path / "form.csv"
    form.write_text("kind,factor,modality,title,description\n", encoding="utf-8")
    argv = {"migrate": ["migrate"], "keys": ["keys", "list"],
            "export": ["export", "--out", str(tmp_path / "forms.csv")],
            "import": ["import", str(form)],
            "report": ["report", "all", "--out", str(tmp_path / "forms.csv")]}[command]

    status, out, err = run(capsys, *argv)

    assert (status, out) == (1, "")
    assert err == ("error: the database at DATABASE_URL is at migration 0123456789ab, which "
                   "this version of sscmatch does not know (a later version migrated it); run "
                   "that version, or restore a backup taken before it.\n")
    assert _revision(db) == "0123456789ab"
    assert not (tmp_path / "forms.csv").exists()


@pytest.mark.parametrize(("url", "message"), [
    ("mysql://user@host/db", "error: setting DATABASE_URL: use sqlite:///FILE or postgresql://"),
    ("nonsense", "not 'nonsense'"),
    *[(memory, "error: setting DATABASE_URL: an in-memory SQLite database cannot be shared")
      for memory in ("sqlite://", "sqlite:///", "sqlite:///:memory:",
                     "sqlite:///file:db?mode=memory&cache=shared&uri=true",
                     "sqlite:///file::memory:?uri=true",
                     "sqlite:///file::memory:?cache=shared&uri=true",
                     "sqlite:///file:db?vfs=memdb&uri=true")],
])
def test_a_database_url_that_cannot_be_used_is_a_one_line_error(
        other_database: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], url: str,
        message: str) -> None:
    other_database.setenv("DATABASE_URL", url)

    status, _out, err = run(capsys, "migrate")

    assert status == 1
    assert message in err
    assert len(err.strip().splitlines()) == 1, err


@pytest.mark.parametrize("argv", [("migrate",), ("serve",), ("demo",), ("keys", "list"),
                                  ("keys", "create", "--role", "admin"), ("reencode",),
                                  ("export", "--out", "OUT/items.csv"),
                                  ("report", "1", "--out", "OUT/report.csv")])
def test_a_sqlite_file_in_a_missing_folder_names_the_folder(
        other_database: pytest.MonkeyPatch, tmp_path: Path,
        capsys: pytest.CaptureFixture[str], argv: tuple[str, ...]) -> None:
    other_database.chdir(tmp_path)
    other_database.setenv("DATABASE_URL", "sqlite:///nodir/sub/x.db")

    status, out, err = run(capsys, *argv)

    assert (status, out) == (1, "")
    assert err == ("error: the database at DATABASE_URL cannot be used: the folder nodir/sub of "
                   "the SQLite database nodir/sub/x.db does not exist; create it, or correct "
                   "DATABASE_URL.\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_a_sqlite_file_under_a_file_says_it_is_no_folder(
        other_database: pytest.MonkeyPatch, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "notes").write_text("a file, not a folder\n")
    other_database.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'notes' / 'x.db'}")

    status, _out, err = run(capsys, "migrate")

    assert (status, err) == (
        1, f"error: the database at DATABASE_URL cannot be used: {tmp_path / 'notes'}, the "
           f"folder of the SQLite database {tmp_path / 'notes' / 'x.db'}, is a file, not a "
           "folder; correct DATABASE_URL.\n")


def test_a_file_that_is_not_a_database_is_a_one_line_error(
        other_database: pytest.MonkeyPatch, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "notes.db").write_text("not a database\n" * 100)
    other_database.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'notes.db'}")

    status, _out, err = run(capsys, "keys", "list")

    assert (status, err.strip()) == (
        1, "error: the database at DATABASE_URL cannot be used: file is not a database")


@pytest.mark.parametrize(("argv", "option"), [
    (("serve", "--port", "99999"), "--port"),
    (("serve", "--port", "-1"), "--port"),
    (("serve", "--workers", "0"), "--workers"),
    (("keys", "revoke", "99999999999999999999999"), "id"),
    (("keys", "revoke", "0"), "id"),
    (("report", "١", "--out", "x.json"), "TABLE_ID"),
    (("report", "99999999999999999999999", "--out", "x.json"), "TABLE_ID"),
    (("rank", "--items", "x.json", "--top", "0"), "--top"),
    (("rank", "--items", "x.json", "--top", "-3"), "--top"),
    (("rank", "--items", "x.json", "--top", "abc"), "--top"),
    (("rank", "--items", "x.json", "--top", "1000001"), "--top"),
], ids=str)
def test_a_number_out_of_range_is_a_usage_error_naming_the_argument(
        capsys: pytest.CaptureFixture[str], argv: tuple[str, ...], option: str) -> None:
    with pytest.raises(SystemExit) as exit_:
        run(capsys, *argv)

    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert f"argument {option}" in err
    assert "Traceback" not in err


@pytest.mark.usefixtures("cli_db")
def test_outputs_are_checked_before_the_work_and_their_folders_created(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "taken.csv"
    folder.mkdir()
    items = tmp_path / "items.json"
    items.write_text("[]", encoding="utf-8")

    refused = f"error: {folder}: is a folder; give a file name.\n"
    assert run(capsys, "export", "--out", str(folder)) == (1, "", refused)
    assert run(capsys, "rank", "--items", str(items), "--out", str(folder)) == (1, "", refused)
    nested = tmp_path / "new" / "sub" / "offers.csv"
    assert run(capsys, "export", "--out", str(nested))[0] == 0
    assert nested.read_text(encoding="utf-8-sig").startswith("kind,")


def test_rank_reads_odd_items_files_with_a_clear_error(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000, encoding="utf-8")
    bom = tmp_path / "bom.json"
    bom.write_bytes(b"\xef\xbb\xbf[]")  # as Windows editors save UTF-8

    assert run(capsys, "rank", "--items", str(deep))[::2] == (
        1, f"error: {deep}: not an items file (JSON nested too deeply).\n")
    assert run(capsys, "rank", "--items", str(tmp_path))[::2] == (
        1, f"error: {tmp_path}: is a folder.\n")
    assert run(capsys, "rank", "--items", str(bom), "--quiet")[:2] == (0, "{}\n")


@pytest.mark.usefixtures("cli_db")
def test_a_report_takes_the_days_the_api_takes_and_names_the_range_otherwise(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "report.xlsx"

    status, _out, err = run(capsys, "report", "all", "--out", str(out), "--from", "2000-01-01",
                            "--to", "2100-12-31")
    assert (status, err) == (0, "")
    assert out.stat().st_size > 0
    for day in ("0001-01-01", "9999-12-31", "1999-12-31", "2101-01-01", "2026-02-30"):
        with pytest.raises(SystemExit) as exit_:
            run(capsys, "report", "all", "--out", str(tmp_path / "x.json"), "--to", day)
        assert exit_.value.code == 2, day
        assert (f"argument --to: not a date from 2000-01-01 to 2100-12-31 (YYYY-MM-DD): "
                f"'{day}'") in capsys.readouterr().err
    assert not (tmp_path / "x.json").exists()


def test_the_reports_api_takes_its_first_and_last_day_and_refuses_others(
        app_client: TestClient, make_key: KeyMaker) -> None:
    key = bearer(make_key("organizer"))
    resp = app_client.get(f"{API}/reports", params={"from": "2000-01-01", "to": "2100-12-31"},
                          headers=key)
    assert resp.status_code == 200, resp.text
    for bad in ({"from": "0001-01-01"}, {"to": "9999-12-31"}):
        assert_problem(app_client.get(f"{API}/reports", params=bad, headers=key), 422,
                       next(iter(bad)))


@pytest.mark.parametrize(("name", "value", "message"), [
    ("DEFAULT_PAGE_SIZE", "300",
     "error: setting DEFAULT_PAGE_SIZE: 300 is above MAX_PAGE_SIZE (200): every list asked "
     "for without a limit would be refused"),
    ("LOG_LEVEL", "verbose",
     "error: setting LOG_LEVEL: 'verbose' is not a log level; use one of critical, error, "
     "warning, info, debug, trace"),
    ("CORS_ORIGINS", "https://a.example",
     "error: setting CORS_ORIGINS: not JSON (Expecting value: line 1 column 1 (char 0)); "
     "write a JSON list, e.g. [\"https://a.example\"]"),
])
def test_a_setting_the_service_cannot_run_with_is_a_one_line_error(
        other_database: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], name: str,
        value: str, message: str) -> None:
    """Before, a default page above the largest one was accepted and then refused every list
    without `limit`; an unknown log level and a CORS_ORIGINS that is not JSON were
    tracebacks."""
    other_database.setenv(name, value)

    status, out, err = run(capsys, "keys", "list")

    assert (status, out, err) == (1, "", message + "\n")


def test_log_level_takes_any_letter_case() -> None:
    assert Settings(log_level="WARNING").log_level == "warning"


@pytest.mark.usefixtures("cli_db")
def test_a_report_whose_to_is_before_its_from_names_both_options_before_the_work(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Before, the error named the API's `to` and `from`, not the options, nor the days."""
    out = tmp_path / "report.csv"

    status, stdout, err = run(capsys, "report", "all", "--out", str(out),
                              "--from", "2026-02-01", "--to", "2026-01-01")

    assert (status, stdout) == (1, "")
    assert err == ("error: --to 2026-01-01 is before --from 2026-02-01; give --from the "
                   "earlier day.\n")
    assert not out.exists()


@pytest.mark.usefixtures("cli_db")
@pytest.mark.parametrize(("argv", "option"), [(("import", ""), "FILE"),
                                              (("rank", "--items", ""), "--items")])
def test_an_empty_input_name_is_refused_naming_the_argument(
        capsys: pytest.CaptureFixture[str], argv: tuple[str, ...], option: str) -> None:
    """Before, an empty name (an unset shell variable) was taken as the current folder:
    ".: is a folder."."""
    assert run(capsys, *argv) == (1, "", f"error: {option} is empty; give a file name.\n")
