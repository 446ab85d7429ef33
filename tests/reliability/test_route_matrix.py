"""Authorization matrix generated from the route table.

Every route under /api/v1 must have an entry in `EXPECTED` (a new route without one fails
`test_every_api_route_has_an_expectation`), and every route is exercised by every kind of
caller: no key, a revoked key, a key of a country that has no part in the resource, a key of
the country that owns it, an organiser and an admin. Keys without rights never get a 2xx;
country keys get 404 (not 403) for what they may not even see.

The resource "owned" by the own country (CHL) is one of its offers or needs, or a pairing in
which it is the recipient (with ARG as provider); the other country (BRA) takes part in the
cooperation table but not in the pairing.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi import FastAPI

from tests.factories import API, assert_problem, item_payload
from tests.reliability.conftest import OWN, PARTNER, TABLE, World, api_routes

CALLERS = ("no_key", "revoked", "other_country", "own_country", "organizer", "admin")
AUTHENTICATED = CALLERS[2:]
Params = dict[str, Any]
_unique = itertools.count(1)


def _seeded(world: World) -> Params:
    ids = world.ids
    return {"item_id": ids["offer"], "table_id": ids["table"], "pairing_id": ids["pairing"],
            "activity_id": ids["activity"], "iso3": OWN, "code": "education"}


def _fresh_offer(world: World) -> Params:
    return {"item_id": world.post("/offers", item_payload("offer", country=OWN))["id"]}


def _fresh_need(world: World) -> Params:
    return {"item_id": world.post("/needs", item_payload("need", country=OWN))["id"]}


def _seeded_need(world: World) -> Params:
    return {"item_id": world.ids["need"]}


def _fresh_grouping(world: World) -> Params:
    """A grouping without members, which an admin may delete."""
    body = {"code": f"MATRIX_{next(_unique)}", "name": "Matrix grouping"}
    return {"code": world.post("/groupings", body)["code"]}


def _fresh_key(world: World) -> Params:
    return {"key_id": world.post("/keys", {"role": "organizer", "name": "target"})["id"]}


def _with_plan(world: World) -> Params:
    table_id = world.ids["table"]
    if "plan" not in world.ids:
        world.ids["plan"] = world.post(f"/tables/{table_id}/plan", {}, "organizer")["number"]
    return {"table_id": table_id, "number": world.ids["plan"]}


def _fresh_pairing(world: World, *, partner: bool = False) -> Params:
    """A pairing of a new CHL need with ARG's offer, at `expression_of_interest`."""
    need_id = world.post("/needs", item_payload("need", country=OWN))["id"]
    body: dict[str, Any] = {"need_id": need_id, "offer_id": world.ids["partner_offer"],
                            "table_id": world.ids["table"]}
    if partner:
        body["partner"] = {"name": "Agencia Brasileira de Cooperação", "support": "financial"}
    return {"pairing_id": world.post("/pairings", body, "own_country")["id"]}


def _fresh_pairing_with_partner(world: World) -> Params:
    return _fresh_pairing(world, partner=True)


def _pairing_body(world: World, _caller: str) -> Params:
    need_id = world.post("/needs", item_payload("need", country=OWN))["id"]
    return {"need_id": need_id, "offer_id": world.ids["partner_offer"],
            "table_id": world.ids["table"]}


def _commit(_world: World, caller: str) -> Params:
    """Consent to the commitment: a country for itself, staff for the provider."""
    return {"to": "commitment"} | ({} if caller.endswith("country") else
                                   {"on_behalf_of": PARTNER})


# Statuses for (other_country, own_country, organizer, admin).
Rights = tuple[int, int, int, int]
ALL: Rights = (200, 200, 200, 200)
ADMIN_ONLY: Rights = (403, 403, 403, 200)
STAFF_ONLY: Rights = (403, 403, 200, 200)
OWNER: Rights = (403, 200, 403, 200)
# Pairings are invisible to countries outside them: 404, never 403.
PARTY: Rights = (404, 200, 200, 200)


