"""The crash test of bench/crash.py, short: the real server with two workers on a throwaway
database of the suite's kind (SQLite in WAL mode, or PostgreSQL when TEST_DATABASE_URL is set),
SIGKILLed once in the middle of a stream of writes, restarted and checked."""

from __future__ import annotations

import os

import pytest
from fastapi.testclient import TestClient

from tests.factories import API
from tests.reliability.conftest import World, load_bench

crash = load_bench("crash")


@pytest.mark.server
def test_sigkill_under_writes_loses_no_acknowledged_write() -> None:
    pg_url = os.environ.get("TEST_DATABASE_URL")
    db = "postgresql" if pg_url else "sqlite"

    result = crash.run(db, pg_url=pg_url, kills=1, seconds=4.0, threads=4, workers=2,
                       min_writes=30)

    print(result.line())
    assert result.problems == []
    assert result.acknowledged > 20
    assert result.found == result.acknowledged


def test_the_check_reads_every_page_of_every_list(world: World) -> None:
    # A second pairing, so that /pairings (newest first, by keyset cursor) has two pages.
    second = world.post("/pairings", {"need_id": world.ids["partner_need"],
                                      "offer_id": world.ids["offer"]}, "partner_country")["id"]
    client = TestClient(world.app, base_url=f"http://testserver{API}")
    headers = world.headers("admin")

    pairings = crash._pages(client, "/pairings", headers, limit=1)
    offers = crash._pages(client, "/offers", headers, limit=1)
    events = crash._pages(client, f"/pairings/{second}/history", headers, rows="events",
                          limit=1)

    assert [p["id"] for p in pairings] == [second, world.ids["pairing"]]
    assert len(offers) == 3
    assert [e["action"] for e in events] == ["created"]
