"""Helpers of the lifecycle, follow-up and report tests: a small world (table, keys, a need
and an offer) built through the API, and short calls for the lifecycle endpoints."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fastapi.testclient import TestClient
from httpx import Response

from tests.conftest import KeyMaker, bearer
from tests.factories import API, create_need, create_offer

PARTICIPANTS = ["ARG", "BRA", "CHL", "HTI", "PER"]


@dataclass
class World:
    """A table in session with HTI (recipient), CHL (provider) and others, and their keys."""

    client: TestClient
    admin: str
    organizer: str
    table_id: int
    keys: dict[str, str] = field(default_factory=dict)
    need_id: int = 0
    offer_id: int = 0

    def key(self, who: str) -> str:
        """The key of `admin`, `organizer` or a country code."""
        if who == "admin":
            return self.admin
        if who == "organizer":
            return self.organizer
        return self.keys[who]

    def need(self, country: str = "HTI", **fields: Any) -> int:
        """Create a published need and return its id."""
        body = {"country": country, "language": "es", **fields}
        return int(create_need(self.client, self.admin, **body)["id"])

    def offer(self, country: str = "CHL", **fields: Any) -> int:
        """Create a published offer and return its id."""
        body = {"country": country, "capacity": 5, **fields}
        return int(create_offer(self.client, self.admin, **body)["id"])


def make_world(client: TestClient, make_key: KeyMaker, *, status: str = "in_session",
               participants: list[str] | None = None) -> World:
    """Create keys, a table (moved to `status`), a HTI need and a CHL offer."""
    admin, organizer = make_key("admin"), make_key("organizer")
    table = {"name": "Mesa de prueba", "starts_on": "2026-12-07", "ends_on": "2026-12-09",
             "participants": participants or PARTICIPANTS}
    resp = client.post(f"{API}/tables", json=table, headers=bearer(organizer))
    assert resp.status_code == 201, resp.text
    table_id = int(resp.json()["id"])
    if status != "planning":
        moved = client.patch(f"{API}/tables/{table_id}", json={"status": status},
                             headers=bearer(organizer))
        assert moved.status_code == 200, moved.text
    world = World(client=client, admin=admin, organizer=organizer, table_id=table_id)
    for country in ("HTI", "CHL", "PER", "ARG"):
        world.keys[country] = make_key("country", country)
    world.need_id = world.need("HTI")
    world.offer_id = world.offer("CHL")
    return world


def call(world: World, method: str, path: str, who: str | None = None,
         headers: dict[str, str] | None = None, **kwargs: Any) -> Response:
    """Send a request to an API path as `who` (None: without a key)."""
    auth = bearer(world.key(who)) if who else {}
    resp: Response = world.client.request(method, f"{API}{path}", headers=auth | (headers or {}),
                                          **kwargs)
    return resp


def create(world: World, who: str = "organizer", *, need_id: int | None = None,
           offer_id: int | None = None, headers: dict[str, str] | None = None,
           **extra: Any) -> Response:
    """POST /pairings in the world's table."""
    body = {"need_id": world.need_id if need_id is None else need_id,
            "offer_id": world.offer_id if offer_id is None else offer_id,
            "table_id": world.table_id, **extra}
    return call(world, "POST", "/pairings", who, headers, json=body)


def created(world: World, who: str = "organizer", **extra: Any) -> dict[str, Any]:
    """Create a pairing and return it (asserting 201)."""
    resp = create(world, who, **extra)
    assert resp.status_code == 201, resp.text
    body: dict[str, Any] = resp.json()
    return body


def move(world: World, pairing_id: int, who: str, to: str,
         headers: dict[str, str] | None = None, **extra: Any) -> Response:
    """POST a transition (or a consent) as `who`."""
    return call(world, "POST", f"/pairings/{pairing_id}/transitions", who, headers,
                json={"to": to, **extra})


def moved(world: World, pairing_id: int, who: str, to: str, **extra: Any) -> dict[str, Any]:
    """Transition and return the pairing (asserting 200)."""
    resp = move(world, pairing_id, who, to, **extra)
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


def at_stage(world: World, stage: str, **create_extra: Any) -> dict[str, Any]:
    """A new pairing (by default HTI ← CHL) brought to `stage` by its two countries."""
    pairing = created(world, **create_extra)
    pid, r, p = int(pairing["id"]), pairing["recipient"], pairing["provider"]
    interest: list[tuple[str, ...]] = [(r, "expression_of_interest")]
    commit = [*interest, (p, "commitment"), (r, "commitment")]
    paths: dict[str, list[tuple[str, ...]]] = {
        "suggested": [], "expression_of_interest": interest, "commitment": commit,
        "agreement": [*commit, (p, "agreement"), (r, "agreement")],
        "declined": [(p, "declined", "Sin presupuesto")],
        "withdrawn": [*interest, (r, "withdrawn", "Cambio de prioridades")]}
    path = paths[stage]
    for step in path:
        extra = {"reason": step[2]} if len(step) > 2 else {}
        pairing = moved(world, pid, step[0], step[1], **extra)
    assert pairing["stage"] == stage
    return pairing


def get(world: World, path: str, who: str = "admin", **params: Any) -> Any:
    """GET an API path as `who` and return its JSON body (asserting 200)."""
    resp = world.client.get(f"{API}{path}", params=params, headers=bearer(world.key(who)))
    assert resp.status_code == 200, resp.text
    return resp.json()


def history(world: World, pairing_id: int) -> list[dict[str, Any]]:
    """The audit events of a pairing, oldest first (every page of its history)."""
    events: list[dict[str, Any]] = []
    params: dict[str, Any] = {"limit": 200}
    while True:
        page = get(world, f"/pairings/{pairing_id}/history", **params)
        events += page["events"]
        if page["next_cursor"] is None:
            return events
        params["cursor"] = page["next_cursor"]