def _created(rights: Rights) -> Rights:
    other, own, organizer, admin = (201 if s == 200 else s for s in rights)
    return other, own, organizer, admin


@dataclass(frozen=True)
class Rule:
    """What each authenticated caller gets from a route (`no_key` and `revoked` get 401)."""

    rights: Rights
    target: Callable[[World], Params] = _seeded
    body: Callable[[World, str], Any] | Params | None = None
    query: Params = field(default_factory=dict)

    def status(self, caller: str) -> int:
        if caller in ("no_key", "revoked"):
            return 401
        return self.rights[AUTHENTICATED.index(caller)]


READ = Rule(ALL)


EXPECTED: dict[tuple[str, str], Rule] = {
    # reference data: everyone reads, admins change
    ("GET", "/countries"): READ,
    ("GET", "/countries/{iso3}"): READ,
    ("PATCH", "/countries/{iso3}"): Rule(ADMIN_ONLY, body={"is_member": True}),
    ("GET", "/groupings"): READ,
    ("GET", "/groupings/{code}"): Rule(ALL, target=_fresh_grouping),
    ("POST", "/groupings"): Rule(_created(ADMIN_ONLY), body=lambda _w, _c: {
        "code": f"MATRIX_{next(_unique)}", "name": "Matrix grouping", "members": [OWN]}),
    ("PATCH", "/groupings/{code}"): Rule(ADMIN_ONLY, target=_fresh_grouping,
                                         body={"name": "Matrix grouping renamed"}),
    ("DELETE", "/groupings/{code}"): Rule((403, 403, 403, 204), target=_fresh_grouping),
    ("GET", "/factors"): READ,
    ("GET", "/factors/{code}"): READ,
    ("POST", "/factors"): Rule(_created(ADMIN_ONLY), body=lambda _w, _c: {
        "code": f"matrix_{next(_unique)}", "labels": {"en": "Matrix"}}),
    ("PATCH", "/factors/{code}"): Rule(ADMIN_ONLY, body={"labels": {"en": "Education"}}),
    # offers and needs: everyone reads published ones, the owner country and admins write
    ("GET", "/offers"): READ,
    ("POST", "/offers"): Rule(_created(OWNER), body=lambda _w, _c: item_payload(
        "offer", country=OWN)),
    ("GET", "/offers/{item_id}"): READ,
    ("PATCH", "/offers/{item_id}"): Rule(OWNER, body={"modality": "training"}),
    ("DELETE", "/offers/{item_id}"): Rule(OWNER, target=_fresh_offer),
    ("GET", "/needs"): READ,
    ("POST", "/needs"): Rule(_created(OWNER), body=lambda _w, _c: item_payload(
        "need", country=OWN)),
    ("GET", "/needs/{item_id}"): Rule(ALL, target=_seeded_need),
    ("PATCH", "/needs/{item_id}"): Rule(OWNER, target=_seeded_need,
                                        body={"modality": "training"}),
    ("DELETE", "/needs/{item_id}"): Rule(OWNER, target=_fresh_need),
    ("GET", "/needs/{item_id}/matches"): Rule(ALL, target=_seeded_need),
    ("GET", "/offers/{item_id}/matches"): READ,
    # cooperation tables: everyone reads, organisers manage
    ("GET", "/tables"): READ,
    ("POST", "/tables"): Rule(_created(STAFF_ONLY), body=TABLE),
    ("GET", "/tables/{table_id}"): READ,
    ("PATCH", "/tables/{table_id}"): Rule(STAFF_ONLY, body={"venue": "Lima"}),
    ("GET", "/tables/{table_id}/suggestions"): Rule(STAFF_ONLY),
    ("POST", "/tables/{table_id}/plan"): Rule(_created(STAFF_ONLY)),
    ("GET", "/tables/{table_id}/plan"): Rule(ALL, target=_with_plan),
    ("GET", "/tables/{table_id}/plans"): Rule(ALL, target=_with_plan),
    ("GET", "/tables/{table_id}/plans/{number}"): Rule(ALL, target=_with_plan),
    # access keys: admins only
    ("GET", "/keys"): Rule(ADMIN_ONLY),
    ("POST", "/keys"): Rule(_created(ADMIN_ONLY), body={"role": "organizer", "name": "k"}),
    ("DELETE", "/keys/{key_id}"): Rule(ADMIN_ONLY, target=_fresh_key),
    # pairings: the recipient proposes, both parties and organisers follow them
    ("POST", "/pairings"): Rule((403, 201, 201, 201), body=_pairing_body),
    ("GET", "/pairings"): READ,
    ("GET", "/pairings/{pairing_id}"): Rule(PARTY),
    ("GET", "/pairings/{pairing_id}/history"): Rule(PARTY),
    # organisers act for a delegation only while the table is in session (it is not)
    ("POST", "/pairings/{pairing_id}/transitions"): Rule(
        (404, 200, 403, 403), target=_fresh_pairing, body=_commit),
    ("PUT", "/pairings/{pairing_id}/partner"): Rule(
        PARTY, target=_fresh_pairing, body={"name": "AECID", "support": "technical"}),
    ("DELETE", "/pairings/{pairing_id}/partner"): Rule(PARTY,
                                                       target=_fresh_pairing_with_partner),
    ("POST", "/pairings/{pairing_id}/partner/confirmation"): Rule(
        (404, 403, 200, 200), target=_fresh_pairing_with_partner),
    ("POST", "/pairings/{pairing_id}/activities"): Rule(_created(PARTY), body={
        "title": "Taller conjunto", "responsible_country": OWN, "due_on": "2027-05-01"}),
    ("GET", "/pairings/{pairing_id}/activities"): Rule(PARTY),
    ("GET", "/activities/{activity_id}"): Rule(PARTY),
    ("PATCH", "/activities/{activity_id}"): Rule(PARTY, body={"title": "Visita de estudio"}),
    ("POST", "/pairings/{pairing_id}/notes"): Rule(_created(PARTY), body={
        "text": "Avance registrado."}),
    ("GET", "/pairings/{pairing_id}/notes"): Rule(PARTY),
    ("GET", "/followups"): READ,
    # reports: organisers see everything, country keys their own rows
    ("GET", "/reports"): READ,
    ("GET", "/reports/network.svg"): READ,
    ("GET", "/reports/network.png"): READ,
    ("GET", "/tables/{table_id}/report"): READ,
    ("GET", "/tables/{table_id}/report/network.svg"): READ,
    ("GET", "/tables/{table_id}/report/network.png"): READ,
}
CASES = [(route, caller) for route in EXPECTED for caller in CALLERS]


