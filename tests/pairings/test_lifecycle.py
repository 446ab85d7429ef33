"""The pairing lifecycle through the API: creation, stages, consents, partners, audit trail."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from models import Pairing, PairingConsent, PairingEvent
from tests.conftest import KeyMaker, bearer
from tests.factories import API, assert_problem
from tests.pairings.helpers import (
    World,
    at_stage,
    create,
    created,
    get,
    history,
    make_world,
    move,
    moved,
)


@pytest.fixture
def world(api: TestClient, make_key: KeyMaker) -> World:
    return make_world(api, make_key)


def _stored(session: Session) -> tuple[int, int, int]:
    """(pairings, events, consents) stored: to assert that a refused request wrote nothing."""
    session.expire_all()
    return (session.scalar(select(func.count(Pairing.id))) or 0,
            session.scalar(select(func.count(PairingEvent.id))) or 0,
            session.scalar(select(func.count(PairingConsent.id))) or 0)


def test_create_by_recipient_starts_at_interest_with_created_event(world: World) -> None:
    resp = create(world, "HTI", reason="Nos interesa")
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert (body["stage"], body["origin"], body["recipient"], body["provider"]) == (
        "expression_of_interest", "recipient", "HTI", "CHL")
    assert body["pending"] == ["recipient", "provider"]
    assert body["allowed"] == ["commitment", "declined", "withdrawn"]
    assert resp.headers["ETag"] == '"1"'
    assert resp.headers["Location"] == f"/api/v1/pairings/{body['id']}"
    [event] = history(world, body["id"])
    assert (event["action"], event["from_stage"], event["to_stage"]) == (
        "created", None, "expression_of_interest")
    assert (event["role"], event["country"], event["reason"]) == ("country", "HTI", "Nos interesa")


def test_create_by_organizer_is_suggested(world: World) -> None:
    body = created(world, "organizer", partner={"name": "OIT / ILO", "support": "technical"})
    assert (body["stage"], body["origin"]) == ("suggested", "organizer")
    assert body["partner"] == {"name": "OIT / ILO", "support": "technical", "confirmed": False}


def test_whole_journey_to_agreement_with_triangular_partner(world: World) -> None:
    pid = created(world)["id"]
    assert moved(world, pid, "HTI", "expression_of_interest")["stage"] == "expression_of_interest"
    first = moved(world, pid, "CHL", "commitment")
    assert (first["stage"], first["pending"]) == ("expression_of_interest", ["recipient"])
    second = moved(world, pid, "HTI", "commitment")
    assert (second["stage"], second["pending"]) == ("commitment", ["recipient", "provider"])
    put = world.client.put(f"{API}/pairings/{pid}/partner", headers=bearer(world.key("HTI")),
                           json={"name": "ABC", "support": "financial"})
    assert put.status_code == 200, put.text
    assert put.json()["pending"] == ["recipient", "provider", "partner"]
    moved(world, pid, "HTI", "agreement")
    signed = moved(world, pid, "CHL", "agreement")
    assert (signed["stage"], signed["pending"]) == ("commitment", ["partner"])
    resp = world.client.post(f"{API}/pairings/{pid}/partner/confirmation",
                             headers=bearer(world.organizer))
    assert resp.status_code == 200, resp.text
    final = resp.json()
    assert (final["stage"], final["allowed"]) == ("agreement", ["declined", "withdrawn"])
    assert final["partner"]["confirmed"] is True
    events = history(world, pid)
    assert [(e["action"], e["from_stage"], e["to_stage"]) for e in events] == [
        ("created", None, "suggested"),
        ("stage_changed", "suggested", "expression_of_interest"),
        ("confirmed", "expression_of_interest", "expression_of_interest"),
        ("confirmed", "expression_of_interest", "commitment"),
        ("partner_set", "commitment", "commitment"),
        ("confirmed", "commitment", "commitment"),
        ("confirmed", "commitment", "commitment"),
        ("partner_confirmed", "commitment", "agreement"),
    ]
    assert [e["version"] for e in events] == list(range(1, 9))
    assert [e["country"] for e in events[1:4]] == ["HTI", "CHL", "HTI"]


@pytest.mark.parametrize(("stage", "target", "allowed"), [
    ("suggested", "commitment", ["expression_of_interest", "declined", "withdrawn"]),
    ("suggested", "agreement", ["expression_of_interest", "declined", "withdrawn"]),
    ("expression_of_interest", "suggested", ["commitment", "declined", "withdrawn"]),
    ("expression_of_interest", "expression_of_interest",
     ["commitment", "declined", "withdrawn"]),
    ("commitment", "expression_of_interest", ["agreement", "declined", "withdrawn"]),
    ("agreement", "commitment", ["declined", "withdrawn"]),
    ("declined", "expression_of_interest", []),
    ("withdrawn", "commitment", []),
])
def test_invalid_transition_is_409_listing_allowed_and_stores_nothing(
        world: World, session: Session, stage: str, target: str, allowed: list[str]) -> None:
    pairing = at_stage(world, stage)
    before = _stored(session)
    body = assert_problem(move(world, pairing["id"], "HTI", target, reason="porque sí"), 409)
    assert body["allowed"] == allowed
    assert _stored(session) == before
    assert get(world, f"/pairings/{pairing['id']}")["version"] == pairing["version"]


def test_provider_cannot_express_interest(world: World, session: Session) -> None:
    pid = created(world)["id"]
    before = _stored(session)
    assert_problem(move(world, pid, "CHL", "expression_of_interest"), 403)
    assert _stored(session) == before


def test_same_side_confirming_twice_is_409(world: World, session: Session) -> None:
    pid = at_stage(world, "expression_of_interest")["id"]
    moved(world, pid, "CHL", "commitment")
    before = _stored(session)
    body = assert_problem(move(world, pid, "CHL", "commitment"), 409)
    assert "waiting for: recipient" in body["detail"]
    assert (body["stage"], body["allowed"]) == (
        "expression_of_interest", ["commitment", "declined", "withdrawn"])
    assert _stored(session) == before


@pytest.mark.parametrize("extra", [{}, {"reason": "no"}, {"reason": "x" * 2001}])
def test_decline_without_proper_reason_is_422_and_stores_nothing(
        world: World, session: Session, extra: dict[str, Any]) -> None:
    pid = created(world)["id"]
    before = _stored(session)
    assert_problem(move(world, pid, "CHL", "declined", **extra), 422)
    assert _stored(session) == before
    assert get(world, f"/pairings/{pid}")["stage"] == "suggested"


@pytest.mark.parametrize("reason", ["...", "- - -", "¿¡?!", "\u200b\u200b\u200b", "…\n…\n…"])
@pytest.mark.parametrize("target", ["declined", "withdrawn"])
def test_close_with_a_reason_of_no_letter_or_digit_is_422_naming_it(
        world: World, session: Session, target: str, reason: str) -> None:
    pid = created(world)["id"]
    before = _stored(session)

    problem = assert_problem(move(world, pid, "HTI", target, reason=reason), 422, "reason")

    assert "at least one letter or digit" in problem["errors"][0]["message"]
    assert _stored(session) == before
    assert moved(world, pid, "HTI", target, reason="No 2027")["stage"] == target


def test_stale_if_match_is_412_and_changes_nothing(world: World, session: Session) -> None:
    pid = created(world)["id"]
    moved(world, pid, "HTI", "expression_of_interest")
    before = _stored(session)
    stale = move(world, pid, "CHL", "declined", headers={"If-Match": '"1"'}, reason="tarde")
    assert assert_problem(stale, 412)["current_version"] == 2
    assert _stored(session) == before
    fresh = move(world, pid, "CHL", "declined", headers={"If-Match": '"2"'}, reason="tarde")
    assert fresh.status_code == 200
    assert fresh.headers["ETag"] == '"3"'


@pytest.mark.parametrize(("method", "path"), [
    ("get", "/pairings/987654"), ("get", "/pairings/987654/history"),
    ("post", "/pairings/987654/transitions"), ("put", "/pairings/987654/partner"),
    ("delete", "/pairings/987654/partner"), ("post", "/pairings/987654/partner/confirmation"),
])
def test_unknown_pairing_is_404(world: World, method: str, path: str) -> None:
    bodies = {"post": {"to": "commitment"}, "put": {"name": "ILO", "support": "technical"}}
    resp = world.client.request(method.upper(), f"{API}{path}", json=bodies.get(method),
                                headers=bearer(world.admin))
    if path.endswith("confirmation"):
        resp = world.client.post(f"{API}{path}", headers=bearer(world.admin))
    assert_problem(resp, 404)


@pytest.mark.parametrize(("overrides", "status", "field"), [
    ({"need_id": 987654}, 422, "need_id"),
    ({"offer_id": 987654}, 422, "offer_id"),
    ({"table_id": 987654}, 422, "table_id"),
    ({"need_id": 0}, 422, "need_id"),
    ({"reason": "r" * 2001}, 422, "reason"),
    ({"reason": "..."}, 422, "reason"),
    ({"partner": {"name": "ILO", "support": "moral"}}, 422, "support"),
    ({"extra": 1}, 422, "extra"),
])
def test_create_with_bad_input_is_rejected_and_stores_nothing(
        world: World, session: Session, overrides: dict[str, Any], status: int,
        field: str) -> None:
    before = _stored(session)
    assert_problem(create(world, "organizer", **overrides), status, field)
    assert _stored(session) == before


def test_create_between_same_country_or_outside_table_is_422(world: World) -> None:
    own_offer = world.offer("HTI")
    assert_problem(create(world, offer_id=own_offer), 422, "offer_id")
    outsider = world.offer("MEX")
    assert_problem(create(world, offer_id=outsider), 422, "table_id")


def test_second_open_pairing_of_same_need_and_offer_is_409(world: World) -> None:
    first = created(world, "HTI")
    body = assert_problem(create(world, "organizer"), 409)
    assert body["pairing_id"] == first["id"]
    moved(world, first["id"], "CHL", "declined", reason="Sin capacidad")
    assert created(world, "HTI")["id"] != first["id"]


@pytest.mark.parametrize("who", ["CHL", "PER"])
def test_create_by_provider_or_other_country_is_403(world: World, who: str) -> None:
    assert_problem(create(world, who), 403)


def test_organizer_acts_for_a_delegation_only_in_session(
        api: TestClient, make_key: KeyMaker) -> None:
    world = make_world(api, make_key, status="open")
    pid = created(world)["id"]
    assert_problem(move(world, pid, "organizer", "expression_of_interest"), 403)
    assert_problem(create(world, on_behalf_of="HTI", need_id=world.need("HTI")), 403)
    api.patch(f"{API}/tables/{world.table_id}", json={"status": "in_session"},
                     headers=bearer(world.organizer))
    body = moved(world, pid, "organizer", "expression_of_interest")
    assert body["stage"] == "expression_of_interest"
    assert_problem(move(world, pid, "organizer", "commitment"), 422, "on_behalf_of")
    assert_problem(move(world, pid, "organizer", "commitment", on_behalf_of="PER"), 422)
    confirmed = moved(world, pid, "organizer", "commitment", on_behalf_of="CHL")
    assert confirmed["consents"][0]["on_behalf"] is True
    event = history(world, pid)[-1]
    assert (event["role"], event["on_behalf_of"], event["country"]) == ("organizer", "CHL", None)


def test_country_lists_only_its_own_pairings(world: World) -> None:
    created(world)
    other = created(world, need_id=world.need("PER"), offer_id=world.offer("ARG"))
    assert get(world, "/pairings", "HTI")["total"] == 1
    assert get(world, "/pairings", "admin")["total"] == 2
    assert [p["id"] for p in get(world, "/pairings", "PER")["items"]] == [other["id"]]
    assert get(world, "/pairings", "admin", stage="suggested", country="ARG")["total"] == 1
    assert_problem(world.client.get(f"{API}/pairings/{other['id']}",
                                    headers=bearer(world.key("HTI"))), 404)


def test_commitment_beyond_offer_capacity_is_409(world: World, session: Session) -> None:
    offer = world.offer("CHL", capacity=1)
    at_stage(world, "commitment", offer_id=offer)
    pid = at_stage(world, "expression_of_interest", offer_id=offer,
                   need_id=world.need("HTI"))["id"]
    moved(world, pid, "CHL", "commitment")
    before = _stored(session)
    body = assert_problem(move(world, pid, "HTI", "commitment"), 409)
    assert "capacity" in body["detail"]
    assert (body["stage"], body["allowed"]) == (
        "expression_of_interest", ["commitment", "declined", "withdrawn"])
    assert _stored(session) == before


def test_changing_the_partner_clears_agreement_signatures(world: World) -> None:
    pid = at_stage(world, "commitment", partner={"name": "AECID", "support": "financial"})["id"]
    moved(world, pid, "HTI", "agreement")
    resp = world.client.put(f"{API}/pairings/{pid}/partner", headers=bearer(world.organizer),
                            json={"name": "USDOL", "support": "technical"})
    assert resp.json()["pending"] == ["recipient", "provider", "partner"]
    assert history(world, pid)[-1]["details"]["cleared_consents"] == ["recipient"]
    removed = world.client.delete(f"{API}/pairings/{pid}/partner",
                                  headers=bearer(world.key("CHL")))
    assert removed.json()["partner"] is None
    moved(world, pid, "HTI", "agreement")
    assert moved(world, pid, "CHL", "agreement")["stage"] == "agreement"
    late = world.client.put(f"{API}/pairings/{pid}/partner", headers=bearer(world.organizer),
                            json={"name": "USDOL", "support": "technical"})
    assert_problem(late, 409)


def test_partner_confirmation_without_partner_is_409(world: World) -> None:
    pid = at_stage(world, "commitment")["id"]
    resp = world.client.post(f"{API}/pairings/{pid}/partner/confirmation",
                             headers=bearer(world.organizer))
    assert_problem(resp, 409)


def test_audit_events_cannot_be_updated(world: World, session: Session) -> None:
    pid = created(world)["id"]
    with pytest.raises(DBAPIError), session.begin_nested():
        session.execute(update(PairingEvent).where(PairingEvent.pairing_id == pid)
                        .values(reason="rewritten"))
    assert history(world, pid)[0]["reason"] is None


def test_created_pairing_carries_the_score_its_table_suggests(world: World) -> None:
    """A pairing proposed by hand is scored like the table's suggestions, components too."""
    suggestions = world.client.get(f"{API}/tables/{world.table_id}/suggestions?limit=200",
                                   headers=bearer(world.organizer))
    assert suggestions.status_code == 200, suggestions.text
    [suggested] = [s for s in suggestions.json()["items"]
                   if (s["need_id"], s["offer_id"]) == (world.need_id, world.offer_id)]
    body = created(world, "HTI")
    assert 0 < body["score"] <= 1
    assert body["score"] == pytest.approx(suggested["score"], abs=1e-6)
    assert body["components"] == pytest.approx(
        {name: c["value"] for name, c in suggested["components"].items()}, abs=1e-6)
    assert get(world, f"/pairings/{body['id']}", "CHL")["score"] == body["score"]


