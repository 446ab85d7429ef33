"""rank() and score_item(): ordering, exclusions, exactness, determinism."""

from __future__ import annotations

import dataclasses
import random

import numpy as np
import pytest

from service.scoring import (
    Context,
    Item,
    ScoredPairing,
    Weights,
    country_profiles,
    default_context,
    item_text,
    rank,
    score_item,
    vector_from_bytes,
    vector_to_bytes,
)
from service.scoring import criteria as c

from .helpers import FakeModel, FakeWordModel, make_item

WORDS = [
    "school",
    "dropout",
    "warning",
    "harvest",
    "childcare",
    "coffee",
    "inspection",
    "farms",
    "migrant",
    "border",
    "registry",
    "apprenticeship",
    "municipal",
    "budget",
    "app",
    "hotline",
    "indigenous",
    "bilingual",
    "supply",
    "chain",
    "audit",
    "training",
    "youth",
    "job",
    "textile",
    "mining",
    "care",
    "centre",
    "data",
    "dashboard",
]
COUNTRIES = ("ARG", "BRA", "CHL", "HTI", "JAM", "PER")
FACTORS = ("education", "agriculture", "migration", "ict", "value_chains", "youth_employment")
MODALITIES = ("training", "study_visit", "technical_assistance", "documentation")


def scenario(n_needs: int, n_offers: int, seed: int) -> tuple[list[Item], list[Item]]:
    rng = random.Random(seed)

    def item(i: int, kind: str) -> Item:
        return make_item(
            f"{kind[0]}{i:03d}",
            kind,
            rng.choice(COUNTRIES),
            factor=rng.choice(FACTORS),
            language=rng.choice(("es", "pt", "en", "fr")),
            modality=rng.choice(MODALITIES),
            title=" ".join(rng.sample(WORDS, 3)),
            description=" ".join(rng.sample(WORDS, 6)),
            capacity=rng.choice((None, 1, 2, 3)),
        )

    return [item(i, "need") for i in range(n_needs)], [item(i, "offer") for i in range(n_offers)]


def busy_context(offers: list[Item]) -> Context:
    ctx = default_context()
    return dataclasses.replace(
        ctx,
        offer_load={o.id: 1 for o in offers[::3]},
        pair_counts={("ARG", "BRA"): 2, ("PER", "CHL"): 1},
        provider_counts={"BRA": 5, "CHL": 1, "JAM": 2},
    )


def reference(
    needs: list[Item], offers: list[Item], weights: Weights, ctx: Context, top_k: int
) -> dict[str, list[tuple[str, float]]]:
    """Brute force from the criterion functions, one pair at a time."""
    model = FakeModel()
    nv = model.encode([item_text(n) for n in needs]).astype(np.float64)
    ov = model.encode([item_text(o) for o in offers]).astype(np.float64)
    profiles = country_profiles([*needs, *offers])
    mean = c.mean_provider_pairings(ctx.provider_counts)
    w = weights.as_dict()
    out: dict[str, list[tuple[str, float]]] = {}
    for i, n in enumerate(needs):
        scored = []
        for j, o in enumerate(offers):
            if o.country == n.country:
                continue
            langs = ctx.country_languages
            comp = {
                "text": c.text_fit(float(nv[i] @ ov[j])),
                "factor": c.factor_fit(n.factor, o.factor, ctx.factor_affinity),
                "modality": c.modality_fit(n.modality, o.modality),
                "language": c.language_fit(
                    c.working_languages(n.country, n.language, langs),
                    c.working_languages(o.country, o.language, langs),
                ),
                "region": c.region_fit(
                    ctx.country_groups.get(n.country, frozenset()),
                    ctx.country_groups.get(o.country, frozenset()),
                ),
                "reciprocity": c.reciprocity_fit(n.country, o.country, profiles),
                "novelty": c.novelty_fit(
                    ctx.pair_counts.get((n.country, o.country), 0)
                    + ctx.pair_counts.get((o.country, n.country), 0),
                    ctx.provider_counts.get(o.country, 0),
                    mean,
                ),
                "capacity": c.capacity_fit(o.capacity, ctx.offer_load.get(o.id, 0)),
            }
            total = sum(w[k] * comp[k] for k in w) / sum(w.values())
            scored.append((o.id, total))
        scored.sort(key=lambda s: (-s[1], s[0]))
        out[n.id] = scored[:top_k]
    return out


