"""Add a version to countries and factors

An admin's PATCH of a country or a factor now honours `If-Match` as the PATCH of an offer or a
table does: each row carries a version that every change increases, sent as its ETag. Existing
rows start at version 1.

Revision ID: 5c2f8e1a7d34
Revises: d0ba640f230b
Create Date: 2026-12-07 22:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5c2f8e1a7d34"
down_revision: str | None = "d0ba640f230b"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("countries", "factors")


def upgrade() -> None:
    for table in TABLES:
        op.add_column(table, sa.Column("version", sa.Integer(), server_default="1",
                                       nullable=False))


def downgrade() -> None:
    for table in TABLES:
        # A plain ALTER TABLE ... DROP COLUMN (SQLite >= 3.35 has it): a batch copy of the
        # table would trip the foreign keys of the offers and needs that point at it.
        op.drop_column(table, "version")
