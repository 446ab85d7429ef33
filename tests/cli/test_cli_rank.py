"""`sscmatch rank` refuses what the service would refuse: unknown factors, numbers JSON cannot
hold, and a --top out of range (a usage error, as for every bounded number)."""

from __future__ import annotations

import importlib
import json
import sys
from importlib import resources
from pathlib import Path
from types import ModuleType
from typing import Any

import pycountry
import pytest

from service.cli import main
from service.cli.rank import load_items
from service.config import get_settings
from tests.cli.helpers import run

NEED = {"id": "n1", "kind": "need", "country": "HTI", "factor": "ict", "language": "fr",
        "title": "Registre numérique des enfants qui travaillent"}
OFFER = {"id": "o1", "kind": "offer", "country": "CHL", "factor": "ict", "language": "es",
         "title": "Registro digital de niños que trabajan", "capacity": 2}


def _items(tmp_path: Path, items: list[dict[str, Any]]) -> Path:
    path = tmp_path / "items.json"
    path.write_text(json.dumps(items, ensure_ascii=False), encoding="utf-8")
    return path


def _shipped_factors() -> list[str]:
    text = resources.files("service.reference").joinpath("factors.json").read_text("utf-8")
    return [entry["code"] for entry in json.loads(text)]


def test_rank_with_a_number_too_long_for_python_is_not_valid_json(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "items.json"
    path.write_text(json.dumps([OFFER])[:-2] + ', "capacity": 1' + "0" * 5000 + "}]",
                    encoding="utf-8")

    status, out, err = run(capsys, "rank", "--items", str(path), "--quiet")

    limit = sys.get_int_max_str_digits()
    assert (status, out, err) == (
        1, "", f"error: {path}: not valid UTF-8 JSON (a number has more than {limit} digits).\n")


@pytest.mark.parametrize("factor", ["zzz", "ICT", "Education"])
def test_rank_with_a_factor_the_service_does_not_know_names_item_and_field(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], factor: str) -> None:
    path = _items(tmp_path, [NEED, OFFER | {"factor": factor}])

    status, out, err = run(capsys, "rank", "--items", str(path), "--quiet")

    known = ", ".join(_shipped_factors())
    assert (status, out) == (1, "")
    assert err == (f"error: {path}: 1 invalid item(s):\n  item 1 (id 'o1'): field 'factor': "
                   f"Value error, Unknown accelerator factor '{factor}'. Known: {known}.\n")


