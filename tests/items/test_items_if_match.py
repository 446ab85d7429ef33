"""`If-Match` on offers and needs (RFC 9110, 13.1.1): it compares strongly, so a weak tag
matches nothing (412); a value that is not an entity tag is a 400 that says what to send."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import KeyMaker, bearer
from tests.factories import API, KINDS, Kind, assert_problem, create_item

MALFORMED = 'malformed If-Match (expected a quoted version such as "3")'


class Item:
    """One stored item at version 1 and the key of its country."""

    def __init__(self, client: TestClient, key: str, kind: Kind) -> None:
        self.client = client
        self.key = key
        self.url = f"{API}/{kind}s/{create_item(client, key, kind)['id']}"
        self.stored = self.read()

    def read(self) -> dict[str, Any]:
        body: dict[str, Any] = self.client.get(self.url, headers=bearer(self.key)).json()
        return body

    def send(self, method: str, if_match: str | bytes) -> Any:
        body = {"title": "Título cambiado"} if method == "PATCH" else None
        return self.client.request(method, self.url, json=body,
                                   headers=bearer(self.key) | {"If-Match": if_match})


@pytest.fixture(params=KINDS)
def item(request: pytest.FixtureRequest, app_client: TestClient, make_key: KeyMaker) -> Item:
    return Item(app_client, make_key("country", "CHL"), request.param)


@pytest.mark.parametrize("method", ["PATCH", "DELETE"])
@pytest.mark.parametrize("if_match", ['W/"1"', 'W/"1", W/"2"', ' W/"0",W/"1" '])
def test_change_with_weak_if_match_of_current_version_returns_412_and_changes_nothing(
    item: Item, method: str, if_match: str
) -> None:
    response = item.send(method, if_match)

    problem = assert_problem(response, 412)
    assert "weak" in problem["detail"]
    assert problem["current_version"] == 1
    assert item.read() == item.stored


@pytest.mark.parametrize("method", ["PATCH", "DELETE"])
@pytest.mark.parametrize("if_match", [
    "1", "v1", '"1', '1"', "'1'", "W/1", 'w/"1"', 'W/ "1"', '"1" "2"', '"1""2"', '*, "1"',
    "**", ",", " , ", "W/", '"1";', "\u00ab1\u00bb".encode("latin-1")], ids=repr)
def test_change_with_malformed_if_match_returns_400_and_changes_nothing(
    item: Item, method: str, if_match: str | bytes
) -> None:
    response = item.send(method, if_match)

    problem = assert_problem(response, 400, "header.If-Match")
    assert problem["detail"] == MALFORMED
    assert item.read() == item.stored


@pytest.mark.parametrize("if_match", ['"1"', " \"1\" ", "*", " * ", '"0", "1"', '"1","2"',
                                      'W/"0", "1"', '"0" , , "1" ,', '"a,b", "1"'], ids=repr)
def test_update_with_if_match_naming_current_version_succeeds(item: Item, if_match: str) -> None:
    response = item.send("PATCH", if_match)

    assert response.status_code == 200, response.text
    assert response.json()["version"] == 2


@pytest.mark.parametrize("if_match", ['"2"', '"0", "2"', '"01"', '""', '"W/1"'], ids=repr)
def test_update_with_if_match_naming_other_versions_returns_412(item: Item,
                                                                 if_match: str) -> None:
    response = item.send("PATCH", if_match)

    problem = assert_problem(response, 412)
    assert "stale" in problem["detail"]
    assert item.read() == item.stored
