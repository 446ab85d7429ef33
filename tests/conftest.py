"""Test fixtures: a migrated database (SQLite, or PostgreSQL from TEST_DATABASE_URL), a
per-test transaction rolled back at teardown, API clients per role and a committed database
for the CLI and multi-worker tests."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine, MetaData, delete, inspect, text
from sqlalchemy.orm import Session

from models import Base
from service.auth.service import create_key
from service.config import normalise_database_url
from service.countries.seed import seed_reference
from service.db import get_session, make_engine, reset_engines
from service.main import create_app
from service.matching.index import IndexCache
from service.migrate import upgrade

# Tables holding reference data that a test run seeds once; everything else is test data.
REFERENCE_TABLES = {"countries", "groupings", "country_groupings", "factors", "index_revisions",
                    "alembic_version"}


def _database_url(tmp_root: Path) -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        return normalise_database_url(url)
    return f"sqlite:///{tmp_root / 'test.db'}"


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """URL of the test database, migrated from scratch once per run and seeded."""
    url = _database_url(tmp_path_factory.mktemp("db"))
    engine = make_engine(url)
    _drop_everything(engine)
    engine.dispose()
    upgrade(url)
    engine = make_engine(url)
    with Session(engine) as session:
        seed_reference(session)
        session.commit()
    engine.dispose()
    return url


def _drop_everything(engine: Engine) -> None:
    if engine.dialect.name == "postgresql":
        # Functions and triggers too, not only tables: start from an empty schema.
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        return
    meta = MetaData()
    meta.reflect(engine)
    meta.drop_all(engine)


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    eng = make_engine(database_url)
    yield eng
    eng.dispose()


@pytest.fixture
def connection(engine: Engine) -> Iterator[Connection]:
    """A connection inside a transaction that is rolled back after the test."""
    with engine.connect() as conn:
        trans = conn.begin()
        yield conn
        trans.rollback()


@pytest.fixture
def session(connection: Connection) -> Iterator[Session]:
    """A session whose commits become savepoints of the test's transaction."""
    with Session(bind=connection, join_transaction_mode="create_savepoint",
                 expire_on_commit=False) as sess:
        yield sess


@pytest.fixture(scope="session")
def app() -> FastAPI:
    """One application for the run (building it per test costs more than most tests)."""
    return create_app()


def join_test_transaction(app: FastAPI, session: Session) -> None:
    """Make every request of `app` use `session`, which joins the test's transaction."""

    def _session() -> Iterator[Session]:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise

    app.dependency_overrides[get_session] = _session


@pytest.fixture
def app_client(app: FastAPI, session: Session) -> Iterator[TestClient]:
    """A client of the app whose request sessions join the test's transaction."""
    # A fresh index per test: one built from another test's rolled-back rows must not leak.
    app.state.index_cache = IndexCache()
    join_test_transaction(app, session)
    try:
        with TestClient(app, raise_server_exceptions=False) as client:
            yield client
    finally:
        app.dependency_overrides.clear()


KeyMaker = Callable[..., str]


@pytest.fixture
def make_key(session: Session) -> KeyMaker:
    """Create an access key in the test transaction and return its secret."""

    def _make(role: str, country: str | None = None) -> str:
        _key, secret = create_key(session, role=role, country=country, name=f"test {role}")
        session.commit()
        return secret

    return _make


def bearer(secret: str) -> dict[str, str]:
    """Authorization header for a key."""
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture
def service_db(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Point DATABASE_URL (and so the service's own engines) at the test database."""
    monkeypatch.setenv("DATABASE_URL", database_url)
    reset_engines()
    try:
        yield database_url
    finally:
        reset_engines()


@pytest.fixture
def committed_db(service_db: str, engine: Engine) -> Iterator[str]:
    """`service_db` for code that commits (CLI, several apps); test data is deleted
    afterwards, reference data kept."""
    try:
        yield service_db
    finally:
        _delete_test_data(engine)


def _delete_test_data(engine: Engine) -> None:
    names = set(inspect(engine).get_table_names())
    with engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            if table.name in names and table.name not in REFERENCE_TABLES:
                conn.execute(delete(table))
