"""Reference data through the API: ISO 3166-1 countries, the Regional Initiative's members,
regional groupings and accelerator factors; admins add factors and groupings."""

from __future__ import annotations

from typing import Any

import pycountry
import pytest
from fastapi.testclient import TestClient

from tests.conftest import KeyMaker, bearer
from tests.factories import API, assert_problem, create_offer

MEMBERS = {
    "ARG", "BHS", "BRB", "BLZ", "BOL", "BRA", "CHL", "COL", "CRI", "DOM", "ECU", "SLV", "GTM",
    "GUY", "HTI", "HND", "JAM", "MEX", "NIC", "PAN", "PRY", "PER", "TTO", "URY", "VEN", "GRD",
}
FACTOR_CODES = ["indigenous", "education", "agriculture", "value_chains", "migration",
                "youth_employment", "decentralisation", "ict"]


@pytest.fixture
def reader(make_key: KeyMaker) -> str:
    return make_key("country", "CHL")


@pytest.fixture
def admin(make_key: KeyMaker) -> str:
    return make_key("admin")


def _get(client: TestClient, key: str, path: str, **params: Any) -> Any:
    response = client.get(API + path, params=params, headers=bearer(key))
    assert response.status_code == 200, response.text
    return response.json()


def test_list_countries_returns_every_iso_3166_country(
    app_client: TestClient, reader: str
) -> None:
    countries = _get(app_client, reader, "/countries")

    assert len(countries) == 249
    assert {c["iso3"] for c in countries} == {c.alpha_3 for c in pycountry.countries}
    assert [c["iso3"] for c in countries] == sorted(c["iso3"] for c in countries)


def test_list_countries_flags_the_26_members_and_enables_them(
    app_client: TestClient, reader: str
) -> None:
    countries = _get(app_client, reader, "/countries")

    assert {c["iso3"] for c in countries if c["is_member"]} == MEMBERS
    assert {c["iso3"] for c in countries if c["enabled"]} == MEMBERS


@pytest.mark.parametrize(("params", "expected"), [
    ({"member": "true"}, MEMBERS),
    ({"grouping": "CAN"}, {"BOL", "COL", "ECU", "PER"}),
    ({"grouping": "mercosur"}, {"ARG", "BRA", "PRY", "URY", "BOL"}),
    ({"q": "urug"}, {"URY"}),
    ({"member": "true", "q": "guay"}, {"PRY", "URY"}),
], ids=lambda value: str(sorted(value) if isinstance(value, (set, frozenset)) else value))
def test_list_countries_with_filter_returns_matching(
    app_client: TestClient, reader: str, params: dict[str, str], expected: set[str]
) -> None:
    countries = _get(app_client, reader, "/countries", **params)

    assert {c["iso3"] for c in countries} == expected


def test_get_brazil_returns_portuguese_only(app_client: TestClient, reader: str) -> None:
    country = _get(app_client, reader, "/countries/BRA")

    assert country["languages"] == ["pt"]
    assert country["name"] == "Brazil"
    assert country["iso2"] == "BR"


@pytest.mark.parametrize(("iso3", "language", "grouping"), [
    ("BRA", "pt", "MERCOSUR"),
    ("bra", "pt", "MERCOSUR"),
    ("ARG", "es", "MERCOSUR"),
    ("JAM", "en", "CARICOM"),
    ("HTI", "fr", "CARICOM"),
    ("PER", "es", "CAN"),
    ("GTM", "es", "SICA"),
])
def test_get_member_country_returns_language_and_grouping(
    app_client: TestClient, reader: str, iso3: str, language: str, grouping: str
) -> None:
    country = _get(app_client, reader, f"/countries/{iso3}")

    assert country["iso3"] == iso3.upper()
    assert country["is_member"] is True
    assert language in country["languages"]
    assert grouping in {g["code"] for g in country["groupings"]}


@pytest.mark.parametrize("iso3", ["XXX", "ZZ", "ABCD"])
def test_get_unknown_country_returns_404(app_client: TestClient, reader: str, iso3: str) -> None:
    assert_problem(app_client.get(f"{API}/countries/{iso3}", headers=bearer(reader)), 404)


