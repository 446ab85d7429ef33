"""The data migration that cancels the open activities of pairings declined or withdrawn
before closing a pairing cancelled them: written at the revision before it, read through the
API after the upgrade."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from models import FollowupActivity, Need, Offer, Pairing
from service.auth.service import create_key
from service.countries.seed import seed_reference
from service.migrate import downgrade, upgrade
from tests.conftest import bearer
from tests.factories import API
from tests.migrations.conftest import client_on

BEFORE = "b9e77c584aff"  # the revision before the one under test
WRITTEN_AT = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
MIGRATION = {"by": "sscmatch migrate", "key_id": None, "role": "admin", "country": None,
             "on_behalf_of": None}
# Pairing -> (stage, its version, the (status, version) of each of its activities)
WRITTEN: dict[str, tuple[str, int, list[tuple[str, int]]]] = {
    "declined": ("declined", 5, [("planned", 1), ("in_progress", 3), ("done", 2)]),
    "withdrawn": ("withdrawn", 7, [("in_progress", 2)]),
    "open": ("commitment", 4, [("planned", 1)]),
}

Ids = dict[str, tuple[int, list[int]]]


def _item(model: type[Need] | type[Offer], country: str) -> Need | Offer:
    return model(ref=f"MIG-{model.__name__}", country_iso3=country, factor_code="education",
                 title="Formación docente", description="Formación de docentes rurales",
                 language="es", modality="training", status="published")


def _write_before_the_migration(url: str, engine: Engine) -> Ids:
    """At the revision before it: a declined, a withdrawn and an open pairing whose activities
    are open (as closing a pairing left them), done, or both; return their ids."""
    # The reference data is written through today's models, at the head; the columns added
    # since the revision under test go with the downgrade to the one before it.
    upgrade(url)
    with Session(engine) as session:
        seed_reference(session)
        session.commit()
    downgrade(url, BEFORE)
    ids: Ids = {}
    with Session(engine) as session:
        need, offer = _item(Need, "HTI"), _item(Offer, "CHL")
        session.add_all([need, offer])
        session.flush()
        for name, (stage, version, statuses) in WRITTEN.items():
            pairing = Pairing(need_id=need.id, offer_id=offer.id, recipient_iso3="HTI",
                              provider_iso3="CHL", stage=stage, version=version)
            session.add(pairing)
            session.flush()
            activities = [FollowupActivity(
                pairing_id=pairing.id, title=f"Actividad {status}", responsible_iso3="CHL",
                due_on=date(2026, 6, 1), status=status, version=activity_version,
                created_at=WRITTEN_AT, updated_at=WRITTEN_AT)
                for status, activity_version in statuses]
            session.add_all(activities)
            session.flush()
            ids[name] = (pairing.id, [a.id for a in activities])
        session.commit()
    return ids


def _admin(engine: Engine) -> str:
    with Session(engine) as session:
        _key, secret = create_key(session, role="admin", name="operator")
        session.commit()
    return secret


def _read(client: TestClient, secret: str, path: str) -> Any:
    response = client.get(f"{API}{path}", headers=bearer(secret), params={"limit": 200})
    assert response.status_code == 200, response.text
    return response.json()


def _activities(client: TestClient, secret: str, pairing_id: int) -> dict[int, tuple[str, int]]:
    return {a["id"]: (a["status"], a["version"])
            for a in _read(client, secret, f"/pairings/{pairing_id}/activities")["items"]}


def _events(client: TestClient, secret: str, pairing_id: int) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = _read(client, secret, f"/pairings/{pairing_id}/history")[
        "events"]
    return events


def test_upgrade_cancels_the_open_activities_of_closed_pairings(
        fresh_url: str, fresh_engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    ids = _write_before_the_migration(fresh_url, fresh_engine)

    upgrade(fresh_url)

    secret = _admin(fresh_engine)
    (declined, (planned, in_progress, done)), (withdrawn, (withdrawn_one,)) = (
        ids["declined"], ids["withdrawn"])
    open_pairing, (open_one,) = ids["open"]
    with client_on(fresh_url, monkeypatch) as client:
        assert _activities(client, secret, declined) == {
            planned: ("cancelled", 2), in_progress: ("cancelled", 4), done: ("done", 2)}
        assert _activities(client, secret, withdrawn) == {withdrawn_one: ("cancelled", 3)}
        assert _activities(client, secret, open_pairing) == {open_one: ("planned", 1)}
        listed = {a["id"]: a for a in _read(client, secret, "/followups")["items"]}
        events = {pid: _events(client, secret, pid)
                  for pid in (declined, withdrawn, open_pairing)}

    assert datetime.fromisoformat(listed[done]["updated_at"]) == WRITTEN_AT
    assert datetime.fromisoformat(listed[open_one]["updated_at"]) == WRITTEN_AT
    for cancelled in (planned, in_progress, withdrawn_one):
        assert datetime.fromisoformat(listed[cancelled]["updated_at"]) > WRITTEN_AT
        assert listed[cancelled]["allowed_status"] == []
    expected = {
        declined: [(planned, "planned", 2), (in_progress, "in_progress", 4)],
        withdrawn: [(withdrawn_one, "in_progress", 3)],
        open_pairing: [],
    }
    for pid, stage in ((declined, "declined"), (withdrawn, "withdrawn")):
        assert [(e["action"], e["details"]) for e in events[pid]] == [
            ("activity_updated", {"activity_id": activity, "version": version,
                                  "changes": {"status": {"from": status, "to": "cancelled"}},
                                  "pairing_closed": stage})
            for activity, status, version in expected[pid]]
        for event in events[pid]:
            assert {k: event[k] for k in MIGRATION} == MIGRATION
            assert (event["from_stage"], event["to_stage"]) == (stage, stage)
            assert event["version"] == WRITTEN[stage][1]  # the pairing's, unchanged
            assert event["reason"] == (f"The pairing was {stage} before closing a pairing "
                                       "cancelled its activities")
    assert events[open_pairing] == []


def test_upgrade_again_after_a_downgrade_cancels_nothing_twice(
        fresh_url: str, fresh_engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    ids = _write_before_the_migration(fresh_url, fresh_engine)
    upgrade(fresh_url)
    secret = _admin(fresh_engine)
    with client_on(fresh_url, monkeypatch) as client:
        before = {pid: (_activities(client, secret, pid), _events(client, secret, pid))
                  for pid, _activity_ids in ids.values()}

    downgrade(fresh_url, BEFORE)
    upgrade(fresh_url)

    with client_on(fresh_url, monkeypatch) as client:
        after = {pid: (_activities(client, secret, pid), _events(client, secret, pid))
                 for pid, _activity_ids in ids.values()}
    assert after == before
