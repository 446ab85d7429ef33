"""Versions of countries, groupings and factors: a GET answers the ETag, an admin's PATCH
honours `If-Match` (a stale one is a 412 that changes nothing), as on offers, needs and
tables."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import KeyMaker, bearer
from tests.factories import API, assert_problem

# (path of one record, a change, another change)
RECORDS = [
    ("/countries/CHL", {"languages": ["es", "en"]}, {"is_member": False}),
    ("/countries/CHL", {"groupings": ["OECS"]}, {"enabled": False}),
    ("/factors/education", {"labels": {"en": "Schooling"}}, {"position": 42}),
    ("/groupings/MERCOSUR", {"name": "Mercado Común del Sur"}, {"kind": "other"}),
    ("/groupings/oecs", {"members": ["DMA", "LCA"]}, {"name": "OECS members"}),
]


@pytest.fixture
def admin(make_key: KeyMaker) -> str:
    return make_key("admin")


def _read(client: TestClient, key: str, path: str) -> tuple[str, dict[str, Any]]:
    response = client.get(API + path, headers=bearer(key))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return response.headers["ETag"], body


def _patch(client: TestClient, key: str, path: str, body: dict[str, Any],
           if_match: str | None = None) -> Any:
    headers = bearer(key) | ({"If-Match": if_match} if if_match is not None else {})
    return client.patch(API + path, json=body, headers=headers)


@pytest.mark.parametrize("path", ["/countries/CHL", "/countries/hti", "/factors/Education",
                                  "/groupings/can"])
def test_get_reference_record_answers_its_version_as_etag(
    app_client: TestClient, make_key: KeyMaker, path: str
) -> None:
    tag, body = _read(app_client, make_key("country", "HTI"), path)

    assert tag == f'"{body["version"]}"'


@pytest.mark.parametrize(("path", "change", "_other"), RECORDS, ids=str)
def test_update_reference_record_with_current_etag_bumps_the_version(
    app_client: TestClient, admin: str, path: str, change: dict[str, Any],
    _other: dict[str, Any]
) -> None:
    tag, before = _read(app_client, admin, path)

    response = _patch(app_client, admin, path, change, if_match=tag)

    assert response.status_code == 200, response.text
    assert response.json()["version"] == before["version"] + 1
    assert response.headers["ETag"] == f'"{before["version"] + 1}"'
    assert _read(app_client, admin, path)[0] == response.headers["ETag"]


@pytest.mark.parametrize(("path", "change", "other"), RECORDS, ids=str)
def test_update_reference_record_with_stale_etag_returns_412_and_changes_nothing(
    app_client: TestClient, admin: str, path: str, change: dict[str, Any],
    other: dict[str, Any]
) -> None:
    stale, _ = _read(app_client, admin, path)
    assert _patch(app_client, admin, path, other, if_match=stale).status_code == 200
    tag, current = _read(app_client, admin, path)

    response = _patch(app_client, admin, path, change, if_match=stale)

    problem = assert_problem(response, 412)
    assert "stale" in problem["detail"]
    assert _read(app_client, admin, path) == (tag, current)


@pytest.mark.parametrize(("path", "change", "_other"), RECORDS, ids=str)
def test_update_reference_record_with_malformed_if_match_returns_400_and_changes_nothing(
    app_client: TestClient, admin: str, path: str, change: dict[str, Any],
    _other: dict[str, Any]
) -> None:
    before = _read(app_client, admin, path)

    response = _patch(app_client, admin, path, change, if_match="1")

    assert_problem(response, 400, "If-Match")
    assert _read(app_client, admin, path) == before


@pytest.mark.parametrize(("path", "same"), [
    ("/countries/CHL", {"enabled": True, "languages": ["es"], "groupings": ["alianza_pacifico"]}),
    ("/factors/education", {"labels": {"en": "Education"}}),
    ("/groupings/CAN", {"kind": "regional", "members": ["PER", "BOL", "COL", "ECU"]}),
], ids=str)
def test_update_reference_record_changing_nothing_keeps_the_version(
    app_client: TestClient, admin: str, path: str, same: dict[str, Any]
) -> None:
    tag, _ = _read(app_client, admin, path)

    response = _patch(app_client, admin, path, same, if_match=tag)

    assert response.status_code == 200, response.text
    assert response.headers["ETag"] == tag


def test_get_unknown_factor_returns_404(app_client: TestClient, admin: str) -> None:
    assert_problem(app_client.get(f"{API}/factors/nope", headers=bearer(admin)), 404)


@pytest.mark.parametrize(("changed", "change", "other"), [
    ("/countries/CHL", {"groupings": ["ALIANZA_PACIFICO", "MERCOSUR"]}, "/groupings/MERCOSUR"),
    ("/countries/CHL", {"groupings": []}, "/groupings/ALIANZA_PACIFICO"),
    ("/groupings/MERCOSUR", {"members": ["ARG", "BRA", "CHL"]}, "/countries/CHL"),
    ("/groupings/MERCOSUR", {"members": ["ARG", "BRA"]}, "/countries/URY"),
], ids=str)
def test_a_change_of_memberships_moves_the_version_of_both_sides(
    app_client: TestClient, admin: str, changed: str, change: dict[str, Any], other: str
) -> None:
    """A country lists its groupings and a grouping its members: a membership added or
    removed from one side changes the other's answer, so its ETag moves too, and a PATCH of
    it with the ETag read before gets a 412 (the membership is not lost)."""
    stale, _ = _read(app_client, admin, other)
    assert _patch(app_client, admin, changed, change).status_code == 200

    tag, current = _read(app_client, admin, other)

    assert tag != stale
    body = {"name": "Renamed"} if other.startswith("/groupings") else {"is_member": False}
    assert_problem(_patch(app_client, admin, other, body, if_match=stale), 412)
    assert _read(app_client, admin, other) == (tag, current)


def test_a_new_grouping_moves_the_version_of_its_members(
    app_client: TestClient, admin: str
) -> None:
    stale, _ = _read(app_client, admin, "/countries/CHL")
    created = app_client.post(f"{API}/groupings", headers=bearer(admin), json={
        "code": "cono_sur", "name": "Cono Sur", "members": ["ARG", "CHL", "URY"]})
    assert created.status_code == 201, created.text

    assert created.json()["version"] == 1
    assert _read(app_client, admin, "/countries/CHL")[0] != stale


def test_delete_grouping_with_stale_etag_returns_412_and_deletes_nothing(
    app_client: TestClient, admin: str
) -> None:
    stale, _ = _read(app_client, admin, "/groupings/OECS")
    assert _patch(app_client, admin, "/groupings/OECS", {"members": []}).status_code == 200
    tag, current = _read(app_client, admin, "/groupings/OECS")

    response = app_client.delete(f"{API}/groupings/OECS",
                                 headers=bearer(admin) | {"If-Match": stale})

    assert_problem(response, 412)
    assert _read(app_client, admin, "/groupings/OECS") == (tag, current)
    deleted = app_client.delete(f"{API}/groupings/OECS", headers=bearer(admin) | {"If-Match": tag})
    assert deleted.status_code == 204


def test_a_country_change_naming_the_same_groupings_bumps_the_version(
    app_client: TestClient, admin: str
) -> None:
    # Reading the groupings named wrote the other change first: it was not seen as one.
    tag, before = _read(app_client, admin, "/countries/CHL")

    response = _patch(app_client, admin, "/countries/CHL",
                      {"is_member": False, "groupings": ["alianza_pacifico"]}, if_match=tag)

    assert response.status_code == 200, response.text
    assert response.json()["is_member"] is False
    assert response.json()["version"] == before["version"] + 1
