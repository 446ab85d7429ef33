"""Plans and the lifecycle: plan suggestions are audited and replaced by the next plan, while
suggestions made by an organiser and pairings countries acted on stay."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.orm import Session

from models import CooperationTable, Offer
from service import planning, scoring
from service.auth.service import create_key
from service.matching import plans as matching_plans
from tests.conftest import KeyMaker, bearer
from tests.factories import API, assert_problem
from tests.pairings.helpers import World, created, get, history, make_world, moved


def test_replanning_keeps_organizer_suggestions_and_audits_plan_ones(
        app_client: TestClient, make_key: KeyMaker) -> None:
    world = make_world(app_client, make_key, status="matching",
                       participants=["BRA", "CHL", "HTI", "PER"])
    world.need("PER", factor="agriculture", title="Inspección laboral en la cosecha de café")
    world.offer("BRA", factor="agriculture", title="Inspeção do trabalho na colheita de café")
    # An offer whose only place is taken: no plan can choose it, the manual suggestion stays.
    full = world.offer("BRA", title="Formação de inspetores do trabalho", capacity=1)
    taken = created(world, need_id=world.need("PER", title="Formación de inspectores"),
                    offer_id=full)
    moved(world, taken["id"], "PER", "expression_of_interest")
    manual = created(world, need_id=world.need("HTI", title="Formación de inspectores"),
                     offer_id=full)
    url = f"/tables/{world.table_id}/plan"
    first = world.client.post(f"/api/v1{url}", headers={"Authorization": f"Bearer {world.admin}"})
    assert first.status_code == 201, first.text
    assert first.json()["created_by"] == "admin:test admin"  # as the audit trail names keys
    planned = [p for p in get(world, "/pairings", table_id=world.table_id)["items"]
               if p["origin"] == "plan"]
    assert planned
    event = history(world, planned[0]["id"])[0]
    assert (event["action"], event["to_stage"], event["details"]["origin"]) == (
        "created", "suggested", "plan")
    moved(world, planned[0]["id"], planned[0]["recipient"], "expression_of_interest")
    second = world.client.post(f"/api/v1{url}",
                               headers={"Authorization": f"Bearer {world.admin}"})
    assert second.status_code == 201, second.text
    after = {p["id"]: p for p in get(world, "/pairings", table_id=world.table_id)["items"]}
    kept = after[manual["id"]]
    assert (kept["origin"], kept["need_id"], kept["offer_id"], kept["stage"]) == (
        "organizer", manual["need_id"], manual["offer_id"], "suggested")
    assert after[planned[0]["id"]]["stage"] == "expression_of_interest"


def test_a_plan_leaves_pairs_open_in_another_table_or_in_none_to_them(
        app_client: TestClient, make_key: KeyMaker) -> None:
    world = make_world(app_client, make_key, status="matching", participants=["CHL", "HTI"])
    other = app_client.post(f"{API}/tables", headers=bearer(world.organizer), json={
        "name": "Otra mesa", "starts_on": "2026-12-07", "ends_on": "2026-12-09",
        "participants": ["CHL", "HTI"]})
    assert other.status_code == 201, other.text
    loose = created(world, need_id=world.need("HTI", title="Formación de inspectores"),
                    offer_id=world.offer("CHL", title="Formación de inspectores"), table_id=None)
    first = plan(world, world.table_id)
    ours = _open_pairs(world, world.table_id)
    assert ours
    assert first["summary"]["pairs_open_elsewhere"] == 1
    assert (loose["need_id"], loose["offer_id"]) not in ours

    second = plan(world, other.json()["id"])  # the same countries, items and candidates

    assert second["summary"]["pairs_open_elsewhere"] == len(ours) + 1
    assert second["summary"]["candidates"] == 0
    assert second["meetings"] == []
    assert _open_pairs(world, world.table_id) == ours
    assert get(world, f"/pairings/{loose['id']}")["stage"] == "suggested"


def test_a_pairing_opened_while_the_plan_computed_is_a_conflict_that_stores_nothing(
        app_client: TestClient, make_key: KeyMaker, monkeypatch: pytest.MonkeyPatch) -> None:
    world = make_world(app_client, make_key, status="matching", participants=["CHL", "HTI"])
    loose = created(world, table_id=None)
    # As if the pairing had been opened by another request after the plan read the open ones.
    monkeypatch.setattr(matching_plans, "_held_pairs", lambda *_: ({}, set(), set()))

    resp = world.client.post(f"{API}/tables/{world.table_id}/plan", headers=bearer(world.admin))

    assert "Compute the plan again" in assert_problem(resp, 409)["detail"]
    assert get(world, f"/tables/{world.table_id}/plans")["total"] == 0
    assert [p["id"] for p in get(world, "/pairings")["items"]] == [loose["id"]]


def plan(world: World, table_id: int) -> dict[str, Any]:
    """Compute a table's plan and return it (asserting 201)."""
    resp = world.client.post(f"{API}/tables/{table_id}/plan", headers=bearer(world.admin))
    assert resp.status_code == 201, resp.text
    body: dict[str, Any] = resp.json()
    return body