def test_every_api_route_has_an_expectation(module_world: World) -> None:
    routes = set(api_routes(module_world.app))

    missing = sorted(routes - EXPECTED.keys())
    stale = sorted(EXPECTED.keys() - routes)

    assert not missing, f"add these routes to EXPECTED in {__name__}: {missing}"
    assert not stale, f"these entries of EXPECTED name no route: {stale}"


def _call(world: World, route: tuple[str, str], caller: str) -> Any:
    method, template = route
    rule = EXPECTED[route]
    path = template.format(**rule.target(world)) if "{" in template else template
    body = rule.body(world, caller) if callable(rule.body) else rule.body
    return world.client.request(method, API + path, json=body, params=rule.query,
                                headers=world.headers(caller))


@pytest.mark.parametrize(("route", "caller"), CASES,
                         ids=[f"{m} {p} {c}" for (m, p), c in CASES])
def test_route_by_caller_answers_as_the_matrix_says(module_world: World,
                                                     route: tuple[str, str],
                                                     caller: str) -> None:
    expected = EXPECTED[route].status(caller)

    response = _call(module_world, route, caller)

    if expected >= 400:
        assert_problem(response, expected)
        if expected == 401:
            assert response.headers["www-authenticate"].startswith("Bearer")
    else:
        assert response.status_code == expected, response.text


def test_routes_are_listed_from_the_application(module_world: World) -> None:
    app: FastAPI = module_world.app
    routes = api_routes(app)

    assert ("GET", "/offers") in routes
    assert len(routes) == len(set(routes))
