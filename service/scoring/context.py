"""Everything non-textual the criteria need, plus generic default data for Latin America."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

DEFAULT_UNRELATED = 0.2
"""Factor fit of two factors that no table relates: low, but not zero (submitters pick the
factor themselves, so a good offer is sometimes filed under another one)."""

FACTORS = (
    "indigenous",
    "education",
    "agriculture",
    "value_chains",
    "migration",
    "youth_employment",
    "decentralisation",
    "ict",
)

_RELATED: dict[tuple[str, str], float] = {
    # school-to-work transition, vocational training, second-chance schooling
    ("education", "youth_employment"): 0.6,
    # child labour in agricultural supply chains: farms are the first link of the chain
    ("agriculture", "value_chains"): 0.6,
    # territorial governance: indigenous authorities act through local governments
    ("decentralisation", "indigenous"): 0.4,
    # intercultural and bilingual schooling
    ("education", "indigenous"): 0.4,
    # rural indigenous communities, family farming
    ("agriculture", "indigenous"): 0.4,
    # seasonal migrant families at harvest time
    ("agriculture", "migration"): 0.4,
    # schooling of migrant and harvest-time children
    ("agriculture", "education"): 0.3,
    ("education", "migration"): 0.3,
    # cross-border supply chains, labour mobility
    ("migration", "value_chains"): 0.3,
    ("migration", "youth_employment"): 0.3,
    # rural youth, decent work for adolescents of working age in the chain
    ("agriculture", "youth_employment"): 0.3,
    ("value_chains", "youth_employment"): 0.3,
    # local services: schools, employment offices, registries run by municipalities
    ("decentralisation", "education"): 0.3,
    ("decentralisation", "youth_employment"): 0.3,
    ("decentralisation", "migration"): 0.3,
    ("agriculture", "decentralisation"): 0.3,
    ("decentralisation", "value_chains"): 0.3,
    ("indigenous", "migration"): 0.3,
    ("education", "value_chains"): 0.3,
}
# new information technologies are a means for every other factor (registries, e-learning,
# hotlines, traceability): moderately related to all of them
_RELATED.update({("ict", other): 0.4 for other in FACTORS if other != "ict"})

DEFAULT_FACTOR_AFFINITY: Mapping[tuple[str, str], float] = MappingProxyType(
    {pair: value for (a, b), value in _RELATED.items() for pair in ((a, b), (b, a))}
)
"""Symmetric related-factor table for the eight accelerator factors (both orders stored).
Same factor = 1 and any pair not listed = DEFAULT_UNRELATED; see docs/scoring.md."""

_GROUPS: dict[str, tuple[str, ...]] = {
    # full members (Venezuela suspended but still a member; Bolivia joined in 2024)
    "MERCOSUR": ("ARG", "BOL", "BRA", "PRY", "URY", "VEN"),
    "CAN": ("BOL", "COL", "ECU", "PER"),
    "SICA": ("BLZ", "CRI", "DOM", "GTM", "HND", "NIC", "PAN", "SLV"),
    "CARICOM": (
        "ATG", "BHS", "BLZ", "BRB", "DMA", "GRD", "GUY", "HTI", "JAM", "KNA", "LCA", "MSR",
        "SUR", "TTO", "VCT",
    ),
    "PACIFIC_ALLIANCE": ("CHL", "COL", "MEX", "PER"),
}  # fmt: skip

DEFAULT_COUNTRY_GROUPS: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        country: frozenset(g for g, members in _GROUPS.items() if country in members)
        for country in sorted({c for members in _GROUPS.values() for c in members})
    }
)
"""Regional groupings of Latin American and Caribbean countries (public membership lists)."""

_LANGUAGES: dict[str, tuple[str, ...]] = {
    "es": (
        "ARG", "BOL", "CHL", "COL", "CRI", "CUB", "DOM", "ECU", "GTM", "HND", "MEX", "NIC",
        "PAN", "PER", "PRY", "SLV", "URY", "VEN",
    ),
    "pt": ("BRA",),
    "fr": ("HTI",),
    "en": (
        "ATG", "BHS", "BLZ", "BRB", "DMA", "GRD", "GUY", "JAM", "KNA", "LCA", "TTO", "VCT",
    ),
    "nl": ("SUR",),
}  # fmt: skip

DEFAULT_COUNTRY_LANGUAGES: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        country: frozenset(lang for lang, members in _LANGUAGES.items() if country in members)
        for country in sorted({c for members in _LANGUAGES.values() for c in members})
    }
)
"""Working language(s) of Latin American and Caribbean countries (ISO 639-1)."""


def _empty_groups() -> Mapping[str, frozenset[str]]:
    return {}


def _empty_affinity() -> Mapping[tuple[str, str], float]:
    return {}


def _empty_counts() -> Mapping[str, int]:
    return {}


def _empty_pair_counts() -> Mapping[tuple[str, str], int]:
    return {}


@dataclass(frozen=True)
class Context:
    """Everything non-text the criteria need; every field defaults to empty.

    - country_groups: ISO3 -> regional grouping codes (MERCOSUR, SICA, CARICOM, CAN, ...)
    - country_languages: ISO3 -> working languages (ISO 639-1); the item's own language counts too
    - factor_affinity: pairs of factor codes -> [0, 1], looked up in both orders; a missing pair
      -> DEFAULT_UNRELATED; the same factor -> 1
    - offer_load: offer id -> partners already committed (pairings past "suggested")
    - pair_counts: (recipient ISO3, provider ISO3) -> existing pairings between them (novelty
      counts those of both directions)
    - provider_counts: provider ISO3 -> pairings it already has in the table
    """

    country_groups: Mapping[str, frozenset[str]] = field(default_factory=_empty_groups)
    country_languages: Mapping[str, frozenset[str]] = field(default_factory=_empty_groups)
    factor_affinity: Mapping[tuple[str, str], float] = field(default_factory=_empty_affinity)
    offer_load: Mapping[str, int] = field(default_factory=_empty_counts)
    pair_counts: Mapping[tuple[str, str], int] = field(default_factory=_empty_pair_counts)
    provider_counts: Mapping[str, int] = field(default_factory=_empty_counts)


def default_context() -> Context:
    """A Context from the generic tables above (no pairing history): groupings, languages and
    the related-factor table. Callers with stored data should build their own."""
    return Context(
        country_groups=DEFAULT_COUNTRY_GROUPS,
        country_languages=DEFAULT_COUNTRY_LANGUAGES,
        factor_affinity=DEFAULT_FACTOR_AFFINITY,
    )