def _open_pairs(world: World, table_id: int) -> set[tuple[int, int]]:
    return {(p["need_id"], p["offer_id"])
            for p in get(world, "/pairings", table_id=table_id, limit=200)["items"]
            if p["stage"] not in ("declined", "withdrawn")}


def test_replanning_keeps_a_plan_suggestion_someone_acted_on_with_its_history(
        app_client: TestClient, make_key: KeyMaker) -> None:
    world = make_world(app_client, make_key, status="matching", participants=["CHL", "HTI"])
    need = world.need("HTI", title="Formación de inspectores")
    plan(world, world.table_id)
    planned = {p["need_id"]: p for p in get(world, "/pairings", table_id=world.table_id)["items"]}
    touched, untouched = planned[need], planned[world.need_id]
    resp = world.client.put(f"{API}/pairings/{touched['id']}/partner",
                            json={"name": "ABC", "support": "technical"},
                            headers=bearer(world.key("HTI")))
    assert resp.status_code == 200, resp.text
    for need_id in (need, world.need_id):  # the next plan cannot choose either pairing
        gone = world.client.delete(f"{API}/needs/{need_id}", headers=bearer(world.admin))
        assert gone.status_code == 200, gone.text

    plan(world, world.table_id)

    kept = get(world, f"/pairings/{touched['id']}")
    assert (kept["stage"], kept["partner"]["name"]) == ("suggested", "ABC")
    assert [e["action"] for e in history(world, touched["id"])] == ["created", "partner_set"]
    missing = world.client.get(f"{API}/pairings/{untouched['id']}", headers=bearer(world.admin))
    assert missing.status_code == 404  # untouched and no longer chosen: replaced


def test_a_plan_counts_and_schedules_the_pairings_under_way(
        app_client: TestClient, make_key: KeyMaker) -> None:
    world = make_world(app_client, make_key, status="matching",
                       participants=["ARG", "CHL", "HTI", "PER"])
    title = "Inspección del trabajo infantil en la agricultura"
    need = world.need("HTI", title=title)
    offers = {c: world.offer(c, title=title) for c in ("ARG", "CHL", "PER")}
    resp = world.client.patch(f"{API}/tables/{world.table_id}", headers=bearer(world.organizer),
                              json={"max_offers_per_need": 1, "max_meetings_per_delegation": 2})
    assert resp.status_code == 200, resp.text
    under_way = created(world, need_id=need, offer_id=offers["PER"])
    moved(world, under_way["id"], "HTI", "expression_of_interest")

    result = plan(world, world.table_id)

    summary = result["summary"]
    assert (summary["pairings_past_suggested_kept"],
            summary["pairings_past_suggested_scheduled"]) == (1, 1)
    scheduled = [(m["countries"], p) for m in result["meetings"] for p in m["pairings"]]
    assert (["HTI", "PER"], {"need_id": need, "offer_id": offers["PER"]}) in scheduled
    suggested = [p for p in get(world, "/pairings", table_id=world.table_id, limit=200)["items"]
                 if p["stage"] == "suggested"]
    assert [p for p in suggested if p["need_id"] == need] == []  # its one offer is taken
    per_need = Counter(p["need_id"] for p in suggested)
    assert max(per_need.values(), default=0) <= 1
    partners: dict[str, set[str]] = {}
    for m in result["meetings"]:
        a, b = m["countries"]
        partners.setdefault(a, set()).add(b)
        partners.setdefault(b, set()).add(a)
    assert max(len(p) for p in partners.values()) <= 2


