"""JSON bodies take numbers and booleans as JSON numbers and booleans: a `true` where a count
is due, or a number written as text, is refused (422 naming the field), never read as 1 or 3,
and nothing is stored."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import KeyMaker, bearer
from tests.factories import API, assert_problem, item_payload

TABLE = {"name": "Mesa", "starts_on": "2026-12-07", "ends_on": "2026-12-08",
         "participants": ["CHL", "HTI"]}


@pytest.mark.parametrize(("path", "body", "field"), [
    ("/tables", TABLE | {"rounds": True}, "rounds"),
    ("/tables", TABLE | {"tables_per_round": "8"}, "tables_per_round"),
    ("/tables", TABLE | {"max_offers_per_need": 2.0}, "max_offers_per_need"),
    ("/tables", TABLE | {"weights": {"text": True}}, "text"),
    ("/tables", TABLE | {"weights": {"text": "0.5"}}, "text"),
    ("/tables", TABLE | {"factor_affinity": {"ict:agriculture": "0.6"}}, "ict:agriculture"),
    ("/offers", item_payload("offer", capacity="3"), "capacity"),
    ("/offers", item_payload("offer", capacity=True), "capacity"),
    ("/pairings", {"need_id": "1", "offer_id": 1}, "need_id"),
    ("/pairings", {"need_id": 1, "offer_id": 1, "table_id": True}, "table_id"),
])
def test_a_number_given_as_text_or_boolean_is_refused_and_nothing_stored(
        app_client: TestClient, make_key: KeyMaker, path: str, body: dict[str, Any],
        field: str) -> None:
    key = bearer(make_key("admin"))
    before = app_client.get(f"{API}{path}", headers=key).json()["total"]

    assert_problem(app_client.post(f"{API}{path}", json=body, headers=key), 422, field)

    assert app_client.get(f"{API}{path}", headers=key).json()["total"] == before


@pytest.mark.parametrize(("body", "field"), [
    ({"enabled": "false"}, "enabled"),
    ({"enabled": 0}, "enabled"),
    ({"is_member": "yes"}, "is_member"),
])
def test_a_flag_is_true_or_false_only(app_client: TestClient, make_key: KeyMaker,
                                      body: dict[str, Any], field: str) -> None:
    key = bearer(make_key("admin"))
    before = app_client.get(f"{API}/countries/CHL", headers=key).json()

    assert_problem(app_client.patch(f"{API}/countries/CHL", json=body, headers=key), 422, field)

    assert app_client.get(f"{API}/countries/CHL", headers=key).json() == before


def test_json_numbers_and_booleans_are_taken(app_client: TestClient,
                                             make_key: KeyMaker) -> None:
    key = bearer(make_key("admin"))
    table = app_client.post(f"{API}/tables", headers=key, json=TABLE | {
        "rounds": 4, "weights": {"text": 1, "region": 0.25}})
    assert table.status_code == 201, table.text
    assert (table.json()["rounds"], table.json()["weights"]["text"]) == (4, 1.0)
    offer = app_client.post(f"{API}/offers", json=item_payload("offer", capacity=3), headers=key)
    assert offer.status_code == 201, offer.text
    country = app_client.patch(f"{API}/countries/CHL", json={"is_member": False}, headers=key)
    assert country.status_code == 200, country.text
    assert country.json()["is_member"] is False
