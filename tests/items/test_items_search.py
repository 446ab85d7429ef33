"""The `q` text filter of the offer and need lists: any letter case of a word finds it, accented
capitals included, on SQLite as on PostgreSQL; `q` is trimmed, and a blank one filters
nothing."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import KeyMaker, bearer
from tests.factories import API, KINDS, Kind, create_item, list_all


class Catalogue:
    """An organiser's key and a few needs with accented capitals, by title."""

    def __init__(self, client: TestClient, reader: str, ids: dict[str, int]) -> None:
        self.client = client
        self.reader = reader
        self.ids = ids

    def found(self, kind: Kind = "need", **params: Any) -> list[int]:
        return [item["id"] for item in list_all(self.client, self.reader, kind, **params)]


TITLES = {
    "french": "Éducation inclusive pour ÉLÈVES",
    "plain": "Eleves sans accents a l'ecole",
    "spanish": "Niñas y NIÑOS en la cosecha",
    "slash": "Alianza OIT/OIM 1/2 jornada",
}


@pytest.fixture
def catalogue(app_client: TestClient, make_key: KeyMaker) -> Catalogue:
    chile = make_key("country", "CHL")
    ids = {name: create_item(app_client, chile, "need", title=title, description="Texto.",
                             target_population="")["id"]
           for name, title in TITLES.items()}
    return Catalogue(app_client, make_key("organizer"), ids)


@pytest.mark.parametrize("q", ["Éducation", "éducation", "ÉDUCATION", "éDuCaTiOn", "élèves",
                               "Élèves", "ÉLÈVES", "INCLUSIVE POUR élèves", "ducation"])
def test_list_with_q_in_any_letter_case_finds_accented_capitals(catalogue: Catalogue,
                                                                 q: str) -> None:
    assert catalogue.found(q=q) == [catalogue.ids["french"]]


@pytest.mark.parametrize("q", ["niños", "NIÑOS", "Niñas", "NIÑAS Y niños", "COSECHA"])
def test_list_with_q_in_any_letter_case_finds_spanish_letters(catalogue: Catalogue,
                                                              q: str) -> None:
    assert catalogue.found(q=q) == [catalogue.ids["spanish"]]


@pytest.mark.parametrize(("q", "expected"), [
    ("eleves", ["plain"]),      # unaccented letters do not find accented ones, nor the reverse
    ("ÉLEVES", []),
    ("écol", []),
    ("ECOLE", ["plain"]),
])
def test_list_with_q_tells_accented_letters_from_plain_ones(catalogue: Catalogue, q: str,
                                                            expected: list[str]) -> None:
    assert catalogue.found(q=q) == [catalogue.ids[name] for name in expected]


@pytest.mark.parametrize(("q", "expected"), [
    ("OIT/OIM", ["slash"]),
    ("1/2", ["slash"]),
    ("/", ["slash"]),
    ("T/O", ["slash"]),
    ("1/%", []),                # `%`, `_` and `/` are literal characters, not wildcards
    ("ñ_s", []),
    ("Ñ%", []),
])
def test_list_with_q_takes_wildcard_characters_literally(catalogue: Catalogue, q: str,
                                                         expected: list[str]) -> None:
    assert catalogue.found(q=q) == [catalogue.ids[name] for name in expected]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("field", ["title", "description", "target_population"])
def test_list_with_q_finds_accented_capitals_in_every_text_field(
    app_client: TestClient, make_key: KeyMaker, kind: Kind, field: str
) -> None:
    chile = make_key("country", "CHL")
    create_item(app_client, chile, kind)
    item = create_item(app_client, chile, kind, **{field: "Programa ÉLÈVES ÀÇÃO ÅLAND"})

    for q in ("élèves", "àção", "åland", "Élèves Àção"):
        assert [i["id"] for i in list_all(app_client, chile, kind, q=q)] == [item["id"]], q


@pytest.mark.parametrize("q", [" élèves", "élèves ", "  ÉLÈVES\u00a0", "\u3000élèves"])
def test_list_with_q_padded_with_spaces_ignores_them(catalogue: Catalogue, q: str) -> None:
    assert catalogue.found(q=q) == [catalogue.ids["french"]]


def test_list_with_q_padded_with_spaces_finds_words_inside_text(catalogue: Catalogue) -> None:
    assert catalogue.found(q=" la cosecha ") == [catalogue.ids["spanish"]]


@pytest.mark.parametrize("q", [" ", "   ", "\u00a0", " \u3000 "])
def test_list_with_blank_q_is_not_filtered(catalogue: Catalogue, q: str) -> None:
    everything = catalogue.client.get(f"{API}/needs", headers=bearer(catalogue.reader)).json()

    response = catalogue.client.get(f"{API}/needs", params={"q": q},
                                    headers=bearer(catalogue.reader))

    assert response.status_code == 200, response.text
    assert response.json() == everything
    assert response.json()["total"] == len(TITLES)


@pytest.mark.parametrize(("factor", "language"), [("education", "es"), ("EDUCATION", "ES"),
                                                  ("Education", "Es")])
def test_list_with_factor_and_language_in_any_letter_case_filters_alike(
        catalogue: Catalogue, factor: str, language: str) -> None:
    everything = set(catalogue.ids.values())

    found = catalogue.found(factor=factor, language=language)

    assert set(found) == everything  # every need of the catalogue: education, in Spanish