@pytest.mark.parametrize(("code", "members"), [
    ("MERCOSUR", {"ARG", "BRA", "PRY", "URY"}),
    ("SICA", {"BLZ", "CRI", "SLV", "GTM", "HND", "NIC", "PAN"}),
    ("CARICOM", {"BHS", "BRB", "BLZ", "GRD", "GUY", "HTI", "JAM", "TTO"}),
    ("CAN", {"BOL", "COL", "ECU", "PER"}),
])
def test_list_groupings_includes_regional_grouping_with_members(
    app_client: TestClient, reader: str, code: str, members: set[str]
) -> None:
    groupings = {g["code"]: g for g in _get(app_client, reader, "/groupings")}

    assert code in groupings
    assert members <= set(groupings[code]["members"])
    assert groupings[code]["name"]


def test_list_factors_returns_eight_codes_in_order_with_four_languages(
    app_client: TestClient, reader: str
) -> None:
    factors = _get(app_client, reader, "/factors")

    assert [f["code"] for f in factors] == FACTOR_CODES
    for factor in factors:
        assert set(factor["labels"]) == {"es", "pt", "en", "fr"}
        assert all(label.strip() for label in factor["labels"].values())
        assert set(factor["descriptions"]) >= {"es", "pt", "en", "fr"}
    assert factors[1]["labels"] == {"es": "Educación", "pt": "Educação", "en": "Education",
                                    "fr": "Éducation"}


NEW_FACTOR = {"code": "child_care", "labels": {"es": "Cuidado infantil", "pt": "Cuidado infantil",
                                               "en": "Child care", "fr": "Garde d'enfants"},
              "descriptions": {"en": "Care services so that parents work and children learn."}}


def test_create_factor_by_admin_appends_it_to_the_list(
    app_client: TestClient, reader: str, admin: str
) -> None:
    response = app_client.post(f"{API}/factors", json=NEW_FACTOR, headers=bearer(admin))

    assert response.status_code == 201, response.text
    factors = _get(app_client, reader, "/factors")
    assert [f["code"] for f in factors] == [*FACTOR_CODES, "child_care"]
    assert factors[-1]["labels"] == NEW_FACTOR["labels"]


def test_create_offer_for_new_factor_succeeds(
    app_client: TestClient, reader: str, admin: str
) -> None:
    app_client.post(f"{API}/factors", json=NEW_FACTOR, headers=bearer(admin))

    offer = create_offer(app_client, reader, factor="child_care")

    assert offer["factor"] == "child_care"


def test_update_factor_label_keeps_other_labels(
    app_client: TestClient, reader: str, admin: str
) -> None:
    response = app_client.patch(f"{API}/factors/education", json={"labels": {"en": "Schooling"}},
                                headers=bearer(admin))

    assert response.status_code == 200
    education = next(f for f in _get(app_client, reader, "/factors")
                     if f["code"] == "education")
    assert education["labels"] == {"es": "Educación", "pt": "Educação", "en": "Schooling",
                                   "fr": "Éducation"}


@pytest.mark.parametrize(("method", "path", "body", "status"), [
    ("POST", "/factors", {**NEW_FACTOR, "code": "education"}, 409),
    ("POST", "/factors", {**NEW_FACTOR, "code": "Child Care"}, 422),
    ("POST", "/factors", {**NEW_FACTOR, "labels": {}}, 422),
    ("POST", "/factors", {**NEW_FACTOR, "labels": {"english": "Child care"}}, 422),
    ("POST", "/factors", {**NEW_FACTOR, "position": -1}, 422),
    ("PATCH", "/factors/tourism", {"labels": {"en": "Tourism"}}, 404),
    ("PATCH", "/factors/education", {"code": "schooling"}, 422),
    ("PATCH", "/factors/education", {"labels": {"en": "Bad\u0007label"}}, 422),
    ("POST", "/factors", {**NEW_FACTOR, "labels": {"es": ""}}, 422),
    ("POST", "/factors", {**NEW_FACTOR, "labels": {"es": "x" * 201}}, 422),
    ("POST", "/factors", {**NEW_FACTOR, "labels": {"xx": "Cuidado infantil"}}, 422),
    ("POST", "/factors", {**NEW_FACTOR, "descriptions": {"zz": "Cuidado"}}, 422),
    ("PATCH", "/factors/education", {"labels": {"es": ""}}, 422),
    ("POST", "/factors", {**NEW_FACTOR, "descriptions": {"es": ""}}, 422),
    ("PATCH", "/factors/education", {"descriptions": {"es": ""}}, 422),
    ("PATCH", "/factors/education", {"descriptions": {"en": " \n "}}, 422),
    ("PATCH", "/factors/education", {"descriptions": {"en": "..."}}, 422),
    ("POST", "/factors", {**NEW_FACTOR, "labels": {"en": "Child care", "EN": "CHILD CARE"}},
     422),
    ("PATCH", "/factors/education", {"labels": {"en": "Schooling", "EN": "SCHOOLING"}}, 422),
    ("PATCH", "/factors/education", {"descriptions": {"fr": "Texte", "FR": None}}, 422),
], ids=str)
def test_change_factors_with_bad_input_returns_problem_and_changes_nothing(
    app_client: TestClient, reader: str, admin: str, method: str, path: str,
    body: dict[str, Any], status: int,
) -> None:
    before = _get(app_client, reader, "/factors")

    response = app_client.request(method, API + path, json=body, headers=bearer(admin))

    assert_problem(response, status)
    assert _get(app_client, reader, "/factors") == before


