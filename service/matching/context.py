"""Build the scorer's non-text context (groupings, languages, loads, history) from the database."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import CooperationTable, Country, CountryGrouping, Pairing
from service import scoring

PAST_SUGGESTED = ("expression_of_interest", "commitment", "agreement")


def offer_loads(session: Session, offer_ids: Sequence[int] | None = None) -> dict[int, int]:
    """Partners already committed per offer: its pairings past `suggested`."""
    stmt = (select(Pairing.offer_id, func.count(Pairing.id))
            .where(Pairing.stage.in_(PAST_SUGGESTED)).group_by(Pairing.offer_id))
    if offer_ids is not None:
        stmt = stmt.where(Pairing.offer_id.in_(offer_ids))
    return {offer_id: n for offer_id, n in session.execute(stmt)}


def build_context(session: Session, *, table: CooperationTable | None = None,
                  factor_affinity: dict[tuple[str, str], float] | None = None
                  ) -> scoring.Context:
    """Return the context for scoring, optionally scoped to a cooperation table."""
    groups: dict[str, set[str]] = {}
    for iso3, code in session.execute(
            select(CountryGrouping.country_iso3, CountryGrouping.grouping_code)):
        groups.setdefault(iso3, set()).add(code)
    # Every country, enabled or not: disabling a country stops it submitting and joining
    # tables, but its items still published keep their scores (visibility is the index's).
    languages = {iso3: frozenset(langs or ()) for iso3, langs in session.execute(
        select(Country.iso3, Country.languages))}
    offer_load = offer_loads(session)
    pair_stmt = (select(Pairing.recipient_iso3, Pairing.provider_iso3, func.count(Pairing.id))
                 .where(Pairing.stage.in_(PAST_SUGGESTED))
                 .group_by(Pairing.recipient_iso3, Pairing.provider_iso3))
    pair_counts: dict[tuple[str, str], int] = {}
    provider_counts: Counter[str] = Counter()
    for recipient, provider, n in session.execute(pair_stmt):
        pair_counts[(recipient, provider)] = n
    if table is not None:
        for provider, n in session.execute(
                select(Pairing.provider_iso3, func.count(Pairing.id))
                .where(Pairing.table_id == table.id, Pairing.stage.in_(PAST_SUGGESTED))
                .group_by(Pairing.provider_iso3)):
            provider_counts[provider] = n
    return scoring.Context(
        country_groups={k: frozenset(v) for k, v in groups.items()},
        country_languages=languages,
        factor_affinity=factor_affinity or dict(scoring.DEFAULT_FACTOR_AFFINITY),
        offer_load={str(k): v for k, v in offer_load.items()},
        pair_counts=pair_counts,
        provider_counts=dict(provider_counts),
    )