def test_created_pairing_without_table_is_scored_with_default_weights(world: World) -> None:
    matches = world.client.get(f"{API}/needs/{world.need_id}/matches?limit=50",
                               headers=bearer(world.key("HTI")))
    assert matches.status_code == 200, matches.text
    [match] = [m for m in matches.json()["matches"] if m["offer_id"] == world.offer_id]
    body = created(world, "HTI", table_id=None)
    assert body["score"] == pytest.approx(match["score"], abs=1e-6)


def _set_status(world: World, kind: str, item_id: int, status: str) -> None:
    if status == "withdrawn":
        resp = world.client.delete(f"{API}/{kind}s/{item_id}", headers=bearer(world.admin))
    else:
        resp = world.client.patch(f"{API}/{kind}s/{item_id}", json={"status": status},
                                  headers=bearer(world.admin))
    assert resp.status_code == 200, resp.text


@pytest.mark.parametrize(("kind", "status"), [
    ("offer", "withdrawn"), ("offer", "draft"), ("need", "withdrawn"), ("need", "draft")])
@pytest.mark.parametrize(("stage", "who", "target"), [
    ("suggested", "HTI", "expression_of_interest"),
    ("expression_of_interest", "CHL", "commitment"),
    ("commitment", "HTI", "agreement"),
])
def test_a_pairing_moves_on_only_while_its_need_and_offer_are_published(
        world: World, session: Session, kind: str, status: str, stage: str, who: str,
        target: str) -> None:
    pairing = at_stage(world, stage)
    _set_status(world, kind, pairing[f"{kind}_id"], status)
    before = _stored(session)

    body = assert_problem(move(world, pairing["id"], who, target), 409)

    assert f"{kind} {pairing[f'{kind}_id']} of pairing {pairing['id']} is {status}" in (
        body["detail"])
    assert body["allowed"] == ["declined", "withdrawn"]
    assert _stored(session) == before
    _set_status(world, kind, pairing[f"{kind}_id"], "published")
    assert moved(world, pairing["id"], who, target)["version"] == pairing["version"] + 1


