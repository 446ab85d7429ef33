"""A small table with pairings at every stage, a triangular partner and follow-up activities,
built through the API (shared by the report and CLI tests)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from service.followups.service import today
from tests.conftest import bearer
from tests.factories import API
from tests.pairings.helpers import World, at_stage, moved

# Days as the service counts them (UTC), whatever the test machine's time zone.
LATE = (today() - timedelta(days=10)).isoformat()
LATER = (today() + timedelta(days=30)).isoformat()


def pair_at(world: World, recipient: str, provider: str, factor: str, stage: str,
          **extra: Any) -> dict[str, Any]:
    need = world.need(recipient, factor=factor)
    offer = world.offer(provider, factor=factor)
    return at_stage(world, stage, need_id=need, offer_id=offer, **extra)


def build(world: World) -> dict[str, int]:
    """Pairings of the world's table: 1 agreement (with partner), 1 commitment, 2 interests,
    1 declined, 1 withdrawn, 1 suggested; activities: 1 late, 1 done, 1 planned."""
    ids: dict[str, int] = {}
    agreement = pair_at(world, "HTI", "CHL", "education", "commitment",
                      partner={"name": "OIT / ILO", "support": "technical"})
    pid = agreement["id"]
    resp = world.client.post(f"{API}/pairings/{pid}/partner/confirmation",
                             headers=bearer(world.organizer))
    assert resp.status_code == 200, resp.text
    moved(world, pid, "HTI", "agreement")
    assert moved(world, pid, "CHL", "agreement")["stage"] == "agreement"
    ids["agreement"] = pid
    ids["commitment"] = pair_at(world, "PER", "CHL", "migration", "commitment")["id"]
    ids["interest_1"] = pair_at(world, "HTI", "ARG", "agriculture", "expression_of_interest")["id"]
    ids["interest_2"] = pair_at(world, "PER", "BRA", "agriculture", "expression_of_interest")["id"]
    ids["declined"] = pair_at(world, "ARG", "PER", "education", "declined")["id"]
    ids["withdrawn"] = pair_at(world, "HTI", "BRA", "migration", "withdrawn")["id"]
    ids["suggested"] = pair_at(world, "BRA", "ARG", "ict", "suggested")["id"]
    activities = [(ids["commitment"], "CHL", LATE, "planned"),
                  (ids["agreement"], "HTI", LATE, "done"),
                  (ids["agreement"], "CHL", LATER, "planned")]
    for pairing_id, responsible, due, status in activities:
        resp = world.client.post(f"{API}/pairings/{pairing_id}/activities",
                                 headers=bearer(world.admin),
                                 json={"title": "Actividad de seguimiento", "due_on": due,
                                       "responsible_country": responsible, "status": status})
        assert resp.status_code == 201, resp.text
    return ids