NEW_GROUPING = {"code": "CPLP", "name": "Community of Portuguese Language Countries",
                "kind": "interregional", "members": ["BRA", "MOZ", "AGO", "PRT"]}


def test_create_grouping_by_admin_lists_it_with_members(
    app_client: TestClient, reader: str, admin: str
) -> None:
    response = app_client.post(f"{API}/groupings", json=NEW_GROUPING, headers=bearer(admin))

    assert response.status_code == 201, response.text
    groupings = {g["code"]: g for g in _get(app_client, reader, "/groupings")}
    assert set(groupings["CPLP"]["members"]) == {"BRA", "MOZ", "AGO", "PRT"}
    assert groupings["CPLP"]["kind"] == "interregional"
    moz = _get(app_client, reader, "/countries/MOZ")
    assert [g["code"] for g in moz["groupings"]] == ["CPLP"]


def test_create_grouping_with_lower_case_code_stores_it_in_upper_case(
    app_client: TestClient, reader: str, admin: str
) -> None:
    response = app_client.post(f"{API}/groupings", json={**NEW_GROUPING, "code": "cplp"},
                               headers=bearer(admin))

    assert response.status_code == 201, response.text
    assert response.json()["code"] == "CPLP"
    found = _get(app_client, reader, "/countries", grouping="Cplp")
    assert [c["iso3"] for c in found] == ["AGO", "BRA", "MOZ", "PRT"]


@pytest.mark.parametrize(("body", "status"), [
    ({**NEW_GROUPING, "code": "MERCOSUR"}, 409),
    ({**NEW_GROUPING, "members": ["BRA", "XXX"]}, 422),
    ({**NEW_GROUPING, "code": "Mercosur"}, 409),
    ({**NEW_GROUPING, "code": "cp-lp"}, 422),
    ({**NEW_GROUPING, "kind": "galactic"}, 422),
    ({**NEW_GROUPING, "name": ""}, 422),
], ids=str)
def test_create_grouping_with_bad_input_returns_problem_and_changes_nothing(
    app_client: TestClient, reader: str, admin: str, body: dict[str, Any], status: int
) -> None:
    before = _get(app_client, reader, "/groupings")

    response = app_client.post(f"{API}/groupings", json=body, headers=bearer(admin))

    assert_problem(response, status)
    assert _get(app_client, reader, "/groupings") == before


def test_update_country_enables_it_and_sets_groupings(
    app_client: TestClient, reader: str, admin: str
) -> None:
    response = app_client.patch(f"{API}/countries/ZAF",
                                json={"enabled": True, "groupings": ["OECS"]},
                                headers=bearer(admin))

    assert response.status_code == 200, response.text
    country = _get(app_client, reader, "/countries/ZAF")
    assert country["enabled"] is True
    assert country["is_member"] is False
    assert [g["code"] for g in country["groupings"]] == ["OECS"]


@pytest.mark.parametrize(("path", "body", "status"), [
    ("/countries/CHL", {"groupings": ["NOPE"]}, 422),
    ("/countries/CHL", {"groupings": ["CAN\u0000"]}, 422),
    ("/countries/CHL", {"enabled": "maybe"}, 422),
    ("/countries/CHL", {"iso3": "CHI"}, 422),
    ("/countries/CHL", {"languages": ["spanish"]}, 422),
    ("/countries/CHL", {"languages": ["xx", "zz"]}, 422),
    ("/countries/CHL", {"languages": []}, 422),
    ("/countries/XXX", {"enabled": True}, 404),
], ids=str)
def test_update_country_with_bad_input_returns_problem_and_changes_nothing(
    app_client: TestClient, reader: str, admin: str, path: str, body: dict[str, Any],
    status: int,
) -> None:
    before = _get(app_client, reader, "/countries")

    response = app_client.patch(API + path, json=body, headers=bearer(admin))

    assert_problem(response, status)
    assert _get(app_client, reader, "/countries") == before