def flat(result: dict[str, list[ScoredPairing]]) -> list[tuple[str, str, float]]:
    return [(p.need_id, p.offer_id, p.total) for ps in result.values() for p in ps]


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("top_k", [1, 3, 50])
def test_rank_equals_brute_force(seed: int, top_k: int, model: FakeModel) -> None:
    needs, offers = scenario(12, 30, seed)
    ctx = busy_context(offers)
    got = rank(needs, offers, weights=Weights(), context=ctx, top_k=top_k, model=model)
    want = reference(needs, offers, Weights(), ctx, top_k)
    assert list(got) == [n.id for n in needs]
    for need_id, expected in want.items():
        assert [p.offer_id for p in got[need_id]] == [oid for oid, _ in expected]
        for p, (_, total) in zip(got[need_id], expected, strict=True):
            assert p.total == pytest.approx(total, abs=1e-6)


def test_best_first_and_same_country_excluded(model: FakeModel) -> None:
    title, description = "coffee harvest", "childcare centres"
    need = make_item("n1", "need", "ARG", title=title, description=description)
    same = make_item("o0", "offer", "ARG", title=title, description=description)
    best = make_item("o1", "offer", "BRA", title=title, description=description)
    other = make_item("o2", "offer", "CHL", title="mining supply chain audit")
    result = rank([need], [same, other, best], weights=Weights(), context=Context(), top_k=5,
                  model=model)  # fmt: skip
    assert [p.offer_id for p in result["n1"]] == ["o1", "o2"]
    assert result["n1"][0].components["text"] == pytest.approx(1.0)
    totals = [p.total for p in result["n1"]]
    assert totals == sorted(totals, reverse=True)


def test_top_k_limits_and_zero(model: FakeModel) -> None:
    needs, offers = scenario(5, 20, 7)
    for k in (0, 1, 4):
        result = rank(needs, offers, weights=Weights(), context=Context(), top_k=k, model=model)
        assert set(result) == {n.id for n in needs}
        assert all(len(v) == min(k, sum(o.country != n.country for o in offers))
                   for n in needs for v in [result[n.id]])  # fmt: skip
    with pytest.raises(ValueError, match="top_k"):
        rank(needs, offers, weights=Weights(), context=Context(), top_k=-1, model=model)


def test_empty_inputs(model: FakeModel) -> None:
    needs, offers = scenario(3, 3, 1)
    assert rank([], offers, weights=Weights(), context=Context(), top_k=3, model=model) == {}
    empty = rank(needs, [], weights=Weights(), context=Context(), top_k=3, model=model)
    assert empty == {n.id: [] for n in needs}
    assert score_item(needs[0], [], weights=Weights(), context=Context(), top_k=3) == []


def test_ties_are_broken_on_offer_id(model: FakeModel) -> None:
    need = make_item("n1", "need", "ARG", title="youth apprenticeship")
    twins = [make_item(f"o{i}", "offer", "BRA", title="youth apprenticeship") for i in (3, 1, 2)]
    result = rank([need], twins, weights=Weights(), context=Context(), top_k=3, model=model)
    assert [p.offer_id for p in result["n1"]] == ["o1", "o2", "o3"]


def test_ties_between_ids_in_digits_are_broken_in_numeric_order(model: FakeModel) -> None:
    # The API's row ids are digits: offer 9 comes before offer 10, not after it as text would
    need = make_item("1", "need", "ARG", title="youth apprenticeship")
    twins = [make_item(i, "offer", "BRA", title="youth apprenticeship") for i in ("10", "100", "9")]
    ranked = rank([need], twins, weights=Weights(), context=Context(), top_k=2, model=model)
    assert [p.offer_id for p in ranked["1"]] == ["9", "10"]
    scored = score_item(need, twins, weights=Weights(), context=Context(), top_k=2, model=model)
    assert [p.offer_id for p in scored] == ["9", "10"]
    offer = make_item("2", "offer", "BRA", title="youth apprenticeship")
    needs = [make_item(i, "need", "ARG", title="youth apprenticeship") for i in ("10", "9")]
    by_offer = score_item(offer, needs, weights=Weights(), context=Context(), top_k=2, model=model)
    assert [p.need_id for p in by_offer] == ["9", "10"]


def test_components_and_weights_explain_the_total(model: FakeModel) -> None:
    needs, offers = scenario(6, 15, 4)
    weights = Weights(text=0.6, factor=0.3, region=0.1, capacity=0.0)
    result = rank(needs, offers, weights=weights, context=default_context(), top_k=4,
                  model=model)  # fmt: skip
    for p in (p for ps in result.values() for p in ps):
        assert list(p.components) == list(Weights.names())
        assert p.weights == weights.as_dict()
        expected = sum(p.weights[k] * p.components[k] for k in p.weights) / weights.total()
        assert p.total == pytest.approx(expected, abs=1e-12)
        assert all(0.0 <= v <= 1.0 for v in p.components.values())


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_shuffled_input_gives_identical_output(seed: int, model: FakeModel) -> None:
    needs, offers = scenario(15, 40, 11)
    ctx = busy_context(offers)
    base = rank(needs, offers, weights=Weights(), context=ctx, top_k=5, model=model)
    rng = random.Random(seed)
    n2, o2 = needs[:], offers[:]
    rng.shuffle(n2)
    rng.shuffle(o2)
    again = rank(n2, o2, weights=Weights(), context=ctx, top_k=5, model=model)
    assert {k: again[k] for k in base} == base