def test_a_side_that_may_not_take_a_step_is_told_so_before_the_items_state(
        world: World, session: Session) -> None:
    pairing = at_stage(world, "suggested")
    _set_status(world, "need", pairing["need_id"], "draft")
    before = _stored(session)

    # The provider may never express interest: a 403, whatever the need's state (it was 409).
    assert "Only the recipient" in assert_problem(
        move(world, pairing["id"], "CHL", "expression_of_interest"), 403)["detail"]
    assert _stored(session) == before


def test_a_pairing_whose_offer_was_withdrawn_can_still_be_closed(world: World) -> None:
    pid = at_stage(world, "commitment", partner={"name": "AECID", "support": "financial"})["id"]
    _set_status(world, "offer", world.offer_id, "withdrawn")
    confirm = world.client.post(f"{API}/pairings/{pid}/partner/confirmation",
                                headers=bearer(world.organizer))
    assert assert_problem(confirm, 409)["allowed"] == ["declined", "withdrawn"]

    closed = moved(world, pid, "CHL", "withdrawn", reason="La oferta fue retirada.")

    assert (closed["stage"], closed["offer_status"]) == ("withdrawn", "withdrawn")


def test_a_country_sees_the_title_of_the_other_side_only_while_it_is_published(
        world: World) -> None:
    pid = at_stage(world, "expression_of_interest")["id"]
    _set_status(world, "offer", world.offer_id, "draft")

    by_recipient = get(world, f"/pairings/{pid}", who="HTI")
    by_provider = get(world, f"/pairings/{pid}", who="CHL")
    listed = get(world, "/pairings", who="HTI")["items"]

    assert (by_recipient["offer_title"], by_recipient["offer_status"]) == (None, "draft")
    assert by_recipient["need_title"] is not None  # its own need
    assert by_provider["offer_title"] is not None  # its own offer
    assert [p["offer_title"] for p in listed if p["id"] == pid] == [None]
    assert get(world, f"/pairings/{pid}", who="organizer")["offer_title"] is not None


