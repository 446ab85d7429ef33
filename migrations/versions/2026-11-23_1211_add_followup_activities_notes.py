"""Add follow-up activities and progress notes

Revision ID: 5c1f2d9e8a41
Revises: b7ac9873abb7
Create Date: 2026-11-23 12:11:05.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5c1f2d9e8a41"
down_revision: str | None = "b7ac9873abb7"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "followup_activities",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("pairing_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("responsible_iso3", sa.String(length=3), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=True),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(length=160), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('planned', 'in_progress', 'done', 'cancelled')",
            name=op.f("ck_followup_activities_status"),
        ),
        sa.CheckConstraint(
            "starts_on IS NULL OR due_on >= starts_on",
            name=op.f("ck_followup_activities_dates_ordered"),
        ),
        sa.ForeignKeyConstraint(
            ["pairing_id"],
            ["pairings.id"],
            name=op.f("fk_followup_activities_pairing_id_pairings"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["responsible_iso3"],
            ["countries.iso3"],
            name=op.f("fk_followup_activities_responsible_iso3_countries"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_followup_activities")),
    )
    with op.batch_alter_table("followup_activities", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_followup_activities_pairing_id"), ["pairing_id"], unique=False
        )
        batch_op.create_index(
            "ix_followup_activities_status_due_on", ["status", "due_on"], unique=False
        )

    op.create_table(
        "progress_notes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("pairing_id", sa.Integer(), nullable=False),
        sa.Column("activity_id", sa.Integer(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("author_key_id", sa.Integer(), nullable=True),
        sa.Column("author_name", sa.String(length=120), nullable=False),
        sa.Column("author_role", sa.String(length=16), nullable=False),
        sa.Column("author_country", sa.String(length=3), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["activity_id"],
            ["followup_activities.id"],
            name=op.f("fk_progress_notes_activity_id_followup_activities"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["pairing_id"],
            ["pairings.id"],
            name=op.f("fk_progress_notes_pairing_id_pairings"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_progress_notes")),
    )
    with op.batch_alter_table("progress_notes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_progress_notes_activity_id"), ["activity_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_progress_notes_pairing_id"), ["pairing_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("progress_notes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_progress_notes_pairing_id"))
        batch_op.drop_index(batch_op.f("ix_progress_notes_activity_id"))
    op.drop_table("progress_notes")

    with op.batch_alter_table("followup_activities", schema=None) as batch_op:
        batch_op.drop_index("ix_followup_activities_status_due_on")
        batch_op.drop_index(batch_op.f("ix_followup_activities_pairing_id"))
    op.drop_table("followup_activities")
