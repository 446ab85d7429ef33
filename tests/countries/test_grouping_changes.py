"""Admins rename a regional grouping, change its kind or replace its members, and delete one
without members; one with members is a 409 naming them, since scores read memberships."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from service import revisions
from tests.conftest import KeyMaker, bearer
from tests.factories import API, assert_problem

CAN = {"BOL", "COL", "ECU", "PER"}


@pytest.fixture
def admin(make_key: KeyMaker) -> str:
    return make_key("admin")


def _groupings(client: TestClient, key: str) -> dict[str, dict[str, Any]]:
    response = client.get(f"{API}/groupings", headers=bearer(key))
    assert response.status_code == 200, response.text
    return {g["code"]: g for g in response.json()}


def _new(client: TestClient, key: str, members: list[str]) -> None:
    body = {"code": "NEWG", "name": "New grouping", "members": members}
    assert client.post(f"{API}/groupings", json=body, headers=bearer(key)).status_code == 201


def test_get_grouping_reads_one_by_code_in_any_letter_case_and_404_names_an_unknown(
    app_client: TestClient, admin: str
) -> None:
    response = app_client.get(f"{API}/groupings/can", headers=bearer(admin))

    assert response.status_code == 200, response.text
    assert response.json() == _groupings(app_client, admin)["CAN"]
    assert set(response.json()["members"]) == CAN
    missing = app_client.get(f"{API}/groupings/nope", headers=bearer(admin))
    assert "NOPE" in assert_problem(missing, 404)["detail"]


def test_update_grouping_renames_it_by_code_in_any_letter_case(
    app_client: TestClient, admin: str
) -> None:
    response = app_client.patch(f"{API}/groupings/can", json={"name": "Comunidad Andina",
                                                             "kind": "other"},
                                headers=bearer(admin))

    assert response.status_code == 200, response.text
    can = _groupings(app_client, admin)["CAN"]
    assert (can["name"], can["kind"], set(can["members"])) == ("Comunidad Andina", "other", CAN)
    assert response.json() == can


def test_update_grouping_members_replaces_them_for_the_countries_too(
    app_client: TestClient, admin: str, session: Session
) -> None:
    before = revisions.read(session, "reference")

    response = app_client.patch(f"{API}/groupings/CAN", json={"members": ["chl", "PER"]},
                                headers=bearer(admin))

    assert response.status_code == 200, response.text
    assert response.json()["members"] == ["CHL", "PER"]
    found = app_client.get(f"{API}/countries", params={"grouping": "CAN"}, headers=bearer(admin))
    assert [c["iso3"] for c in found.json()] == ["CHL", "PER"]
    bol = app_client.get(f"{API}/countries/BOL", headers=bearer(admin)).json()
    assert "CAN" not in {g["code"] for g in bol["groupings"]}
    assert revisions.read(session, "reference") > before


@pytest.mark.parametrize(("body", "field"), [
    ({"name": None}, "name"),
    ({"members": None}, "members"),
    ({"name": ""}, "name"),
    ({"kind": "galactic"}, "kind"),
    ({"members": ["BOL", "XXX"]}, "members"),
    ({"members": ["BO"]}, "members.0"),
    ({"code": "ANDES"}, "code"),
], ids=str)
def test_update_grouping_with_bad_input_returns_422_and_changes_nothing(
    app_client: TestClient, admin: str, body: dict[str, Any], field: str
) -> None:
    before = _groupings(app_client, admin)

    response = app_client.patch(f"{API}/groupings/CAN", json=body, headers=bearer(admin))

    assert_problem(response, 422, field)
    assert _groupings(app_client, admin) == before


@pytest.mark.parametrize("method", ["PATCH", "DELETE"])
def test_change_unknown_grouping_returns_404(
    app_client: TestClient, admin: str, method: str
) -> None:
    response = app_client.request(method, f"{API}/groupings/NOPE", json={"name": "Nope"},
                                  headers=bearer(admin))

    assert_problem(response, 404)


@pytest.mark.parametrize(("method", "role", "country"), [
    ("PATCH", "organizer", None), ("DELETE", "organizer", None), ("PATCH", "country", "PER"),
    ("DELETE", "country", "PER"),
])
def test_change_grouping_without_admin_key_returns_403_and_changes_nothing(
    app_client: TestClient, make_key: KeyMaker, admin: str, method: str, role: str,
    country: str | None
) -> None:
    _new(app_client, admin, [])
    before = _groupings(app_client, admin)

    response = app_client.request(method, f"{API}/groupings/NEWG", json={"name": "Taken"},
                                  headers=bearer(make_key(role, country)))

    assert_problem(response, 403)
    assert _groupings(app_client, admin) == before


def test_delete_grouping_with_members_returns_409_naming_them_and_keeps_it(
    app_client: TestClient, admin: str
) -> None:
    before = _groupings(app_client, admin)

    response = app_client.delete(f"{API}/groupings/can", headers=bearer(admin))

    problem = assert_problem(response, 409)
    assert problem["members"] == sorted(CAN)
    assert all(iso3 in problem["detail"] for iso3 in CAN)
    assert _groupings(app_client, admin) == before


def test_delete_grouping_without_members_removes_it(app_client: TestClient, admin: str) -> None:
    _new(app_client, admin, [])

    response = app_client.delete(f"{API}/groupings/newg", headers=bearer(admin))

    assert response.status_code == 204, response.text
    assert response.content == b""
    assert "NEWG" not in _groupings(app_client, admin)
    assert_problem(app_client.delete(f"{API}/groupings/NEWG", headers=bearer(admin)), 404)
    listed = app_client.get(f"{API}/countries", params={"grouping": "NEWG"},
                            headers=bearer(admin))
    assert_problem(listed, 422, "grouping")


def test_delete_grouping_emptied_first_leaves_its_former_members_without_it(
    app_client: TestClient, admin: str
) -> None:
    _new(app_client, admin, ["MOZ"])
    emptied = app_client.patch(f"{API}/groupings/NEWG", json={"members": []},
                               headers=bearer(admin))
    assert emptied.status_code == 200, emptied.text

    response = app_client.delete(f"{API}/groupings/NEWG", headers=bearer(admin))

    assert response.status_code == 204, response.text
    moz = app_client.get(f"{API}/countries/MOZ", headers=bearer(admin)).json()
    assert moz["groupings"] == []