def test_an_offer_capacity_cannot_go_below_its_commitments(world: World) -> None:
    offer = world.offer("CHL", capacity=3)
    for _ in range(2):
        at_stage(world, "commitment", offer_id=offer, need_id=world.need("HTI"))
    url = f"{API}/offers/{offer}"

    refused = world.client.patch(url, json={"capacity": 1}, headers=bearer(world.key("CHL")))

    assert assert_problem(refused, 409, "capacity")["errors"][0]["message"] == "at least 2"
    assert get(world, f"/offers/{offer}")["capacity"] == 3
    lowered = world.client.patch(url, json={"capacity": 2}, headers=bearer(world.key("CHL")))
    assert lowered.status_code == 200, lowered.text


@pytest.mark.parametrize("who", ["organizer", "admin"])
def test_the_secretariat_withdraws_its_own_suggestion_in_its_own_name_and_frees_the_pair(
        app_client: TestClient, make_key: KeyMaker, who: str) -> None:
    world = make_world(app_client, make_key, status="matching")  # not in session
    pairing = created(world, table_id=None)
    assert pairing["stage"] == "suggested"

    withdrawn = moved(world, pairing["id"], who, "withdrawn", reason="Sugerencia repetida")

    assert withdrawn["stage"] == "withdrawn"
    event = history(world, pairing["id"])[-1]
    assert (event["action"], event["role"], event["on_behalf_of"], event["country"]) == (
        "stage_changed", who, None, None)
    assert event["reason"] == "Sugerencia repetida"
    assert created(world, "HTI", table_id=None)["stage"] == "expression_of_interest"