@pytest.mark.parametrize("block_rows", [1, 2, 5])
def test_blocked_equals_unblocked(block_rows: int, model: FakeModel) -> None:
    needs, offers = scenario(11, 35, 5)
    ctx = busy_context(offers)
    whole = rank(needs, offers, weights=Weights(), context=ctx, top_k=6, model=model)
    blocked = rank(needs, offers, weights=Weights(), context=ctx, top_k=6, model=model,
                   block_rows=block_rows)  # fmt: skip
    assert blocked == whole


def test_given_vectors_equal_computed_ones(model: FakeModel) -> None:
    needs, offers = scenario(5, 12, 9)
    nv = model.encode([item_text(n) for n in needs])
    ov = model.encode([item_text(o) for o in offers])
    computed = rank(needs, offers, weights=Weights(), context=Context(), top_k=4, model=model)
    given = rank(needs, offers, weights=Weights(), context=Context(), top_k=4, model=model,
                 need_vectors=nv, offer_vectors=ov)  # fmt: skip
    assert given == computed
    with pytest.raises(ValueError, match="need_vectors"):
        rank(needs, offers, weights=Weights(), context=Context(), top_k=4, model=model,
             need_vectors=nv[:-1], offer_vectors=ov)  # fmt: skip
    with pytest.raises(ValueError, match="vector sizes differ"):
        rank(needs, offers, weights=Weights(), context=Context(), top_k=4, model=model,
             need_vectors=nv, offer_vectors=ov[:, :5])  # fmt: skip


def test_progress_reaches_the_total(model: FakeModel) -> None:
    needs, offers = scenario(4, 6, 2)
    calls: list[tuple[int, int]] = []
    rank(needs, offers, weights=Weights(), context=Context(), top_k=2, model=model,
         progress=lambda d, t: calls.append((d, t)))  # fmt: skip
    assert calls[-1] == (14, 14)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)


def test_invalid_weights_are_rejected(model: FakeModel) -> None:
    needs, offers = scenario(2, 2, 1)
    with pytest.raises(ValueError, match="negative"):
        rank(needs, offers, weights=Weights(text=-1), context=Context(), top_k=1, model=model)


def test_full_offer_and_dominant_provider_rank_lower(model: FakeModel) -> None:
    need = make_item("n1", "need", "ARG", title="labour inspection farms")
    a = make_item("oa", "offer", "BRA", title="labour inspection farms", capacity=2)
    b = make_item("ob", "offer", "CHL", title="labour inspection farms", capacity=2)
    weights = Weights()
    plain = rank([need], [a, b], weights=weights, context=Context(), top_k=2, model=model)
    assert [p.offer_id for p in plain["n1"]] == ["oa", "ob"]
    full = rank([need], [a, b], weights=weights, context=Context(offer_load={"oa": 2}),
                top_k=2, model=model)  # fmt: skip
    assert [p.offer_id for p in full["n1"]] == ["ob", "oa"]
    assert full["n1"][1].components["capacity"] == 0.0
    busy = rank([need], [a, b], weights=weights, context=Context(provider_counts={"BRA": 9}),
                top_k=2, model=model)  # fmt: skip
    assert [p.offer_id for p in busy["n1"]] == ["ob", "oa"]
    paired = rank(
        [need],
        [a, b],
        weights=weights,
        context=Context(pair_counts={("ARG", "BRA"): 1}),
        top_k=2,
        model=model,
    )
    assert [p.offer_id for p in paired["n1"]] == ["ob", "oa"]


@pytest.mark.parametrize("earlier", [("ARG", "BRA"), ("BRA", "ARG")])
def test_novelty_counts_pairings_of_the_two_countries_either_way(
    model: FakeModel, earlier: tuple[str, str]
) -> None:
    """An earlier pairing of Argentina and Brazil lowers novelty whichever of the two was
    the recipient then."""
    need = make_item("n1", "need", "ARG", title="labour inspection farms")
    offer = make_item("o1", "offer", "BRA", title="labour inspection farms")
    scored = rank([need], [offer], weights=Weights(), context=Context(pair_counts={earlier: 1}),
                  top_k=1, model=model)  # fmt: skip
    assert scored["n1"][0].components["novelty"] == pytest.approx(0.5)


