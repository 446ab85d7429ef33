"""Property tests: ranges of every score, and symmetry of reciprocity."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from service.scoring import Context, CountryProfile, Item, Weights, rank, score_item
from service.scoring import criteria as c
from service.scoring.weights import MIN_WEIGHT

from .helpers import FakeModel, make_item

COUNTRIES = ("ARG", "BRA", "HTI", "JAM", "XXX")
FACTORS = ("education", "agriculture", "ict", "migration", "data")
MODALITIES = ("training", "study_visit", "internship", "other")
LANGS = ("es", "pt", "en", "fr")
WORDS = ("harvest", "school", "app", "border", "budget", "care", "youth", "mine")
MODEL = FakeModel()

texts = st.lists(st.sampled_from(WORDS), min_size=0, max_size=5).map(" ".join)


@st.composite
def items(draw: st.DrawFn, kind: str) -> list[Item]:
    n = draw(st.integers(min_value=0, max_value=6))
    return [
        make_item(
            f"{kind[0]}{i}",
            kind,
            draw(st.sampled_from(COUNTRIES)),
            factor=draw(st.sampled_from(FACTORS)),
            language=draw(st.sampled_from(LANGS)),
            modality=draw(st.sampled_from(MODALITIES)),
            title=draw(texts),
            capacity=draw(st.one_of(st.none(), st.integers(min_value=-1, max_value=4))),
        )
        for i in range(n)
    ]


counts = st.integers(min_value=0, max_value=6)
contexts = st.builds(
    Context,
    country_groups=st.dictionaries(
        st.sampled_from(COUNTRIES), st.frozensets(st.sampled_from(("A", "B", "C")))
    ),
    country_languages=st.dictionaries(
        st.sampled_from(COUNTRIES), st.frozensets(st.sampled_from(LANGS))
    ),
    factor_affinity=st.dictionaries(
        st.tuples(st.sampled_from(FACTORS), st.sampled_from(FACTORS)),
        st.floats(min_value=0.0, max_value=1.0),
    ),
    offer_load=st.dictionaries(st.sampled_from([f"o{i}" for i in range(6)]), counts),
    pair_counts=st.dictionaries(
        st.tuples(st.sampled_from(COUNTRIES), st.sampled_from(COUNTRIES)), counts
    ),
    provider_counts=st.dictionaries(st.sampled_from(COUNTRIES), counts),
)
# The weights `Weights.validate` accepts: 0, or from MIN_WEIGHT up (no subnormal ones).
weight = st.just(0.0) | st.floats(min_value=MIN_WEIGHT, max_value=5.0, allow_nan=False)
weights = st.builds(Weights, weight, weight, weight, weight, weight, weight, weight, weight).filter(
    lambda w: w.total() > 0
)


@settings(max_examples=60, deadline=None)
@given(needs=items("need"), offers=items("offer"), context=contexts, w=weights,
       top_k=st.integers(min_value=0, max_value=8))  # fmt: skip
def test_every_score_and_component_in_unit_interval(
    needs: list[Item], offers: list[Item], context: Context, w: Weights, top_k: int
) -> None:
    result = rank(needs, offers, weights=w, context=context, top_k=top_k, model=MODEL)
    for need in needs:
        pairs = result[need.id]
        assert len(pairs) <= top_k
        for p in pairs:
            assert 0.0 <= p.total <= 1.0
            assert p.need_country != p.offer_country
            assert all(0.0 <= v <= 1.0 for v in p.components.values())
            expected = math.fsum(w.as_dict()[k] * v for k, v in p.components.items())
            assert math.isclose(p.total, expected / w.total(), abs_tol=1e-9)
        if needs and offers:
            alone = score_item(need, offers, weights=w, context=context, top_k=top_k,
                               model=MODEL, reciprocity_offers=offers,
                               reciprocity_needs=needs)  # fmt: skip
            assert alone == pairs


profiles = st.builds(
    CountryProfile,
    offers=st.frozensets(st.sampled_from(FACTORS)),
    needs=st.frozensets(st.sampled_from(FACTORS)),
)


@given(a=profiles, b=profiles)
def test_reciprocity_in_range_and_symmetric_under_swap(
    a: CountryProfile, b: CountryProfile
) -> None:
    table = {"AAA": a, "BBB": b}
    swapped = {"AAA": b, "BBB": a}
    ab = c.reciprocity_fit("AAA", "BBB", table)
    assert 0.0 <= ab <= 1.0
    assert ab == c.reciprocity_fit("BBB", "AAA", swapped)


@given(p=profiles)
def test_identical_profiles_give_symmetric_reciprocity(p: CountryProfile) -> None:
    table = {"AAA": p, "BBB": p}
    assert c.reciprocity_fit("AAA", "BBB", table) == c.reciprocity_fit("BBB", "AAA", table)


@given(a=profiles)
def test_mutual_exchange_gives_full_reciprocity_both_ways(a: CountryProfile) -> None:
    """AAA offers all BBB needs and BBB offers all AAA needs: both directions agree."""
    mirror = {"AAA": a, "BBB": CountryProfile(offers=a.needs, needs=a.offers)}
    ab = c.reciprocity_fit("AAA", "BBB", mirror)
    ba = c.reciprocity_fit("BBB", "AAA", mirror)
    if a.offers and a.needs:
        assert ab == ba == 1.0
    else:
        assert min(ab, ba) == 0.0
