"""The whole pipeline: select, merge into meetings, schedule; deterministic end to end."""

from __future__ import annotations

import random

import pytest

from service.planning import Candidate, Limits, Meeting, merge_meetings, plan, without_meeting
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


def test_participants_without_a_meeting_are_each_given_the_reason() -> None:
    candidates = [Candidate("n-A", "o-B", "AAA", "BBB", 0.9),
                  Candidate("n-C", "o-D", "CCC", "DDD", 0.5)]
    limits = Limits(max_meetings_per_delegation=4, max_offers_per_need=1, rounds=1,
                    tables_per_round=1)
    result = plan(candidates, capacity={"o-B": 1, "o-D": 1}, limits=limits)

    reasons = without_meeting(result, participants=["AAA", "BBB", "CCC", "DDD", "EEE"],
                              candidates=candidates, limits=limits)

    assert sorted(reasons) == ["CCC", "DDD", "EEE"]  # one meeting fits: the better one
    assert reasons["CCC"] == reasons["DDD"] == (
        "no selection within the table's limits gives it a meeting without leaving another "
        "participant without one (the offers' capacity, 1 offer per need, 4 meetings per "
        "delegation, 1 round of 1 table (at most 1 meeting, all taken))")
    assert reasons["EEE"].startswith("no candidate pairing")


def test_a_participant_whose_only_meeting_did_not_fit_the_rounds_is_told_so() -> None:
    # Pairings under way are always chosen, even beyond the rounds: AAA has three meetings
    # for two rounds, and the least valuable one, DDD's only meeting, is left out.
    held = [Candidate("n-A1", "o-B", "AAA", "BBB", 0.9),
            Candidate("n-A2", "o-C", "AAA", "CCC", 0.8),
            Candidate("n-A3", "o-D", "AAA", "DDD", 0.2)]
    limits = Limits(max_meetings_per_delegation=8, max_offers_per_need=3, rounds=2,
                    tables_per_round=5)
    result = plan(held, capacity={}, limits=limits,
                  fixed=[(c.need_id, c.offer_id) for c in held])

    reasons = without_meeting(result, participants=["AAA", "BBB", "CCC", "DDD"],
                              candidates=held, limits=limits)

    assert reasons == {"DDD": "its meetings did not fit in the rounds: "
                              "no free round for both AAA and DDD within 2 rounds"}


def test_everyone_seated_needs_no_reason() -> None:
    candidates = _candidates(3)
    limits = Limits(max_meetings_per_delegation=8, max_offers_per_need=2)
    result = plan(candidates, capacity={}, limits=limits)
    countries = {c.recipient for c in candidates} | {c.provider for c in candidates}
    assert without_meeting(result, participants=countries, candidates=candidates,
                           limits=limits) == {}


def test_a_meeting_under_way_keeps_its_round_before_more_valuable_suggestions() -> None:
    # Three delegations meeting each other need three rounds; with two, one meeting is left
    # out. BBB-CCC is the least valuable, but it holds a pairing under way: it stays.
    candidates = [Candidate("n-A", "o-B", "AAA", "BBB", 0.9),
                  Candidate("n-C", "o-A", "CCC", "AAA", 0.8),
                  Candidate("n-B", "o-C", "BBB", "CCC", 0.1)]
    limits = Limits(max_meetings_per_delegation=2, max_offers_per_need=1, rounds=2,
                    tables_per_round=5)
    result = plan(candidates, capacity={}, limits=limits, fixed=[("n-B", "o-C")])

    scheduled = {(s.meeting.a, s.meeting.b) for s in result.schedule.slots}
    assert ("BBB", "CCC") in scheduled
    assert [(m.a, m.b) for m, _reason in result.schedule.left_out] == [("AAA", "CCC")]
