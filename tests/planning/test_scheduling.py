"""Round schedules: valid, within the bounds, optimal on bipartite graphs, value-aware."""

from __future__ import annotations

import itertools
import math
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.planning import Meeting, PlanningInputError, Schedule, schedule
from service.planning.colouring import (
    EdgeColouring,
    bipartite_colouring,
    colour_graph,
    is_bipartite,
    max_degree,
    misra_gries_colouring,
)
from tests.planning.helpers import (
    meetings_of,
    random_bipartite,
    random_graph,
    schedule_problems,
)

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FEWER = settings(SETTINGS, max_examples=200)


@st.composite
def graphs(draw: st.DrawFn) -> tuple[list[Meeting], int]:
    """A random graph on up to 25 delegations, and a table count."""
    rng = draw(st.randoms(use_true_random=False))
    n = draw(st.integers(1, 25))
    edges = random_graph(rng, n, draw(st.floats(0.0, 1.0)))
    return meetings_of(edges, rng), draw(st.integers(1, 15))


@st.composite
def bipartite_graphs(draw: st.DrawFn) -> tuple[list[Meeting], int]:
    """A random bipartite graph with up to 25 delegations (sides interleaved), and tables."""
    rng = draw(st.randoms(use_true_random=False))
    left = draw(st.integers(1, 15))
    right = draw(st.integers(1, 25 - left)) if left < 25 else 0
    edges = random_bipartite(rng, left, right, draw(st.floats(0.0, 1.0)))
    # Shuffle the labels so that the two sides are not contiguous in code order.
    labels = list(range(left + right))
    rng.shuffle(labels)
    return meetings_of([(labels[u], labels[v]) for u, v in edges], rng), draw(st.integers(1, 15))


def _bounds(meetings: list[Meeting], tables: int) -> tuple[int, int]:
    degree: dict[str, int] = {}
    for m in meetings:
        degree[m.a] = degree.get(m.a, 0) + 1
        degree[m.b] = degree.get(m.b, 0) + 1
    delta = max(degree.values(), default=0)
    by_tables = math.ceil(len(meetings) / tables)
    return max(delta, by_tables), max(delta + 1, by_tables)


def _check_unlimited(meetings: list[Meeting], tables: int) -> Schedule:
    result = schedule(meetings, tables_per_round=tables, rounds=None)
    assert schedule_problems(meetings, result, tables=tables, rounds=None) == []
    assert (result.lower_bound, result.upper_bound) == _bounds(meetings, tables)
    assert result.lower_bound <= result.rounds_used <= result.upper_bound
    if result.bipartite:
        assert result.rounds_used == result.lower_bound
    return result


@SETTINGS
@given(graphs())
def test_schedule_any_graph_is_valid_and_within_bounds(case: tuple[list[Meeting], int]) -> None:
    _check_unlimited(*case)


@FEWER
@given(bipartite_graphs())
def test_schedule_bipartite_graph_uses_lower_bound(case: tuple[list[Meeting], int]) -> None:
    result = _check_unlimited(*case)
    assert result.bipartite
    assert result.rounds_used == result.lower_bound


@FEWER
@given(graphs(), st.integers(0, 12))
def test_schedule_limited_rounds_keeps_valid_subset(
    case: tuple[list[Meeting], int], rounds: int
) -> None:
    meetings, tables = case
    result = schedule(meetings, tables_per_round=tables, rounds=rounds)
    assert schedule_problems(meetings, result, tables=tables, rounds=rounds) == []
    unlimited = schedule(meetings, tables_per_round=tables, rounds=None)
    if rounds >= unlimited.rounds_used:
        assert result == unlimited
    busy = {(s.round, d) for s in result.slots for d in (s.meeting.a, s.meeting.b)}
    used = {r: sum(1 for s in result.slots if s.round == r) for r in range(1, rounds + 1)}
    for meeting, reason in result.left_out:
        assert rounds == 0 or (meeting.a in reason and meeting.b in reason)
        # The reason is true: no round has both delegations free and a table left.
        assert all(
            (r, meeting.a) in busy or (r, meeting.b) in busy or used[r] >= tables
            for r in range(1, rounds + 1)
        )