def test_a_plan_by_a_key_without_a_name_names_its_role(
        app_client: TestClient, make_key: KeyMaker, session: Session) -> None:
    world = make_world(app_client, make_key, participants=["CHL", "HTI"])
    _key, unnamed = create_key(session, role="organizer")
    session.commit()

    plan = world.client.post(f"{API}/tables/{world.table_id}/plan", headers=bearer(unnamed))

    assert plan.status_code == 201, plan.text
    assert plan.json()["created_by"] == "organizer:organizer"  # was "organizer:"


def test_closing_a_table_withdraws_its_untouched_suggestions_and_frees_their_pairs(
        app_client: TestClient, make_key: KeyMaker) -> None:
    participants = ["CHL", "HTI", "PER"]
    world = make_world(app_client, make_key, status="matching", participants=participants)
    world.need("PER", title="Inspección laboral en la cosecha")
    world.offer("HTI", title="Inspection du travail dans les récoltes")
    planned = world.client.post(f"{API}/tables/{world.table_id}/plan",
                                headers=bearer(world.organizer))
    assert planned.status_code == 201, planned.text
    suggested = get(world, "/pairings", table_id=world.table_id)["items"]
    assert len(suggested) >= 2
    taken = moved(world, suggested[0]["id"], suggested[0]["recipient"], "expression_of_interest")

    closed = world.client.patch(f"{API}/tables/{world.table_id}", json={"status": "closed"},
                                headers=bearer(world.organizer))

    assert closed.status_code == 200, closed.text
    after = {p["id"]: p for p in get(world, "/pairings", table_id=world.table_id)["items"]}
    assert after[taken["id"]]["stage"] == "expression_of_interest"  # under way: left alone
    others = [p for p in suggested if p["id"] != taken["id"]]
    assert {after[p["id"]]["stage"] for p in others} == {"withdrawn"}
    last = history(world, others[0]["id"])[-1]
    assert (last["action"], last["from_stage"], last["to_stage"], last["role"]) == (
        "stage_changed", "suggested", "withdrawn", "organizer")
    assert last["reason"] == "The table closed while this pairing was still a suggestion."
    # Their pairs are free again: a new table over the same countries plans them.
    table = {"name": "Mesa siguiente", "starts_on": "2026-12-10", "ends_on": "2026-12-11",
             "participants": participants}
    second = world.client.post(f"{API}/tables", json=table, headers=bearer(world.organizer))
    plan = world.client.post(f"{API}/tables/{second.json()['id']}/plan",
                             headers=bearer(world.organizer))
    assert plan.status_code == 201, plan.text
    assert plan.json()["summary"]["pairs_open_elsewhere"] == 1  # the one under way


def test_closing_a_table_does_not_say_nobody_took_up_a_suggestion_a_country_acted_on(
        app_client: TestClient, make_key: KeyMaker) -> None:
    world = make_world(app_client, make_key, status="matching", participants=["CHL", "HTI"])
    pairing = created(world)
    assert pairing["stage"] == "suggested"
    partner = world.client.put(f"{API}/pairings/{pairing['id']}/partner",
                               json={"name": "OIT / ILO", "support": "methodological"},
                               headers=bearer(world.key(pairing["recipient"])))
    assert partner.status_code == 200, partner.text

    closed = world.client.patch(f"{API}/tables/{world.table_id}", json={"status": "closed"},
                                headers=bearer(world.organizer))

    assert closed.status_code == 200, closed.text
    last = history(world, pairing["id"])[-1]
    assert (last["from_stage"], last["to_stage"]) == ("suggested", "withdrawn")
    # HTI named a partner: the reason must not say that nobody took the suggestion up.
    assert last["reason"] == "The table closed while this pairing was still a suggestion."


