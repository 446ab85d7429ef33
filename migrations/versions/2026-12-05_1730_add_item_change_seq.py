"""Add the change sequence of offers and needs

Every write of an offer or need sets `change_seq` to NULL and the bump of its counter in
`index_revisions` stamps it with the new revision before the transaction commits, so a
worker's index reads only the rows changed since the revision it holds instead of the ids
and versions of every published row. Existing rows get the current value of their counter.

Revision ID: 3e7a1c5d9b24
Revises: 9d3e6b2f7c10
Create Date: 2026-12-05 17:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "3e7a1c5d9b24"
down_revision: str | None = "9d3e6b2f7c10"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("offers", "needs")


def upgrade() -> None:
    for table in TABLES:
        op.add_column(table, sa.Column("change_seq", sa.BigInteger(), nullable=True))
        op.execute(
            f"UPDATE {table} SET change_seq = (SELECT revision FROM index_revisions"
            f" WHERE kind = '{table}')"
        )
        op.create_index(f"ix_{table}_change_seq", table, ["change_seq"])


def downgrade() -> None:
    for table in TABLES:
        op.drop_index(f"ix_{table}_change_seq", table_name=table)
        # A plain ALTER TABLE ... DROP COLUMN (SQLite >= 3.35 has it): a batch copy of the
        # table would trip the foreign keys of pairings that point at it.
        op.drop_column(table, "change_seq")
