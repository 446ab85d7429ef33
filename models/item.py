"""Offers and needs: what a country can give and what it asks for, per accelerator factor."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from models.base import Base, TimestampMixin

MODALITIES = (
    "technical_assistance",
    "study_visit",
    "expert_exchange",
    "training",
    "documentation",
    "internship",
)
STATUSES = ("draft", "published", "withdrawn")


def _in(column: str, values: tuple[str, ...]) -> str:
    quoted = ", ".join(f"'{v}'" for v in values)
    return f"{column} IN ({quoted})"


def _unstamped() -> None:
    """The change sequence of a row being written: none until its counter's bump."""
    return None


class ItemMixin(TimestampMixin):
    """Columns shared by offers and needs."""

    __tablename__: str

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    ref: Mapped[str] = mapped_column(String(64), unique=True)
    country_iso3: Mapped[str] = mapped_column(ForeignKey("countries.iso3", ondelete="RESTRICT"))
    factor_code: Mapped[str] = mapped_column(ForeignKey("factors.code", ondelete="RESTRICT"))
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(2))
    modality: Mapped[str] = mapped_column(String(32))
    target_population: Mapped[str] = mapped_column(String(300), default="")
    status: Mapped[str] = mapped_column(String(16), default="draft")
    version: Mapped[int] = mapped_column(Integer, default=1)
    embedding: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    embedding_model: Mapped[str | None] = mapped_column(String(80))
    # The revision of the counter (`index_revisions`) whose bump committed the row's last
    # write: every insert or update sets it to NULL and the bump stamps it, in the same
    # transaction (see `service.revisions`), so the index reads only rows changed since.
    change_seq: Mapped[int | None] = mapped_column(BigInteger, default=None,
                                                   onupdate=_unstamped)

    @declared_attr.directive
    @classmethod
    def __table_args__(cls) -> tuple[object, ...]:
        return _item_table_args(cls.__tablename__)


def _item_table_args(name: str) -> tuple[object, ...]:
    """Constraints and indexes of the offers and needs tables."""
    return (
        CheckConstraint(_in("modality", MODALITIES), name="modality"),
        CheckConstraint(_in("status", STATUSES), name="status"),
        CheckConstraint("version >= 1", name="version_positive"),
        Index(f"ix_{name}_country_status_id", "country_iso3", "status", "id"),
        Index(f"ix_{name}_factor_status_id", "factor_code", "status", "id"),
        Index(f"ix_{name}_status_id", "status", "id"),
        Index(f"ix_{name}_language", "language"),
        Index(f"ix_{name}_modality", "modality"),
        Index(f"ix_{name}_change_seq", "change_seq"),
    )


class Offer(ItemMixin, Base):
    """Something a country can offer: an experience, a programme, a capacity."""

    __tablename__ = "offers"

    capacity: Mapped[int] = mapped_column(Integer, default=1)

    @declared_attr.directive
    @classmethod
    def __table_args__(cls) -> tuple[object, ...]:
        return (
            *_item_table_args(cls.__tablename__),
            CheckConstraint("capacity >= 1 AND capacity <= 50", name="capacity_range"),
        )


class Need(ItemMixin, Base):
    """Something a country asks for."""

    __tablename__ = "needs"


class IndexRevision(Base):
    """Counters (offers, needs, pairings, reference data) bumped by the transactions that
    write them (see `service.revisions`).

    Workers compare them with the revisions of their in-memory vector indexes and cached
    rankings, so what one worker built notices writes made through another.
    """

    __tablename__ = "index_revisions"

    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    revision: Mapped[int] = mapped_column(BigInteger, default=0)