def test_a_participant_leaves_a_table_only_without_pairings_under_way_there(
        app_client: TestClient, make_key: KeyMaker) -> None:
    world = make_world(app_client, make_key, status="matching", participants=["CHL", "HTI", "PER"])
    need = world.need("PER", title="Inspección laboral en la cosecha")
    busy = created(world, need_id=need,
                   offer_id=world.offer("HTI", title="Inspection du travail dans les récoltes"))
    moved(world, busy["id"], "PER", "expression_of_interest")
    idle = created(world, need_id=need,
                   offer_id=world.offer("CHL", title="Inspección del trabajo agrícola"))
    url, organizer = f"{API}/tables/{world.table_id}", bearer(world.organizer)
    before = app_client.get(url, headers=organizer).json()

    refused = app_client.patch(url, headers=organizer,
                               json={"participants": ["CHL", "PER"], "status": "in_session"})

    body = assert_problem(refused, 409)
    assert (body["pairings"], body["countries"]) == ([busy["id"]], ["HTI"])
    assert f"pairings {busy['id']} are under way" in body["detail"]
    assert app_client.get(url, headers=organizer).json() == before  # status included
    assert get(world, f"/pairings/{idle['id']}")["stage"] == "suggested"

    left = app_client.patch(url, headers=organizer, json={"participants": ["HTI", "PER"]})

    assert left.status_code == 200, left.text
    assert left.json()["participants"] == ["HTI", "PER"]
    assert get(world, f"/pairings/{busy['id']}")["stage"] == "expression_of_interest"
    assert get(world, f"/pairings/{idle['id']}")["stage"] == "withdrawn"
    last = history(world, idle["id"])[-1]
    assert (last["action"], last["from_stage"], last["to_stage"], last["role"]) == (
        "stage_changed", "suggested", "withdrawn", "organizer")
    assert last["reason"] == "The country no longer takes part in the table."
    # Once its pairing is declined, HTI may leave too.
    moved(world, busy["id"], "PER", "declined", reason="Otra prioridad este año")
    gone = app_client.patch(url, headers=organizer, json={"participants": ["PER"]})
    assert gone.status_code == 200, gone.text


def test_a_new_plan_that_rescores_a_suggestion_gives_it_a_new_version_and_event(
        app_client: TestClient, make_key: KeyMaker) -> None:
    world = make_world(app_client, make_key, status="matching", participants=["CHL", "HTI", "PER"])
    need = world.need("PER", title="Inspección laboral en la cosecha de café")
    world.offer("HTI", title="Inspection du travail dans les récoltes de café")
    world.offer("CHL", title="Fiscalización laboral en la cosecha agrícola")
    url, organizer = f"{API}/tables/{world.table_id}", bearer(world.organizer)

    def plan() -> dict[int, dict[str, Any]]:
        resp = app_client.post(f"{url}/plan", headers=organizer)
        assert resp.status_code == 201, resp.text
        items = get(world, "/pairings", table_id=world.table_id, stage="suggested")["items"]
        return {p["id"]: p for p in items if p["need_id"] == need}

    first = plan()
    assert len(first) == 2
    assert {p["version"] for p in first.values()} == {1}
    weights = app_client.patch(url, headers=organizer, json={"weights": {"text": 0.9}})
    assert weights.status_code == 200, weights.text

    second = plan()

    assert set(second) == set(first)  # the same suggestions, kept
    for pid, pairing in second.items():
        assert pairing["score"] != first[pid]["score"]
        assert pairing["version"] == 2
        read = world.client.get(f"{API}/pairings/{pid}", headers=bearer(world.admin))
        assert read.headers["ETag"] == '"2"'
        event = history(world, pid)[-1]
        assert (event["action"], event["from_stage"], event["to_stage"]) == (
            "rescored", "suggested", "suggested")
        assert event["details"]["previous_score"] == first[pid]["score"]
        assert event["details"]["score"] == pairing["score"]
    unchanged = plan()  # same weights, same scores: nothing to tell
    assert {p["version"] for p in unchanged.values()} == {2}
    # A rescored suggestion nobody acted on is still the plan's to replace.
    limit = app_client.patch(url, headers=organizer, json={"max_offers_per_need": 1})
    assert limit.status_code == 200, limit.text
    third = plan()
    assert len(third) == 1
    assert set(third) < set(first)
    dropped = (set(first) - set(third)).pop()
    gone = world.client.get(f"{API}/pairings/{dropped}", headers=bearer(world.admin))
    assert gone.status_code == 404


