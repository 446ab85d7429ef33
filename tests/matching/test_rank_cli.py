"""`sscmatch rank`: ranking from a JSON file, without a database."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from service.cli import main

ITEMS: list[dict[str, Any]] = [
    {"id": "n1", "kind": "need", "country": "HTI", "factor": "education", "language": "fr",
     "modality": "technical_assistance",
     "title": "Alerte précoce contre l'abandon scolaire des enfants qui travaillent",
     "description": "Repérer à temps les enfants qui quittent l'école pour travailler."},
    {"id": "o1", "kind": "offer", "country": "CHL", "factor": "education", "language": "es",
     "modality": "technical_assistance", "capacity": 2,
     "title": "Alerta temprana de deserción escolar por trabajo infantil",
     "description": "Detectar a tiempo a los niños que dejan la escuela para trabajar."},
    {"id": "o2", "kind": "offer", "country": "MOZ", "factor": "agriculture", "language": "pt",
     "modality": "study_visit", "capacity": 1,
     "title": "Inspeção do trabalho nas plantações de tabaco",
     "description": "Equipes de inspeção visitam as plantações de tabaco na colheita."},
    {"id": "o3", "kind": "offer", "country": "HTI", "factor": "education", "language": "fr",
     "modality": "training", "title": "Formation des enseignants",
     "description": "Repérage des enfants absents de l'école pour travailler."},
]


def _write(tmp_path: Path, items: object) -> Path:
    path = tmp_path / "items.json"
    path.write_text(json.dumps(items, ensure_ascii=False), encoding="utf-8")
    return path


@pytest.mark.slow
def test_rank_writes_top_k_offers_of_other_countries(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "ranking.json"
    status = main(["rank", "--items", str(_write(tmp_path, ITEMS)), "--top", "2",
                   "--out", str(out)])
    assert status == 0
    ranking = json.loads(out.read_text(encoding="utf-8"))
    assert list(ranking) == ["n1"]
    ranked = ranking["n1"]
    assert [r["offer_id"] for r in ranked] == ["o1", "o2"]
    assert all(0 <= r["score"] <= 1 for r in ranked)
    assert set(ranked[0]["components"]) >= {"text", "factor", "language"}
    assert "encoding" in capsys.readouterr().err


@pytest.mark.parametrize(("items", "message"), [
    ("not a list", "expected a JSON list"),
    ([{"id": "x", "kind": "need"}], "item 0 (id 'x'): field 'country'"),
    ([ITEMS[0] | {"country": "XYZ"}], "'XYZ' is not an ISO 3166-1 alpha-3 country code"),
    ([ITEMS[0] | {"kind": "wish"}], "field 'kind'"),
    ([ITEMS[0] | {"modality": "holiday"}], "field 'modality'"),
    ([ITEMS[0] | {"language": "xx"}], "field 'language': Value error, 'xx' is not an ISO 639-1"),
    ([ITEMS[0] | {"language": "french"}], "field 'language'"),
    ([ITEMS[0], ITEMS[0]], "duplicate id"),
    ([42], "item 0: expected an object"),
])
def test_rank_with_bad_file_names_item_and_field(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], items: object, message: str) -> None:
    status = main(["rank", "--items", str(_write(tmp_path, items)), "--top", "3"])
    assert status == 1
    assert message in capsys.readouterr().err


def test_rank_with_invalid_json_is_an_error(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.json"
    path.write_text("{not json", encoding="utf-8")
    assert main(["rank", "--items", str(path)]) == 1
    assert "not valid UTF-8 JSON" in capsys.readouterr().err


def test_rank_with_missing_file_is_an_error(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rank", "--items", str(tmp_path / "none.json")]) == 1
    assert "no such file" in capsys.readouterr().err


def test_rank_with_top_zero_is_a_usage_error(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["rank", "--items", str(_write(tmp_path, ITEMS)), "--top", "0"])
    assert exit_.value.code == 2
    assert "argument --top" in capsys.readouterr().err
