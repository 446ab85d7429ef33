"""Add the revision counter of reference data (countries, languages, groupings)

Cached suggestions and matches are keyed on every counter of `index_revisions`; admin edits
of countries and groupings bump this one, so that results scored with the old languages or
groupings are not served after the edit.

Revision ID: 9d3e6b2f7c10
Revises: 5c1f2d9e8a41
Create Date: 2026-11-23 19:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "9d3e6b2f7c10"
down_revision: str | None = "5c1f2d9e8a41"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    revisions = sa.table(
        "index_revisions", sa.column("kind", sa.String), sa.column("revision", sa.BigInteger)
    )
    op.bulk_insert(revisions, [{"kind": "reference", "revision": 0}])


def downgrade() -> None:
    op.execute("DELETE FROM index_revisions WHERE kind = 'reference'")
