"""Plans and the lifecycle: plan suggestions are audited and replaced by the next plan, while
suggestions made by an organiser and pairings countries acted on stay."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.conftest import KeyMaker
from tests.pairings.helpers import created, get, history, make_world, moved


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
