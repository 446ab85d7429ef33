"""Who may call every transition, confirmation, partner and follow-up endpoint: no key, another
country, the provider, the recipient, an organiser (during the session) and an admin.

A refused call changes nothing: the pairing's version and audit trail stay as they were."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from tests.conftest import KeyMaker, bearer
from tests.factories import PROBLEM_JSON
from tests.pairings.helpers import World, at_stage, call, get, history, make_world

ROLES = ("none", "other", "provider", "recipient", "organizer", "admin")
WHO = {"other": "PER", "provider": "CHL", "recipient": "HTI", "organizer": "organizer",
       "admin": "admin"}
Call = Callable[[World, dict[str, Any], dict[str, str], str], Response]


@dataclass(frozen=True)
class Endpoint:
    """An endpoint, the stage its pairing needs, how to call it and the expected statuses."""

    name: str
    stage: str
    call: Call
    expected: tuple[int, int, int, int, int, int]  # in the order of ROLES
    partner: bool = False
    activity: bool = False


def _transition(to: str, staff_for: str | None = None, reason: str | None = None) -> Call:
    def transition(world: World, p: dict[str, Any], headers: dict[str, str],
                   role: str) -> Response:
        body: dict[str, Any] = {"to": to}
        if reason:
            body["reason"] = reason
        if role in ("organizer", "admin") and staff_for:
            body["on_behalf_of"] = staff_for
        return call(world, "POST", f"/pairings/{p['id']}/transitions", headers=headers,
                    json=body)
    return transition


def _create(world: World, _p: dict[str, Any], headers: dict[str, str], _role: str) -> Response:
    return call(world, "POST", "/pairings", headers=headers, json={
        "need_id": world.need("HTI"), "offer_id": world.offer_id, "table_id": world.table_id})


def _put_partner(world: World, p: dict[str, Any], headers: dict[str, str], _r: str) -> Response:
    return call(world, "PUT", f"/pairings/{p['id']}/partner", headers=headers,
                json={"name": "OIT / ILO", "support": "methodological"})


def _delete_partner(world: World, p: dict[str, Any], headers: dict[str, str],
                    _r: str) -> Response:
    return call(world, "DELETE", f"/pairings/{p['id']}/partner", headers=headers)


def _confirm_partner(world: World, p: dict[str, Any], headers: dict[str, str],
                     _r: str) -> Response:
    return call(world, "POST", f"/pairings/{p['id']}/partner/confirmation", headers=headers)


def _add_activity(world: World, p: dict[str, Any], headers: dict[str, str], _r: str) -> Response:
    return call(world, "POST", f"/pairings/{p['id']}/activities", headers=headers, json={
        "title": "Visita de estudio", "responsible_country": "CHL", "due_on": "2027-03-01"})


def _patch_activity(world: World, p: dict[str, Any], headers: dict[str, str],
                    _r: str) -> Response:
    return call(world, "PATCH", f"/activities/{p['activity_id']}", headers=headers,
                json={"status": "in_progress"})


def _add_note(world: World, p: dict[str, Any], headers: dict[str, str], _r: str) -> Response:
    return call(world, "POST", f"/pairings/{p['id']}/notes", headers=headers,
                json={"text": "Primera reunión realizada."})


def _history(world: World, p: dict[str, Any], headers: dict[str, str], _r: str) -> Response:
    return call(world, "GET", f"/pairings/{p['id']}/history", headers=headers)


ENDPOINTS = [
    Endpoint("create", "suggested", _create, (401, 403, 403, 201, 201, 201)),
    Endpoint("interest", "suggested", _transition("expression_of_interest"),
             (401, 404, 403, 200, 200, 200)),
    Endpoint("commitment", "expression_of_interest", _transition("commitment", "HTI"),
             (401, 404, 200, 200, 200, 200)),
    Endpoint("agreement", "commitment", _transition("agreement", "HTI"),
             (401, 404, 200, 200, 200, 200)),
    Endpoint("decline", "suggested", _transition("declined", "CHL", "Sin presupuesto"),
             (401, 404, 200, 200, 200, 200)),
    Endpoint("withdraw", "commitment", _transition("withdrawn", "HTI", "Otras prioridades"),
             (401, 404, 200, 200, 200, 200)),
    Endpoint("partner set", "commitment", _put_partner, (401, 404, 200, 200, 200, 200)),
    Endpoint("partner remove", "commitment", _delete_partner, (401, 404, 200, 200, 200, 200),
             partner=True),
    Endpoint("partner confirm", "commitment", _confirm_partner,
             (401, 404, 403, 403, 200, 200), partner=True),
    Endpoint("activity add", "commitment", _add_activity, (401, 404, 201, 201, 201, 201)),
    Endpoint("activity update", "agreement", _patch_activity, (401, 404, 200, 200, 200, 200),
             activity=True),
    Endpoint("note add", "agreement", _add_note, (401, 404, 201, 201, 201, 201)),
    Endpoint("history", "withdrawn", _history, (401, 404, 200, 200, 200, 200)),
]


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=[e.name for e in ENDPOINTS])
def test_endpoint_answers_each_role_as_expected_and_refusals_change_nothing(
        api: TestClient, make_key: KeyMaker, endpoint: Endpoint) -> None:
    world = make_world(api, make_key)
    for role, expected in zip(ROLES, endpoint.expected, strict=True):
        extra = {"partner": {"name": "AECID", "support": "financial"}} if endpoint.partner else {}
        pairing = at_stage(world, endpoint.stage, need_id=world.need("HTI"),
                           offer_id=world.offer("CHL"), **extra)
        if endpoint.activity:
            added = _add_activity(world, pairing, bearer(world.admin), "admin")
            pairing["activity_id"] = added.json()["id"]
            pairing["version"] = get(world, f"/pairings/{pairing['id']}")["version"]
        before = ((pairing["version"], len(history(world, pairing["id"])))
                  if expected >= 400 else None)
        headers = bearer(world.key(WHO[role])) if role != "none" else {}
        resp = endpoint.call(world, pairing, headers, role)
        assert resp.status_code == expected, f"{endpoint.name} as {role}: {resp.text}"
        if expected >= 400:
            assert resp.headers["content-type"].startswith(PROBLEM_JSON)
            after = (get(world, f"/pairings/{pairing['id']}")["version"],
                     len(history(world, pairing["id"])))
            assert after == before, f"{endpoint.name} as {role} changed the pairing"
        if role in ("organizer", "admin") and endpoint.name in ("interest", "commitment"):
            assert history(world, pairing["id"])[-1]["on_behalf_of"] == "HTI"