def test_once_a_country_took_it_up_the_secretariat_withdraws_only_for_a_delegation_in_session(
        app_client: TestClient, make_key: KeyMaker) -> None:
    world = make_world(app_client, make_key, status="matching")
    pid = created(world)["id"]
    moved(world, pid, "HTI", "expression_of_interest")
    why = "Sin fondos este año"
    assert_problem(move(world, pid, "organizer", "withdrawn", reason=why), 422, "on_behalf_of")
    assert_problem(move(world, pid, "organizer", "withdrawn", reason=why, on_behalf_of="HTI"),
                   403)
    assert get(world, f"/pairings/{pid}")["stage"] == "expression_of_interest"
    # A suggestion a country acted on (here: named a partner) is no longer the secretariat's.
    named = created(world, need_id=world.need("HTI", title="Registro de trabajadores"))
    partner = world.client.put(f"{API}/pairings/{named['id']}/partner", headers=bearer(
        world.key("HTI")), json={"name": "OIT / ILO", "support": "technical"})
    assert partner.status_code == 200, partner.text
    assert_problem(move(world, named["id"], "organizer", "withdrawn", reason=why), 422,
                   "on_behalf_of")
    # A country still acts only for itself, and a suggestion needs its reason.
    fresh = created(world, need_id=world.need("HTI", title="Formación de inspectores"))
    assert_problem(move(world, fresh["id"], "organizer", "withdrawn"), 422, "reason")
    assert_problem(move(world, fresh["id"], "PER", "withdrawn", reason=why), 404)


