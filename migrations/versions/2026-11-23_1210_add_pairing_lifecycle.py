"""Add the pairing lifecycle: consents, triangular partners, audit events, idempotency

Revision ID: b7ac9873abb7
Revises: b0129f5e0561
Create Date: 2026-11-23 12:10:37.175266
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b7ac9873abb7"
down_revision: str | None = "b0129f5e0561"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Audit events are never edited: the database refuses UPDATE on them (DELETE stays possible
# so that a stale plan suggestion can be removed together with its history).
_PG_IMMUTABLE = """
CREATE OR REPLACE FUNCTION pairing_events_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'pairing_events are immutable (audit trail)';
END;
$$;
CREATE TRIGGER tr_pairing_events_immutable BEFORE UPDATE ON pairing_events
  FOR EACH ROW EXECUTE FUNCTION pairing_events_immutable();
"""
_SQLITE_IMMUTABLE = """
CREATE TRIGGER tr_pairing_events_immutable BEFORE UPDATE ON pairing_events
BEGIN
  SELECT RAISE(ABORT, 'pairing_events are immutable (audit trail)');
END;
"""


def upgrade() -> None:
    op.create_table(
        "idempotency_records",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("principal_key_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("method", sa.String(length=8), nullable=False),
        sa.Column("path", sa.String(length=300), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("response", sa.JSON(), nullable=True),
        sa.Column("headers", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_idempotency_records")),
        sa.UniqueConstraint("principal_key_id", "key", name="uq_idempotency_records_key"),
    )
    with op.batch_alter_table("idempotency_records", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_idempotency_records_created_at"), ["created_at"], unique=False
        )

    op.create_table(
        "pairing_consents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("pairing_id", sa.Integer(), nullable=False),
        sa.Column("step", sa.String(length=16), nullable=False),
        sa.Column("side", sa.String(length=16), nullable=False),
        sa.Column("country_iso3", sa.String(length=3), nullable=True),
        sa.Column("actor_key_id", sa.Integer(), nullable=True),
        sa.Column("actor_name", sa.String(length=120), nullable=False),
        sa.Column("actor_role", sa.String(length=16), nullable=False),
        sa.Column("on_behalf", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "side <> 'partner' OR step = 'agreement'",
            name=op.f("ck_pairing_consents_partner_on_agreement"),
        ),
        sa.CheckConstraint(
            "side IN ('recipient', 'provider', 'partner')", name=op.f("ck_pairing_consents_side")
        ),
        sa.CheckConstraint(
            "step IN ('commitment', 'agreement')", name=op.f("ck_pairing_consents_step")
        ),
        sa.ForeignKeyConstraint(
            ["pairing_id"],
            ["pairings.id"],
            name=op.f("fk_pairing_consents_pairing_id_pairings"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pairing_consents")),
        sa.UniqueConstraint("pairing_id", "step", "side", name="uq_pairing_consents_step_side"),
    )

    op.create_table(
        "pairing_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("pairing_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("from_stage", sa.String(length=32), nullable=True),
        sa.Column("to_stage", sa.String(length=32), nullable=True),
        sa.Column("actor_key_id", sa.Integer(), nullable=True),
        sa.Column("actor_name", sa.String(length=120), nullable=False),
        sa.Column("actor_role", sa.String(length=16), nullable=False),
        sa.Column("actor_country", sa.String(length=3), nullable=True),
        sa.Column("on_behalf_of", sa.String(length=3), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["pairing_id"],
            ["pairings.id"],
            name=op.f("fk_pairing_events_pairing_id_pairings"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pairing_events")),
    )
    with op.batch_alter_table("pairing_events", schema=None) as batch_op:
        batch_op.create_index("ix_pairing_events_pairing_id_id", ["pairing_id", "id"], unique=False)

    op.create_table(
        "pairing_partners",
        sa.Column("pairing_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("support", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "support IN ('technical', 'financial', 'methodological')",
            name=op.f("ck_pairing_partners_support"),
        ),
        sa.ForeignKeyConstraint(
            ["pairing_id"],
            ["pairings.id"],
            name=op.f("fk_pairing_partners_pairing_id_pairings"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("pairing_id", name=op.f("pk_pairing_partners")),
    )
    with op.batch_alter_table("pairing_partners", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_pairing_partners_name"), ["name"], unique=False)

    # A plain ADD COLUMN on both backends (no batch copy of `pairings`, which would have to
    # rebuild its partial unique index).
    op.add_column(
        "pairings",
        sa.Column("origin", sa.String(length=16), server_default="plan", nullable=False),
    )

    if op.get_bind().dialect.name == "postgresql":
        op.execute(_PG_IMMUTABLE)
    else:
        op.execute(_SQLITE_IMMUTABLE)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS tr_pairing_events_immutable ON pairing_events")
        op.execute("DROP FUNCTION IF EXISTS pairing_events_immutable()")
    else:
        op.execute("DROP TRIGGER IF EXISTS tr_pairing_events_immutable")

    op.drop_column("pairings", "origin")

    with op.batch_alter_table("pairing_partners", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pairing_partners_name"))
    op.drop_table("pairing_partners")

    with op.batch_alter_table("pairing_events", schema=None) as batch_op:
        batch_op.drop_index("ix_pairing_events_pairing_id_id")
    op.drop_table("pairing_events")

    op.drop_table("pairing_consents")

    with op.batch_alter_table("idempotency_records", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_idempotency_records_created_at"))
    op.drop_table("idempotency_records")
