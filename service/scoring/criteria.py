"""The scoring criteria: one named function each, every result in [0, 1].

Each function scores one (need, offer) pair on one criterion from plain values. The vectorised
paths in `tables.py` call these same functions once per distinct pair of values, so these
functions are the single definition of every criterion.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal, get_args

from service.scoring.context import DEFAULT_UNRELATED
from service.scoring.types import CountryProfile

Modality = Literal[
    "technical_assistance",
    "study_visit",
    "expert_exchange",
    "training",
    "documentation",
    "internship",
]
"""The ways a country can deliver an offer (the API's and the CLI's vocabulary)."""
MODALITIES: tuple[str, ...] = get_args(Modality)

_MODALITY_RELATED: dict[frozenset[str], float] = {
    frozenset({"technical_assistance", "expert_exchange"}): 0.7,
    frozenset({"study_visit", "internship"}): 0.7,
    frozenset({"study_visit", "expert_exchange"}): 0.6,
    frozenset({"technical_assistance", "training"}): 0.5,
    frozenset({"expert_exchange", "training"}): 0.5,
    frozenset({"expert_exchange", "internship"}): 0.5,
    frozenset({"training", "documentation"}): 0.5,
    frozenset({"training", "internship"}): 0.5,
    frozenset({"technical_assistance", "documentation"}): 0.4,
    frozenset({"technical_assistance", "study_visit"}): 0.4,
    frozenset({"study_visit", "training"}): 0.4,
    frozenset({"expert_exchange", "documentation"}): 0.3,
    frozenset({"technical_assistance", "internship"}): 0.3,
    frozenset({"study_visit", "documentation"}): 0.2,
    frozenset({"documentation", "internship"}): 0.1,
}
MODALITY_UNKNOWN = 0.3
"""Modality fit of two different modalities of which at least one is not in the table."""

LANGUAGE_PROXIMITY: dict[frozenset[str], float] = {
    # Spanish and Portuguese speakers follow each other's meetings; French less so
    frozenset({"es", "pt"}): 0.5,
    frozenset({"es", "fr"}): 0.25,
    frozenset({"pt", "fr"}): 0.25,
}


def text_fit(cosine: float) -> float:
    """Text similarity in [0, 1]: the cosine of the two text vectors, negatives clipped to 0.

    1 = same meaning, about 0.5 and more = same topic (in any of the four languages), below
    about 0.3 = unrelated.
    """
    return min(1.0, max(0.0, cosine))


def factor_fit(
    need_factor: str, offer_factor: str, affinity: Mapping[tuple[str, str], float]
) -> float:
    """Factor fit in [0, 1]: 1 for the same accelerator factor, else the affinity of the pair.

    The affinity table is looked up in both orders; a pair it does not list gets
    DEFAULT_UNRELATED (low, not 0: the submitter picks the factor, and sometimes another one).
    """
    if need_factor == offer_factor:
        return 1.0
    value = affinity.get((need_factor, offer_factor))
    if value is None:
        value = affinity.get((offer_factor, need_factor), DEFAULT_UNRELATED)
    return min(1.0, max(0.0, float(value)))


def modality_fit(need_modality: str, offer_modality: str) -> float:
    """Modality fit in [0, 1]: 1 for the same modality, partial for related ones.

    For instance technical assistance ~ expert exchange 0.7, study visit ~ internship 0.7,
    documentation ~ internship 0.1; MODALITY_UNKNOWN for modalities outside the table.
    """
    if need_modality == offer_modality:
        return 1.0
    return _MODALITY_RELATED.get(frozenset({need_modality, offer_modality}), MODALITY_UNKNOWN)


def working_languages(
    country: str, item_language: str, country_languages: Mapping[str, frozenset[str]]
) -> frozenset[str]:
    """The languages a delegation works in: its country's languages plus the item's language."""
    return frozenset(country_languages.get(country, frozenset())) | {item_language}


def language_fit(need_languages: frozenset[str], offer_languages: frozenset[str]) -> float:
    """Language fit in [0, 1]: 1 if the two delegations share a working language.

    Otherwise the closest pair in LANGUAGE_PROXIMITY (Spanish ~ Portuguese 0.5, French ~ Spanish
    or Portuguese 0.25), else 0 (an interpreter is needed).
    """
    if need_languages & offer_languages:
        return 1.0
    best = 0.0
    for a in need_languages:
        for b in offer_languages:
            best = max(best, LANGUAGE_PROXIMITY.get(frozenset({a, b}), 0.0))
    return best


def region_fit(need_groups: frozenset[str], offer_groups: frozenset[str]) -> float:
    """Regional proximity in {0, 1}: 1 if both countries belong to a common regional grouping
    (MERCOSUR, SICA, CARICOM, CAN, ...), else 0 (also when groupings are unknown)."""
    return 1.0 if need_groups & offer_groups else 0.0


def reciprocity_fit(recipient: str, provider: str, profiles: Mapping[str, CountryProfile]) -> float:
    """Reciprocity in [0, 1]: can the recipient give something back to the provider?

    0 if the recipient offers nothing in a factor in which the provider has a need (or either
    profile is unknown); otherwise 0.5 + 0.5 * (share of the provider's need factors that the
    recipient offers), so any two-way exchange scores at least 0.5 and a full one 1.
    """
    rec = profiles.get(recipient)
    prov = profiles.get(provider)
    if rec is None or prov is None or not prov.needs:
        return 0.0
    shared = len(rec.offers & prov.needs)
    if shared == 0:
        return 0.0
    return 0.5 + 0.5 * shared / len(prov.needs)


def mean_provider_pairings(provider_counts: Mapping[str, int]) -> float:
    """Average number of pairings of the providers that have any (0 if none has)."""
    positive = [n for n in provider_counts.values() if n > 0]
    return sum(positive) / len(positive) if positive else 0.0


def novelty_fit(pairs_between: int, provider_pairings: int, mean_pairings: float) -> float:
    """Novelty in (0, 1]: 1 for a new pair of countries and a provider without pairings.

    Product of two parts: 1 / (1 + pairings already between the two countries), and
    1 / (1 + provider's pairings / mean pairings per provider), so a provider that already
    dominates the table (several times the mean) drops towards 0.
    """
    pair_part = 1.0 / (1.0 + max(0, pairs_between))
    if provider_pairings <= 0 or mean_pairings <= 0:
        return pair_part
    return pair_part / (1.0 + provider_pairings / mean_pairings)


def capacity_fit(capacity: int | None, load: int) -> float:
    """Remaining capacity in [0, 1]: share of the offer's partner slots still free.

    (capacity - load) / capacity, so 1 while nothing is committed and 0 once the load reaches
    the capacity; an offer without a stated capacity gets 1 / (1 + load).
    """
    load = max(0, load)
    if capacity is None:
        return 1.0 / (1.0 + load)
    if capacity <= 0:
        return 0.0
    return max(0.0, (capacity - load) / capacity)