def test_a_suggestion_the_secretariat_named_a_partner_for_is_still_its_own_to_withdraw(
        app_client: TestClient, make_key: KeyMaker) -> None:
    """Naming the partner afterwards is the secretariat's own work, as naming it on creation
    is: no country took the suggestion up, so the organiser still withdraws it in its own
    name (it was a 422 asking for on_behalf_of, and a 403 outside a session)."""
    world = make_world(app_client, make_key, status="matching")  # not in session
    pid = created(world)["id"]
    partner = world.client.put(f"{API}/pairings/{pid}/partner", headers=bearer(
        world.organizer), json={"name": "OIT / ILO", "support": "technical"})
    assert partner.status_code == 200, partner.text

    withdrawn = move(world, pid, "organizer", "withdrawn", reason="Sugerencia repetida")

    assert withdrawn.status_code == 200, withdrawn.text
    event = history(world, pid)[-1]
    assert (event["action"], event["to_stage"], event["role"], event["on_behalf_of"]) == (
        "stage_changed", "withdrawn", "organizer", None)


def test_a_withdrawal_of_a_suggestion_a_country_took_up_says_why_it_needs_a_delegation(
        app_client: TestClient, make_key: KeyMaker, session: Session) -> None:
    """The organiser who withdraws, in its own name, a suggestion a country has taken up is
    told that a country took it up and that it may only act for a delegation during a session
    (it was told only to set on_behalf_of, and then got a 403 outside a session)."""
    world = make_world(app_client, make_key, status="matching")  # not in session
    pid = created(world)["id"]
    partner = world.client.put(f"{API}/pairings/{pid}/partner", headers=bearer(
        world.key("CHL")), json={"name": "OIT / ILO", "support": "technical"})
    assert partner.status_code == 200, partner.text
    before = (_stored(session), get(world, f"/pairings/{pid}")["version"])

    body = assert_problem(move(world, pid, "organizer", "withdrawn", reason="Repetida"), 422,
                          "on_behalf_of")

    assert "CHL took it up (partner set)" in body["detail"]
    assert "in_session" in body["detail"]
    assert (_stored(session), get(world, f"/pairings/{pid}")["version"]) == before


