"""Exact selection: equal to a brute-force optimum, feasible, deterministic, validated."""

from __future__ import annotations

import math
import random
from typing import Any

import pytest

from service.planning import Candidate, Limits, PlanningInputError, milp, select
from service.planning import selection as selection_module
from service.planning.milp import Solved, caps_for
from service.planning.selection import canonical_candidates, greedy_selection
from tests.planning.helpers import (
    brute_force,
    coverage_and_score,
    random_candidates,
    violations,
)

SEEDS = range(150)


@pytest.mark.parametrize("seed", SEEDS)
def test_select_random_instance_matches_brute_force(seed: int) -> None:
    candidates, capacity, limits = random_candidates(random.Random(seed))
    selection = select(candidates, capacity=capacity, limits=limits)

    assert violations(selection.chosen, capacity, limits) == []
    assert set(selection.chosen) <= set(candidates)
    best_cover, best_score = brute_force(candidates, capacity, limits)
    cover, score = coverage_and_score(selection.chosen)
    assert cover == best_cover
    assert score == pytest.approx(best_score, abs=1e-6)
    assert selection.total_score == pytest.approx(score, abs=1e-12)
    participants = {c.recipient for c in candidates} | {c.provider for c in candidates}
    assert len(selection.uncovered) == len(participants) - cover
    assert selection.optimal
    assert selection.score_bound is None


@pytest.mark.parametrize("seed", range(120))
def test_select_with_fixed_pairings_matches_brute_force(seed: int) -> None:
    """Pairings under way are always chosen; limits they alone exceed are raised for them."""
    rng = random.Random(1000 + seed)
    candidates, capacity, limits = random_candidates(rng)
    picked = rng.sample(candidates, min(len(candidates), rng.randint(1, 3)))
    fixed = {(c.need_id, c.offer_id) for c in picked}
    exact = select(candidates, capacity=capacity, limits=limits, fixed=fixed)
    limited = select(candidates, capacity=capacity, limits=limits, fixed=fixed,
                     time_limit_s=0.05)
    for selection in (exact, limited):
        assert violations(selection.chosen, capacity, limits, fixed) == []
        assert fixed <= {(c.need_id, c.offer_id) for c in selection.chosen}
    assert exact.optimal
    best_cover, best_score = brute_force(candidates, capacity, limits, fixed)
    cover, score = coverage_and_score(exact.chosen)
    assert cover == best_cover
    assert score == pytest.approx(best_score, abs=1e-6)


def test_select_fixed_pairing_that_is_not_a_candidate_raises() -> None:
    cand = Candidate("n1", "o1", "ARG", "BRA", 0.5)
    with pytest.raises(PlanningInputError, match="fixed pairing"):
        select([cand], capacity={}, limits=Limits(max_meetings_per_delegation=1),
               fixed={("n1", "o2")})


def test_select_chosen_sorted_by_score_then_ids() -> None:
    candidates, capacity, limits = random_candidates(random.Random(7))
    chosen = select(candidates, capacity=capacity, limits=limits).chosen
    assert list(chosen) == sorted(chosen, key=lambda c: (-c.score, c.need_id, c.offer_id))


@pytest.mark.parametrize("seed", range(20))
def test_select_shuffled_input_gives_same_selection(seed: int) -> None:
    rng = random.Random(1000 + seed)
    candidates, capacity, limits = random_candidates(rng)
    first = select(candidates, capacity=capacity, limits=limits)
    rng.shuffle(candidates)
    assert select(candidates, capacity=capacity, limits=limits) == first


def test_select_no_candidates_returns_empty_selection() -> None:
    selection = select([], capacity={}, limits=Limits(max_meetings_per_delegation=1))
    assert selection.chosen == ()
    assert selection.total_score == 0.0
    assert selection.uncovered == ()


def test_select_coverage_beats_score() -> None:
    # BRA's only pairing competes with a much better one for ARG's single meeting slot;
    # covering BRA (and CHL) comes first.
    candidates = [
        Candidate("n1", "o1", "ARG", "CHL", 1.0),
        Candidate("n2", "o1", "ARG", "CHL", 1.0),
        Candidate("n3", "o2", "BRA", "ARG", 0.1),
        Candidate("n4", "o3", "CHL", "PER", 0.2),
    ]
    limits = Limits(max_meetings_per_delegation=1)
    selection = select(candidates, capacity={"o1": 2}, limits=limits)
    assert {(c.need_id, c.offer_id) for c in selection.chosen} == {("n3", "o2"), ("n4", "o3")}
    assert selection.uncovered == ()


