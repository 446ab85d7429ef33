"""The whole pipeline: select, merge into meetings, schedule; deterministic end to end."""

from __future__ import annotations

import random

import pytest

from service.planning import Candidate, Limits, Meeting, merge_meetings, plan
from tests.planning.helpers import random_candidates, schedule_problems, violations


def _candidates(seed: int, countries: int = 8, density: float = 0.5) -> list[Candidate]:
    rng = random.Random(seed)
    codes = [f"C{i:02d}" for i in range(countries)]
    return [
        Candidate(f"n-{v}-{i}", f"o-{w}-{j}", v, w, round(rng.random(), 3))
        for v in codes
        for i in range(2)
        for w in codes
        for j in range(2)
        if v != w and rng.random() < density
    ]


def test_merge_meetings_groups_both_directions() -> None:
    chosen = [
        Candidate("n2", "o2", "BRA", "ARG", 0.25),
        Candidate("n1", "o1", "ARG", "BRA", 0.5),
        Candidate("n3", "o3", "CHL", "ARG", 1.0),
    ]
    assert merge_meetings(chosen) == [
        Meeting("ARG", "BRA", 0.75, (("n1", "o1"), ("n2", "o2"))),
        Meeting("ARG", "CHL", 1.0, (("n3", "o3"),)),
    ]


def test_merge_meetings_empty() -> None:
    assert merge_meetings([]) == []


@pytest.mark.parametrize("seed", range(12))
def test_plan_is_consistent(seed: int) -> None:
    candidates = _candidates(seed)
    capacity = {c.offer_id: 1 + seed % 3 for c in candidates}
    limits = Limits(
        max_meetings_per_delegation=3,
        max_offers_per_need=2,
        rounds=None if seed % 2 else 3,
        tables_per_round=1 + seed % 4,
    )
    result = plan(candidates, capacity=capacity, limits=limits)
    assert violations(result.selection.chosen, capacity, limits) == []
    assert list(result.meetings) == merge_meetings(result.selection.chosen)
    assert sum(len(m.pairings) for m in result.meetings) == len(result.selection.chosen)
    problems = schedule_problems(
        list(result.meetings),
        result.schedule,
        tables=limits.tables_per_round,
        rounds=limits.rounds,
    )
    assert problems == []


@pytest.mark.parametrize("seed", range(6))
def test_plan_shuffled_candidates_give_same_plan(seed: int) -> None:
    rng = random.Random(seed)
    candidates = _candidates(100 + seed, countries=7)
    capacity = {c.offer_id: 2 for c in candidates}
    limits = Limits(max_meetings_per_delegation=4, max_offers_per_need=2, tables_per_round=3)
    first = plan(candidates, capacity=capacity, limits=limits)
    for _ in range(3):
        rng.shuffle(candidates)
        assert plan(candidates, capacity=dict(reversed(capacity.items())), limits=limits) == first


def test_plan_no_candidates() -> None:
    result = plan([], capacity={}, limits=Limits(max_meetings_per_delegation=2))
    assert result.selection.chosen == ()
    assert result.meetings == ()
    assert result.schedule.slots == ()
    assert result.schedule.rounds_used == 0


def test_plan_one_delegation_pair() -> None:
    candidates = [
        Candidate("n1", "o1", "ARG", "BRA", 0.5),
        Candidate("n2", "o2", "BRA", "ARG", 0.4),
    ]
    result = plan(candidates, capacity={}, limits=Limits(max_meetings_per_delegation=1))
    assert result.meetings == (Meeting("ARG", "BRA", 0.9, (("n1", "o1"), ("n2", "o2"))),)
    assert [(s.round, s.table) for s in result.schedule.slots] == [(1, 1)]


def test_plan_one_table_per_round() -> None:
    candidates, capacity, _ = random_candidates(random.Random(11))
    limits = Limits(max_meetings_per_delegation=3, tables_per_round=1)
    result = plan(candidates, capacity=capacity, limits=limits)
    assert result.schedule.rounds_used == len(result.meetings)
    assert all(s.table == 1 for s in result.schedule.slots)


def test_plan_limited_rounds_fits_the_selection() -> None:
    candidates = _candidates(9, countries=12, density=0.6)
    limits = Limits(max_meetings_per_delegation=6, max_offers_per_need=3, rounds=2,
                    tables_per_round=4)  # fmt: skip
    result = plan(candidates, capacity={}, limits=limits)
    assert len(result.meetings) <= 2 * 4
    delegations = [d for m in result.meetings for d in (m.a, m.b)]
    assert max(delegations.count(d) for d in set(delegations)) <= 2
    assert len(result.schedule.slots) + len(result.schedule.left_out) == len(result.meetings)