@pytest.mark.parametrize(("kind", "status"), [("offer", "withdrawn"), ("need", "draft")])
def test_allowed_lists_only_the_closing_moves_while_an_item_is_not_published(
        world: World, kind: str, status: str) -> None:
    """A pairing read (and any 409 on it) lists as `allowed` the moves the service would take
    now: with its need or offer withdrawn or in draft, only declining or withdrawing it (it
    listed the commitment, which was then refused with 409 allowing only those two)."""
    pairing = at_stage(world, "expression_of_interest")
    _set_status(world, kind, pairing[f"{kind}_id"], status)

    read = get(world, f"/pairings/{pairing['id']}", "HTI")
    listed = get(world, "/pairings", "CHL")["items"][0]
    refused = assert_problem(move(world, pairing["id"], "HTI", "agreement"), 409)
    attempt = assert_problem(move(world, pairing["id"], "HTI", "commitment"), 409)

    assert read["allowed"] == listed["allowed"] == ["declined", "withdrawn"]
    assert refused["allowed"] == attempt["allowed"] == read["allowed"]
    _set_status(world, kind, pairing[f"{kind}_id"], "published")
    assert get(world, f"/pairings/{pairing['id']}", "HTI")["allowed"] == [
        "commitment", "declined", "withdrawn"]


def _enable(world: World, country: str, enabled: bool) -> None:
    resp = world.client.patch(f"{API}/countries/{country}", json={"enabled": enabled},
                              headers=bearer(world.admin))
    assert resp.status_code == 200, resp.text


@pytest.mark.parametrize(("disabled", "stage", "who", "target"), [
    ("HTI", "suggested", "HTI", "expression_of_interest"),
    ("CHL", "expression_of_interest", "HTI", "commitment"),
    ("HTI", "commitment", "CHL", "agreement"),
])
def test_a_pairing_of_a_disabled_country_moves_on_only_once_it_is_enabled_again(
        world: World, session: Session, disabled: str, stage: str, who: str,
        target: str) -> None:
    pairing = at_stage(world, stage)
    _enable(world, disabled, False)
    before = _stored(session)

    # As a new pairing of it is refused, taking one up (or binding it further) is too.
    body = assert_problem(move(world, pairing["id"], who, target), 409)

    assert f"({disabled}) is disabled" in body["detail"]
    assert body["allowed"] == ["declined", "withdrawn"]
    assert _stored(session) == before
    for read in (get(world, f"/pairings/{pairing['id']}", who),
                 *get(world, "/pairings", who, table_id=world.table_id)["items"]):
        assert read["allowed"] == ["declined", "withdrawn"]
    _enable(world, disabled, True)
    assert moved(world, pairing["id"], who, target)["version"] == pairing["version"] + 1


def test_a_pairing_of_a_disabled_country_can_still_be_closed(world: World) -> None:
    pid = at_stage(world, "commitment", partner={"name": "AECID", "support": "financial"})["id"]
    _enable(world, "CHL", False)
    confirm = world.client.post(f"{API}/pairings/{pid}/partner/confirmation",
                                headers=bearer(world.organizer))
    assert assert_problem(confirm, 409)["allowed"] == ["declined", "withdrawn"]

    assert moved(world, pid, "CHL", "withdrawn", reason="Sin mandato.")["stage"] == "withdrawn"
