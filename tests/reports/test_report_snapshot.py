"""A report read while a pairing moves: every view over the pairings (headline, stages,
factors, countries, matrix, partners) counts the same pairings, on PostgreSQL too, where a read
sees one snapshot of the data (REPEATABLE READ) as on SQLite, not the changes committed before
each of its statements (READ COMMITTED)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, text

from service.auth.service import create_key
from service.config import get_settings
from service.db import get_engine, make_engine, session_scope
from service.main import create_app
from tests.conftest import bearer
from tests.factories import API, create_need, create_offer


@pytest.fixture
def client(request: pytest.FixtureRequest,
           monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    """A client of an application whose requests commit (to `committed_db`)."""
    request.getfixturevalue("committed_db")
    monkeypatch.setenv("ENCODE_ON_WRITE", "false")
    get_settings.cache_clear()
    with TestClient(create_app()) as test_client:
        yield test_client
    get_settings.cache_clear()


def test_a_pairing_declined_while_the_report_is_read_is_counted_alike_in_every_view(
        client: TestClient, committed_db: str) -> None:
    with session_scope() as session:
        admin = create_key(session, role="admin", name="report")[1]
        hti = create_key(session, role="country", country="HTI", name="report")[1]
    table = client.post(f"{API}/tables", headers=bearer(admin), json={
        "name": "Mesa en sesión", "starts_on": "2026-12-07", "ends_on": "2026-12-09",
        "participants": ["HTI", "CHL", "PER"]}).json()["id"]
    ids = []
    for provider, factor in (("CHL", "education"), ("PER", "migration"), ("CHL", "ict")):
        need = create_need(client, admin, country="HTI", language="es", factor=factor)["id"]
        offer = create_offer(client, admin, country=provider, capacity=3, factor=factor)["id"]
        resp = client.post(f"{API}/pairings", headers=bearer(hti), json={
            "need_id": need, "offer_id": offer, "table_id": table,
            "partner": {"name": "OIT / ILO", "support": "technical"}})
        assert resp.status_code == 201, resp.text
        ids.append(resp.json()["id"])

    other = make_engine(committed_db)
    done: list[bool] = []

    def decline_meanwhile(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        # After the report's first count of the pairings, a delegation declines one.
        if done or "FROM pairings" not in statement or "count(" not in statement:
            return
        done.append(True)
        with other.begin() as conn:
            conn.execute(text("UPDATE pairings SET stage = 'declined' WHERE id = :id"),
                         {"id": ids[0]})

    engine = get_engine()
    event.listen(engine, "after_cursor_execute", decline_meanwhile)
    try:
        resp = client.get(f"{API}/tables/{table}/report", headers=bearer(admin))
    finally:
        event.remove(engine, "after_cursor_execute", decline_meanwhile)
        other.dispose()
    assert resp.status_code == 200, resp.text
    assert done
    report = resp.json()
    outcomes = report["headline"]["outcomes"]
    assert sum(r["count"] for r in report["stages"]
               if r["stage"] == "expression_of_interest") == outcomes
    assert sum(r["outcomes"] for r in report["factors"]) == outcomes
    for role in ("provider", "recipient"):
        assert sum(r["outcomes"] for r in report["countries"] if r["role"] == role) == outcomes
    assert sum(c["outcomes"] for c in report["matrix"]["cells"]) == outcomes
    assert sum(r["outcomes"] for r in report["partners"]) == outcomes
    # One snapshot: the report is the table as it was when the read began.
    assert outcomes == 3
