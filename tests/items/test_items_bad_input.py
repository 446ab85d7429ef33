"""Bad input to the offers and needs API: every case gets a 4xx problem details response and
the stored data is unchanged afterwards."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import KeyMaker, bearer
from tests.factories import (
    API,
    Kind,
    assert_problem,
    create_offer,
    item_payload,
    list_all,
    snapshot,
)


class World:
    """An admin key, a Chilean key and one stored offer of Chile."""

    def __init__(self, client: TestClient, admin: str, chile: str, offer: dict[str, Any]) -> None:
        self.client = client
        self.admin = admin
        self.chile = chile
        self.offer = offer

    def state(self) -> dict[str, list[dict[str, Any]]]:
        return snapshot(self.client, self.admin)


@pytest.fixture
def world(app_client: TestClient, make_key: KeyMaker) -> World:
    admin = make_key("admin")
    chile = make_key("country", "CHL")
    offer = create_offer(app_client, chile, title="Oferta existente de Chile")
    return World(app_client, admin, chile, offer)


def _without(payload: dict[str, Any], field: str) -> dict[str, Any]:
    return {k: v for k, v in payload.items() if k != field}


# (case id, kind, body, expected status, field named in `errors` or None)
POST_CASES: list[tuple[str, Kind, dict[str, Any], int, str | None]] = [
    ("title-wrong-type", "offer", item_payload("offer", title=123), 422, "title"),
    ("capacity-wrong-type", "offer", item_payload("offer", capacity="many"), 422, "capacity"),
    ("status-wrong-type", "offer", item_payload("offer", status=True), 422, "status"),
    ("missing-title", "offer", _without(item_payload("offer"), "title"), 422, "title"),
    ("missing-description", "need", _without(item_payload("need"), "description"), 422,
     "description"),
    ("missing-factor", "offer", _without(item_payload("offer"), "factor"), 422, "factor"),
    ("missing-modality", "need", _without(item_payload("need"), "modality"), 422, "modality"),
    ("extra-field", "offer", item_payload("offer", priority=1), 422, "priority"),
    ("extra-field-version", "offer", item_payload("offer", version=7), 422, "version"),
    ("unknown-factor", "offer", item_payload("offer", factor="tourism"), 422, "factor"),
    ("unknown-modality", "need", item_payload("need", modality="lecture"), 422, "modality"),
    ("status-withdrawn-on-create", "offer", item_payload("offer", status="withdrawn"), 422,
     "status"),
    ("unsupported-language", "offer", item_payload("offer", language="de"), 422, "language"),
    ("title-too-long", "offer", item_payload("offer", title="t" * 301), 422, "title"),
    ("description-too-long", "need", item_payload("need", description="d" * 5001), 422,
     "description"),
    ("title-nul", "offer", item_payload("offer", title="Alerta\u0000temprana"), 422, "title"),
    ("title-bell", "need", item_payload("need", title="Alerta \u0007 temprana"), 422, "title"),
    ("description-nul", "offer", item_payload("offer", description="texto\u0000oculto"), 422,
     "description"),
    ("title-newline", "offer", item_payload("offer", title="Dos\nlíneas"), 422, "title"),
    ("capacity-zero", "offer", item_payload("offer", capacity=0), 422, "capacity"),
    ("capacity-too-large", "offer", item_payload("offer", capacity=51), 422, "capacity"),
    ("capacity-on-need", "need", item_payload("need", capacity=1), 422, "capacity"),
    ("country-malformed", "offer", item_payload("offer", country="CL"), 422, "country"),
    ("ref-with-space", "offer", item_payload("offer", ref="mi oferta"), 422, "ref"),
]


@pytest.mark.parametrize(("kind", "body", "status", "field"),
                         [c[1:] for c in POST_CASES], ids=[c[0] for c in POST_CASES])
def test_create_with_bad_field_returns_problem_and_stores_nothing(
    world: World, kind: Kind, body: dict[str, Any], status: int, field: str | None
) -> None:
    before = world.state()

    response = world.client.post(f"{API}/{kind}s", json=body, headers=bearer(world.chile))

    problem = assert_problem(response, status, field)
    assert problem["title"]
    assert world.state() == before


# Country checks need an admin key: a country key for another country is refused first (403).
ADMIN_POST_CASES: list[tuple[str, dict[str, Any], int, str]] = [
    ("unknown-country", item_payload("offer", country="XXX"), 422, "country"),
    ("country-not-enabled", item_payload("offer", country="MOZ", language="pt"), 422, "country"),
]


@pytest.mark.parametrize(("body", "status", "field"), [c[1:] for c in ADMIN_POST_CASES],
                         ids=[c[0] for c in ADMIN_POST_CASES])
def test_create_for_bad_country_returns_problem_and_stores_nothing(
    world: World, body: dict[str, Any], status: int, field: str
) -> None:
    before = world.state()

    response = world.client.post(f"{API}/offers", json=body, headers=bearer(world.admin))

    assert_problem(response, status, field)
    assert world.state() == before


def test_create_for_country_after_admin_enables_it_succeeds(world: World) -> None:
    body = item_payload("offer", country="MOZ")
    del body["language"]
    assert world.client.post(f"{API}/offers", json=body,
                             headers=bearer(world.admin)).status_code == 422

    enabled = world.client.patch(f"{API}/countries/MOZ", json={"enabled": True},
                                 headers=bearer(world.admin))
    response = world.client.post(f"{API}/offers", json=body, headers=bearer(world.admin))

    assert enabled.status_code == 200
    assert enabled.json()["enabled"] is True
    assert response.status_code == 201, response.text
    assert response.json()["country"] == "MOZ"
    assert response.json()["language"] == "pt"


def test_create_with_duplicate_ref_returns_409_and_stores_nothing(world: World) -> None:
    before = world.state()

    response = world.client.post(f"{API}/offers", json=item_payload("offer",
                                                                    ref=world.offer["ref"]),
                                 headers=bearer(world.chile))

    problem = assert_problem(response, 409)
    assert problem["detail"].startswith(f"The ref '{world.offer['ref']}' is taken")
    assert problem["errors"] == [{"field": "ref", "message": "taken"}]
    assert world.state() == before


@pytest.mark.parametrize(("title", "message"), [
    ("ab", "Text should have at least 3 characters, not 2"),
    ("  ab  ", "Text should have at least 3 characters, not 2"),  # counted once stripped
    ("x" * 301, "Text should have at most 300 characters, not 301"),
])
def test_a_title_of_the_wrong_length_is_counted_in_characters(world: World, title: str,
                                                               message: str) -> None:
    before = world.state()

    response = world.client.post(f"{API}/needs", json=item_payload("need", title=title),
                                 headers=bearer(world.chile))

    problem = assert_problem(response, 422)
    assert [(e["field"], e["message"]) for e in problem["errors"]] == [("body.title", message)]
    assert world.state() == before


RAW_BODIES: list[tuple[str, bytes, int]] = [
    ("truncated-json", b'{"title": "Alerta", ', 422),
    ("single-quotes", b"{'title': 'Alerta'}", 422),
    ("array", b'["education"]', 422),
    ("empty", b"", 422),
    ("not-utf8", b'{"title": "\xff\xfe"}', 400),
]


@pytest.mark.parametrize(("raw", "status"), [c[1:] for c in RAW_BODIES],
                         ids=[c[0] for c in RAW_BODIES])
def test_create_with_malformed_json_returns_problem_and_stores_nothing(
    world: World, raw: bytes, status: int
) -> None:
    before = world.state()

    response = world.client.post(f"{API}/offers", content=raw,
                                 headers={**bearer(world.chile),
                                          "Content-Type": "application/json"})

    assert_problem(response, status)
    assert world.state() == before


PATCH_CASES: list[tuple[str, dict[str, Any], str]] = [
    ("title-null", {"title": None}, "title"),
    ("title-too-long", {"title": "t" * 301}, "title"),
    ("title-control", {"title": "Alerta\u0000"}, "title"),
    ("unknown-factor", {"factor": "tourism"}, "factor"),
    ("unsupported-language", {"language": "de"}, "language"),
    ("unknown-status", {"status": "archived"}, "status"),
    ("capacity-zero", {"capacity": 0}, "capacity"),
    ("move-country", {"country": "BRA"}, "country"),
    ("set-version", {"version": 99}, "version"),
]


@pytest.mark.parametrize(("body", "field"), [c[1:] for c in PATCH_CASES],
                         ids=[c[0] for c in PATCH_CASES])
def test_update_with_bad_field_returns_422_and_changes_nothing(
    world: World, body: dict[str, Any], field: str
) -> None:
    before = world.state()

    response = world.client.patch(f"{API}/offers/{world.offer['id']}", json=body,
                                  headers=bearer(world.chile))

    assert_problem(response, 422, field)
    assert world.state() == before


def test_update_with_malformed_json_returns_422_and_changes_nothing(world: World) -> None:
    before = world.state()

    response = world.client.patch(f"{API}/offers/{world.offer['id']}", content=b'{"title": ',
                                  headers={**bearer(world.chile),
                                           "Content-Type": "application/json"})

    assert_problem(response, 422)
    assert world.state() == before


# --- hostile text is data --------------------------------------------------------------------

HOSTILE_TEXTS = [
    "'; DROP TABLE offers; --",
    "<script>alert(1)</script>",
    "<img src=x onerror=alert('x')> & &amp; {{7*7}} ${7*7}",
]


@pytest.mark.parametrize("text", HOSTILE_TEXTS)
def test_create_with_hostile_text_stores_it_verbatim_as_json_string(
    world: World, text: str
) -> None:
    response = world.client.post(f"{API}/offers",
                                 json=item_payload("offer", title=text, description=text,
                                                   target_population=text),
                                 headers=bearer(world.chile))

    assert response.status_code == 201, response.text
    stored = world.client.get(response.headers["location"], headers=bearer(world.chile))
    assert stored.headers["content-type"].startswith("application/json")
    assert stored.headers["x-content-type-options"] == "nosniff"
    body = stored.json()
    assert (body["title"], body["description"], body["target_population"]) == (text,) * 3


def test_create_with_sql_text_leaves_tables_intact(world: World) -> None:
    for kind in ("offer", "need"):
        response = world.client.post(
            f"{API}/{kind}s", json=item_payload(kind, title="x'); DROP TABLE offers; --",
                                                description="'; DROP TABLE needs; --"),
            headers=bearer(world.chile))
        assert response.status_code == 201

    state = world.state()

    assert len(state["offer"]) == 2
    assert len(state["need"]) == 1


@pytest.mark.parametrize("params", [
    {"q": "' OR 1=1 --"},
    {"q": "%"},
    {"q": "_"},
], ids=str)
def test_list_with_hostile_filter_matches_nothing(world: World, params: dict[str, str]) -> None:
    response = world.client.get(f"{API}/offers", params=params, headers=bearer(world.admin))

    assert response.status_code == 200, response.text
    assert response.json()["items"] == []
    assert response.json()["total"] == 0


def test_list_with_percent_in_text_finds_it_literally(world: World) -> None:
    offer = create_offer(world.client, world.chile, title="Cobertura del 100% de escuelas")

    items = list_all(world.client, world.admin, "offer", q="100%")

    assert [i["id"] for i in items] == [offer["id"]]


# --- pages, cursors and ids --------------------------------------------------------------------

@pytest.mark.parametrize(("params", "status", "field"), [
    ({"limit": 100000}, 400, "limit"),
    ({"limit": 201}, 400, "limit"),
    ({"limit": 10**30}, 400, "limit"),
    ({"limit": 0}, 422, "limit"),
    ({"limit": "ten"}, 422, "limit"),
    ({"modality": "lecture"}, 422, "modality"),
    ({"status": "deleted"}, 422, "status"),
    ({"country": "CHILE"}, 422, "country"),
    ({"country": "'--"}, 422, "country"),  # three characters, not three letters
    ({"country": "XXX"}, 422, "country"),  # no such country: not "nothing found"
    ({"factor": "x' OR '1'='1"}, 422, "factor"),  # no such factor
    ({"q": "x" * 201}, 422, "q"),
    ({"limit": "1_0"}, 422, "limit"),
    ({"limit": "+5"}, 422, "limit"),
    ({"cursor": "c" * 201}, 422, "cursor"),
    ({"cursor": "not a cursor!"}, 400, "cursor"),
    ({"cursor": base64.urlsafe_b64encode(b"xx:5").decode()}, 400, "cursor"),
    ({"cursor": base64.urlsafe_b64encode(b"id:" + b"9" * 40).decode()}, 400, "cursor"),
    ({"cursor": base64.urlsafe_b64encode(b"id:-1").decode()}, 400, "cursor"),
    ({"cursor": base64.urlsafe_b64encode(b"\xff\xfe").decode()}, 400, "cursor"),
    # Only the cursors the service writes are read: no look-alikes of them.
    ({"cursor": base64.urlsafe_b64encode(b"id: 5").decode()}, 400, "cursor"),
    ({"cursor": base64.urlsafe_b64encode(b"id:+5").decode()}, 400, "cursor"),
    ({"cursor": base64.urlsafe_b64encode(b"id:05").decode()}, 400, "cursor"),
    ({"cursor": base64.urlsafe_b64encode(b"id:5_0").decode()}, 400, "cursor"),
    ({"cursor": base64.urlsafe_b64encode(b"id:5").decode()}, 400, "cursor"),  # "=" padded
    ({"cursor": "aWQ6.NQ"}, 400, "cursor"),  # "aWQ6NQ" (id:5) with a character base64 skips
], ids=str)
def test_list_with_bad_paging_or_filter_returns_problem(
    world: World, params: dict[str, Any], status: int, field: str
) -> None:
    response = world.client.get(f"{API}/offers", params=params, headers=bearer(world.admin))

    assert_problem(response, status, field)


@pytest.mark.parametrize(("param", "text"), [
    ("q", "\u0000"),
    ("q", "\u0007"),
    ("factor", "edu\u0000"),
    ("country", "C\u0000L"),
], ids=repr)
def test_list_with_control_character_in_query_returns_400(
    world: World, param: str, text: str
) -> None:
    response = world.client.get(f"{API}/offers", params={param: text},
                                headers=bearer(world.admin))

    assert_problem(response, 400, param)


@pytest.mark.parametrize("path", ["/offers/1%00", "/countries/C%00L", "/factors/a%07b"])
def test_request_with_control_character_in_path_returns_400(world: World, path: str) -> None:
    before = world.state()

    response = world.client.patch(API + path, json={"title": "Nuevo"},
                                  headers=bearer(world.admin))

    assert_problem(response, 400, "path")
    assert world.state() == before


@pytest.mark.parametrize(("method", "kind"), [("GET", "offer"), ("PATCH", "need"),
                                             ("DELETE", "offer")])
def test_request_for_missing_id_returns_404_and_changes_nothing(
    world: World, method: str, kind: str
) -> None:
    before = world.state()
    body = {"title": "Nuevo título"} if method == "PATCH" else None

    response = world.client.request(method, f"{API}/{kind}s/987654321", json=body,
                                    headers=bearer(world.admin))

    assert_problem(response, 404)
    assert world.state() == before


@pytest.mark.parametrize(("method", "bad_id"), [
    *[("GET", bad) for bad in ("0", "-1", str(2**63), "abc")],
    ("PATCH", "0"), ("DELETE", str(2**63)),
    # Only digits: pydantic would read 1_0 as 10, and +1, " 1" or 1.0 as 1.
    *[("GET", bad) for bad in ("1_0", "+1", "%201", "1.0", "%D9%A1")],
    ("PATCH", "1_0"), ("DELETE", "+1"),
])
def test_request_with_invalid_id_returns_422_and_changes_nothing(
    world: World, method: str, bad_id: str
) -> None:
    before = world.state()
    body = {"title": "Nuevo título"} if method == "PATCH" else None

    response = world.client.request(method, f"{API}/offers/{bad_id}", json=body,
                                    headers=bearer(world.admin))

    assert_problem(response, 422, "item_id")
    assert world.state() == before


# --- size limit ----------------------------------------------------------------------------

def test_create_with_body_over_size_limit_returns_413_and_stores_nothing(world: World) -> None:
    before = world.state()
    body = item_payload("offer", description="x" * 1_100_000)

    response = world.client.post(f"{API}/offers", json=body, headers=bearer(world.chile))

    assert_problem(response, 413)
    assert world.state() == before


def test_create_with_streamed_body_over_size_limit_returns_413(world: World) -> None:
    before = world.state()

    def chunks() -> Iterator[bytes]:
        yield b'{"description": "'
        for _ in range(20):
            yield b"x" * 100_000
        yield b'"}'

    response = world.client.post(f"{API}/offers", content=chunks(),
                                 headers={**bearer(world.chile),
                                          "Content-Type": "application/json"})

    assert_problem(response, 413)
    assert world.state() == before
