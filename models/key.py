"""Access keys: stored only as a hash, each with a role and, for country keys, a country."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime, utcnow

ROLES = ("admin", "organizer", "country")


class ApiKey(Base):
    """A bearer key; `key_hash` is the SHA-256 of the secret, which is never stored."""

    __tablename__ = "api_keys"
    __table_args__ = (
        CheckConstraint("role IN ('admin', 'organizer', 'country')", name="role"),
        CheckConstraint(
            "(role = 'country') = (country_iso3 IS NOT NULL)", name="country_iff_country_role"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), default="")
    role: Mapped[str] = mapped_column(String(16))
    country_iso3: Mapped[str | None] = mapped_column(
        ForeignKey("countries.iso3", ondelete="RESTRICT")
    )
    prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