def test_a_disabled_country_takes_no_new_part_in_a_table_until_enabled_again(
        app_client: TestClient, make_key: KeyMaker) -> None:
    world = make_world(app_client, make_key, status="matching", participants=["CHL", "HTI"])
    admin, url = bearer(world.admin), f"{API}/tables/{world.table_id}"

    def switch(enabled: bool) -> None:
        resp = app_client.patch(f"{API}/countries/HTI", json={"enabled": enabled}, headers=admin)
        assert resp.status_code == 200, resp.text

    assert get(world, f"/tables/{world.table_id}/suggestions")["total"] >= 1
    switch(False)

    assert get(world, f"/tables/{world.table_id}/suggestions")["total"] == 0
    plan = app_client.post(f"{url}/plan", headers=bearer(world.organizer))
    assert plan.status_code == 201, plan.text
    assert plan.json()["summary"]["participants_without_meeting"]["HTI"].startswith(
        "the country is disabled")
    refused = world.client.post(f"{API}/pairings", headers=bearer(world.key("HTI")), json={
        "need_id": world.need_id, "offer_id": world.offer_id, "table_id": world.table_id})
    assert "not enabled" in assert_problem(refused, 422, "country")["detail"]
    assert get(world, "/pairings", table_id=world.table_id)["total"] == 0

    switch(True)
    assert get(world, f"/tables/{world.table_id}/suggestions")["total"] >= 1
    assert created(world, "HTI")["stage"] == "expression_of_interest"


@pytest.mark.parametrize(("who", "to"), [("HTI", "declined"), ("CHL", "withdrawn"),
                                         ("organizer", "withdrawn")])
def test_a_new_plan_does_not_propose_again_a_pair_turned_down_at_the_table(
        app_client: TestClient, make_key: KeyMaker, who: str, to: str) -> None:
    world = make_world(app_client, make_key, status="matching", participants=["CHL", "HTI"])
    first = plan(world, world.table_id)
    suggested = get(world, "/pairings", table_id=world.table_id)["items"]
    assert [(p["need_id"], p["offer_id"]) for p in suggested] == [(world.need_id, world.offer_id)]
    moved(world, suggested[0]["id"], who, to, reason="No es una prioridad este año.")

    second = plan(world, world.table_id)

    assert _open_pairs(world, world.table_id) == set()
    assert (first["summary"]["candidates"], second["summary"]["candidates"]) == (1, 0)
    assert second["summary"]["pairs_declined_or_withdrawn"] == 1
    assert second["meetings"] == []
    by_hand = created(world)  # an organiser may still propose the pair again
    assert (by_hand["stage"], by_hand["origin"]) == ("suggested", "organizer")
    third = plan(world, world.table_id)  # and plans take it up again
    assert third["summary"]["pairs_declined_or_withdrawn"] == 0
    assert [m["countries"] for m in third["meetings"]] == [["CHL", "HTI"]]


