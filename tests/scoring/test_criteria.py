"""Every criterion: its range and what its values mean."""

from __future__ import annotations

import itertools

import pytest

from service.scoring import DEFAULT_FACTOR_AFFINITY, DEFAULT_UNRELATED, FACTORS, CountryProfile
from service.scoring import criteria as c
from service.scoring.context import DEFAULT_COUNTRY_GROUPS, DEFAULT_COUNTRY_LANGUAGES


@pytest.mark.parametrize(
    ("cosine", "expected"), [(-0.4, 0.0), (0.0, 0.0), (0.35, 0.35), (1.0, 1.0), (1.0001, 1.0)]
)
def test_text_fit_clips_cosine(cosine: float, expected: float) -> None:
    assert c.text_fit(cosine) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("need", "offer", "expected"),
    [
        ("education", "education", 1.0),
        ("education", "youth_employment", 0.6),
        ("youth_employment", "education", 0.6),
        ("agriculture", "value_chains", 0.6),
        ("indigenous", "decentralisation", 0.4),
        ("ict", "migration", 0.4),
        ("indigenous", "value_chains", DEFAULT_UNRELATED),
        ("data", "data", 1.0),
        ("data", "education", DEFAULT_UNRELATED),
    ],
)
def test_factor_fit_default_table(need: str, offer: str, expected: float) -> None:
    assert c.factor_fit(need, offer, DEFAULT_FACTOR_AFFINITY) == pytest.approx(expected)


def test_factor_fit_one_order_is_enough_and_values_are_clipped() -> None:
    table = {("a", "b"): 0.7, ("a", "c"): 3.0}
    assert c.factor_fit("b", "a", table) == 0.7
    assert c.factor_fit("a", "c", table) == 1.0
    assert c.factor_fit("a", "d", {}) == DEFAULT_UNRELATED


def test_default_affinity_is_symmetric_in_range_and_related_to_ict() -> None:
    for (a, b), value in DEFAULT_FACTOR_AFFINITY.items():
        assert 0.0 <= value <= 1.0
        assert DEFAULT_FACTOR_AFFINITY[(b, a)] == value
        assert a != b
    for f in FACTORS:
        if f != "ict":
            assert DEFAULT_FACTOR_AFFINITY[("ict", f)] > DEFAULT_UNRELATED


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("training", "training", 1.0),
        ("technical_assistance", "expert_exchange", 0.7),
        ("internship", "study_visit", 0.7),
        ("documentation", "internship", 0.1),
        ("training", "unknown_modality", c.MODALITY_UNKNOWN),
    ],
)
def test_modality_fit(a: str, b: str, expected: float) -> None:
    assert c.modality_fit(a, b) == expected
    assert c.modality_fit(b, a) == expected


def test_modality_fit_range_over_all_pairs() -> None:
    for a, b in itertools.product(c.MODALITIES, repeat=2):
        value = c.modality_fit(a, b)
        assert 0.0 <= value <= 1.0
        assert (value == 1.0) == (a == b)


@pytest.mark.parametrize(
    ("need", "offer", "expected"),
    [
        ({"es"}, {"es"}, 1.0),
        ({"es", "gn"}, {"gn"}, 1.0),
        ({"es"}, {"pt"}, 0.5),
        ({"fr"}, {"es"}, 0.25),
        ({"en"}, {"fr"}, 0.0),
        ({"en"}, {"nl"}, 0.0),
    ],
)
def test_language_fit(need: set[str], offer: set[str], expected: float) -> None:
    assert c.language_fit(frozenset(need), frozenset(offer)) == expected


def test_working_languages_adds_the_item_language() -> None:
    assert c.working_languages("BLZ", "es", DEFAULT_COUNTRY_LANGUAGES) == {"en", "es"}
    assert c.working_languages("XXX", "fr", DEFAULT_COUNTRY_LANGUAGES) == {"fr"}


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [("ARG", "BRA", 1.0), ("GTM", "HND", 1.0), ("BLZ", "JAM", 1.0), ("ARG", "JAM", 0.0),
     ("MEX", "XXX", 0.0)],
)  # fmt: skip
def test_region_fit(a: str, b: str, expected: float) -> None:
    groups = DEFAULT_COUNTRY_GROUPS
    fit = c.region_fit(groups.get(a, frozenset()), groups.get(b, frozenset()))
    assert fit == expected


PROFILES = {
    "AAA": CountryProfile(offers=frozenset({"education", "ict"}), needs=frozenset({"migration"})),
    "BBB": CountryProfile(offers=frozenset({"migration"}), needs=frozenset({"education", "ict"})),
    "CCC": CountryProfile(offers=frozenset({"agriculture"}), needs=frozenset({"ict", "data"})),
    "DDD": CountryProfile(offers=frozenset({"education"})),
}


@pytest.mark.parametrize(
    ("recipient", "provider", "expected"),
    [
        ("AAA", "BBB", 1.0),  # AAA offers everything BBB needs
        ("BBB", "AAA", 1.0),
        ("AAA", "CCC", 0.75),  # one of CCC's two needs
        ("CCC", "AAA", 0.0),  # CCC offers nothing AAA needs
        ("AAA", "DDD", 0.0),  # DDD needs nothing
        ("AAA", "ZZZ", 0.0),  # unknown provider
    ],
)
def test_reciprocity_fit(recipient: str, provider: str, expected: float) -> None:
    assert c.reciprocity_fit(recipient, provider, PROFILES) == expected


@pytest.mark.parametrize(
    ("pairs", "provider", "mean", "expected"),
    [
        (0, 0, 0.0, 1.0),
        (1, 0, 0.0, 0.5),
        (3, 0, 2.0, 0.25),
        (0, 2, 2.0, 0.5),
        (0, 10, 2.0, 1 / 6),
        (1, 2, 2.0, 0.25),
    ],
)
def test_novelty_fit(pairs: int, provider: int, mean: float, expected: float) -> None:
    assert c.novelty_fit(pairs, provider, mean) == pytest.approx(expected)


def test_novelty_decreases_with_history() -> None:
    values = [c.novelty_fit(n, 0, 0.0) for n in range(5)]
    assert values == sorted(values, reverse=True)
    assert c.mean_provider_pairings({"A": 2, "B": 4, "C": 0}) == 3.0
    assert c.mean_provider_pairings({}) == 0.0


@pytest.mark.parametrize(
    ("capacity", "load", "expected"),
    [(4, 0, 1.0), (4, 1, 0.75), (2, 2, 0.0), (2, 5, 0.0), (None, 0, 1.0), (None, 1, 0.5),
     (0, 0, 0.0), (3, -1, 1.0)],
)  # fmt: skip
def test_capacity_fit(capacity: int | None, load: int, expected: float) -> None:
    assert c.capacity_fit(capacity, load) == pytest.approx(expected)
