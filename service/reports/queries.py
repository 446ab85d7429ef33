"""Report queries: grouped counts computed by the database over the pairings in scope."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import cast

from sqlalchemy import ColumnElement, case, func, literal, or_, select, union_all
from sqlalchemy.orm import Session

from models import (
    OUTCOME_STAGES,
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
    for country keys only the rows where that country is recipient or provider."""

    table_id: int | None = None
    date_from: date | None = None
    date_to: date | None = None
    country: str | None = None


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
    if scope.country is not None:
        conds.append(or_(Pairing.recipient_iso3 == scope.country,
                         Pairing.provider_iso3 == scope.country))
    return conds


def stage_counts(session: Session, scope: Scope) -> dict[str, int]:
    """Pairings per stage."""
    stmt = select(Pairing.stage, func.count(Pairing.id)).group_by(Pairing.stage)
    return {stage: n for stage, n in session.execute(stmt.where(*conditions(scope)))}


def factor_stage_counts(session: Session, scope: Scope) -> list[tuple[str, str, int]]:
    """(factor of the need, stage, pairings)."""
    stmt = (select(Need.factor_code, Pairing.stage, func.count(Pairing.id))
            .join(Need, Need.id == Pairing.need_id)
            .group_by(Need.factor_code, Pairing.stage))
    return [(f, s, n) for f, s, n in session.execute(stmt.where(*conditions(scope)))]


def factor_labels(session: Session) -> dict[str, str]:
    """English label of every factor (the code when there is none), in display order."""
    rows = session.execute(select(Factor.code, Factor.labels).order_by(Factor.position,
                                                                       Factor.code))
    return {code: (labels or {}).get("en") or code for code, labels in rows}


def country_role_stage_counts(session: Session,
                              scope: Scope) -> list[tuple[str, str, str, int]]:
    """(country, provider|recipient, stage, pairings)."""
    conds = conditions(scope)
    as_provider = select(Pairing.provider_iso3.label("country"), literal("provider").label("role"),
                         Pairing.stage.label("stage"), Pairing.id.label("id"))
    as_recipient = select(Pairing.recipient_iso3.label("country"),
                          literal("recipient").label("role"), Pairing.stage.label("stage"),
                          Pairing.id.label("id"))
    both = union_all(as_provider.where(*conds), as_recipient.where(*conds)).subquery()
    stmt = (select(both.c.country, both.c.role, both.c.stage, func.count(both.c.id))
            .group_by(both.c.country, both.c.role, both.c.stage))
    if scope.country is not None:  # a country sees its own rows, not its partners' totals
        stmt = stmt.where(both.c.country == scope.country)
    return [(str(c), str(r), str(s), cast(int, n)) for c, r, s, n in session.execute(stmt)]


def country_names(session: Session, codes: set[str]) -> dict[str, str]:
    """Names of these countries."""
    if not codes:
        return {}
    rows = session.execute(select(Country.iso3, Country.name).where(Country.iso3.in_(codes)))
    return {iso3: name for iso3, name in rows}


def pair_stage_counts(session: Session, scope: Scope) -> list[tuple[str, str, str, int]]:
    """(provider, recipient, stage, pairings) for the outcome stages."""
    stmt = (select(Pairing.provider_iso3, Pairing.recipient_iso3, Pairing.stage,
                   func.count(Pairing.id))
            .where(Pairing.stage.in_(OUTCOME_STAGES))
            .group_by(Pairing.provider_iso3, Pairing.recipient_iso3, Pairing.stage))
    return [(p, r, s, n) for p, r, s, n in session.execute(stmt.where(*conditions(scope)))]


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
