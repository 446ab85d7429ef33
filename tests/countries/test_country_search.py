"""The `q` filter of the country list: any letter case of a name finds it, accented capitals
included, and accents are ignored on either side, on SQLite as on PostgreSQL; `q` is trimmed,
and a blank one filters nothing."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.conftest import KeyMaker, bearer
from tests.factories import API


def _iso3s(client: TestClient, key: str, **params: str) -> list[str]:
    response = client.get(f"{API}/countries", params=params, headers=bearer(key))
    assert response.status_code == 200, response.text
    return [c["iso3"] for c in response.json()]


@pytest.mark.parametrize(("q", "expected"), [
    ("åland", ["ALA", "NZL"]),  # accents ignored: New Zealand
    ("Åland", ["ALA", "NZL"]),
    ("ÅLAND ISLANDS", ["ALA"]),
    ("LAND ISL", ["ALA", "FLK"]),
    ("CÔTE D", ["CIV"]),
    ("curaçao", ["CUW"]),
    ("CURAÇAO", ["CUW"]),
    ("RÉUNION", ["REU"]),
    ("SAINT BARTHÉLEMY", ["BLM"]),
], ids=str)
def test_list_countries_with_q_in_any_letter_case_finds_accented_names(
    app_client: TestClient, make_key: KeyMaker, q: str, expected: list[str]
) -> None:
    assert _iso3s(app_client, make_key("country", "CHL"), q=q) == expected


@pytest.mark.parametrize("q", [" chile", "chile ", "  CHILE\u00a0"])
def test_list_countries_with_q_padded_with_spaces_ignores_them(
    app_client: TestClient, make_key: KeyMaker, q: str
) -> None:
    assert _iso3s(app_client, make_key("country", "CHL"), q=q) == ["CHL"]


@pytest.mark.parametrize("q", [" ", "   ", "\u00a0"])
def test_list_countries_with_blank_q_is_not_filtered(
    app_client: TestClient, make_key: KeyMaker, q: str
) -> None:
    key = make_key("country", "CHL")

    assert _iso3s(app_client, key, q=q) == _iso3s(app_client, key)


@pytest.mark.parametrize(("q", "expected"), [
    ("Perú", ["PER"]),
    ("PERÚ", ["PER"]),
    ("haïti", ["HTI"]),
    ("cote d'ivoire", ["CIV"]),
    ("COTE D", ["CIV"]),
    ("reunion", ["REU"]),
    ("curacao", ["CUW"]),
    ("turkiye", ["TUR"]),
    ("aland isl", ["ALA"]),
    ("Barthelemy", ["BLM"]),
    ("Re\u0301union", ["REU"]),
], ids=str)
def test_list_countries_with_q_ignores_accents_on_either_side(
    app_client: TestClient, make_key: KeyMaker, q: str, expected: list[str]
) -> None:
    assert _iso3s(app_client, make_key("country", "CHL"), q=q) == expected


@pytest.mark.parametrize("q", ["İ", "ı", "\u212a", "ß", "%", "_"])
def test_list_countries_with_q_of_a_special_letter_answers_a_list(
    app_client: TestClient, make_key: KeyMaker, q: str
) -> None:
    response = app_client.get(f"{API}/countries", params={"q": q},
                              headers=bearer(make_key("country", "CHL")))

    assert response.status_code == 200, response.text
    assert isinstance(response.json(), list)
