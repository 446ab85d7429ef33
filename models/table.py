"""Cooperation tables, their participants and stored plans (pairings: models/pairing.py)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, TimestampMixin, UTCDateTime, utcnow

TABLE_STATUSES = ("planning", "open", "matching", "in_session", "closed")


class CooperationTable(TimestampMixin, Base):
    """A South–South cooperation table: participants, dates, settings and status."""

    __tablename__ = "cooperation_tables"
    __table_args__ = (
        CheckConstraint(
            "status IN ('planning', 'open', 'matching', 'in_session', 'closed')", name="status"
        ),
        CheckConstraint("ends_on >= starts_on", name="dates_ordered"),
        CheckConstraint("rounds >= 1 AND tables_per_round >= 1", name="rounds_positive"),
        CheckConstraint(
            "max_meetings_per_delegation >= 1 AND max_offers_per_need >= 1", name="limits_positive"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    venue: Mapped[str] = mapped_column(String(200), default="")
    host_country_iso3: Mapped[str | None] = mapped_column(
        ForeignKey("countries.iso3", ondelete="RESTRICT")
    )
    status: Mapped[str] = mapped_column(String(16), default="planning", index=True)
    rounds: Mapped[int] = mapped_column(Integer, default=6)
    tables_per_round: Mapped[int] = mapped_column(Integer, default=10)
    max_meetings_per_delegation: Mapped[int] = mapped_column(Integer, default=6)
    max_offers_per_need: Mapped[int] = mapped_column(Integer, default=2)
    weights: Mapped[dict[str, float]] = mapped_column(JSON, default=dict)
    factor_affinity: Mapped[dict[str, float]] = mapped_column(JSON, default=dict)
    version: Mapped[int] = mapped_column(Integer, default=1)

    participants: Mapped[list[TableParticipant]] = relationship(
        lazy="raise", cascade="all, delete-orphan", order_by="TableParticipant.country_iso3"
    )


class TableParticipant(Base):
    """A country taking part in a cooperation table."""

    __tablename__ = "table_participants"

    table_id: Mapped[int] = mapped_column(
        ForeignKey("cooperation_tables.id", ondelete="CASCADE"), primary_key=True
    )
    country_iso3: Mapped[str] = mapped_column(
        ForeignKey("countries.iso3", ondelete="RESTRICT"), primary_key=True, index=True
    )


class Plan(Base):
    """A stored, versioned plan of a table: the selected pairings and the round schedule."""

    __tablename__ = "plans"
    __table_args__ = (UniqueConstraint("table_id", "number", name="uq_plans_table_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    table_id: Mapped[int] = mapped_column(
        ForeignKey("cooperation_tables.id", ondelete="CASCADE"), index=True
    )
    number: Mapped[int] = mapped_column(Integer)
    scoring_version: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by: Mapped[str] = mapped_column(String(120), default="")
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    meetings: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    left_out: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    note: Mapped[str | None] = mapped_column(Text)