def test_a_new_plan_leaves_the_score_and_version_of_a_suggestion_someone_acted_on(
        app_client: TestClient, make_key: KeyMaker) -> None:
    world = make_world(app_client, make_key, status="matching", participants=["CHL", "HTI"])
    plan(world, world.table_id)
    first = {p["need_id"]: p for p in get(world, "/pairings", table_id=world.table_id)["items"]}
    pid = first[world.need_id]["id"]
    partner = world.client.put(f"{API}/pairings/{pid}/partner", headers=bearer(world.key("HTI")),
                               json={"name": "ABC", "support": "technical"})
    assert partner.status_code == 200, partner.text
    url = f"{API}/tables/{world.table_id}"
    weights = app_client.patch(url, headers=bearer(world.organizer),
                               json={"weights": {"text": 0.9}})
    assert weights.status_code == 200, weights.text

    second = plan(world, world.table_id)

    read = world.client.get(f"{API}/pairings/{pid}", headers=bearer(world.admin))
    assert read.headers["ETag"] == partner.headers["ETag"]
    assert read.json()["score"] == first[world.need_id]["score"]
    assert [e["action"] for e in history(world, pid)] == ["created", "partner_set"]
    assert [p["need_id"] for m in second["meetings"] for p in m["pairings"]] == [world.need_id]


def _leave_and_come_back(world: World, country: str) -> None:
    """Take `country` out of the table's participants, then put it back."""
    url, organizer = f"{API}/tables/{world.table_id}", bearer(world.organizer)
    everyone = get(world, f"/tables/{world.table_id}")["participants"]
    for participants in ([c for c in everyone if c != country], everyone):
        resp = world.client.patch(url, headers=organizer, json={"participants": participants})
        assert resp.status_code == 200, resp.text


def test_a_country_that_left_the_table_and_came_back_gets_its_pairs_proposed_again(
        app_client: TestClient, make_key: KeyMaker) -> None:
    """The table's own withdrawal of a leaving country's suggestions turns nothing down."""
    world = make_world(app_client, make_key, status="matching", participants=["CHL", "HTI"])
    plan(world, world.table_id)
    _leave_and_come_back(world, "HTI")

    again = plan(world, world.table_id)

    assert again["summary"]["candidates"] == 1
    assert again["summary"]["pairs_declined_or_withdrawn"] == 0
    assert _open_pairs(world, world.table_id) == {(world.need_id, world.offer_id)}


def test_a_pair_declined_here_and_open_elsewhere_is_counted_once(
        app_client: TestClient, make_key: KeyMaker) -> None:
    world = make_world(app_client, make_key, status="matching", participants=["CHL", "HTI"])
    plan(world, world.table_id)
    suggested = get(world, "/pairings", table_id=world.table_id)["items"]
    moved(world, suggested[0]["id"], "HTI", "declined", reason="Aquí no.")
    created(world, table_id=None)  # the two countries follow the pair outside any table

    again = plan(world, world.table_id)

    assert again["summary"]["pairs_open_elsewhere"] == 1
    assert again["summary"]["pairs_declined_or_withdrawn"] == 0


def test_the_latest_end_of_a_pair_decides_whether_it_was_turned_down(
        app_client: TestClient, make_key: KeyMaker) -> None:
    """Declined, suggested again by an organiser, then withdrawn by the table as the country
    left: the organiser's choice stands, and the pair is proposed again after the return."""
    world = make_world(app_client, make_key, status="matching", participants=["CHL", "HTI"])
    plan(world, world.table_id)
    suggested = get(world, "/pairings", table_id=world.table_id)["items"]
    moved(world, suggested[0]["id"], "HTI", "declined", reason="No por ahora.")
    created(world)  # the organiser suggests it again
    _leave_and_come_back(world, "HTI")

    again = plan(world, world.table_id)

    assert again["summary"]["pairs_declined_or_withdrawn"] == 0
    assert again["summary"]["candidates"] == 1


