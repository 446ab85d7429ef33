"""Report queries: grouped counts computed by the database over the pairings in scope."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import cast

from sqlalchemy import ColumnElement, case, func, or_, select
from sqlalchemy.orm import Session

from models import (
    Country,
    Factor,
    FollowupActivity,
    Need,
    Pairing,
    PairingConsent,
    PairingPartner,
)
from service.followups.service import overdue_clause


@dataclass(frozen=True, slots=True)
class Scope:
    """Which pairings a report covers: one table or all, created within a date range, and
    for country keys only the rows where that country is recipient or provider. The filters
    narrow it further: `country_filter` keeps the pairings where that country is recipient or
    provider, `factor` those whose need is on that factor (the factor they are counted under)."""

    table_id: int | None = None
    date_from: date | None = None
    date_to: date | None = None
    country: str | None = None
    country_filter: str | None = None
    factor: str | None = None


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def conditions(scope: Scope) -> list[ColumnElement[bool]]:
    """The WHERE conditions on `pairings` of a scope."""
    conds: list[ColumnElement[bool]] = []
    if scope.table_id is not None:
        conds.append(Pairing.table_id == scope.table_id)
    if scope.date_from is not None:
        conds.append(Pairing.created_at >= _start_of(scope.date_from))
    if scope.date_to is not None and scope.date_to < date.max:  # date.max: no end
        conds.append(Pairing.created_at < _start_of(scope.date_to + timedelta(days=1)))
    for country in (scope.country, scope.country_filter):
        if country is not None:
            conds.append(or_(Pairing.recipient_iso3 == country, Pairing.provider_iso3 == country))
    if scope.factor is not None:
        conds.append(Pairing.need_id.in_(select(Need.id).where(Need.factor_code == scope.factor)))
    return conds


PairingCount = tuple[str, str, str, str, int]
"""(provider, recipient, factor of the need, stage, pairings)."""


def pairing_counts(session: Session, scope: Scope) -> list[PairingCount]:
    """The pairings in scope, counted per provider, recipient, factor of the need and stage.

    Every view over the pairings (headline, stages, factors, countries, matrix, network) is
    summed from this one read, so that they count the same pairings: on PostgreSQL each
    statement sees what was committed before it, and a pairing moved between two reads was
    counted at one stage in the headline and at another in the factors.
    """
    stmt = (select(Pairing.provider_iso3, Pairing.recipient_iso3, Need.factor_code,
                   Pairing.stage, func.count(Pairing.id))
            .join(Need, Need.id == Pairing.need_id)
            .group_by(Pairing.provider_iso3, Pairing.recipient_iso3, Need.factor_code,
                      Pairing.stage))
    return [(p, r, f, s, n) for p, r, f, s, n in session.execute(stmt.where(*conditions(scope)))]


def factor_labels(session: Session) -> dict[str, str]:
    """English label of every factor (the code when there is none), in display order."""
    rows = session.execute(select(Factor.code, Factor.labels).order_by(Factor.position,
                                                                       Factor.code))
    return {code: (labels or {}).get("en") or code for code, labels in rows}


def country_names(session: Session, codes: set[str]) -> dict[str, str]:
    """Names of these countries."""
    if not codes:
        return {}
    rows = session.execute(select(Country.iso3, Country.name).where(Country.iso3.in_(codes)))
    return {iso3: name for iso3, name in rows}


def partner_stage_counts(session: Session,
                         scope: Scope) -> list[tuple[str, str, str, int, int]]:
    """(partner, support, stage, pairings, pairings whose partner the organiser confirmed)."""
    confirmed = select(PairingConsent.pairing_id).where(PairingConsent.side == "partner")
    stmt = (select(PairingPartner.name, PairingPartner.support, Pairing.stage,
                   func.count(Pairing.id),
                   func.count(Pairing.id).filter(Pairing.id.in_(confirmed)))
            .join(Pairing, Pairing.id == PairingPartner.pairing_id)
            .group_by(PairingPartner.name, PairingPartner.support, Pairing.stage))
    rows = session.execute(stmt.where(*conditions(scope)))
    return [(name, support, stage, n, c) for name, support, stage, n, c in rows]


def followup_counts(session: Session, scope: Scope,
                    as_of: date) -> list[tuple[str, str, bool, int]]:
    """(responsible country, status, overdue?, activities)."""
    late = overdue_clause(as_of)
    rows = (select(FollowupActivity.responsible_iso3.label("country"),
                   FollowupActivity.status.label("status"),
                   case((late, 1), else_=0).label("late"), FollowupActivity.id.label("id"))
            .join(Pairing, Pairing.id == FollowupActivity.pairing_id))
    sub = rows.where(*conditions(scope)).subquery()
    stmt = (select(sub.c.country, sub.c.status, sub.c.late, func.count(sub.c.id))
            .group_by(sub.c.country, sub.c.status, sub.c.late))
    return [(str(c), str(s), bool(lt), cast(int, n)) for c, s, lt, n in session.execute(stmt)]