@pytest.mark.parametrize("n", range(1, 13))
def test_schedule_complete_graph_within_vizing_bound(n: int) -> None:
    meetings = meetings_of(list(itertools.combinations(range(n), 2)), random.Random(n))
    result = _check_unlimited(meetings, tables=n)
    # K_n needs n - 1 rounds when n is even and n rounds when n is odd (K_1 has no meeting).
    expected = 0 if n == 1 else n - 1 if n % 2 == 0 else n
    assert result.rounds_used == expected


def test_schedule_odd_cycle_needs_three_rounds() -> None:
    meetings = meetings_of([(0, 1), (1, 2), (2, 3), (3, 4), (0, 4)], random.Random(0))
    result = _check_unlimited(meetings, tables=10)
    assert not result.bipartite
    assert result.rounds_used == 3


def test_schedule_odd_loops_that_fit_in_delta_rounds_use_delta_rounds() -> None:
    # Not bipartite (0-1-2 is a loop of three), Δ = 4, and four rounds hold every meeting;
    # the Δ + 1 colouring and its one-class reduction alone took five.
    edges = [(0, 1), (0, 2), (0, 7), (1, 2), (1, 3), (2, 3), (2, 5), (3, 4), (3, 5), (4, 5),
             (4, 6), (4, 7), (5, 7)]
    meetings = meetings_of(edges, random.Random(0))
    result = _check_unlimited(meetings, tables=10)
    assert not result.bipartite
    assert (result.lower_bound, result.rounds_used, result.left_out) == (4, 4, ())
    assert schedule(meetings, tables_per_round=10, rounds=6) == result


def test_schedule_petersen_graph_uses_four_rounds() -> None:
    outer = [(i, (i + 1) % 5) for i in range(5)]
    spokes = [(i, i + 5) for i in range(5)]
    inner = [(5 + i, 5 + (i + 2) % 5) for i in range(5)]
    meetings = meetings_of(outer + spokes + inner, random.Random(0))
    result = _check_unlimited(meetings, tables=10)
    assert (result.lower_bound, result.rounds_used) == (3, 4)  # Petersen is class 2


def test_schedule_no_meetings_is_empty() -> None:
    result = schedule([], tables_per_round=10, rounds=None)
    assert result.slots == ()
    assert result.rounds_used == 0
    assert result.lower_bound == 0
    assert result.left_out == ()


def test_schedule_one_table_runs_one_meeting_per_round() -> None:
    meetings = meetings_of([(0, 1), (2, 3), (4, 5), (0, 2)], random.Random(1))
    result = _check_unlimited(meetings, tables=1)
    assert result.rounds_used == 4
    assert {s.table for s in result.slots} == {1}


def test_schedule_orders_rounds_and_tables_by_value() -> None:
    meetings = [
        Meeting("ARG", "BRA", 0.2, ()),
        Meeting("CHL", "PER", 0.9, ()),
        Meeting("ARG", "CHL", 0.5, ()),
    ]
    result = schedule(meetings, tables_per_round=10, rounds=None)
    first = [s.meeting for s in result.slots if s.round == 1]
    assert first == [meetings[1], meetings[0]]  # 1.1 in round 1, then ARG-CHL alone
    assert [s.table for s in result.slots if s.round == 1] == [1, 2]


def test_schedule_too_few_rounds_leaves_out_least_valuable() -> None:
    meetings = [
        Meeting("ARG", "BRA", 0.9, ()),
        Meeting("ARG", "CHL", 0.4, ()),
        Meeting("ARG", "PER", 0.7, ()),
    ]
    result = schedule(meetings, tables_per_round=10, rounds=2)
    assert {(s.meeting.a, s.meeting.b) for s in result.slots} == {("ARG", "BRA"), ("ARG", "PER")}
    assert result.left_out == ((meetings[1], "no free round for both ARG and CHL within 2 rounds"),)