def test_factor_fit_breaks_text_ties(model: FakeModel) -> None:
    need = make_item("n1", "need", "ARG", factor="agriculture", title="child care harvest")
    a = make_item("oa", "offer", "BRA", factor="ict", title="child care harvest")
    b = make_item("ob", "offer", "CHL", factor="agriculture", title="child care harvest")
    result = rank([need], [a, b], weights=Weights(), context=Context(), top_k=2, model=model)
    assert [p.offer_id for p in result["n1"]] == ["ob", "oa"]


def test_score_item_for_a_need_equals_rank(model: FakeModel) -> None:
    needs, offers = scenario(10, 40, 21)
    ctx = busy_context(offers)
    profiles = country_profiles([*needs, *offers])
    ranked = rank(needs, offers, weights=Weights(), context=ctx, top_k=5, model=model)
    ov = model.encode([item_text(o) for o in offers])
    for need in needs:
        single = score_item(need, offers, weights=Weights(), context=ctx, top_k=5, model=model,
                            counterpart_vectors=ov, profiles=profiles)  # fmt: skip
        assert single == ranked[need.id]
        via_items = score_item(
            need,
            offers,
            weights=Weights(),
            context=ctx,
            top_k=5,
            model=model,
            reciprocity_offers=offers,
            reciprocity_needs=needs,
        )
        assert via_items == single


def test_score_item_for_an_offer_scores_needs(model: FakeModel) -> None:
    needs, offers = scenario(25, 8, 8)
    ctx = busy_context(offers)
    profiles = country_profiles([*needs, *offers])
    everything = rank(needs, offers, weights=Weights(), context=ctx, top_k=len(offers),
                      model=model)  # fmt: skip
    totals = {(p.need_id, p.offer_id): p.total for p in (q for ps in everything.values()
                                                         for q in ps)}  # fmt: skip
    offer = offers[0]
    result = score_item(offer, needs, weights=Weights(), context=ctx, top_k=6, model=model,
                        profiles=profiles)  # fmt: skip
    assert 0 < len(result) <= 6
    assert all(p.offer_id == offer.id and p.need_country != offer.country for p in result)
    assert [p.total for p in result] == sorted((p.total for p in result), reverse=True)
    for p in result:
        assert p.total == totals[(p.need_id, p.offer_id)]
    best = sorted(((t, n) for (n, o), t in totals.items() if o == offer.id),
                  key=lambda x: (-x[0], x[1]))[:6]  # fmt: skip
    assert [p.need_id for p in result] == [n for _, n in best]


def test_score_item_excludes_same_country(model: FakeModel) -> None:
    need = make_item("n1", "need", "ARG", title="hotline app")
    offers = [make_item("o1", "offer", "ARG", title="hotline app"),
              make_item("o2", "offer", "PER", title="registry")]  # fmt: skip
    result = score_item(need, offers, weights=Weights(), context=Context(), top_k=5, model=model)
    assert [p.offer_id for p in result] == ["o2"]


def test_matched_terms_shared_words_and_word_pairs() -> None:
    need = make_item(
        "n1",
        "need",
        "ARG",
        title="Guarderías durante la cosecha de café",
        description="Necesitamos centros de cuidado infantil en fincas cafetaleras.",
    )
    offer = make_item(
        "o1",
        "offer",
        "BRA",
        language="pt",
        title="Creches na colheita do café",
        description="Centros de cuidado para filhos de trabalhadores rurais.",
    )
    result = rank([need], [offer], weights=Weights(), context=Context(), top_k=1,
                  model=FakeModel())  # fmt: skip
    terms = result["n1"][0].matched_terms
    assert "café" in terms
    assert "centros" in terms
    assert "cuidado" in terms
    # a word model also pairs words; identical words are the only "pairs" a fake model finds
    with_words = rank([need], [offer], weights=Weights(), context=Context(), top_k=1,
                      model=FakeWordModel())  # fmt: skip
    assert set(terms) <= set(with_words["n1"][0].matched_terms)


def test_item_text_and_vector_bytes() -> None:
    item = make_item(
        "n1",
        "need",
        "ARG",
        title="  Título  sin punto ",
        description="Descripción.",
        target_population="jóvenes",
    )
    assert item_text(item) == "Título sin punto. Descripción. jóvenes."
    v = np.array([0.5, -0.25, 1.0], dtype=np.float32)
    data = vector_to_bytes(v)
    assert len(data) == 12
    assert np.array_equal(vector_from_bytes(data, 3), v)
    with pytest.raises(ValueError, match="expected 16"):
        vector_from_bytes(data, 4)
    with pytest.raises(ValueError, match="1-D"):
        vector_to_bytes(np.zeros((2, 2)))
