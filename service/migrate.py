"""Run Alembic migrations from code (works from an installed package, no alembic.ini)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from service.config import get_settings


def alembic_config(url: str | None = None) -> Config:
    """Return an Alembic config pointing at the packaged `migrations` directory."""
    config = Config()
    script_location = Path(str(resources.files("migrations")))
    config.set_main_option("script_location", str(script_location))
    config.attributes["url"] = url or get_settings().database_url
    return config


def upgrade(url: str | None = None, revision: str = "head") -> None:
    """Upgrade the database to `revision` (default: the latest)."""
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str | None = None, revision: str = "base") -> None:
    """Downgrade the database to `revision`."""
    command.downgrade(alembic_config(url), revision)


def head_revision() -> str | None:
    """Return the latest revision shipped with this version of the service."""
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def known_revisions() -> set[str]:
    """Return every revision shipped with this version of the service."""
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    return {script_revision.revision for script_revision in script.walk_revisions()}


def current_revision(engine: Engine) -> str | None:
    """Return the revision the database is at (None if never migrated)."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()