def _patch_table(world: World, **changes: Any) -> None:
    resp = world.client.patch(f"{API}/tables/{world.table_id}", json=changes,
                              headers=bearer(world.organizer))
    assert resp.status_code == 200, resp.text


def _changed_since(world: World) -> tuple[Any, Any, Any]:
    """What the latest plan says changed since: read alone, by number and in the list."""
    latest = get(world, f"/tables/{world.table_id}/plan")
    by_number = get(world, f"/tables/{world.table_id}/plans/{latest['number']}")
    listed = get(world, f"/tables/{world.table_id}/plans")["items"][0]
    return latest["changed_since"], by_number["changed_since"], listed["changed_since"]


def test_a_plan_says_which_of_the_table_settings_changed_since_it_was_computed(
        app_client: TestClient, make_key: KeyMaker) -> None:
    world = make_world(app_client, make_key, status="matching",
                       participants=["CHL", "HTI", "PER"])
    computed = plan(world, world.table_id)
    assert computed["changed_since"] == []
    assert computed["summary"]["settings"]["participants"] == ["CHL", "HTI", "PER"]

    # What the plan does not depend on changes nothing.
    _patch_table(world, name="Mesa de prueba (sede nueva)", venue="Lima", status="in_session")
    assert _changed_since(world) == ([], [], [])

    _patch_table(world, rounds=3, weights={"text": 0.5})
    assert _changed_since(world) == (["rounds", "weights"],) * 3
    _patch_table(world, participants=["CHL", "HTI"])
    assert _changed_since(world) == (["participants", "rounds", "weights"],) * 3
    printed = world.client.get(f"{API}/tables/{world.table_id}/plan?format=csv",
                               headers=bearer(world.organizer)).text
    assert "changed_since,\"participants, rounds, weights\"" in printed

    # Set back as they were, the settings are the plan's again.
    before = computed["summary"]["settings"]
    _patch_table(world, participants=["CHL", "HTI", "PER"], rounds=before["rounds"],
                 weights={"text": before["weights"]["text"]})
    assert _changed_since(world) == ([], [], [])
    assert plan(world, world.table_id)["changed_since"] == []


def test_a_plan_stored_without_its_settings_says_it_cannot_tell(
        app_client: TestClient, make_key: KeyMaker, session: Session) -> None:
    world = make_world(app_client, make_key, status="matching", participants=["CHL", "HTI"])
    number = plan(world, world.table_id)["number"]
    stored = matching_plans.plan_by_number(
        session, session.get_one(CooperationTable, world.table_id), number)
    assert stored is not None
    stored.summary = {k: v for k, v in stored.summary.items() if k != "settings"}
    session.commit()

    assert _changed_since(world) == (None, None, None)
    printed = world.client.get(f"{API}/tables/{world.table_id}/plan?format=csv",
                               headers=bearer(world.organizer)).text
    assert "changed_since,unknown (the plan was stored without its settings)" in printed


