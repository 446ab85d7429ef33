"""Short typed helpers for API tests: valid payloads, creating items, reading pages and
checking problem details. They go through the public HTTP API only."""

from __future__ import annotations

from typing import Any, Literal

from fastapi.testclient import TestClient
from httpx import Response

from tests.conftest import bearer

API = "/api/v1"
PROBLEM_JSON = "application/problem+json"
Kind = Literal["offer", "need"]
KINDS: tuple[Kind, Kind] = ("offer", "need")


def item_payload(kind: Kind, **overrides: Any) -> dict[str, Any]:
    """A valid offer or need for Chile, published, with the given fields replaced."""
    payload: dict[str, Any] = {
        "country": "CHL",
        "factor": "education",
        "title": "Alerta temprana de deserción escolar por trabajo infantil",
        "description": "Sistema que cruza asistencia escolar y programas sociales para "
                       "detectar niños en riesgo de trabajo infantil.",
        "language": "es",
        "modality": "technical_assistance",
        "target_population": "niños y niñas de 10 a 17 años",
        "status": "published",
    }
    if kind == "offer":
        payload["capacity"] = 2
    payload.update(overrides)
    return payload


def offer_payload(**overrides: Any) -> dict[str, Any]:
    """A valid offer; see `item_payload`."""
    return item_payload("offer", **overrides)


def need_payload(**overrides: Any) -> dict[str, Any]:
    """A valid need; see `item_payload`."""
    return item_payload("need", **overrides)


def create_item(client: TestClient, secret: str, kind: Kind, **overrides: Any) -> dict[str, Any]:
    """POST a valid offer or need (fields overridden) and return the created item."""
    response = client.post(f"{API}/{kind}s", json=item_payload(kind, **overrides),
                           headers=bearer(secret))
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def create_offer(client: TestClient, secret: str, **overrides: Any) -> dict[str, Any]:
    """POST a valid offer and return it."""
    return create_item(client, secret, "offer", **overrides)


def create_need(client: TestClient, secret: str, **overrides: Any) -> dict[str, Any]:
    """POST a valid need and return it."""
    return create_item(client, secret, "need", **overrides)


def list_all(client: TestClient, secret: str, kind: Kind, **params: Any) -> list[dict[str, Any]]:
    """Walk every page of a list (200 per page) and return all items in order."""
    items: list[dict[str, Any]] = []
    query: dict[str, Any] = {"limit": 200, **params}
    while True:
        response = client.get(f"{API}/{kind}s", params=query, headers=bearer(secret))
        assert response.status_code == 200, response.text
        page = response.json()
        items.extend(page["items"])
        if page["next_cursor"] is None:
            return items
        query["cursor"] = page["next_cursor"]


def snapshot(client: TestClient, admin: str) -> dict[str, list[dict[str, Any]]]:
    """Every stored offer and need, as an admin sees them (to assert nothing changed)."""
    return {kind: list_all(client, admin, kind) for kind in KINDS}


def assert_problem(response: Response, status: int, field: str | None = None) -> dict[str, Any]:
    """Assert an RFC 9457 problem response with this status (and an error naming `field`)."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    for member in ("type", "title", "detail"):
        assert isinstance(body[member], str)
        assert body[member]
    if field is not None:
        fields = [str(e["field"]) for e in body["errors"]]
        assert any(f == field or f.endswith(f".{field}") for f in fields), fields
    return body
