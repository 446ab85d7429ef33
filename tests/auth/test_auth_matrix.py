"""Authorization matrix: every mutating endpoint against every kind of caller, and the state
of the data is unchanged whenever a caller is refused."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import KeyMaker, bearer
from tests.factories import API, assert_problem, create_item, item_payload, snapshot

CALLERS = ("no_key", "bad_key", "revoked_key", "other_country", "own_country", "organizer",
           "admin")
OWN, OTHER = "CHL", "ARG"

# Expected statuses per caller, for the three kinds of rights ("ok" is the endpoint's success).
Rights = dict[str, int | str]
DENIED_BY_KEY: Rights = {"no_key": 401, "bad_key": 401, "revoked_key": 401}
ITEM_RIGHTS: Rights = {**DENIED_BY_KEY, "other_country": 403, "own_country": "ok",
                       "organizer": 403, "admin": "ok"}
ADMIN_RIGHTS: Rights = {**DENIED_BY_KEY, "other_country": 403, "own_country": 403,
                        "organizer": 403, "admin": "ok"}
STAFF_RIGHTS: Rights = {**DENIED_BY_KEY, "other_country": 403, "own_country": 403,
                        "organizer": "ok", "admin": "ok"}


@dataclass
class Ctx:
    client: TestClient
    admin: str
    ids: dict[str, int]


def _get(ctx: Ctx, path: str) -> Any:
    response = ctx.client.get(f"{API}{path}", headers=bearer(ctx.admin))
    assert response.status_code == 200, response.text
    return response.json()


def _items_state(ctx: Ctx) -> Any:
    return snapshot(ctx.client, ctx.admin)


def _setup_offer(ctx: Ctx) -> None:
    ctx.ids["id"] = create_item(ctx.client, ctx.admin, "offer", country=OWN)["id"]


def _setup_need(ctx: Ctx) -> None:
    ctx.ids["id"] = create_item(ctx.client, ctx.admin, "need", country=OWN)["id"]


def _setup_key(ctx: Ctx) -> None:
    response = ctx.client.post(f"{API}/keys", json={"role": "organizer", "name": "target"},
                               headers=bearer(ctx.admin))
    ctx.ids["id"] = response.json()["id"]


TABLE = {"name": "Mesa de prueba", "starts_on": "2026-12-07", "ends_on": "2026-12-09",
         "participants": ["ARG", "BRA", "CHL"], "rounds": 3}


def _setup_table(ctx: Ctx) -> None:
    response = ctx.client.post(f"{API}/tables", json=TABLE, headers=bearer(ctx.admin))
    assert response.status_code == 201, response.text
    ctx.ids["id"] = response.json()["id"]


def _no_setup(_ctx: Ctx) -> None:
    return None


@dataclass(frozen=True)
class Endpoint:
    name: str
    method: str
    path: str
    body: dict[str, Any] | None
    rights: Rights
    success: int
    state: Callable[[Ctx], Any]
    setup: Callable[[Ctx], None] = _no_setup


ENDPOINTS = [
    Endpoint("create_offer", "POST", "/offers", item_payload("offer", country=OWN),
             ITEM_RIGHTS, 201, _items_state),
    Endpoint("update_offer", "PATCH", "/offers/{id}", {"modality": "training"},
             ITEM_RIGHTS, 200, _items_state, _setup_offer),
    Endpoint("withdraw_offer", "DELETE", "/offers/{id}", None,
             ITEM_RIGHTS, 200, _items_state, _setup_offer),
    Endpoint("create_need", "POST", "/needs", item_payload("need", country=OWN),
             ITEM_RIGHTS, 201, _items_state),
    Endpoint("update_need", "PATCH", "/needs/{id}", {"modality": "training"},
             ITEM_RIGHTS, 200, _items_state, _setup_need),
    Endpoint("withdraw_need", "DELETE", "/needs/{id}", None,
             ITEM_RIGHTS, 200, _items_state, _setup_need),
    Endpoint("update_country", "PATCH", f"/countries/{OWN}", {"enabled": False},
             ADMIN_RIGHTS, 200, lambda ctx: _get(ctx, f"/countries/{OWN}")),
    Endpoint("create_grouping", "POST", "/groupings",
             {"code": "TEST_GROUP", "name": "Test grouping", "members": ["CHL", "ZAF"]},
             ADMIN_RIGHTS, 201, lambda ctx: _get(ctx, "/groupings")),
    Endpoint("create_factor", "POST", "/factors",
             {"code": "child_care", "labels": {"es": "Cuidado infantil", "en": "Child care"}},
             ADMIN_RIGHTS, 201, lambda ctx: _get(ctx, "/factors")),
    Endpoint("update_factor", "PATCH", "/factors/education", {"labels": {"en": "Schooling"}},
             ADMIN_RIGHTS, 200, lambda ctx: _get(ctx, "/factors")),
    Endpoint("list_keys", "GET", "/keys", None, ADMIN_RIGHTS, 200,
             lambda ctx: _get(ctx, "/keys")),
    Endpoint("create_key", "POST", "/keys", {"role": "organizer", "name": "new"},
             ADMIN_RIGHTS, 201, lambda ctx: _get(ctx, "/keys")),
    Endpoint("revoke_key", "DELETE", "/keys/{id}", None, ADMIN_RIGHTS, 200,
             lambda ctx: _get(ctx, "/keys"), _setup_key),
    Endpoint("create_table", "POST", "/tables", TABLE, STAFF_RIGHTS, 201,
             lambda ctx: _get(ctx, "/tables")),
    Endpoint("update_table", "PATCH", "/tables/{id}", {"venue": "Lima", "rounds": 4},
             STAFF_RIGHTS, 200, lambda ctx: _get(ctx, "/tables"), _setup_table),
]
CASES = [(e, c) for e in ENDPOINTS for c in CALLERS]


@pytest.fixture
def headers_of(app_client: TestClient, make_key: KeyMaker) -> dict[str, dict[str, str]]:
    """Request headers of every kind of caller."""
    admin = make_key("admin")
    revoked = make_key("country", OWN)
    keys = app_client.get(f"{API}/keys", headers=bearer(admin)).json()["items"]
    revoked_id = next(k["id"] for k in keys if revoked.startswith(k["prefix"]))
    assert app_client.delete(f"{API}/keys/{revoked_id}", headers=bearer(admin)).status_code == 200
    return {
        "no_key": {},
        "bad_key": bearer("ssc_" + "x" * 43),
        "revoked_key": bearer(revoked),
        "other_country": bearer(make_key("country", OTHER)),
        "own_country": bearer(make_key("country", OWN)),
        "organizer": bearer(make_key("organizer")),
        "admin": bearer(admin),
    }


@pytest.mark.parametrize(("endpoint", "caller"), CASES,
                         ids=[f"{e.name}-{c}" for e, c in CASES])
def test_mutating_endpoint_by_caller_returns_expected_status(
    app_client: TestClient, headers_of: dict[str, dict[str, str]], endpoint: Endpoint,
    caller: str,
) -> None:
    admin = headers_of["admin"]["Authorization"].removeprefix("Bearer ")
    ctx = Ctx(app_client, admin, {})
    endpoint.setup(ctx)
    before = endpoint.state(ctx)
    expected = endpoint.rights[caller]

    response = app_client.request(endpoint.method, API + endpoint.path.format(**ctx.ids),
                                  json=endpoint.body, headers=headers_of[caller])

    if expected == "ok":
        assert response.status_code == endpoint.success, response.text
        return
    assert isinstance(expected, int)
    assert_problem(response, expected)
    if expected == 401:
        assert response.headers["www-authenticate"].startswith("Bearer")
    assert endpoint.state(ctx) == before


@pytest.mark.parametrize("path", ["/countries", "/countries/CHL", "/groupings", "/factors",
                                  "/offers", "/needs", "/offers/1", "/needs/1", "/tables"])
def test_read_without_key_returns_401_with_challenge(app_client: TestClient, path: str) -> None:
    response = app_client.get(API + path)

    assert_problem(response, 401)
    assert response.headers["www-authenticate"] == 'Bearer realm="sscmatch"'


@pytest.mark.parametrize("authorization", [
    "Bearer",
    "Bearer ",
    "Basic dXNlcjpwYXNz",
    "Token ssc_abc",
    "ssc_abc",
    "Bearer ssc_not-a-real-key",
    "Bearer " + "x" * 5000,
])
def test_request_with_bad_authorization_header_returns_401(
    app_client: TestClient, authorization: str
) -> None:
    response = app_client.get(f"{API}/factors", headers={"Authorization": authorization})

    assert_problem(response, 401)
    assert "www-authenticate" in response.headers


def test_request_with_lowercase_bearer_scheme_is_accepted(
    app_client: TestClient, make_key: KeyMaker
) -> None:
    key = make_key("organizer")

    response = app_client.get(f"{API}/factors", headers={"Authorization": f"bearer {key}"})

    assert response.status_code == 200