def test_an_offer_withdrawn_while_the_plan_computed_is_a_conflict_that_stores_nothing(
        app_client: TestClient, make_key: KeyMaker, session: Session,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A plan takes seconds; an offer withdrawn meanwhile must not get a new suggestion (a
    pairing proposed by hand for a withdrawn offer is refused too)."""
    world = make_world(app_client, make_key, status="matching", participants=["CHL", "HTI"])
    solve = planning.plan

    def withdraw_then_solve(*args: Any, **kwargs: Any) -> planning.Plan:
        # As if the country had withdrawn its offer after the plan read the candidates.
        session.execute(update(Offer).where(Offer.id == world.offer_id)
                        .values(status="withdrawn"))
        return solve(*args, **kwargs)

    monkeypatch.setattr(planning, "plan", withdraw_then_solve)

    resp = world.client.post(f"{API}/tables/{world.table_id}/plan", headers=bearer(world.admin))

    assert "Compute the plan again" in assert_problem(resp, 409)["detail"]
    assert get(world, f"/tables/{world.table_id}/plans")["total"] == 0
    assert get(world, "/pairings", table_id=world.table_id)["items"] == []


def test_an_affinity_set_back_under_the_other_name_is_not_a_change_since_the_plan(
        app_client: TestClient, make_key: KeyMaker) -> None:
    world = make_world(app_client, make_key, status="matching",
                       participants=["CHL", "HTI", "PER"])
    _patch_table(world, factor_affinity={"ict:agriculture": 0.6})
    plan(world, world.table_id)

    # The same pair named the other way round, changed and then set back to the plan's value.
    _patch_table(world, factor_affinity={"agriculture:ict": 0.7})
    assert _changed_since(world) == (["factor_affinity"],) * 3
    _patch_table(world, factor_affinity={"agriculture:ict": 0.6})

    assert _changed_since(world) == ([], [], [])
    printed = world.client.get(f"{API}/tables/{world.table_id}/plan?format=csv",
                               headers=bearer(world.organizer)).text
    assert "changed_since,nothing" in printed


def test_an_affinity_set_to_its_default_value_is_no_change_since_a_plan(
        app_client: TestClient, make_key: KeyMaker) -> None:
    """An override that says what the default table already says scores nothing otherwise: a
    plan does not list `factor_affinity` among what changed since it (weights are compared
    as the values they take, likewise)."""
    world = make_world(app_client, make_key, status="matching", participants=["CHL", "HTI"])
    plan(world, world.table_id)
    related = next(iter(scoring.DEFAULT_FACTOR_AFFINITY.items()))
    (a, b), value = related
    unrelated = next((x, y) for x in scoring.FACTORS for y in scoring.FACTORS
                     if x != y and (x, y) not in scoring.DEFAULT_FACTOR_AFFINITY)

    _patch_table(world, factor_affinity={f"{b}:{a}": value,
                                         ":".join(unrelated): scoring.DEFAULT_UNRELATED})
    assert _changed_since(world) == ([], [], [])

    _patch_table(world, factor_affinity={f"{a}:{b}": round(value / 2, 3)})
    assert _changed_since(world) == (["factor_affinity"],) * 3


@pytest.mark.parametrize("taken", ["open_elsewhere", "turned_down"])
def test_a_need_whose_best_offers_are_taken_gets_the_next_best_one(
        app_client: TestClient, make_key: KeyMaker, monkeypatch: pytest.MonkeyPatch,
        taken: str) -> None:
    """A plan chooses among each need's best offers it may still propose: offers open
    elsewhere or turned down here make room for the next best ones, rather than leaving the
    need without a candidate (here with 1 candidate per need instead of 10, so that two
    offers show what eleven would)."""
    monkeypatch.setattr(matching_plans, "CANDIDATES_PER_NEED", 1)
    world = make_world(app_client, make_key, status="matching",
                       participants=["BRA", "CHL", "HTI"])
    need = world.need("HTI", title="Formación de inspectores del trabajo infantil")
    offers = {world.offer("CHL", title="Formación de inspectores del trabajo infantil"),
              world.offer("BRA", title="Formação de inspetores do trabalho infantil")}
    ranked = [s["offer_id"] for s in get(world, f"/tables/{world.table_id}/suggestions",
                                         limit=200)["items"]
              if s["need_id"] == need and s["offer_id"] in offers]
    best, second = ranked[:2]
    if taken == "open_elsewhere":
        created(world, need_id=need, offer_id=best, table_id=None)
    else:
        pairing = created(world, need_id=need, offer_id=best)
        moved(world, pairing["id"], "HTI", "declined", reason="No es lo que buscamos")

    body = plan(world, world.table_id)

    chosen = {(p["need_id"], p["offer_id"]) for m in body["meetings"] for p in m["pairings"]}
    assert (need, second) in chosen
    assert (need, best) not in chosen
    assert body["summary"][{"open_elsewhere": "pairs_open_elsewhere",
                            "turned_down": "pairs_declined_or_withdrawn"}[taken]] == 1
