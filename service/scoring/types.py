"""Plain records the scorer reads and writes: items, country profiles, scored pairings."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

Kind = Literal["offer", "need"]


@dataclass(frozen=True, slots=True)
class Item:
    """One offer or need as the scorer sees it (built by the caller from stored rows)."""

    id: str
    kind: Kind
    country: str
    factor: str
    language: str
    modality: str
    title: str
    description: str
    target_population: str = ""
    capacity: int | None = None


@dataclass(frozen=True, slots=True)
class CountryProfile:
    """The factors in which a country files offers and needs (input of reciprocity)."""

    offers: frozenset[str] = frozenset()
    needs: frozenset[str] = frozenset()


def country_profiles(items: Iterable[Item]) -> dict[str, CountryProfile]:
    """Build every country's profile from its offers and needs (any order, any mix)."""
    offers: dict[str, set[str]] = {}
    needs: dict[str, set[str]] = {}
    for item in items:
        side = offers if item.kind == "offer" else needs
        side.setdefault(item.country, set()).add(item.factor)
    return {
        country: CountryProfile(
            offers=frozenset(offers.get(country, ())), needs=frozenset(needs.get(country, ()))
        )
        for country in sorted(offers.keys() | needs.keys())
    }


@dataclass(frozen=True, slots=True)
class ScoredPairing:
    """One (need, offer) pair with its total and the parts it is made of.

    `total` is in [0, 1] and equals sum(w_i * c_i) / sum(w_i) over the keys of `components`
    (each in [0, 1]) and `weights`. All pairings of one rank()/score_item() call share the
    same `weights` dict (a million pairings would otherwise hold a million copies): read it,
    do not modify it. `matched_terms` explains the text component: words found on
    both sides, or for texts in different languages word pairs such as "cosecha ↔ harvest".
    """

    need_id: str
    offer_id: str
    need_country: str
    offer_country: str
    total: float
    components: dict[str, float]
    weights: dict[str, float]
    matched_terms: tuple[str, ...] = ()