@pytest.mark.parametrize(("method", "path", "body", "field"), [
    ("POST", "/groupings", {**NEW_GROUPING, "members": ["BRA", "XXX"]}, "members"),
    ("PATCH", "/countries/CHL", {"groupings": ["NOPE"]}, "groupings"),
    ("PATCH", "/countries/CHL", {"languages": ["es", "xx"]}, "languages.1"),
], ids=str)
def test_unknown_codes_in_reference_data_are_named_with_their_field(
    app_client: TestClient, admin: str, method: str, path: str, body: dict[str, Any],
    field: str,
) -> None:
    response = app_client.request(method, API + path, json=body, headers=bearer(admin))

    assert_problem(response, 422, field)


@pytest.mark.parametrize("path", ["/factors/EDUCATION", "/factors/Education"])
def test_update_factor_by_code_in_any_letter_case_changes_it(
    app_client: TestClient, reader: str, admin: str, path: str
) -> None:
    response = app_client.patch(API + path, json={"labels": {"en": "Schooling"}},
                                headers=bearer(admin))

    assert response.status_code == 200, response.text
    assert response.json()["code"] == "education"
    education = next(f for f in _get(app_client, reader, "/factors")
                     if f["code"] == "education")
    assert education["labels"]["en"] == "Schooling"


# Python's str.upper() maps letters outside ASCII onto ASCII ones: dotless 'ı' to 'I', long
# 'ſ' to 'S'; neither is a code's letter ('ıta' is not ITA, nor 'ſur' SUR).
@pytest.mark.parametrize("iso3", ["\u0131ta", "\u017fur", "\u0131nd"])
def test_country_code_with_a_letter_outside_ascii_is_not_found(
    app_client: TestClient, reader: str, admin: str, iso3: str
) -> None:
    before = _get(app_client, reader, "/countries")

    got = app_client.get(f"{API}/countries/{iso3}", headers=bearer(reader))
    patched = app_client.patch(f"{API}/countries/{iso3}", json={"enabled": True},
                               headers=bearer(admin))

    assert_problem(got, 404)
    assert_problem(patched, 404)
    assert _get(app_client, reader, "/countries") == before


def test_factor_code_with_a_letter_outside_ascii_is_not_found(
    app_client: TestClient, reader: str, admin: str
) -> None:
    created = app_client.post(f"{API}/factors", json={"code": "kinship",
                                                      "labels": {"en": "Kinship"}},
                              headers=bearer(admin))
    assert created.status_code == 201, created.text
    before = _get(app_client, reader, "/factors")

    # The Kelvin sign (U+212A) lower-cases to an ASCII 'k'; it is not the factor's letter.
    response = app_client.patch(f"{API}/factors/\u212aINSHIP", json={"position": 1},
                                headers=bearer(admin))

    assert_problem(response, 404)
    assert _get(app_client, reader, "/factors") == before


@pytest.mark.parametrize("grouping", ["MERCO\u017fUR", "MERCOSUL", "SICAA", "-"])
def test_list_countries_by_unknown_grouping_is_422_naming_it_and_the_known_codes(
    app_client: TestClient, reader: str, grouping: str
) -> None:
    response = app_client.get(f"{API}/countries", params={"grouping": grouping},
                              headers=bearer(reader))

    problem = assert_problem(response, 422)
    assert grouping in problem["detail"]
    assert "MERCOSUR" in problem["detail"]
    assert problem["errors"][0]["field"] == "grouping"


def test_list_countries_by_a_new_grouping_without_members_is_empty(
    app_client: TestClient, reader: str, admin: str
) -> None:
    created = app_client.post(f"{API}/groupings", json={"code": "NEWG", "name": "New one"},
                              headers=bearer(admin))
    assert created.status_code == 201, created.text

    assert _get(app_client, reader, "/countries", grouping="newg") == []


def test_update_country_groupings_answers_them_as_a_get_lists_them(
    app_client: TestClient, reader: str, admin: str
) -> None:
    response = app_client.patch(f"{API}/countries/CHL",
                                json={"groupings": ["OECS", "MERCOSUR", "CAN", "SICA"]},
                                headers=bearer(admin))

    assert response.status_code == 200, response.text
    assert response.json() == _get(app_client, reader, "/countries/CHL")
    assert [g["code"] for g in response.json()["groupings"]] == ["CAN", "MERCOSUR", "OECS",
                                                                 "SICA"]
