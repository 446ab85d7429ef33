"""Pairing ids are never reused on SQLite

SQLite gives a new row the largest id in the table plus one, so the id of a pairing deleted
last (a re-plan deletes the suggestions nobody acted on) went to the next pairing created:
a country acting on `/pairings/{id}` with what it read before the re-plan (the same id, ETag
"1") acted on another pairing. AUTOINCREMENT makes SQLite remember the largest id ever given.
It can only be declared when the table is created, so the table is rebuilt (a batch copy),
with foreign keys off (see migrations/env.py) so that dropping the old table deletes none of
the rows that cascade from it. PostgreSQL's sequences never reuse an id: nothing to do there.

Revision ID: b9e77c584aff
Revises: 3e7a1c5d9b24
Create Date: 2026-12-07 13:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "b9e77c584aff"
down_revision: str | None = "3e7a1c5d9b24"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _rebuild_pairings(*, autoincrement: bool) -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    if bind.exec_driver_sql("PRAGMA foreign_keys").scalar():
        raise RuntimeError("rebuilding pairings needs foreign keys off: with them on, dropping "
                           "the old table would delete its history, consents and partners")
    with op.batch_alter_table("pairings", recreate="always",
                              table_kwargs={"sqlite_autoincrement": autoincrement}):
        pass


def upgrade() -> None:
    _rebuild_pairings(autoincrement=True)


def downgrade() -> None:
    _rebuild_pairings(autoincrement=False)