def test_schedule_full_tables_reason_names_tables() -> None:
    meetings = [Meeting("ARG", "BRA", 0.9, ()), Meeting("CHL", "PER", 0.4, ())]
    result = schedule(meetings, tables_per_round=1, rounds=1)
    assert [s.meeting for s in result.slots] == [meetings[0]]
    assert "tables" in result.left_out[0][1]


def test_schedule_zero_rounds_leaves_everything_out() -> None:
    meetings = [Meeting("ARG", "BRA", 0.9, ())]
    result = schedule(meetings, tables_per_round=3, rounds=0)
    assert result.slots == ()
    assert result.left_out == ((meetings[0], "no negotiation rounds are available"),)


def test_schedule_shuffled_meetings_give_same_schedule() -> None:
    rng = random.Random(5)
    meetings = meetings_of(random_graph(rng, 14, 0.5), rng)
    first = schedule(meetings, tables_per_round=4, rounds=None)
    limited = schedule(meetings, tables_per_round=4, rounds=first.rounds_used - 2)
    for _ in range(5):
        rng.shuffle(meetings)
        assert schedule(meetings, tables_per_round=4, rounds=None) == first
        assert schedule(meetings, tables_per_round=4, rounds=first.rounds_used - 2) == limited


@pytest.mark.parametrize(
    ("meetings", "message"),
    [
        ([Meeting("BRA", "ARG", 1.0, ())], "a < b"),
        ([Meeting("ARG", "ARG", 1.0, ())], "a < b"),
        ([Meeting("ARG", "BRA", 1.0, ()), Meeting("ARG", "BRA", 0.5, ())], "two meetings"),
    ],
)
def test_schedule_invalid_meetings_raise(meetings: list[Meeting], message: str) -> None:
    with pytest.raises(PlanningInputError, match=message):
        schedule(meetings, tables_per_round=2, rounds=None)


def _assert_proper(col: EdgeColouring, edges: list[tuple[int, int]], colours: int) -> None:
    assert sorted(col.colour) == sorted(edges)
    for v, at in enumerate(col.at):
        assert all(col.colour[(min(v, w), max(v, w))] == c for c, w in at.items())
    assert all(0 <= c < colours for c in col.colour.values())


@pytest.mark.parametrize("seed", range(40))
def test_misra_gries_uses_at_most_delta_plus_one_colours(seed: int) -> None:
    rng = random.Random(seed)
    n = rng.randint(2, 30)
    edges = random_graph(rng, n, rng.random())
    _assert_proper(misra_gries_colouring(n, edges), edges, max_degree(n, edges) + 1)


@pytest.mark.parametrize("seed", range(40))
def test_bipartite_colouring_uses_delta_colours(seed: int) -> None:
    rng = random.Random(seed)
    left, right = rng.randint(1, 15), rng.randint(1, 15)
    edges = random_bipartite(rng, left, right, rng.random())
    n = left + right
    assert is_bipartite(n, edges)
    _assert_proper(bipartite_colouring(n, edges, max_degree(n, edges)), edges, max_degree(n, edges))


@pytest.mark.parametrize("cap", [1, 2, 3, 7, 100])
def test_colour_graph_classes_are_equitable(cap: int) -> None:
    rng = random.Random(cap)
    n = 20
    edges = random_graph(rng, n, 0.3)
    col, k = colour_graph(n, edges, cap)
    sizes = [col.size(c) for c in range(k)]
    assert max(sizes) - min(sizes) <= 1
    assert max(sizes) <= cap


def test_schedule_too_few_rounds_keeps_held_meetings_first() -> None:
    meetings = [
        Meeting("ARG", "BRA", 0.9, (("n1", "o1"),)),
        Meeting("ARG", "CHL", 0.4, (("n2", "o2"),)),
        Meeting("ARG", "PER", 0.7, (("n3", "o3"),)),
    ]
    result = schedule(meetings, tables_per_round=10, rounds=2, held={("n2", "o2")})
    assert {(s.meeting.a, s.meeting.b) for s in result.slots} == {("ARG", "BRA"), ("ARG", "CHL")}
    assert result.left_out == ((meetings[2], "no free round for both ARG and PER within 2 rounds"),)
