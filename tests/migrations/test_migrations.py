"""Migrations on a fresh database (SQLite file, or a throwaway PostgreSQL database when
TEST_DATABASE_URL is set): upgrade, no drift against the models, downgrade, upgrade again, and
a downgrade/upgrade step that keeps the stored offers and needs."""

from __future__ import annotations

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, text
from sqlalchemy.orm import Session

from service.auth.service import create_key
from service.countries.seed import seed_reference
from service.demo.load import load_demo
from service.migrate import alembic_config, current_revision, downgrade, head_revision, upgrade
from tests.migrations.conftest import client_on

CORE_TABLES = {"countries", "groupings", "country_groupings", "factors", "offers", "needs",
               "api_keys", "index_revisions", "cooperation_tables"}


def _tables(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names())


def _items(engine: Engine) -> dict[str, list[tuple[object, ...]]]:
    with engine.connect() as conn:
        return {
            table: [tuple(r) for r in conn.execute(text(
                f"SELECT id, ref, country_iso3, factor_code, title, description, language, "
                f"modality, status, version FROM {table} ORDER BY id"))]
            for table in ("offers", "needs")
        }


def test_upgrade_fresh_database_reaches_head(fresh_url: str, fresh_engine: Engine) -> None:
    upgrade(fresh_url)

    assert current_revision(fresh_engine) == head_revision()
    assert _tables(fresh_engine) >= CORE_TABLES


def test_upgraded_database_has_no_drift_from_models(fresh_url: str) -> None:
    upgrade(fresh_url)

    command.check(alembic_config(fresh_url))


def test_downgrade_to_base_removes_every_table(fresh_url: str, fresh_engine: Engine) -> None:
    upgrade(fresh_url)

    downgrade(fresh_url, "base")

    assert current_revision(fresh_engine) is None
    assert _tables(fresh_engine) <= {"alembic_version"}


def test_upgrade_after_downgrade_to_base_reaches_head_without_drift(
    fresh_url: str, fresh_engine: Engine
) -> None:
    upgrade(fresh_url)
    downgrade(fresh_url, "base")

    upgrade(fresh_url)

    assert current_revision(fresh_engine) == head_revision()
    assert _tables(fresh_engine) >= CORE_TABLES
    command.check(alembic_config(fresh_url))


def test_each_revision_upgrades_downgrades_and_upgrades_again(
    fresh_url: str, fresh_engine: Engine
) -> None:
    script = ScriptDirectory.from_config(alembic_config(fresh_url))
    revisions = [r.revision for r in reversed(list(script.walk_revisions()))]
    assert len(revisions) >= 2

    for revision in revisions:
        upgrade(fresh_url, revision)
        downgrade(fresh_url, "-1")
        upgrade(fresh_url, revision)
        assert current_revision(fresh_engine) == revision


@pytest.mark.usefixtures("no_encoding")
def test_downgrade_one_step_and_upgrade_keeps_offers_and_needs(
    fresh_url: str, fresh_engine: Engine
) -> None:
    upgrade(fresh_url)
    with Session(fresh_engine) as session:
        seed_reference(session)
        result = load_demo(session)
        session.commit()
    before = _items(fresh_engine)
    assert len(before["offers"]) + len(before["needs"]) == result.offers + result.needs >= 120

    downgrade(fresh_url, "-1")
    upgrade(fresh_url)

    assert current_revision(fresh_engine) == head_revision()
    assert _items(fresh_engine) == before


PAIRING_TABLES = ("pairings", "pairing_events", "pairing_consents", "pairing_partners",
                  "followup_activities", "progress_notes")
COPY_OF_FIRST_PAIRING = (
    "INSERT INTO pairings (need_id, offer_id, table_id, recipient_iso3, provider_iso3, stage, "
    "score, components, scoring_version, version, created_at, updated_at, origin) SELECT "
    "need_id, offer_id, table_id, recipient_iso3, provider_iso3, 'withdrawn', score, "
    "components, scoring_version, 1, created_at, updated_at, origin FROM pairings "
    "WHERE id = (SELECT min(id) FROM pairings)")


def _rows(engine: Engine, tables: tuple[str, ...]) -> dict[str, list[tuple[object, ...]]]:
    with engine.connect() as conn:
        return {table: [tuple(r) for r in conn.execute(text(f"SELECT * FROM {table} ORDER BY 1"))]
                for table in tables}


@pytest.mark.usefixtures("no_encoding")
def test_pairings_keep_their_history_through_the_upgrade_and_never_reuse_an_id(
    fresh_url: str, fresh_engine: Engine
) -> None:
    """The revision that makes pairing ids never reused rebuilds the table on SQLite: every
    pairing, and every row that cascades from one, is still there after it; then the id of
    the pairing deleted last (as a re-plan deletes untouched suggestions) is not given again.
    The rows are written through today's models, at the head, then taken down to the revision
    before it (the downgrade rebuilds the table back)."""
    upgrade(fresh_url)
    with Session(fresh_engine) as session:
        seed_reference(session)
        load_demo(session)
        session.commit()
    downgrade(fresh_url, "3e7a1c5d9b24")
    before = _rows(fresh_engine, PAIRING_TABLES)
    assert all(before[table] for table in ("pairings", "pairing_events", "pairing_consents"))

    upgrade(fresh_url)

    assert _rows(fresh_engine, PAIRING_TABLES) == before
    with fresh_engine.begin() as conn:
        conn.execute(text(COPY_OF_FIRST_PAIRING))
        deleted: int = conn.execute(text("SELECT max(id) FROM pairings")).scalar_one()
        conn.execute(text("DELETE FROM pairings WHERE id = :id"), {"id": deleted})
        conn.execute(text(COPY_OF_FIRST_PAIRING))
        assert conn.execute(text("SELECT max(id) FROM pairings")).scalar_one() > deleted


def test_a_service_on_a_database_behind_its_migrations_says_so(
        fresh_url: str, fresh_engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    upgrade(fresh_url)
    with Session(fresh_engine) as session:
        seed_reference(session)
        _key, secret = create_key(session, role="admin", name="behind")
        session.commit()
    # before the revision adding the offers' change_seq, which the code reads
    downgrade(fresh_url, "9d3e6b2f7c10")
    behind = current_revision(fresh_engine)
    with client_on(fresh_url, monkeypatch) as client:
        offers = client.get("/api/v1/offers", headers={"Authorization": f"Bearer {secret}"})
        ready = client.get("/ready")

    assert offers.status_code == 503, offers.text
    assert offers.headers["content-type"] == "application/problem+json"
    assert offers.json()["type"].endswith("/not-migrated")
    assert "`sscmatch migrate`" in offers.json()["detail"]
    assert ready.status_code == 503
    assert ready.json()["detail"] == (f"Database is at migration {behind}, expected "
                                      f"{head_revision()}; run `sscmatch migrate`.")
    assert behind is not None
    assert behind != head_revision()