def test_select_coverage_on_odd_cycle_stays_integral() -> None:
    # The coverage rows of a triangle ARG-BOL-BRA admit a half-integral relaxation; the
    # selection must still be the integral optimum that covers all three.
    candidates = [
        Candidate("n2", "o0", "ARG", "BOL", 0.186),
        Candidate("n2", "o2", "ARG", "BRA", 0.748),
        Candidate("n1", "o2", "BOL", "BRA", 0.089),
    ]
    limits = Limits(max_meetings_per_delegation=3, rounds=2, tables_per_round=3)
    selection = select(candidates, capacity={"o1": 2}, limits=limits)
    assert {(c.need_id, c.offer_id) for c in selection.chosen} == {("n2", "o0"), ("n1", "o2")}
    assert selection.total_score == pytest.approx(0.275)
    assert selection.uncovered == ()


def test_select_reports_participants_that_cannot_be_covered() -> None:
    # One offer with capacity 1 and three recipients: only one can be served.
    candidates = [
        Candidate("n1", "o1", "ARG", "BRA", 0.9),
        Candidate("n2", "o1", "CHL", "BRA", 0.5),
        Candidate("n3", "o1", "PER", "BRA", 0.7),
    ]
    selection = select(candidates, capacity={}, limits=Limits(max_meetings_per_delegation=3))
    assert [c.need_id for c in selection.chosen] == ["n1"]
    assert selection.uncovered == ("CHL", "PER")


def test_select_merges_pairings_between_two_countries_into_one_meeting() -> None:
    # ARG may meet one delegation: both pairings with BRA (either direction) fit in it.
    candidates = [
        Candidate("n1", "o1", "ARG", "BRA", 0.6),
        Candidate("n2", "o2", "BRA", "ARG", 0.6),
        Candidate("n3", "o3", "ARG", "CHL", 0.9),
    ]
    limits = Limits(max_meetings_per_delegation=1)
    selection = select(candidates, capacity={}, limits=limits)
    assert {c.need_id for c in selection.chosen} == {"n1", "n2"}
    assert selection.uncovered == ("CHL",)


def test_select_zero_rounds_chooses_nothing() -> None:
    candidates = [Candidate("n1", "o1", "ARG", "BRA", 0.6)]
    limits = Limits(max_meetings_per_delegation=2, rounds=0)
    selection = select(candidates, capacity={}, limits=limits)
    assert selection.chosen == ()
    assert selection.uncovered == ("ARG", "BRA")


def _dense_instance(seed: int) -> tuple[list[Candidate], dict[str, int], Limits]:
    rng = random.Random(seed)
    countries = [f"C{i:02d}" for i in range(12)]
    candidates = [
        Candidate(f"n{v}{i}", f"o{w}{j}", v, w, round(rng.random(), 4))
        for v in countries
        for i in range(2)
        for w in countries
        for j in range(2)
        if v != w and rng.random() < 0.4
    ]
    capacity = {c.offer_id: 1 for c in candidates}
    return candidates, capacity, Limits(max_meetings_per_delegation=3, max_offers_per_need=2)


def test_select_time_limit_returns_feasible_selection() -> None:
    candidates, capacity, limits = _dense_instance(3)
    selection = select(candidates, capacity=capacity, limits=limits, time_limit_s=0.001)
    assert violations(selection.chosen, capacity, limits) == []
    if not selection.optimal:
        assert selection.score_bound is not None
        assert selection.score_bound >= selection.total_score - 1e-9


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("seconds", [0.001, 0.05])
def test_select_time_limit_never_below_the_greedy_selection(seed: int, seconds: float) -> None:
    """However short the time limit, the answer is at least the quick greedy selection."""
    candidates, capacity, limits = _dense_instance(seed)
    ordered = canonical_candidates(candidates)
    caps = caps_for(ordered, capacity, limits, [False] * len(ordered))
    greedy = [ordered[i] for i in greedy_selection(ordered, caps)]
    selection = select(candidates, capacity=capacity, limits=limits, time_limit_s=seconds)
    assert violations(selection.chosen, capacity, limits) == []
    greedy_cover, greedy_score = coverage_and_score(greedy)
    cover, score = coverage_and_score(selection.chosen)
    assert cover >= greedy_cover
    if cover == greedy_cover:
        assert score >= greedy_score - 1e-9
    exact = select(candidates, capacity=capacity, limits=limits)
    assert exact.optimal
    assert score <= exact.total_score + 1e-9


