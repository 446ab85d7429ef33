"""Countries, regional groupings and accelerator factors (reference data)."""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, TimestampMixin


class Country(TimestampMixin, Base):
    """An ISO 3166-1 country; members of the Regional Initiative are enabled by default."""

    __tablename__ = "countries"

    iso3: Mapped[str] = mapped_column(String(3), primary_key=True)
    iso2: Mapped[str] = mapped_column(String(2), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    languages: Mapped[list[str]] = mapped_column(JSON, default=list)
    is_member: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")

    groupings: Mapped[list[Grouping]] = relationship(
        secondary="country_groupings", lazy="raise", back_populates="countries",
        order_by="Grouping.code",
    )


class Grouping(TimestampMixin, Base):
    """A regional grouping of countries (MERCOSUR, SICA, CARICOM, ...)."""

    __tablename__ = "groupings"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32), default="regional")
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")

    countries: Mapped[list[Country]] = relationship(
        secondary="country_groupings", lazy="raise", back_populates="groupings",
        order_by="Country.iso3",
    )


class CountryGrouping(Base):
    """Membership of a country in a grouping."""

    __tablename__ = "country_groupings"

    country_iso3: Mapped[str] = mapped_column(
        ForeignKey("countries.iso3", ondelete="CASCADE"), primary_key=True
    )
    grouping_code: Mapped[str] = mapped_column(
        ForeignKey("groupings.code", ondelete="CASCADE"), primary_key=True, index=True
    )


class Factor(TimestampMixin, Base):
    """An accelerator factor with labels and descriptions in es/pt/en/fr."""

    __tablename__ = "factors"

    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    labels: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    descriptions: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    note: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
