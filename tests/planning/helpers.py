"""Helpers of the planning tests: random instances, a brute-force optimum and validators."""

from __future__ import annotations

import itertools
import math
import random
from collections import Counter
from collections.abc import Collection, Mapping, Sequence

from service.planning import Candidate, Limits, Meeting, Schedule

CODES = ("ARG", "BOL", "BRA", "CHL", "COL", "CRI", "ECU", "GTM", "MEX", "PER", "PRY", "URY")


def code(i: int) -> str:
    """Return a three-letter country code whose sort order is that of i (0 <= i < 676)."""
    return "X" + chr(ord("A") + i // 26) + chr(ord("A") + i % 26)


def random_candidates(
    rng: random.Random, *, max_candidates: int = 12
) -> tuple[list[Candidate], dict[str, int], Limits]:
    """Build a small random selection instance (with ties, zero scores and zero capacities)."""
    countries = CODES[: rng.randint(2, 5)]
    needs = [(f"n{i}", rng.choice(countries)) for i in range(rng.randint(1, 5))]
    offers = [(f"o{i}", rng.choice(countries)) for i in range(rng.randint(1, 5))]
    pool = [(n, o) for n in needs for o in offers if n[1] != o[1]]
    picked = rng.sample(pool, min(len(pool), rng.randint(3, max_candidates)))
    tied = rng.random() < 0.3
    candidates = [
        Candidate(
            need_id=n[0],
            offer_id=o[0],
            recipient=n[1],
            provider=o[1],
            score=rng.choice((0.0, 0.25, 0.5, 1.0)) if tied else round(rng.random(), 3),
        )
        for n, o in picked
    ]
    capacity: dict[str, int] = {}
    for offer_id, _ in offers:
        value = rng.choice((None, None, 0, 1, 2, 3))
        if value is not None:
            capacity[offer_id] = value
    limits = Limits(
        max_meetings_per_delegation=rng.randint(1, 3),
        max_offers_per_need=rng.randint(1, 3),
        rounds=rng.choice((None, None, None, 0, 1, 2, 3)),
        tables_per_round=rng.randint(1, 3),
    )
    return candidates, capacity, limits


def violations(
    chosen: Sequence[Candidate], capacity: Mapping[str, int], limits: Limits,
    fixed: Collection[tuple[str, str]] = (),
) -> list[str]:
    """List every selection constraint the chosen pairings break (empty: feasible).

    `fixed` pairings must be chosen; a limit they alone exceed is raised to what they use.
    """
    problems: list[str] = []
    kept = [c for c in chosen if (c.need_id, c.offer_id) in fixed]
    if len(kept) != len(set(fixed)):
        problems.append("a fixed pairing is not chosen")
    kept_offers = Counter(c.offer_id for c in kept)
    kept_needs = Counter(c.need_id for c in kept)
    for offer_id, used in Counter(c.offer_id for c in chosen).items():
        if used > max(capacity.get(offer_id, 1), kept_offers[offer_id]):
            problems.append(f"offer {offer_id} used {used} times")
    for need_id, used in Counter(c.need_id for c in chosen).items():
        if used > max(limits.max_offers_per_need, kept_needs[need_id]):
            problems.append(f"need {need_id} gets {used} offers")
    pairs = {tuple(sorted((c.recipient, c.provider))) for c in chosen}
    kept_pairs = {tuple(sorted((c.recipient, c.provider))) for c in kept}
    degree = Counter(v for p in pairs for v in p)
    kept_degree = Counter(v for p in kept_pairs for v in p)
    cap = limits.max_meetings_per_delegation
    if limits.rounds is not None:
        cap = min(cap, limits.rounds)
        if len(pairs) > max(limits.rounds * limits.tables_per_round, len(kept_pairs)):
            problems.append(f"{len(pairs)} meetings do not fit the tables")
    problems.extend(f"{v} has {d} meetings" for v, d in degree.items()
                    if d > max(cap, kept_degree[v]))
    if len(set(chosen)) != len(chosen):
        problems.append("a candidate is chosen twice")
    return problems


def coverage_and_score(chosen: Sequence[Candidate]) -> tuple[int, float]:
    """Return the lexicographic objective: participants covered, then total score."""
    covered = {c.recipient for c in chosen} | {c.provider for c in chosen}
    return len(covered), math.fsum(c.score for c in chosen)


def brute_force(
    candidates: Sequence[Candidate], capacity: Mapping[str, int], limits: Limits,
    fixed: Collection[tuple[str, str]] = (),
) -> tuple[int, float]:
    """Return the best (coverage, score) over all subsets of candidates."""
    best = (0, 0.0)
    for size in range(len(candidates) + 1):
        for subset in itertools.combinations(candidates, size):
            if not violations(subset, capacity, limits, fixed):
                cov, score = coverage_and_score(subset)
                if cov > best[0] or (cov == best[0] and score > best[1]):
                    best = (cov, score)
    return best


def random_graph(rng: random.Random, n: int, density: float) -> list[tuple[int, int]]:
    """Return the edges of a G(n, p) random graph."""
    return [(u, v) for u, v in itertools.combinations(range(n), 2) if rng.random() < density]


def random_bipartite(
    rng: random.Random, left: int, right: int, density: float
) -> list[tuple[int, int]]:
    """Return the edges of a random bipartite graph on 0..left-1 and left..left+right-1."""
    return [(u, left + w) for u in range(left) for w in range(right) if rng.random() < density]


def meetings_of(edges: Sequence[tuple[int, int]], rng: random.Random) -> list[Meeting]:
    """Turn integer edges into meetings between coded countries with random values."""
    return [
        Meeting(a=code(min(u, v)), b=code(max(u, v)), value=round(rng.random(), 3), pairings=())
        for u, v in edges
    ]


def schedule_problems(
    meetings: Sequence[Meeting], schedule: Schedule, *, tables: int, rounds: int | None
) -> list[str]:
    """List every way the schedule is invalid for the given meetings (empty: valid)."""
    problems: list[str] = []
    busy: set[tuple[int, str]] = set()
    tables_used: dict[int, set[int]] = {}
    for slot in schedule.slots:
        for delegation in (slot.meeting.a, slot.meeting.b):
            if (slot.round, delegation) in busy:
                problems.append(f"{delegation} is double-booked in round {slot.round}")
            busy.add((slot.round, delegation))
        if slot.table in tables_used.setdefault(slot.round, set()):
            problems.append(f"table {slot.table} used twice in round {slot.round}")
        tables_used[slot.round].add(slot.table)
    for r, used in tables_used.items():
        if used != set(range(1, len(used) + 1)) or len(used) > tables:
            problems.append(f"round {r} uses tables {sorted(used)} of {tables}")
    if set(tables_used) != set(range(1, schedule.rounds_used + 1)):
        problems.append(f"rounds {sorted(tables_used)} but rounds_used={schedule.rounds_used}")
    placed = [s.meeting for s in schedule.slots] + [m for m, _ in schedule.left_out]
    if sorted(placed, key=lambda m: (m.a, m.b)) != sorted(meetings, key=lambda m: (m.a, m.b)):
        problems.append("scheduled + left out is not the set of meetings")
    if rounds is not None and schedule.rounds_used > rounds:
        problems.append(f"{schedule.rounds_used} rounds used, only {rounds} available")
    if rounds is None and schedule.left_out:
        problems.append("meetings left out although rounds are unlimited")
    problems.extend(f"no reason for {m.a}-{m.b}" for m, reason in schedule.left_out if not reason)
    return problems
