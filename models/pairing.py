"""Pairings and their lifecycle: consents, triangular partners, the audit trail, follow-up
activities, progress notes and the records that make POST requests idempotent."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, TimestampMixin, UTCDateTime, utcnow

if TYPE_CHECKING:
    from models.item import Need, Offer

STAGES = ("suggested", "expression_of_interest", "commitment", "agreement", "declined",
          "withdrawn")
OPEN_STAGES = ("suggested", "expression_of_interest", "commitment", "agreement")
OUTCOME_STAGES = ("expression_of_interest", "commitment", "agreement")
ORIGINS = ("plan", "organizer", "recipient")
SUPPORT_KINDS = ("technical", "financial", "methodological")
CONSENT_STEPS = ("commitment", "agreement")
CONSENT_SIDES = ("recipient", "provider", "partner")
ACTIVITY_STATUSES = ("planned", "in_progress", "done", "cancelled")

_BIGINT = BigInteger().with_variant(Integer, "sqlite")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Pairing(TimestampMixin, Base):
    """A (need, offer) pairing between two countries, followed through its stages."""

    __tablename__ = "pairings"
    __table_args__ = (
        CheckConstraint(
            "stage IN ('suggested', 'expression_of_interest', 'commitment', 'agreement', "
            "'declined', 'withdrawn')",
            name="stage",
        ),
        CheckConstraint("score >= 0 AND score <= 1", name="score_range"),
        Index(
            "uq_pairings_open_need_offer",
            "need_id",
            "offer_id",
            unique=True,
            sqlite_where=text("stage NOT IN ('declined', 'withdrawn')"),
            postgresql_where=text("stage NOT IN ('declined', 'withdrawn')"),
        ),
        Index("ix_pairings_table_stage", "table_id", "stage"),
        # SQLite gives a new row the largest id plus one: without AUTOINCREMENT, a pairing
        # deleted last (a re-plan deletes untouched suggestions) lent its id to the next one.
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    need_id: Mapped[int] = mapped_column(ForeignKey("needs.id", ondelete="RESTRICT"), index=True)
    offer_id: Mapped[int] = mapped_column(ForeignKey("offers.id", ondelete="RESTRICT"), index=True)
    table_id: Mapped[int | None] = mapped_column(
        ForeignKey("cooperation_tables.id", ondelete="RESTRICT")
    )
    recipient_iso3: Mapped[str] = mapped_column(ForeignKey("countries.iso3", ondelete="RESTRICT"))
    provider_iso3: Mapped[str] = mapped_column(ForeignKey("countries.iso3", ondelete="RESTRICT"))
    stage: Mapped[str] = mapped_column(String(32), default="suggested")
    score: Mapped[float] = mapped_column(Float, default=0.0)
    components: Mapped[dict[str, float]] = mapped_column(JSON, default=dict)
    scoring_version: Mapped[str] = mapped_column(String(40), default="")
    version: Mapped[int] = mapped_column(Integer, default=1)
    # Who proposed it: a plan (replaced by the next plan while still `suggested`), an
    # organiser (from a suggestion) or the recipient country itself.
    origin: Mapped[str] = mapped_column(String(16), default="plan", server_default="plan")

    need: Mapped[Need] = relationship(lazy="raise")
    offer: Mapped[Offer] = relationship(lazy="raise")
    partner: Mapped[PairingPartner | None] = relationship(
        lazy="raise", cascade="all, delete-orphan", passive_deletes=True)
    consents: Mapped[list[PairingConsent]] = relationship(
        lazy="raise", cascade="all, delete-orphan", passive_deletes=True,
        order_by="PairingConsent.id")


class PairingPartner(Base):
    """The triangular partner of a pairing (an agency such as ABC, AECID, USDOL or the ILO)."""

    __tablename__ = "pairing_partners"
    __table_args__ = (CheckConstraint(_in("support", SUPPORT_KINDS), name="support"),)

    pairing_id: Mapped[int] = mapped_column(
        ForeignKey("pairings.id", ondelete="CASCADE"), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    support: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class PairingConsent(Base):
    """One side's confirmation of a step that binds both (commitment, agreement), or the
    organiser's confirmation of the triangular partner of an agreement (side `partner`)."""

    __tablename__ = "pairing_consents"
    __table_args__ = (
        UniqueConstraint("pairing_id", "step", "side", name="uq_pairing_consents_step_side"),
        CheckConstraint(_in("step", CONSENT_STEPS), name="step"),
        CheckConstraint(_in("side", CONSENT_SIDES), name="side"),
        CheckConstraint("side <> 'partner' OR step = 'agreement'", name="partner_on_agreement"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    pairing_id: Mapped[int] = mapped_column(ForeignKey("pairings.id", ondelete="CASCADE"))
    step: Mapped[str] = mapped_column(String(16))
    side: Mapped[str] = mapped_column(String(16))
    country_iso3: Mapped[str | None] = mapped_column(String(3))
    actor_key_id: Mapped[int | None] = mapped_column(Integer)
    actor_name: Mapped[str] = mapped_column(String(120), default="")
    actor_role: Mapped[str] = mapped_column(String(16))
    on_behalf: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class PairingEvent(Base):
    """An immutable audit event: who (key, role, country) did what to a pairing, when, from
    which stage to which, and why. A database trigger refuses updates."""

    __tablename__ = "pairing_events"
    __table_args__ = (Index("ix_pairing_events_pairing_id_id", "pairing_id", "id"),)

    id: Mapped[int] = mapped_column(_BIGINT, primary_key=True)
    pairing_id: Mapped[int] = mapped_column(ForeignKey("pairings.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    action: Mapped[str] = mapped_column(String(32))
    from_stage: Mapped[str | None] = mapped_column(String(32))
    to_stage: Mapped[str | None] = mapped_column(String(32))
    actor_key_id: Mapped[int | None] = mapped_column(Integer)
    actor_name: Mapped[str] = mapped_column(String(120), default="")
    actor_role: Mapped[str] = mapped_column(String(16))
    actor_country: Mapped[str | None] = mapped_column(String(3))
    on_behalf_of: Mapped[str | None] = mapped_column(String(3))
    reason: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    version: Mapped[int] = mapped_column(Integer, doc="The pairing's version after the event")


class IdempotencyRecord(Base):
    """A POST request made with an `Idempotency-Key`: its fingerprint and first response."""

    __tablename__ = "idempotency_records"
    __table_args__ = (
        UniqueConstraint("principal_key_id", "key", name="uq_idempotency_records_key"),
    )

    id: Mapped[int] = mapped_column(_BIGINT, primary_key=True)
    principal_key_id: Mapped[int] = mapped_column(Integer)
    key: Mapped[str] = mapped_column(String(200))
    method: Mapped[str] = mapped_column(String(8))
    path: Mapped[str] = mapped_column(String(300))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int | None] = mapped_column(Integer)
    response: Mapped[Any] = mapped_column(JSON, nullable=True)
    headers: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)


class FollowupActivity(TimestampMixin, Base):
    """A joint-monitoring activity of a commitment or agreement, with its responsible country."""

    __tablename__ = "followup_activities"
    __table_args__ = (
        CheckConstraint(_in("status", ACTIVITY_STATUSES), name="status"),
        CheckConstraint("starts_on IS NULL OR due_on >= starts_on", name="dates_ordered"),
        Index("ix_followup_activities_status_due_on", "status", "due_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    pairing_id: Mapped[int] = mapped_column(
        ForeignKey("pairings.id", ondelete="RESTRICT"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    responsible_iso3: Mapped[str] = mapped_column(
        ForeignKey("countries.iso3", ondelete="RESTRICT"))
    starts_on: Mapped[date | None] = mapped_column(Date)
    due_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="planned")
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_by: Mapped[str] = mapped_column(String(160), default="")


class ProgressNote(Base):
    """A progress note on a commitment or agreement (optionally about one activity)."""

    __tablename__ = "progress_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    pairing_id: Mapped[int] = mapped_column(
        ForeignKey("pairings.id", ondelete="RESTRICT"), index=True)
    activity_id: Mapped[int | None] = mapped_column(
        ForeignKey("followup_activities.id", ondelete="RESTRICT"), index=True)
    text: Mapped[str] = mapped_column(Text)
    author_key_id: Mapped[int | None] = mapped_column(Integer)
    author_name: Mapped[str] = mapped_column(String(120), default="")
    author_role: Mapped[str] = mapped_column(String(16))
    author_country: Mapped[str | None] = mapped_column(String(3))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