@pytest.mark.parametrize(
    ("candidate", "message"),
    [
        (Candidate("n1", "o1", "ARG", "BRA", 1.5), "not in"),
        (Candidate("n1", "o1", "ARG", "BRA", float("nan")), "not in"),
        (Candidate("n1", "o1", "ARG", "ARG", 0.5), "with itself"),
        (Candidate("n1", "o2", "ARG", "BRA", 0.5), "given twice"),
        (Candidate("n1", "o9", "CHL", "BRA", 0.5), "two countries"),
        (Candidate("n9", "o3", "ARG", "PER", 0.5), "two countries"),
    ],
)
def test_select_invalid_candidate_raises(candidate: Candidate, message: str) -> None:
    base = [Candidate("n1", "o2", "ARG", "BRA", 0.5), Candidate("n2", "o3", "ARG", "CHL", 0.5)]
    with pytest.raises(PlanningInputError, match=message):
        select([*base, candidate], capacity={}, limits=Limits(max_meetings_per_delegation=2))


def test_select_negative_capacity_raises() -> None:
    candidates = [Candidate("n1", "o1", "ARG", "BRA", 0.5)]
    with pytest.raises(PlanningInputError, match="negative"):
        select(candidates, capacity={"o1": -1}, limits=Limits(max_meetings_per_delegation=1))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_meetings_per_delegation": 0},
        {"max_meetings_per_delegation": 1, "max_offers_per_need": 0},
        {"max_meetings_per_delegation": 1, "rounds": -1},
        {"max_meetings_per_delegation": 1, "tables_per_round": 0},
    ],
)
def test_limits_out_of_range_raise(kwargs: dict[str, int]) -> None:
    with pytest.raises(PlanningInputError):
        Limits(**kwargs)


def test_select_cut_short_before_its_root_bound_reports_the_relaxation_bound(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A main solve stopped before it bounds anything still leaves a useful proven bound: the
    optimum of the linear relaxation solved for the first selection, never below the optimum."""
    candidates, capacity, limits = _dense_instance(1)
    exact = select(candidates, capacity=capacity, limits=limits)
    real_solve = milp.solve
    relaxations: list[float] = []

    def cut_short(*args: Any, **kwargs: Any) -> Solved:
        solved = real_solve(*args, **kwargs)
        if kwargs.get("relax"):
            relaxations.append(solved.objective)
        if kwargs.get("heuristics"):  # the main solve: no solution, no bound yet
            return Solved(None, -math.inf, math.inf, optimal=False)
        return solved

    monkeypatch.setattr(selection_module, "solve", cut_short)
    limited = select(candidates, capacity=capacity, limits=limits, time_limit_s=60)

    assert not limited.optimal
    assert len(relaxations) == 1
    assert limited.score_bound is not None
    assert limited.score_bound == pytest.approx(relaxations[0])
    assert math.isfinite(relaxations[0])
    assert limited.score_bound >= exact.total_score - 1e-9
    assert limited.total_score <= exact.total_score + 1e-9
    assert violations(limited.chosen, capacity, limits) == []


def test_select_cut_short_before_any_bound_reports_the_caps_bound(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Stopped before even the linear relaxation is solved (a very short limit on a large
    table), the selection still carries a finite proven bound: the caps' own."""
    candidates, capacity, limits = _dense_instance(2)
    exact = select(candidates, capacity=capacity, limits=limits)
    real_solve = milp.solve

    def cut_short(*args: Any, **kwargs: Any) -> Solved:
        if kwargs.get("relax") or kwargs.get("heuristics"):  # nothing solved, nothing bounded
            return Solved(None, -math.inf, math.inf, optimal=False)
        return real_solve(*args, **kwargs)

    monkeypatch.setattr(selection_module, "solve", cut_short)
    limited = select(candidates, capacity=capacity, limits=limits, time_limit_s=60)

    ordered = canonical_candidates(candidates)
    caps = caps_for(ordered, capacity, limits, [False] * len(ordered))
    assert not limited.optimal
    assert limited.score_bound is not None
    assert limited.score_bound == pytest.approx(selection_module.caps_bound(ordered, caps))
    assert math.isfinite(limited.score_bound)
    assert limited.score_bound >= exact.total_score - 1e-9
    assert violations(limited.chosen, capacity, limits) == []


@pytest.mark.parametrize("seed", SEEDS)
def test_caps_bound_is_never_below_the_optimum(seed: int) -> None:
    candidates, capacity, limits = random_candidates(random.Random(seed))
    ordered = canonical_candidates(candidates)
    caps = caps_for(ordered, capacity, limits, [False] * len(ordered))

    _cover, best_score = brute_force(candidates, capacity, limits)

    assert selection_module.caps_bound(ordered, caps) >= best_score - 1e-9
