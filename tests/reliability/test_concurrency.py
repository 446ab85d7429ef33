"""Concurrent writers on the same record (PostgreSQL, where requests really run in parallel):
exactly one wins each version, the others are told so, and the history stays consistent."""

from __future__ import annotations

import os
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.factories import API
from tests.reliability.conftest import PARTNER, World

pytestmark = pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL"),
                                reason="needs PostgreSQL (TEST_DATABASE_URL)")
CONCURRENCY = 50


def _all_at_once(world: World, calls: list[tuple[str, str, Any, dict[str, str]]]) -> list[Any]:
    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(lambda c: world.client.request(c[0], API + c[1], json=c[2],
                                                            headers=c[3]), calls))


@pytest.mark.parametrize("kind", ["offer", "need"])
def test_concurrent_patches_with_the_same_if_match_apply_once(world: World, kind: str) -> None:
    item_id = world.ids[kind]
    path = f"/{kind}s/{item_id}"
    current = world.client.get(API + path, headers=world.headers("own_country"))
    etag, version = current.headers["etag"], current.json()["version"]
    calls = [("PATCH", path, {"title": f"Versión concurrente número {n}"},
              world.headers("own_country") | {"If-Match": etag}) for n in range(CONCURRENCY)]

    responses = _all_at_once(world, calls)

    statuses = Counter(r.status_code for r in responses)
    assert statuses == {200: 1, 412: CONCURRENCY - 1}, statuses
    winner = next(r.json() for r in responses if r.status_code == 200)
    final = world.client.get(API + path, headers=world.headers("admin")).json()
    assert final["version"] == version + 1
    assert final["title"] == winner["title"]


def test_concurrent_patches_without_if_match_lose_no_version(world: World) -> None:
    path = f"/offers/{world.ids['offer']}"
    before = world.client.get(API + path, headers=world.headers("admin")).json()["version"]
    calls = [("PATCH", path, {"title": f"Sin If-Match número {n}"},
              world.headers("own_country")) for n in range(20)]

    responses = _all_at_once(world, calls)

    assert [r.status_code for r in responses] == [200] * 20
    final = world.client.get(API + path, headers=world.headers("admin")).json()
    assert final["version"] == before + 20
    assert sorted(r.json()["version"] for r in responses) == list(range(before + 1,
                                                                        before + 21))


def _new_pairing(world: World) -> tuple[int, str]:
    need_id = world.post("/needs", {"factor": "education", "title": "Necesidad concurrente",
                                    "description": "Para la prueba de concurrencia.",
                                    "modality": "training"}, "own_country")["id"]
    created = world.client.post(f"{API}/pairings", json={
        "need_id": need_id, "offer_id": world.ids["partner_offer"]},
        headers=world.headers("own_country"))
    assert created.status_code == 201, created.text
    return int(created.json()["id"]), created.headers["etag"]


def test_concurrent_consents_on_one_pairing_apply_once(world: World) -> None:
    pairing_id, etag = _new_pairing(world)
    calls = [("POST", f"/pairings/{pairing_id}/transitions", {"to": "commitment"},
              world.headers("own_country") | {"If-Match": etag}) for _ in range(CONCURRENCY)]

    responses = _all_at_once(world, calls)

    statuses = Counter(r.status_code for r in responses)
    assert statuses[200] == 1, statuses
    assert set(statuses) <= {200, 409, 412}, statuses
    history = world.client.get(f"{API}/pairings/{pairing_id}/history",
                               headers=world.headers("admin")).json()["events"]
    pairing = world.client.get(f"{API}/pairings/{pairing_id}",
                               headers=world.headers("admin")).json()
    assert [e["version"] for e in history] == list(range(1, pairing["version"] + 1))
    assert pairing["version"] == 2


def test_concurrent_steps_of_both_countries_reach_commitment_once(world: World) -> None:
    pairing_id, _ = _new_pairing(world)
    calls = [("POST", f"/pairings/{pairing_id}/transitions", {"to": "commitment"},
              world.headers(who)) for who in ["own_country", "partner_country"] * 25]

    responses = _all_at_once(world, calls)

    statuses = Counter(r.status_code for r in responses)
    assert statuses[200] == 2, statuses  # one consent per country
    assert set(statuses) <= {200, 409}, statuses
    pairing = world.client.get(f"{API}/pairings/{pairing_id}",
                               headers=world.headers("admin")).json()
    history = world.client.get(f"{API}/pairings/{pairing_id}/history",
                               headers=world.headers("admin")).json()["events"]
    assert pairing["stage"] == "commitment"
    assert sorted({c["side"] for c in pairing["consents"] if c["step"] == "commitment"}) == [
        "provider", "recipient"]
    assert [e["version"] for e in history] == list(range(1, pairing["version"] + 1))
    assert sum(1 for e in history if e["to_stage"] == "commitment") == 1


def test_concurrent_creates_with_one_idempotency_key_make_one_pairing(world: World) -> None:
    need_id = world.post("/needs", {"factor": "education", "title": "Necesidad idempotente",
                                    "description": "Para la prueba de idempotencia.",
                                    "modality": "training"}, "own_country")["id"]
    body = {"need_id": need_id, "offer_id": world.ids["partner_offer"]}
    calls = [("POST", "/pairings", body, world.headers("own_country")
              | {"Idempotency-Key": "same-key-for-all"}) for _ in range(CONCURRENCY)]

    responses = _all_at_once(world, calls)

    created = {r.json()["id"] for r in responses if r.status_code == 201}
    statuses = Counter(r.status_code for r in responses)
    assert len(created) == 1, statuses
    assert set(statuses) <= {201, 409}, statuses
    listed = world.client.get(f"{API}/pairings", params={"need_id": need_id},
                              headers=world.headers("admin")).json()
    assert listed["total"] == 1
    assert listed["items"][0]["provider"] == PARTNER


def test_concurrent_label_changes_of_one_factor_keep_every_change(world: World) -> None:
    # Each PATCH changes the label of another language: merged into the labels it read, none
    # may write back a copy read before another one committed (a lost label).
    languages = ["es", "pt", "en", "fr"]
    for round_ in range(8):
        calls = [("PATCH", "/factors/education", {"labels": {lang: f"Ronda {round_} {lang}"}},
                  world.headers("admin")) for lang in languages]

        responses = _all_at_once(world, calls)

        assert [r.status_code for r in responses] == [200] * len(calls)
        factors = world.client.get(f"{API}/factors", headers=world.headers("admin")).json()
        labels = next(f["labels"] for f in factors if f["code"] == "education")
        assert labels == {lang: f"Ronda {round_} {lang}" for lang in languages}, round_


def test_concurrent_grouping_changes_of_one_country_all_apply(world: World) -> None:
    sets = [["CAN"], ["CAN", "MERCOSUR"], [], ["MERCOSUR"]]
    calls = [("PATCH", "/countries/PER", {"groupings": sets[n % len(sets)]},
              world.headers("admin")) for n in range(20)]

    responses = _all_at_once(world, calls)

    assert Counter(r.status_code for r in responses) == {200: len(calls)}
    final = world.client.get(f"{API}/countries/PER", headers=world.headers("admin")).json()
    assert [g["code"] for g in final["groupings"]] in [sorted(s) for s in sets]
