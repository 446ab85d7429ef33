"""The database going away and coming back (PostgreSQL): while it refuses connections, /ready
and every API request answer 503 problem details; once it is back the same app recovers by
itself, without a restart (the pool pings connections before use).

The outage is made on a throwaway database, not by stopping the server (other tests use it):
`ALTER DATABASE … ALLOW_CONNECTIONS false` and every open connection terminated."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, make_url, text
from sqlalchemy.orm import Session

from service.auth.service import create_key
from service.config import normalise_database_url
from service.countries.seed import seed_reference
from service.db import get_engine, reset_engines
from service.main import create_app
from service.migrate import upgrade
from tests.conftest import bearer
from tests.factories import API, assert_problem, item_payload
from tests.reliability.conftest import load_bench

pytestmark = pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL"),
                                reason="needs PostgreSQL (TEST_DATABASE_URL)")
crash = load_bench("crash")


@pytest.fixture
def outage_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, Engine]]:
    """A migrated throwaway database the service is pointed at, and an engine on the
    `postgres` database to switch it off and on."""
    pg_url = os.environ["TEST_DATABASE_URL"]
    with crash.throwaway_database("postgresql", pg_url, tmp_path) as url:
        upgrade(url)
        monkeypatch.setenv("DATABASE_URL", url)
        monkeypatch.setenv("ENCODE_ON_WRITE", "false")
        reset_engines()
        admin = create_engine(make_url(normalise_database_url(pg_url)).set(database="postgres"),
                              isolation_level="AUTOCOMMIT")
        name = make_url(url).database
        try:
            yield str(name), admin
        finally:
            _switch(admin, str(name), on=True)
            reset_engines()
            admin.dispose()


def _switch(admin: Engine, name: str, *, on: bool) -> None:
    with admin.connect() as conn:
        conn.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS {str(on).lower()}'))
        if not on:
            conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                              "WHERE datname = :name AND pid <> pg_backend_pid()"),
                         {"name": name})


def test_database_outage_gives_503_and_the_app_recovers(outage_db: tuple[str, Engine]) -> None:
    name, admin = outage_db
    with Session(get_engine()) as session:
        seed_reference(session)
        _key, secret = create_key(session, role="country", country="CHL")
        session.commit()
    h = bearer(secret)
    with TestClient(create_app(), raise_server_exceptions=False) as client:
        assert client.get("/ready").status_code == 200
        assert client.get(f"{API}/offers", headers=h).status_code == 200

        _switch(admin, name, on=False)
        ready_down = client.get("/ready")
        read_down = client.get(f"{API}/offers", headers=h)
        write_down = client.post(f"{API}/offers", json=item_payload("offer"), headers=h)
        health_down = client.get("/health")

        _switch(admin, name, on=True)
        ready_up = client.get("/ready")
        write_up = client.post(f"{API}/offers", json=item_payload("offer"), headers=h)
        read_up = client.get(f"{API}/offers", headers=h)

    assert_problem(ready_down, 503)
    for response in (read_down, write_down):
        assert_problem(response, 503)
        assert response.headers["retry-after"]
    assert health_down.status_code == 200  # the process is alive; only readiness fails
    assert ready_up.status_code == 200
    assert write_up.status_code == 201, write_up.text
    assert read_up.json()["total"] == 1  # the write during the outage left nothing behind
