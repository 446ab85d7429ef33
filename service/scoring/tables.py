"""Criteria as lookup tables: category codes per item, one table per criterion.

Every non-text criterion depends on a few categorical values of the two items (factor, modality,
working languages, country) or on the offer alone (capacity). Each table holds the criterion
function of `criteria.py` evaluated once per distinct pair of values, so scoring many pairs is
array indexing, and the tables can be folded into the text matrix product (`Folded`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from service.scoring import criteria
from service.scoring.columns import Codes, Columns, columns
from service.scoring.context import Context
from service.scoring.types import CountryProfile, Item
from service.scoring.weights import Weights

Floats = NDArray[np.float64]


@dataclass(frozen=True)
class Side:
    """Category codes of the items on one side (needs or offers), aligned with the items."""

    ids: list[str]
    country: Codes
    factor: Codes
    modality: Codes
    lang: Codes
    capacity: Floats

    def __len__(self) -> int:
        return len(self.ids)


@dataclass(frozen=True)
class Tables:
    """Criterion values indexed [need category, offer category]."""

    countries: tuple[str, ...]
    factor: Floats
    modality: Floats
    language: Floats
    region: Floats
    reciprocity: Floats
    novelty: Floats


def _recode(cols: Columns, name: str, index: Mapping[Any, int]) -> Codes:
    mapping = np.asarray([index[v] for v in cols.values[name]], dtype=np.intp)
    if not len(mapping):
        return np.zeros(0, dtype=np.intp)
    return np.asarray(mapping[cols.codes[name]], dtype=np.intp)


def _capacity(cols: Columns, load: Mapping[str, int]) -> Floats:
    """capacity_fit of every item (1 for needs), with the committed load of the offers."""
    caps = cols.values["capacity"]
    if not caps:
        return np.zeros(0, dtype=np.float64)
    fit = np.asarray([criteria.capacity_fit(c, 0) for c in caps], dtype=np.float64)
    out = np.asarray(fit[cols.codes["capacity"]], dtype=np.float64)
    for item_id, n in load.items():
        pos = cols.position(item_id) if n else None
        if pos is not None:
            out[pos] = criteria.capacity_fit(caps[int(cols.codes["capacity"][pos])], n)
    return out


def build(
    needs: Sequence[Item],
    offers: Sequence[Item],
    context: Context,
    profiles: Mapping[str, CountryProfile],
) -> tuple[Tables, Side, Side]:
    """Category codes of both sides and the criterion tables over their distinct values."""
    ncols, ocols = columns(needs), columns(offers)

    def union(name: str) -> list[Any]:
        return sorted(set(ncols.values[name]) | set(ocols.values[name]))

    countries, factors, modalities = union("country"), union("factor"), union("modality")
    combos = union("combo")
    langs = [criteria.working_languages(c, lang, context.country_languages) for c, lang in combos]
    profiles_list = sorted(set(langs), key=sorted)
    profile_index = {p: i for i, p in enumerate(profiles_list)}
    combo_index = {combo: profile_index[p] for combo, p in zip(combos, langs, strict=True)}
    c_index = {v: i for i, v in enumerate(countries)}
    f_index = {v: i for i, v in enumerate(factors)}
    m_index = {v: i for i, v in enumerate(modalities)}
    sides = [
        Side(
            ids=cols.ids,
            country=_recode(cols, "country", c_index),
            factor=_recode(cols, "factor", f_index),
            modality=_recode(cols, "modality", m_index),
            lang=_recode(cols, "combo", combo_index),
            capacity=_capacity(cols, load),
        )
        for cols, load in ((ncols, {}), (ocols, context.offer_load))
    ]

    groups = [frozenset(context.country_groups.get(c, frozenset())) for c in countries]
    mean = criteria.mean_provider_pairings(context.provider_counts)
    tables = Tables(
        countries=tuple(countries),
        factor=np.array(
            [
                [criteria.factor_fit(a, b, context.factor_affinity) for b in factors]
                for a in factors
            ],
            dtype=np.float64,
        ).reshape(len(factors), len(factors)),
        modality=np.array(
            [[criteria.modality_fit(a, b) for b in modalities] for a in modalities],
            dtype=np.float64,
        ).reshape(len(modalities), len(modalities)),
        language=np.array(
            [[criteria.language_fit(a, b) for b in profiles_list] for a in profiles_list],
            dtype=np.float64,
        ).reshape(len(profiles_list), len(profiles_list)),
        region=np.array(
            [[criteria.region_fit(a, b) for b in groups] for a in groups], dtype=np.float64
        ).reshape(len(countries), len(countries)),
        reciprocity=np.array(
            [[criteria.reciprocity_fit(r, p, profiles) for p in countries] for r in countries],
            dtype=np.float64,
        ).reshape(len(countries), len(countries)),
        novelty=np.array(
            [
                [
                    criteria.novelty_fit(
                        # pairings of the two countries, whichever was the recipient
                        context.pair_counts.get((r, p), 0) + context.pair_counts.get((p, r), 0),
                        context.provider_counts.get(p, 0),
                        mean,
                    )
                    for p in countries
                ]
                for r in countries
            ],
            dtype=np.float64,
        ).reshape(len(countries), len(countries)),
    )
    return tables, sides[0], sides[1]


def components(
    tables: Tables, needs: Side, offers: Side, ni: Codes, oj: Codes, cosine: Floats
) -> dict[str, Floats]:
    """Every criterion of the pairs (needs[ni[p]], offers[oj[p]]), keyed like Weights."""
    nc, oc = needs.country[ni], offers.country[oj]
    return {
        "text": np.clip(cosine, 0.0, 1.0),
        "factor": tables.factor[needs.factor[ni], offers.factor[oj]],
        "modality": tables.modality[needs.modality[ni], offers.modality[oj]],
        "language": tables.language[needs.lang[ni], offers.lang[oj]],
        "region": tables.region[nc, oc],
        "reciprocity": tables.reciprocity[nc, oc],
        "novelty": tables.novelty[nc, oc],
        "capacity": offers.capacity[oj],
    }


def approx_row(
    weights: Weights,
    tables: Tables,
    sides: tuple[Side, Side],
    query: int,
    query_is_need: bool,
    cosine: NDArray[np.float32],
) -> NDArray[np.float32]:
    """sum(w_i * c_i) of one item against every counterpart, in float32 (for selection only).

    `cosine` holds the text cosines with every counterpart; same-country ones get -inf.
    """
    w = weights.as_dict()
    needs, offers = sides
    out = np.clip(cosine, 0.0, 1.0).astype(np.float32) * np.float32(w["text"])
    country = w["region"] * tables.region + w["reciprocity"] * tables.reciprocity
    country = country + w["novelty"] * tables.novelty
    named = (
        (w["factor"] * tables.factor, "factor"),
        (w["modality"] * tables.modality, "modality"),
        (w["language"] * tables.language, "lang"),
        (country, "country"),
    )
    own, other = (needs, offers) if query_is_need else (offers, needs)
    for table, attr in named:
        code = int(getattr(own, attr)[query])
        row = table[code, :] if query_is_need else table[:, code]
        out += row.astype(np.float32)[getattr(other, attr)]
    if query_is_need:
        out += (w["capacity"] * offers.capacity).astype(np.float32)
    else:
        out += np.float32(w["capacity"] * offers.capacity[query])
    out[other.country == own.country[query]] = -np.inf
    return out


def combine(weights: Weights, parts: Mapping[str, Floats]) -> Floats:
    """The total of each pair: sum(w_i * c_i) / sum(w_i), in [0, 1]."""
    total = np.zeros_like(parts["text"])
    for name, w in weights.as_dict().items():
        if w:
            total += w * parts[name]
    return np.clip(total / weights.total(), 0.0, 1.0)


EXCLUDED = -1.0e4
"""Folded score of a same-country pair (far below any real score; never returned)."""


class Folded:
    """All criteria folded into one matrix product (used by rank() for whole blocks).

    Offer rows are [offer vector | one-hot of factor, modality, languages, country | capacity
    fit]; need rows are [w_text * need vector | w * table rows for the need's categories |
    w_capacity]. Their dot product is the weighted sum of the criteria, with the text cosine
    not yet clipped at 0 and same-country pairs at EXCLUDED.
    """

    def __init__(
        self, weights: Weights, tables: Tables, offers: Side, offer_vectors: NDArray[np.float32]
    ) -> None:
        w = weights.as_dict()
        self.w = w
        self.dim = offer_vectors.shape[1]
        self.parts: list[tuple[str, Floats, int]] = []
        country = w["region"] * tables.region + w["reciprocity"] * tables.reciprocity
        country = country + w["novelty"] * tables.novelty
        width = self.dim
        for name, table in (
            ("factor", w["factor"] * tables.factor),
            ("modality", w["modality"] * tables.modality),
            ("language", w["language"] * tables.language),
            ("country", country),
        ):
            self.parts.append((name, table, width))
            width += table.shape[1]
        self.capacity_col = width
        self.width = width + 1
        mat = np.zeros((len(offers), self.width), dtype=np.float32)
        mat[:, : self.dim] = offer_vectors
        rows = np.arange(len(offers))
        codes = {
            "factor": offers.factor,
            "modality": offers.modality,
            "language": offers.lang,
            "country": offers.country,
        }
        for name, _table, start in self.parts:
            mat[rows, start + codes[name]] = 1.0
        mat[:, self.capacity_col] = offers.capacity
        self.offers = mat

    def needs(
        self, needs: Side, need_vectors: NDArray[np.float32], rows: slice
    ) -> NDArray[np.float32]:
        """Folded rows of a block of needs."""
        vec = need_vectors[rows]
        out = np.zeros((len(vec), self.width), dtype=np.float32)
        out[:, : self.dim] = self.w["text"] * vec
        codes = {
            "factor": needs.factor[rows],
            "modality": needs.modality[rows],
            "language": needs.lang[rows],
            "country": needs.country[rows],
        }
        for name, table, start in self.parts:
            out[:, start : start + table.shape[1]] = table[codes[name]]
        country_start = self.parts[-1][2]
        out[np.arange(len(vec)), country_start + codes["country"]] = EXCLUDED
        out[:, self.capacity_col] = self.w["capacity"]
        return out
