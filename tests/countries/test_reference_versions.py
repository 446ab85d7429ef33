"""Versions of countries and factors: a GET answers the ETag, an admin's PATCH honours
`If-Match` (a stale one is a 412 that changes nothing), as on offers, needs and tables."""

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


@pytest.mark.parametrize("path", ["/countries/CHL", "/countries/hti", "/factors/Education"])
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
