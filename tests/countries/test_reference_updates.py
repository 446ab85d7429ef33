"""Changes to reference data through the API: factor labels and descriptions only in the
service's working languages (es, pt, en, fr), removed with null while one label is left; a
null field of a PATCH is refused naming it, as on offers, needs and tables."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from models import Factor
from tests.conftest import KeyMaker, bearer
from tests.factories import API, assert_problem


@pytest.fixture
def admin(make_key: KeyMaker) -> str:
    return make_key("admin")


def _factor(client: TestClient, key: str, code: str) -> dict[str, Any]:
    response = client.get(f"{API}/factors", headers=bearer(key))
    assert response.status_code == 200, response.text
    factor: dict[str, Any] = next(f for f in response.json() if f["code"] == code)
    return factor


def _codes(client: TestClient, key: str) -> list[str]:
    return [f["code"] for f in client.get(f"{API}/factors", headers=bearer(key)).json()]


@pytest.mark.parametrize("labels", [
    {"de": "abc"},
    {"es": "Cuidado infantil", "de": "Kinderbetreuung"},
    {"qu": "Wawa qhaway"},
], ids=str)
def test_create_factor_with_label_outside_working_languages_returns_422(
    app_client: TestClient, admin: str, labels: dict[str, str]
) -> None:
    response = app_client.post(f"{API}/factors", json={"code": "only_de", "labels": labels},
                               headers=bearer(admin))

    problem = assert_problem(response, 422, "labels")
    assert "not a working language" in problem["errors"][0]["message"]
    assert "only_de" not in _codes(app_client, admin)


def test_create_factor_with_description_outside_working_languages_returns_422(
    app_client: TestClient, admin: str
) -> None:
    body = {"code": "child_care", "labels": {"en": "Child care"},
            "descriptions": {"de": "Betreuung"}}

    response = app_client.post(f"{API}/factors", json=body, headers=bearer(admin))

    assert_problem(response, 422, "descriptions")
    assert "child_care" not in _codes(app_client, admin)


def test_create_factor_with_one_working_language_label_succeeds(
    app_client: TestClient, admin: str
) -> None:
    body = {"code": "child_care", "labels": {"pt": "Cuidado infantil"}}

    response = app_client.post(f"{API}/factors", json=body, headers=bearer(admin))

    assert response.status_code == 201, response.text
    assert _factor(app_client, admin, "child_care")["labels"] == {"pt": "Cuidado infantil"}


def test_update_factor_with_label_outside_working_languages_returns_422_and_keeps_labels(
    app_client: TestClient, admin: str
) -> None:
    before = _factor(app_client, admin, "education")

    response = app_client.patch(f"{API}/factors/education", json={"labels": {"de": "Bildung"}},
                                headers=bearer(admin))

    assert_problem(response, 422, "labels")
    assert _factor(app_client, admin, "education") == before


def test_update_factor_with_null_label_removes_only_that_label(
    app_client: TestClient, admin: str
) -> None:
    response = app_client.patch(f"{API}/factors/education",
                                json={"labels": {"fr": None, "en": "Schooling"}},
                                headers=bearer(admin))

    assert response.status_code == 200, response.text
    assert response.json()["labels"] == {"es": "Educación", "pt": "Educação", "en": "Schooling"}
    assert _factor(app_client, admin, "education")["labels"] == response.json()["labels"]


def test_update_factor_with_null_label_removes_a_stray_language(
    app_client: TestClient, admin: str, session: Session
) -> None:
    factor = session.get(Factor, "education")
    assert factor is not None
    factor.labels = {**factor.labels, "de": "Bildung"}  # stored before labels were checked
    session.flush()

    response = app_client.patch(f"{API}/factors/education", json={"labels": {"de": None}},
                                headers=bearer(admin))

    assert response.status_code == 200, response.text
    assert set(_factor(app_client, admin, "education")["labels"]) == {"es", "pt", "en", "fr"}


def test_update_factor_with_null_description_removes_it(
    app_client: TestClient, admin: str
) -> None:
    response = app_client.patch(f"{API}/factors/education", json={"descriptions": {"pt": None}},
                                headers=bearer(admin))

    assert response.status_code == 200, response.text
    assert set(_factor(app_client, admin, "education")["descriptions"]) == {"es", "en", "fr"}


@pytest.fixture
def child_care(app_client: TestClient, admin: str) -> None:
    """A factor with one label only (English)."""
    created = app_client.post(f"{API}/factors", headers=bearer(admin),
                              json={"code": "child_care", "labels": {"en": "Care"}})
    assert created.status_code == 201, created.text


@pytest.mark.usefixtures("child_care")
def test_update_factor_removing_its_last_label_returns_422_and_keeps_it(
    app_client: TestClient, admin: str
) -> None:
    response = app_client.patch(f"{API}/factors/child_care",
                                json={"labels": {"en": None, "es": None}},
                                headers=bearer(admin))

    assert_problem(response, 422, "labels")
    assert _factor(app_client, admin, "child_care")["labels"] == {"en": "Care"}


@pytest.mark.usefixtures("child_care")
def test_update_factor_replacing_every_label_at_once_succeeds(
    app_client: TestClient, admin: str
) -> None:
    response = app_client.patch(f"{API}/factors/child_care",
                                json={"labels": {"en": None, "es": "Cuidado"}},
                                headers=bearer(admin))

    assert response.status_code == 200, response.text
    assert response.json()["labels"] == {"es": "Cuidado"}


@pytest.mark.parametrize(("path", "field"), [
    ("/countries/URY", "enabled"),
    ("/countries/URY", "is_member"),
    ("/countries/URY", "languages"),
    ("/countries/URY", "groupings"),
    ("/factors/education", "labels"),
    ("/factors/education", "descriptions"),
    ("/factors/education", "position"),
], ids=str)
def test_update_with_null_field_returns_422_naming_it_and_changes_nothing(
    app_client: TestClient, admin: str, path: str, field: str
) -> None:
    before = app_client.get(API + path.rsplit("/", 1)[0], headers=bearer(admin)).json()

    response = app_client.patch(API + path, json={field: None}, headers=bearer(admin))

    problem = assert_problem(response, 422, field)
    assert field in problem["detail"]
    assert app_client.get(API + path.rsplit("/", 1)[0], headers=bearer(admin)).json() == before
