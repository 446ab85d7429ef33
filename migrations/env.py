"""Alembic environment: migrates the database named by the config or DATABASE_URL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy.engine import Connection

from models import Base
from models.base import UTCDateTime
from service.config import get_settings
from service.db import SQLITE_BEGIN_IMMEDIATE, make_engine

config = context.config
target_metadata = Base.metadata


def _url() -> str:
    url = config.attributes.get("url")
    return str(url) if url else get_settings().database_url


def _render_item(type_: str, obj: Any, _context: AutogenContext) -> str | Literal[False]:
    """Render the UTC datetime type as a plain timezone-aware DateTime in revisions."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def run_migrations_offline() -> None:
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True,
                      render_as_batch=True, compare_type=True,
                      render_item=_render_item)
    with context.begin_transaction():
        context.run_migrations()


def _run(connection: Connection) -> None:
    # One transaction for the whole upgrade, on SQLite too (whose DDL is transactional once
    # BEGIN is sent, as service.db's engines do): Alembic otherwise commits after each
    # revision, and a second `migrate` waiting on the write lock got in between.
    context.configure(connection=connection, target_metadata=target_metadata,
                      render_as_batch=True, compare_type=True,
                      render_item=_render_item, transactional_ddl=True)
    with context.begin_transaction():
        context.run_migrations()
        if connection.dialect.name == "sqlite":
            broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            if broken:  # raised inside the transaction: the whole upgrade is rolled back
                raise RuntimeError(f"the migration would leave rows whose references are "
                                   f"missing (table, row, parent): {broken[:5]}")


@contextmanager
def _foreign_keys_checked_at_the_end(connection: Connection) -> Iterator[None]:
    """On SQLite, run the migrations with foreign keys off and check them all before the
    commit (`_run`), as SQLite's documented procedure for schema changes does: a table rebuilt
    by a batch migration is dropped and replaced, and with foreign keys on, dropping it would
    delete the rows of other tables that cascade from it. The pragma takes effect only
    outside a transaction, so it is set before the migration's BEGIN."""
    if connection.dialect.name != "sqlite":
        yield
        return
    driver = connection.connection.driver_connection
    assert driver is not None
    driver.execute("PRAGMA foreign_keys=OFF")
    try:
        yield
    finally:
        driver.execute("PRAGMA foreign_keys=ON")


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(_url())
    with engine.connect() as conn, _foreign_keys_checked_at_the_end(conn):
        # On SQLite the migration takes the write lock before it reads the revision: a second
        # `migrate` started meanwhile waits for the first (up to the busy timeout), then finds
        # nothing to do, where it failed with "database is locked" on upgrading its read lock.
        # (PostgreSQL: `service.migrate.migration_lock`.)
        _run(conn.execution_options(**{SQLITE_BEGIN_IMMEDIATE: True}))
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
