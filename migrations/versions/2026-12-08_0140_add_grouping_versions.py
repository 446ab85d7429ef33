"""Add a version to groupings

An admin's PATCH or DELETE of a grouping now honours `If-Match` as the PATCH of a country or
a factor does: each grouping carries a version that every change increases (its members
included, also when a country's PATCH changes them), sent as its ETag. Existing rows start at
version 1.

Revision ID: 8e41c0d2b9a7
Revises: 5c2f8e1a7d34
Create Date: 2026-12-08 01:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "8e41c0d2b9a7"
down_revision: str | None = "5c2f8e1a7d34"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("groupings", sa.Column("version", sa.Integer(), server_default="1",
                                         nullable=False))


def downgrade() -> None:
    # A plain ALTER TABLE ... DROP COLUMN (SQLite >= 3.35 has it), as for countries: a batch
    # copy of the table would trip the foreign keys of the memberships that point at it.
    op.drop_column("groupings", "version")
