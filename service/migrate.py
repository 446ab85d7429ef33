"""Run Alembic migrations from code (works from an installed package, no alembic.ini)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from importlib import resources
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from service.config import get_settings
from service.db import make_engine

MIGRATION_LOCK_KEY = 0x7373636D_6D696772  # "sscmmigr": the advisory lock of `migration_lock`


def alembic_config(url: str | None = None) -> Config:
    """Return an Alembic config pointing at the packaged `migrations` directory."""
    config = Config()
    script_location = Path(str(resources.files("migrations")))
    config.set_main_option("script_location", str(script_location))
    config.attributes["url"] = url or get_settings().database_url
    return config


@contextmanager
def migration_lock(url: str | None = None) -> Iterator[None]:
    """Hold, on PostgreSQL, a session-level advisory lock that one process at a time takes to
    migrate and seed the database, for the duration of the block.

    Two `sscmatch migrate` (or `serve`, `keys`, ... which migrate first) started at once both
    found the database behind and ran the same migrations: the second failed on the tables
    the first had just created ("relation already exists", "duplicate key value violates
    unique constraint pg_type_typname_nsp_index"), or on the reference rows it had seeded.
    With the lock the second waits, then finds the database at the latest migration. The lock
    is released when the block ends, or when the process dies (its connection closes). Other
    databases run the block as it is.
    """
    url = url or get_settings().database_url
    if make_url(url).get_backend_name() != "postgresql":
        yield
        return
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
            conn.commit()  # a session-level lock: no transaction is left open while waiting
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:key)"),
                             {"key": MIGRATION_LOCK_KEY})
                conn.commit()
    finally:
        engine.dispose()


def upgrade(url: str | None = None, revision: str = "head") -> None:
    """Upgrade the database to `revision` (default: the latest)."""
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str | None = None, revision: str = "base") -> None:
    """Downgrade the database to `revision`."""
    command.downgrade(alembic_config(url), revision)


@lru_cache(maxsize=1)
def _shipped() -> ScriptDirectory:
    """The migrations shipped with this version, read once (about 4 ms, which every `/ready`
    paid)."""
    return ScriptDirectory.from_config(alembic_config("sqlite://"))


def head_revision() -> str | None:
    """Return the latest revision shipped with this version of the service."""
    return _shipped().get_current_head()


def known_revisions() -> set[str]:
    """Return every revision shipped with this version of the service."""
    return {script_revision.revision for script_revision in _shipped().walk_revisions()}


def unknown_revision(current: str | None) -> str | None:
    """Why a database at `current` cannot be used when this version does not ship that
    migration (a later version migrated it), as "at migration X, which ... before it"; None
    for a known migration or none. The command line and `/ready` both say it."""
    if current is None or current in known_revisions():
        return None
    return (f"at migration {current}, which this version of sscmatch does not know (a later "
            "version migrated it); run that version, or restore a backup taken before it")


def current_revision(engine: Engine) -> str | None:
    """Return the revision the database is at (None if never migrated)."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()
