"""Who sees which offers and needs: published for everyone, drafts for their own country and
staff; another country's draft is indistinguishable from a missing id."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import KeyMaker, bearer
from tests.factories import API, KINDS, Kind, assert_problem, create_item, list_all

MISSING_ID = 987_654_321


@pytest.fixture
def bra_items(app_client: TestClient, make_key: KeyMaker) -> dict[str, dict[str, Any]]:
    """A published and a draft offer and need of Brazil."""
    key = make_key("country", "BRA")
    return {
        f"{kind}-{status}": create_item(app_client, key, kind, country="BRA", language="pt",
                                        status=status, title=f"Brasil {kind} {status}")
        for kind in KINDS for status in ("published", "draft")
    }




@pytest.mark.parametrize("kind", KINDS)
def test_get_other_country_draft_returns_same_404_as_missing_id(
    app_client: TestClient, make_key: KeyMaker, bra_items: dict[str, dict[str, Any]], kind: Kind
) -> None:
    other = make_key("country", "ARG")
    draft_id = bra_items[f"{kind}-draft"]["id"]

    hidden = app_client.get(f"{API}/{kind}s/{draft_id}", headers=bearer(other))
    missing = app_client.get(f"{API}/{kind}s/{MISSING_ID}", headers=bearer(other))

    assert_problem(hidden, 404)
    assert_problem(missing, 404)
    as_if_missing = json.loads(missing.text.replace(str(MISSING_ID), str(draft_id)))
    assert hidden.json() == as_if_missing
    assert hidden.headers["content-type"] == missing.headers["content-type"]


@pytest.mark.parametrize("method", ["PATCH", "DELETE"])
def test_change_other_country_draft_returns_404_not_403(
    app_client: TestClient, make_key: KeyMaker, bra_items: dict[str, dict[str, Any]],
    method: str,
) -> None:
    other = make_key("country", "ARG")
    draft = bra_items["offer-draft"]
    body = {"title": "Intento ajeno"} if method == "PATCH" else None

    response = app_client.request(method, f"{API}/offers/{draft['id']}", json=body,
                                  headers=bearer(other))

    assert_problem(response, 404)
    admin = make_key("admin")
    assert app_client.get(f"{API}/offers/{draft['id']}", headers=bearer(admin)).json() == draft


@pytest.mark.parametrize("kind", KINDS)
def test_list_by_other_country_shows_published_and_hides_drafts(
    app_client: TestClient, make_key: KeyMaker, bra_items: dict[str, dict[str, Any]], kind: Kind
) -> None:
    other = make_key("country", "ARG")

    page = app_client.get(f"{API}/{kind}s", headers=bearer(other)).json()

    assert [i["id"] for i in page["items"]] == [bra_items[f"{kind}-published"]["id"]]
    assert page["total"] == 1


@pytest.mark.usefixtures("bra_items")
def test_list_draft_filter_by_other_country_returns_nothing(
    app_client: TestClient, make_key: KeyMaker
) -> None:
    other = make_key("country", "ARG")

    page = app_client.get(f"{API}/offers", params={"status": "draft", "country": "BRA"},
                          headers=bearer(other)).json()

    assert page["items"] == []
    assert page["total"] == 0


@pytest.mark.parametrize("kind", KINDS)
def test_get_published_item_of_other_country_is_visible(
    app_client: TestClient, make_key: KeyMaker, bra_items: dict[str, dict[str, Any]], kind: Kind
) -> None:
    other = make_key("country", "ARG")
    item = bra_items[f"{kind}-published"]

    response = app_client.get(f"{API}/{kind}s/{item['id']}", headers=bearer(other))

    assert response.status_code == 200
    assert response.json() == item


@pytest.mark.parametrize("kind", KINDS)
def test_list_by_own_country_includes_own_drafts(
    app_client: TestClient, make_key: KeyMaker, bra_items: dict[str, dict[str, Any]], kind: Kind
) -> None:
    own = make_key("country", "BRA")

    items = list_all(app_client, own, kind)

    assert {i["id"] for i in items} == {bra_items[f"{kind}-{s}"]["id"]
                                        for s in ("published", "draft")}
    draft_id = bra_items[f"{kind}-draft"]["id"]
    assert app_client.get(f"{API}/{kind}s/{draft_id}", headers=bearer(own)).status_code == 200


@pytest.mark.parametrize("role", ["organizer", "admin"])
def test_staff_see_every_country_draft(
    app_client: TestClient, make_key: KeyMaker, bra_items: dict[str, dict[str, Any]], role: str
) -> None:
    staff = make_key(role)

    offers = list_all(app_client, staff, "offer")
    draft_id = bra_items["offer-draft"]["id"]

    assert draft_id in {i["id"] for i in offers}
    assert app_client.get(f"{API}/offers/{draft_id}", headers=bearer(staff)).status_code == 200
