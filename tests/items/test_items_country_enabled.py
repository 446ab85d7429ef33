"""A country an admin disabled takes no new part: it can no more publish an offer or need
(a status change to `published`) than submit one, but it may still edit and withdraw what it
has."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import KeyMaker, bearer
from tests.factories import API, KINDS, Kind, assert_problem, create_item


class Haiti:
    """Haiti's key, an admin key and the client."""

    def __init__(self, client: TestClient, key: str, admin: str) -> None:
        self.client = client
        self.key = key
        self.admin = admin

    def create(self, kind: Kind, status: str) -> dict[str, Any]:
        return create_item(self.client, self.key, kind, country="HTI", language="fr",
                           status=status, title=f"Besoin haïtien ({status})")

    def enable(self, enabled: bool) -> None:
        response = self.client.patch(f"{API}/countries/HTI", json={"enabled": enabled},
                                     headers=bearer(self.admin))
        assert response.status_code == 200, response.text

    def patch(self, kind: Kind, item: dict[str, Any], body: dict[str, Any],
              key: str | None = None) -> Any:
        return self.client.patch(f"{API}/{kind}s/{item['id']}", json=body,
                                 headers=bearer(key or self.key))

    def read(self, kind: Kind, item: dict[str, Any]) -> dict[str, Any]:
        body: dict[str, Any] = self.client.get(f"{API}/{kind}s/{item['id']}",
                                               headers=bearer(self.admin)).json()
        return body


@pytest.fixture
def haiti(app_client: TestClient, make_key: KeyMaker) -> Haiti:
    return Haiti(app_client, make_key("country", "HTI"), make_key("admin"))


def _withdrawn(haiti: Haiti, kind: Kind) -> dict[str, Any]:
    item = haiti.create(kind, "published")
    response = haiti.client.delete(f"{API}/{kind}s/{item['id']}", headers=bearer(haiti.key))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.mark.parametrize("caller", ["country", "admin"])
@pytest.mark.parametrize("start", ["draft", "withdrawn"])
@pytest.mark.parametrize("kind", KINDS)
def test_publish_item_of_disabled_country_returns_422_and_changes_nothing(
    haiti: Haiti, kind: Kind, start: str, caller: str
) -> None:
    item = haiti.create(kind, "draft") if start == "draft" else _withdrawn(haiti, kind)
    haiti.enable(False)

    response = haiti.patch(kind, item, {"status": "published", "title": "Publié quand même"},
                           key=haiti.admin if caller == "admin" else None)

    problem = assert_problem(response, 422, "country")
    assert "not enabled" in problem["detail"]
    assert haiti.read(kind, item) == item


@pytest.mark.parametrize("kind", KINDS)
def test_publish_item_of_country_enabled_again_succeeds(haiti: Haiti, kind: Kind) -> None:
    item = haiti.create(kind, "draft")
    haiti.enable(False)
    haiti.enable(True)

    response = haiti.patch(kind, item, {"status": "published"})

    assert response.status_code == 200, response.text
    assert response.json()["status"] == "published"


@pytest.mark.parametrize(("start", "body"), [
    ("draft", {"title": "Brouillon corrigé"}),
    ("published", {"title": "Titre corrigé"}),
    ("published", {"status": "withdrawn"}),
    ("published", {"status": "draft"}),
    ("withdrawn", {"status": "draft"}),
], ids=str)
def test_other_changes_to_item_of_disabled_country_are_allowed(
    haiti: Haiti, start: str, body: dict[str, Any]
) -> None:
    item = _withdrawn(haiti, "need") if start == "withdrawn" else haiti.create("need", start)
    haiti.enable(False)

    response = haiti.patch("need", item, body)

    assert response.status_code == 200, response.text
    assert {k: response.json()[k] for k in body} == body


def test_withdraw_published_item_of_disabled_country_succeeds(haiti: Haiti) -> None:
    item = haiti.create("offer", "published")
    haiti.enable(False)

    response = haiti.client.delete(f"{API}/offers/{item['id']}", headers=bearer(haiti.key))

    assert response.status_code == 200, response.text
    assert response.json()["status"] == "withdrawn"


def test_resending_published_status_of_disabled_country_changes_nothing(haiti: Haiti) -> None:
    item = haiti.create("need", "published")
    haiti.enable(False)

    response = haiti.patch("need", item, {"status": "published"})

    assert response.status_code == 200, response.text
    assert response.json()["version"] == item["version"]
