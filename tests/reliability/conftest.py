"""Fixtures of the reliability tests: a committed database with keys of every kind of caller
and a little data of two countries, served by a real app (real sessions, real commits)."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import fastapi.routing
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, Table, delete, insert, select

from models import Base
from service.auth.service import create_key, revoke_key
from service.config import Settings
from service.db import reset_engines, session_scope
from service.main import create_app
from tests.conftest import REFERENCE_TABLES, _delete_test_data, bearer
from tests.factories import API, item_payload

# Own country, the counterpart of its pairings, and a third country with no part in them.
OWN, PARTNER, OTHER = "CHL", "ARG", "BRA"
BENCH = Path(__file__).resolve().parents[2] / "bench"
# An app built only to read its OpenAPI schema and route table (it never touches a database).
SCHEMA_APP = create_app(Settings())
TABLE = {"name": "Mesa de fiabilidad", "starts_on": "2026-12-07", "ends_on": "2026-12-09",
         "participants": ["ARG", "BRA", "CHL"], "rounds": 3, "tables_per_round": 2}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "server: starts the real server in subprocesses (bounded, tens of seconds)")


def load_bench(name: str) -> ModuleType:
    """Import a script of bench/ (they are scripts, not a package)."""
    if str(BENCH) not in sys.path:
        sys.path.insert(0, str(BENCH))
    return importlib.import_module(name)


def api_routes(app: FastAPI) -> list[tuple[str, str]]:
    """Every (method, path) of the app under /api/v1, path without the prefix."""
    # FastAPI >= 0.120 keeps included routers as lazy entries of `app.routes`; this walks
    # them (older versions list the routes themselves).
    walk = getattr(fastapi.routing, "iter_route_contexts", None)
    routes = walk(app.routes) if walk is not None else app.routes
    out = []
    for route in routes:
        path = getattr(route, "path", None) or ""
        if path.startswith(API + "/") or path == API:
            for method in sorted(getattr(route, "methods", None) or ()):
                if method != "HEAD":
                    out.append((method, path.removeprefix(API)))
    return out


@dataclass
class World:
    """An app on a committed database, the secrets of every caller and the ids of its data."""

    app: FastAPI
    client: TestClient
    keys: dict[str, str]
    key_ids: dict[str, int]
    ids: dict[str, int] = field(default_factory=dict)

    def headers(self, caller: str) -> dict[str, str]:
        """Request headers of a kind of caller (`no_key` sends none)."""
        return {} if caller == "no_key" else bearer(self.keys[caller])

    def post(self, path: str, body: dict[str, Any], caller: str = "admin") -> dict[str, Any]:
        """POST as `caller`, expecting 201, and return the created resource."""
        response = self.client.post(API + path, json=body, headers=self.headers(caller))
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created


def make_keys() -> tuple[dict[str, str], dict[str, int]]:
    """Create (and commit) a key for every kind of caller; `revoked` is revoked at once."""
    specs = {"admin": ("admin", None), "organizer": ("organizer", None),
             "own_country": ("country", OWN), "partner_country": ("country", PARTNER),
             "other_country": ("country", OTHER), "revoked": ("country", OWN)}
    secrets: dict[str, str] = {}
    ids: dict[str, int] = {}
    with session_scope() as session:
        for caller, (role, country) in specs.items():
            key, secret = create_key(session, role=role, country=country, name=caller)
            secrets[caller], ids[caller] = secret, key.id
        revoke_key(session, key_id=ids["revoked"])
    return secrets, ids


def seed(world: World) -> None:
    """Published and draft items of two countries, a cooperation table and a pairing."""
    ids = world.ids
    ids["offer"] = world.post("/offers", item_payload("offer", country=OWN))["id"]
    ids["need"] = world.post("/needs", item_payload("need", country=OWN))["id"]
    ids["partner_offer"] = world.post("/offers", item_payload(
        "offer", country=PARTNER, title="Inspección laboral en cadenas de valor agrícolas",
        factor="value_chains"))["id"]
    ids["partner_need"] = world.post("/needs", item_payload(
        "need", country=PARTNER, title="Alerta temprana de abandono escolar"))["id"]
    ids["draft_offer"] = world.post("/offers", item_payload(
        "offer", country=PARTNER, status="draft", title="Borrador de oferta"))["id"]
    ids["table"] = world.post("/tables", TABLE, "organizer")["id"]
    # A pairing between them, taken to a commitment, with a follow-up activity and a note.
    ids["pairing"] = world.post("/pairings", {"need_id": ids["need"],
                                              "offer_id": ids["partner_offer"],
                                              "table_id": ids["table"]}, "own_country")["id"]
    for caller in ("own_country", "partner_country"):
        response = world.client.post(f"{API}/pairings/{ids['pairing']}/transitions",
                                     json={"to": "commitment"}, headers=world.headers(caller))
        assert response.status_code == 200, response.text
    ids["activity"] = world.post(f"/pairings/{ids['pairing']}/activities", {
        "title": "Visita de estudio a Santiago", "responsible_country": OWN,
        "due_on": "2027-03-15"}, "own_country")["id"]
    world.post(f"/pairings/{ids['pairing']}/notes", {"text": "Primera reunión técnica."},
               "own_country")


Snapshot = dict[str, list[dict[str, Any]]]


def _reference_tables() -> list[Table]:
    """Reference tables that the API can change (countries, groupings, factors), parents first."""
    keep = REFERENCE_TABLES - {"alembic_version", "index_revisions"}
    return [t for t in Base.metadata.sorted_tables if t.name in keep]


def snapshot_reference(engine: Engine) -> Snapshot:
    """Every row of the reference tables."""
    with engine.connect() as conn:
        return {t.name: [dict(r._mapping) for r in conn.execute(select(t))]
                for t in _reference_tables()}


def restore_reference(engine: Engine, snapshot: Snapshot) -> None:
    """Delete the test data and put the reference tables back as they were: tests that change
    countries or factors through the API must not leak into the rest of the run."""
    _delete_test_data(engine)
    tables = _reference_tables()
    with engine.begin() as conn:
        for table in reversed(tables):
            conn.execute(delete(table))
        for table in tables:
            if snapshot[table.name]:
                conn.execute(insert(table), snapshot[table.name])


@contextmanager
def world_on(database_url: str, engine: Engine) -> Iterator[World]:
    """Point the service at the test database, seed it and serve it; afterwards delete the
    test data and restore the reference data (tests may change countries or factors through
    the API, which must not leak into the rest of the run). No vectors are encoded on write:
    matching encodes in memory, which keeps the tests fast."""
    reference = snapshot_reference(engine)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DATABASE_URL", database_url)
        mp.setenv("ENCODE_ON_WRITE", "false")
        reset_engines()
        try:
            keys, key_ids = make_keys()
            app = create_app()
            with TestClient(app, raise_server_exceptions=False) as client:
                w = World(app=app, client=client, keys=keys, key_ids=key_ids)
                seed(w)
                yield w
        finally:
            reset_engines()
            restore_reference(engine, reference)


@pytest.fixture
def world(database_url: str, engine: Engine) -> Iterator[World]:
    """A seeded committed database and a client of a real app on it, for one test."""
    with world_on(database_url, engine) as w:
        yield w


@pytest.fixture(scope="module")
def module_world(database_url: str, engine: Engine) -> Iterator[World]:
    """The same, shared by the tests of a module (their writes accumulate)."""
    with world_on(database_url, engine) as w:
        yield w