@pytest.mark.slow
def test_rank_takes_every_factor_the_service_ships(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    needs = [NEED | {"id": f"n-{code}", "factor": code} for code in _shipped_factors()]
    path = _items(tmp_path, [*needs, OFFER])

    status, out, err = run(capsys, "rank", "--items", str(path), "--top", "1", "--quiet")

    assert status == 0, err
    assert {need: [r["offer_id"] for r in ranked]
            for need, ranked in json.loads(out).items()} == {n["id"]: ["o1"] for n in needs}


def test_rank_with_standard_output_closed_is_an_error_not_a_lost_result(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    path = _items(tmp_path, [NEED, OFFER])
    monkeypatch.setattr(sys, "stdout", None)  # what Python sets when the shell closed it (>&-)

    status = main(["rank", "--items", str(path), "--quiet"])

    monkeypatch.undo()
    assert status == 1
    assert capsys.readouterr().err == (
        "error: standard output is closed; give --out FILE for the result.\n")


def test_rank_leaves_out_offers_not_published_and_keeps_every_need(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    offers = [OFFER | {"id": f"o-{status}", "status": status}
              for status in ("published", "draft", "withdrawn")]
    path = _items(tmp_path, [NEED | {"status": "withdrawn"}, *offers])

    status, out, err = run(capsys, "rank", "--items", str(path), "--top", "5", "--quiet")

    assert status == 0, err
    assert {need: [r["offer_id"] for r in ranked]
            for need, ranked in json.loads(out).items()} == {"n1": ["o-published"]}


@pytest.mark.parametrize("status", ["draft", "withdrawn"])
def test_rank_scores_no_pair_by_a_need_not_published_as_the_api_does(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], status: str) -> None:
    """Reciprocity counts the factors a country needs in its published needs only, as the
    API's matches do: Chile's draft or withdrawn need on education, a factor Haiti offers,
    leaves the score of Haiti's need for Chile's offer as it is (reciprocity 0)."""
    haiti_offer = OFFER | {"id": "o2", "country": "HTI", "factor": "education",
                           "language": "fr", "title": "Écoles de la deuxième chance"}
    chile_need = NEED | {"id": "n2", "country": "CHL", "factor": "education", "language": "es",
                         "title": "Escuelas de segunda oportunidad", "status": status}
    rankings = []
    files: list[list[dict[str, Any]]] = [[NEED, OFFER, haiti_offer],
                                         [NEED, OFFER, haiti_offer, chile_need]]
    for items in files:
        code, out, err = run(capsys, "rank", "--items", str(_items(tmp_path, items)),
                             "--quiet")
        assert code == 0, err
        rankings.append(json.loads(out))

    alone, beside = rankings

    assert beside["n1"] == alone["n1"]
    assert [r["components"]["reciprocity"] for r in beside["n1"]] == [0]


def test_rank_with_an_unknown_status_or_a_control_in_an_id_names_them(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _items(tmp_path, [NEED, OFFER | {"id": "o\x00", "status": "deleted"}])

    status, out, err = run(capsys, "rank", "--items", str(path), "--quiet")

    assert (status, out) == (1, "")
    assert err.startswith(f"error: {path}: 1 invalid item(s):\n  item 1 (id 'o\\x00'): "
                          "field 'status': Input should be 'draft', 'published' or 'withdrawn'")


def test_rank_takes_no_country_code_a_non_ascii_letter_would_spell(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _items(tmp_path, [NEED, OFFER | {"country": "\u0131ta"}])  # dotless ı: "ITA" upper

    status, out, err = run(capsys, "rank", "--items", str(path), "--quiet")

    assert (status, out) == (1, "")
    assert "item 1 (id 'o1'): field 'country'" in err


def test_rank_writes_every_id_as_the_file_wrote_it(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Ids are opaque: callers join the result on them, so spaces around one are part of it.
    path = _items(tmp_path, [NEED | {"id": " n1\t"}, OFFER | {"id": "o1\u00a0"},
                             OFFER | {"id": "o1", "country": "BRA", "language": "pt"}])

    status, out, err = run(capsys, "rank", "--items", str(path), "--top", "5", "--quiet")

    assert status == 0, err
    assert {need: sorted(r["offer_id"] for r in ranked)
            for need, ranked in json.loads(out).items()} == {" n1\t": ["o1", "o1\u00a0"]}


@pytest.mark.parametrize(("field", "text", "reason"), [
    ("title", "Registre\x00 numérique", "contains a control or unassigned character (U+0000)"),
    ("description", "Texte \x1b[31men rouge", "contains a control or unassigned character "
                                              "(U+001B)"),
    ("target_population", "\u202eenfants", "contains a bidirectional control character "
                                          "(U+202E), which reorders the text as displayed"),
])
def test_rank_refuses_control_characters_in_texts_as_the_api_does(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], field: str, text: str,
        reason: str) -> None:
    # The API refuses such an item; ranked here, its text would score apart from what it says.
    path = _items(tmp_path, [NEED | {field: text}, OFFER])

    status, out, err = run(capsys, "rank", "--items", str(path), "--quiet")

    assert (status, out) == (1, "")
    assert err == (f"error: {path}: 1 invalid item(s):\n  item 0 (id 'n1'): field '{field}': "
                   f"Value error, {reason}; remove it\n")


def test_rank_takes_line_breaks_and_tabs_in_texts(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _items(tmp_path, [NEED | {"description": "Ligne un\r\nligne\tdeux"}, OFFER])

    status, out, err = run(capsys, "rank", "--items", str(path), "--quiet")

    assert status == 0, err
    assert [r["offer_id"] for r in json.loads(out)["n1"]] == ["o1"]


@pytest.mark.parametrize(("country", "reason"), [
    ("BR", "'BR' is not an ISO 3166-1 alpha-3 country code (it is the alpha-2 code of "
           "Brazil: write 'BRA')"),
    ("ci", "'ci' is not an ISO 3166-1 alpha-3 country code (it is the alpha-2 code of "
           "Côte d'Ivoire: write 'CIV')"),
    ("", "'' is not an ISO 3166-1 alpha-3 country code (three letters, such as 'BRA')"),
    ("XKX", "'XKX' is not an ISO 3166-1 alpha-3 country code (three letters, such as 'BRA')"),
    ("Brazil", "'Brazil' is not an ISO 3166-1 alpha-3 country code (three letters, such as "
               "'BRA')"),
])
def test_rank_says_which_country_codes_it_takes(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], country: str, reason: str) -> None:
    path = _items(tmp_path, [NEED, OFFER | {"country": country}])

    status, out, err = run(capsys, "rank", "--items", str(path), "--quiet")

    assert (status, out) == (1, "")
    assert err == (f"error: {path}: 1 invalid item(s):\n  item 1 (id 'o1'): field 'country': "
                   f"Value error, {reason}\n")


@pytest.mark.slow
def test_rank_takes_every_iso_3166_1_country_in_any_letter_case(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    codes = sorted(record.alpha_3 for record in pycountry.countries)
    needs = [NEED | {"id": f"n-{code}", "country": code.lower()} for code in codes]
    path = _items(tmp_path, [*needs, OFFER | {"country": "Civ"}])

    status, out, err = run(capsys, "rank", "--items", str(path), "--top", "1", "--quiet")

    assert status == 0, err
    assert {need: len(ranked) for need, ranked in json.loads(out).items()} == {
        f"n-{code}": 0 if code == "CIV" else 1 for code in codes}


@pytest.mark.parametrize("name", ["items.json", "./items.json", "link.json", "hard.json"])
def test_rank_never_writes_over_its_items_file(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        name: str) -> None:
    path = _items(tmp_path, [NEED, OFFER])
    (tmp_path / "link.json").symlink_to(path)
    (tmp_path / "hard.json").hardlink_to(path)
    before = path.read_bytes()
    monkeypatch.chdir(tmp_path)

    status, out, err = run(capsys, "rank", "--items", "items.json", "--out", name, "--quiet")

    assert (status, out, err) == (
        1, "", f"error: {Path(name)}: is the --items file; give another file for the result.\n")
    assert path.read_bytes() == before


@pytest.mark.slow
def test_the_quality_bench_measures_the_ranking_of_sscmatch_rank(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Venezuela is in no grouping of the reference data the service ships (as in the API's
    # database): two offers alike but for their country tie, and the lower id comes first.
    offer = OFFER | {"title": "Registro digital de niños que trabajan en la calle"}
    need = NEED | {"country": "VEN", "language": "es", "title": "Registro de niños que trabajan"}
    path = _items(tmp_path, [need, offer | {"id": "a", "country": "CHL"},
                             offer | {"id": "b", "country": "ARG"}])
    (tmp_path / "qrels.json").write_text(json.dumps({"n1": {"a": 2}}), encoding="utf-8")
    quality = _bench("quality")

    ranking = quality.production_ranking(tmp_path)

    status, out, err = run(capsys, "rank", "--items", str(path), "--top", "2", "--quiet")
    assert status == 0, err
    assert ranking == {need: [r["offer_id"] for r in ranked]
                       for need, ranked in json.loads(out).items()} == {"n1": ["a", "b"]}
    loaded, _, _ = quality.load(tmp_path)
    assert loaded == load_items(path)


def _bench(name: str) -> ModuleType:
    """Import a script of bench/ (they are scripts, not a package)."""
    folder = str(Path(__file__).resolve().parents[2] / "bench")
    if folder not in sys.path:
        sys.path.insert(0, folder)
    return importlib.import_module(name)


@pytest.mark.parametrize("capacity", [True, False])
def test_rank_reads_no_capacity_from_true_or_false(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], capacity: bool) -> None:
    path = _items(tmp_path, [NEED, OFFER | {"capacity": capacity}])

    status, out, err = run(capsys, "rank", "--items", str(path), "--quiet")

    assert (status, out) == (1, "")
    assert err == (f"error: {path}: 1 invalid item(s):\n  item 1 (id 'o1'): field 'capacity': "
                   "Value error, a whole number of partners, not true or false\n")


def test_rank_takes_any_iso_639_1_language_and_requires_one(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    offers = [OFFER | {"id": f"o-{code}", "language": code} for code in ("vi", "sw", "ht")]
    path = _items(tmp_path, [NEED, *offers])

    status, out, err = run(capsys, "rank", "--items", str(path), "--quiet")

    assert status == 0, err
    assert sorted(r["offer_id"] for r in json.loads(out)["n1"]) == ["o-ht", "o-sw", "o-vi"]

    path = _items(tmp_path, [{k: v for k, v in NEED.items() if k != "language"}, OFFER])
    assert run(capsys, "rank", "--items", str(path), "--quiet") == (
        1, "", f"error: {path}: 1 invalid item(s):\n  item 0 (id 'n1'): field 'language': "
               "Field required\n")


@pytest.fixture
def unusable_settings(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Settings the service refuses (an in-memory database, a non-number), read afresh."""
    def use(**env: str) -> None:
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        get_settings.cache_clear()
    yield use
    get_settings.cache_clear()


@pytest.mark.parametrize("env", [{"DATABASE_URL": "sqlite:///:memory:"},
                                 {"DATABASE_URL": "mysql://db/sscmatch"},
                                 {"PLAN_TIME_LIMIT_S": "soon"}])
def test_rank_needs_no_usable_service_settings(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], unusable_settings: Any,
        env: dict[str, str]) -> None:
    # rank uses no database: another tool's environment (a DATABASE_URL for something else)
    # must not stop it, with --out or on standard output.
    path = _items(tmp_path, [NEED, OFFER])
    unusable_settings(**env)
    out_file = tmp_path / "ranked.json"

    assert run(capsys, "rank", "--items", str(path), "--quiet", "--out", str(out_file))[0] == 0
    status, out, err = run(capsys, "rank", "--items", str(path), "--quiet")

    assert (status, err) == (0, "")
    assert json.loads(out) == json.loads(out_file.read_text(encoding="utf-8"))
    assert [m["offer_id"] for m in json.loads(out)["n1"]] == ["o1"]


def test_rank_still_refuses_the_database_file_when_other_settings_are_unusable(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], unusable_settings: Any) -> None:
    database = tmp_path / "keep.db"
    database.write_bytes(b"stored data")
    unusable_settings(DATABASE_URL=f"sqlite:///{database}", PLAN_TIME_LIMIT_S="soon")

    status, out, err = run(capsys, "rank", "--items", str(_items(tmp_path, [NEED, OFFER])),
                           "--quiet", "--out", str(database))

    assert (status, out) == (1, "")
    assert err.startswith(f"error: {database}: is ")
    assert database.read_bytes() == b"stored data"


def test_rank_refuses_null_capacity_of_an_offer_naming_item_and_field(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _items(tmp_path, [NEED, OFFER | {"capacity": None}])

    status, out, err = run(capsys, "rank", "--items", str(path), "--quiet")

    assert (status, out) == (1, "")
    assert err == (f"error: {path}: 1 invalid item(s):\n  item 1 (id 'o1'): field 'capacity': "
                   "Value error, a whole number of partners from 1 to 1000, not null; leave "
                   "the key out when the capacity is unstated\n")


def test_rank_takes_null_capacity_of_a_need_which_has_none(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # A table of offers and needs exported as JSON gives needs an empty capacity: null.
    path = _items(tmp_path, [NEED | {"capacity": None}, OFFER])

    status, out, err = run(capsys, "rank", "--items", str(path), "--quiet")

    assert status == 0, err
    assert [r["offer_id"] for r in json.loads(out)["n1"]] == ["o1"]


def test_rank_help_gives_the_default_of_top(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        run(capsys, "rank", "--help")

    out = " ".join(capsys.readouterr().out.split())
    assert stopped.value.code == 0
    assert "offers to keep per need (K, 1 to 1,000,000; default: 10)" in out


def test_rank_reads_a_language_code_in_capitals_as_the_api_does(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """"FR" is French, as in the API and the forms; it was refused with a bare pattern."""
    rankings = []
    for need in (NEED, NEED | {"language": "FR"}):
        code, out, err = run(capsys, "rank", "--items", str(_items(tmp_path, [need, OFFER])),
                             "--quiet")
        assert code == 0, err
        rankings.append(json.loads(out))

    assert rankings[1] == rankings[0]
    assert [r["offer_id"] for r in rankings[0]["n1"]] == ["o1"]


@pytest.mark.parametrize(("field", "value", "message"), [
    ("title", "   ", "Text should have at least 1 characters, not 0"),
    ("title", "x" * 1001, "Text should have at most 1000 characters, not 1001"),
    ("target_population", "y" * 1001, "Text should have at most 1000 characters, not 1001"),
])
def test_rank_says_a_text_too_short_or_too_long_in_characters(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], field: str, value: str,
        message: str) -> None:
    """A blank title was "Value should have at least 1 item after validation": pydantic's
    words for a bound checked after the text's validators, which the API rewords."""
    path = _items(tmp_path, [NEED, OFFER | {field: value}])

    status, out, err = run(capsys, "rank", "--items", str(path), "--quiet")

    assert (status, out) == (1, "")
    assert err == (f"error: {path}: 1 invalid item(s):\n"
                   f"  item 1 (id 'o1'): field '{field}': {message}\n")


@pytest.mark.parametrize("capacity", ["2", "1_0", " 3 ", "2.0"])
def test_rank_reads_no_capacity_from_a_text(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], capacity: str) -> None:
    """A capacity written as text was read as a number ("1_0" as 10), where the API refuses
    any text: a column of the wrong type, not a count of partners."""
    path = _items(tmp_path, [NEED, OFFER | {"capacity": capacity}])

    status, out, err = run(capsys, "rank", "--items", str(path), "--quiet")

    assert (status, out) == (1, "")
    assert err == (f"error: {path}: 1 invalid item(s):\n  item 1 (id 'o1'): field 'capacity': "
                   f"Value error, a whole number of partners, not the text {capacity!r}\n")


def test_rank_reads_a_whole_capacity_written_with_a_decimal_point(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # A table exporter writes a column of numbers with empty cells (the needs') as 2.0.
    code, out, err = run(capsys, "rank", "--items",
                         str(_items(tmp_path, [NEED, OFFER | {"capacity": 2.0}])), "--quiet")

    assert code == 0, err
    assert [r["offer_id"] for r in json.loads(out)["n1"]] == ["o1"]


def test_rank_names_a_duplicate_id_even_when_its_first_item_is_invalid(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Every problem of the file in one run: the duplicate was reported only once the first
    item was corrected, and did not say which item held the id first."""
    path = _items(tmp_path, [NEED, OFFER | {"title": " "}, OFFER, NEED | {"id": "o1"}])

    status, out, err = run(capsys, "rank", "--items", str(path), "--quiet")

    assert (status, out) == (1, "")
    assert err == (f"error: {path}: 3 invalid item(s):\n"
                   "  item 1 (id 'o1'): field 'title': Text should have at least 1 characters, "
                   "not 0\n"
                   "  item 2 (id 'o1'): duplicate id (item 1 has it too)\n"
                   "  item 3 (id 'o1'): duplicate id (item 1 has it too)\n")
