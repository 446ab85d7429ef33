"""Exact selection of pairings: most participants covered first, then the highest score."""

from __future__ import annotations

import math
import time
from collections import Counter, defaultdict
from collections.abc import Collection, Mapping, Sequence

import numpy as np

from service.planning.milp import (
    Caps,
    FloatArray,
    Rows,
    SelectionModel,
    Solved,
    build_model,
    caps_for,
    solve,
)
from service.planning.types import Candidate, Limits, PlanningInputError, Selection

_INTEGRAL_TOL = 1e-6
# Under a time limit, the share of what is left that the main solve may use; the rest is kept
# for turning its answer into whole pairings.
_MAIN_SOLVE_SHARE = 0.95
# ... and the share the linear relaxation behind the first selection may use.
_START_SHARE = 0.5


def canonical_candidates(candidates: Sequence[Candidate]) -> list[Candidate]:
    """Validate candidates and return them sorted by (need_id, offer_id).

    Raises:
        PlanningInputError: a score outside [0, 1], a candidate within one country, a
            (need, offer) pair given twice, or a need (offer) given with two countries.
    """
    ordered = sorted(candidates, key=lambda c: (c.need_id, c.offer_id))
    need_country: dict[str, str] = {}
    offer_country: dict[str, str] = {}
    for prev, cand in zip([None, *ordered], ordered, strict=False):
        key = f"({cand.need_id}, {cand.offer_id})"
        if not (math.isfinite(cand.score) and 0.0 <= cand.score <= 1.0):
            raise PlanningInputError(f"score of {key} is {cand.score}, not in [0, 1]")
        if cand.recipient == cand.provider:
            raise PlanningInputError(f"{key} pairs {cand.recipient} with itself")
        if prev is not None and (prev.need_id, prev.offer_id) == (cand.need_id, cand.offer_id):
            raise PlanningInputError(f"{key} is given twice")
        if need_country.setdefault(cand.need_id, cand.recipient) != cand.recipient:
            raise PlanningInputError(f"need {cand.need_id} belongs to two countries")
        if offer_country.setdefault(cand.offer_id, cand.provider) != cand.provider:
            raise PlanningInputError(f"offer {cand.offer_id} belongs to two countries")
    return ordered


def greedy_selection(cands: Sequence[Candidate], caps: Caps,
                     fixed: Sequence[bool] | None = None) -> list[int]:
    """Take the fixed pairings; then, for each uncovered country (fewest candidates first),
    its best feasible pairing; then the other pairings, best score first, wherever they fit.

    A quick feasible selection, the answer of last resort under a time limit; when it covers
    everyone, full coverage is proven possible.
    """
    offer_used: dict[str, int] = {}
    need_used: dict[str, int] = {}
    partners: dict[str, set[str]] = {}
    chosen: list[int] = []

    def fits(c: Candidate) -> bool:
        if offer_used.get(c.offer_id, 0) >= caps.offer[c.offer_id]:
            return False
        if need_used.get(c.need_id, 0) >= caps.need[c.need_id]:
            return False
        if c.provider in partners.get(c.recipient, set()):
            return True
        n_meetings = sum(len(p) for p in partners.values()) // 2
        return n_meetings < caps.total and all(
            len(partners.get(v, set())) < caps.meetings[v] for v in (c.recipient, c.provider)
        )

    by_country: dict[str, list[int]] = {}
    for i, c in enumerate(cands):
        by_country.setdefault(c.recipient, []).append(i)
        by_country.setdefault(c.provider, []).append(i)

    def take(i: int) -> None:
        c = cands[i]
        chosen.append(i)
        offer_used[c.offer_id] = offer_used.get(c.offer_id, 0) + 1
        need_used[c.need_id] = need_used.get(c.need_id, 0) + 1
        partners.setdefault(c.recipient, set()).add(c.provider)
        partners.setdefault(c.provider, set()).add(c.recipient)

    def best_first(members: Sequence[int]) -> list[int]:
        return sorted(members, key=lambda j: (-cands[j].score, j))

    for i in range(len(cands)):
        if fixed is not None and fixed[i]:
            take(i)  # the caps hold every fixed pairing
    for v, members in sorted(by_country.items(), key=lambda item: (len(item[1]), item[0])):
        if v not in partners:
            first = next((i for i in best_first(members) if fits(cands[i])), None)
            if first is not None:
                take(first)
    taken = set(chosen)
    for i in best_first(range(len(cands))):
        if i not in taken and fits(cands[i]):
            take(i)
    return chosen


class _Budget:
    """Seconds left of an optional time limit (the clock is read only when one is set)."""

    def __init__(self, seconds: float | None) -> None:
        self.deadline = None if seconds is None else time.monotonic() + seconds

    def left(self) -> float | None:
        return None if self.deadline is None else self.deadline - time.monotonic()


def _is_integral(values: FloatArray) -> bool:
    return bool(np.all(np.abs(values - np.round(values)) <= _INTEGRAL_TOL))


def _total(cands: Sequence[Candidate], values: FloatArray) -> float:
    """The total score of the pairings that `values` (x first) selects."""
    return math.fsum(c.score for c, v in zip(cands, values[: len(cands)], strict=True) if v > 0.5)


def _whole(solved: Solved, n: int) -> bool:
    """Whether the solve found a selection whose first `n` values (the pairings) are 0 or 1."""
    return solved.values is not None and _is_integral(solved.values[:n])


def _rounded_start(
    model: SelectionModel, score: FloatArray, extra: Rows, caps: Caps, budget: _Budget
) -> tuple[Solved | None, float]:
    """A good first selection, rounded from the linear relaxation, and the relaxation's value.

    Meetings are taken in order of their value in the relaxation while both delegations (and
    the rounds, if limited) have room; the pairings within the chosen meetings are then
    solved exactly. The selection is None if that misses a participant the coverage row asks
    for. The relaxation's optimum bounds every selection (infinity if it was not solved): a
    main solve cut short before its own root bound still reports a bound this good.
    """
    n, z_start = len(model.cands), model.z_start
    left = budget.left()
    relaxation = solve(
        model,
        score,
        integral_x=False,
        extra=extra,
        relax=True,
        time_limit=None if left is None else left * _START_SHARE,
        may_be_infeasible=True,
    )
    if relaxation.values is None or not relaxation.optimal:
        return None, math.inf
    y = relaxation.values[n:z_start]
    held = model.lower[n:z_start]  # meetings of fixed pairings come first
    pair_value = np.zeros(len(model.pairs))
    np.add.at(pair_value, model.pair_of, relaxation.values[:n] * score[:n])
    degree: Counter[str] = Counter()
    meetings, taken = np.zeros(len(model.pairs)), 0
    order = sorted(range(len(model.pairs)), key=lambda k: (-held[k], -y[k], -pair_value[k], k))
    for k in order:
        if y[k] <= _INTEGRAL_TOL or taken >= caps.total:
            break
        a, b = model.pairs[k]
        if degree[a] < caps.meetings[a] and degree[b] < caps.meetings[b]:
            meetings[k] = 1.0
            degree[a] += 1
            degree[b] += 1
            taken += 1
    filled = _fill_meetings(model, score, extra, meetings, budget)
    return (filled if filled.values is not None else None), relaxation.objective


def _fill_meetings(
    model: SelectionModel, score: FloatArray, extra: Rows, meetings: FloatArray, budget: _Budget
) -> Solved:
    """Best whole pairings when exactly the given meetings (0/1 per country pair) take place."""
    n, z_start = len(model.cands), model.z_start
    lower, upper = model.lower.copy(), model.upper.copy()
    lower[n:z_start] = upper[n:z_start] = meetings
    return solve(
        model,
        score,
        integral_x=True,
        extra=extra,
        lower=lower,
        upper=upper,
        time_limit=budget.left(),
        may_be_infeasible=True,
    )


def _max_score(model: SelectionModel, target: int, caps: Caps, budget: _Budget) -> Solved:
    """Maximise the total score among selections covering at least `target` participants."""
    n, z_start = len(model.cands), model.z_start
    extra = Rows()
    extra.add([(z_start + k, 1.0) for k in range(len(model.countries))], target, math.inf)
    score = np.zeros(model.n_vars)
    score[:n] = [c.score for c in model.cands]
    # Under a time limit, start from a rounded relaxation and let the solver's heuristics
    # run, so that a cut-short solve still answers well; both make unlimited solves slower.
    limited = budget.deadline is not None
    start, lp_bound = (
        _rounded_start(model, score, extra, caps, budget) if limited else (None, math.inf)
    )
    left = budget.left()
    relaxed = solve(
        model,
        score,
        integral_x=False,
        extra=extra,
        time_limit=None if left is None else left * _MAIN_SOLVE_SHARE,
        start=None if start is None else start.values,
        heuristics=limited,
    )
    found = [s for s in (start, relaxed) if s is not None and _whole(s, n)]
    bound, optimal = min(relaxed.bound, lp_bound), relaxed.optimal
    if relaxed.values is not None and not _is_integral(relaxed.values[:n]):
        # Coverage rows made x fractional: fix the meetings, choose integral pairings in them.
        meetings = np.round(relaxed.values[n:z_start])
        repaired = _fill_meetings(model, score, extra, meetings, budget)
        if relaxed.optimal and repaired.optimal and repaired.objective >= relaxed.objective - 1e-9:
            return repaired
        full = solve(model, score, integral_x=True, extra=extra, time_limit=budget.left())
        found += [s for s in (full, repaired) if s.values is not None]
        bound, optimal = min(relaxed.bound, full.bound, lp_bound), full.optimal
    if not found:
        return Solved(None, -math.inf, bound, optimal=False)
    best = max(found, key=lambda s: s.objective)
    return Solved(best.values, best.objective, bound, optimal=optimal)


def select(
    candidates: Sequence[Candidate],
    *,
    capacity: Mapping[str, int],
    limits: Limits,
    time_limit_s: float | None = None,
    fixed: Collection[tuple[str, str]] = (),
) -> Selection:
    """Choose the pairings that cover the most participants, then score the most in total.

    `fixed` names (need_id, offer_id) candidates that are always chosen (pairings already
    under way); each limit below is raised, where they alone exceed it, just enough to hold
    them (`milp.Caps`).

    Constraints: offer `o` is used at most `capacity[o]` times (missing means 1); a need gets
    at most `limits.max_offers_per_need` offers; all pairings between two countries form one
    meeting, and a delegation takes part in at most `limits.max_meetings_per_delegation`
    meetings. When `limits.rounds` is set, a delegation also has at most `rounds` meetings and
    there are at most `rounds * tables_per_round` meetings, since no schedule could hold more.

    The problem is solved exactly with HiGHS (through highspy), in two steps: the largest
    coverage, then the best score at that coverage. `time_limit_s` (None: no limit) caps the
    solver time; if it is reached, the best selection found is returned with
    `optimal=False` and a proven bound, and the result may then depend on machine speed.
    Under a limit the solve starts from the linear relaxation's meetings, rounded, runs the
    solver's root heuristics, and never answers worse than the greedy selection
    (`greedy_selection`).

    Returns:
        The chosen candidates (best score first, ties by need and offer id), their total
        score, and the participants (countries with a candidate) that no chosen pairing
        covers, which happens only when covering them all is infeasible.
    """
    cands = canonical_candidates(candidates)
    keys = {(c.need_id, c.offer_id) for c in cands}
    unknown = sorted(set(fixed) - keys)
    if unknown:
        raise PlanningInputError(f"fixed pairing {unknown[0]} is not a candidate")
    if not cands:
        return Selection(chosen=(), total_score=0.0, uncovered=())
    is_fixed = [(c.need_id, c.offer_id) in fixed for c in cands]
    caps = caps_for(cands, capacity, limits, is_fixed)
    model = build_model(cands, caps, is_fixed)
    budget = _Budget(time_limit_s)
    n, n_countries = len(cands), len(model.countries)

    fallback = np.zeros(model.n_vars)
    fallback[greedy_selection(cands, caps, is_fixed)] = 1.0
    target, optimal = sum(1 for v in model.countries if fallback[model.by_country[v]].any()), True
    if target < n_countries:
        cover = np.zeros(model.n_vars)
        cover[model.z_start :] = 1.0
        most = solve(model, cover, integral_x=True, time_limit=budget.left())
        if most.values is not None and round(most.objective) >= target:
            target, fallback = round(most.objective), most.values
        optimal = most.optimal

    best = _max_score(model, target, caps, budget)
    values = best.values
    if values is None or (not best.optimal and _total(cands, fallback) > best.objective):
        values = fallback
    keep = values[:n] > 0.5
    chosen = tuple(
        sorted(
            (c for c, k in zip(cands, keep, strict=True) if k),
            key=lambda c: (-c.score, c.need_id, c.offer_id),
        )
    )
    covered = {c.recipient for c in chosen} | {c.provider for c in chosen}
    optimal = optimal and best.optimal
    total = math.fsum(c.score for c in chosen)
    return Selection(
        chosen=chosen,
        total_score=total,
        uncovered=tuple(v for v in model.countries if v not in covered),
        optimal=optimal,
        # The solver's bound can be infinite when it stopped before its first relaxation
        # solved; the bound of the caps alone is always finite.
        score_bound=None if optimal else max(total, min(best.bound, caps_bound(cands, caps))),
    )


def caps_bound(cands: Sequence[Candidate], caps: Caps) -> float:
    """A finite upper bound on the total score of any selection, from the caps alone: no need
    gets more than its best `caps.need` candidates, and no offer serves more than its best
    `caps.offer` ones."""
    by_need: defaultdict[str, list[float]] = defaultdict(list)
    by_offer: defaultdict[str, list[float]] = defaultdict(list)
    for cand in cands:
        by_need[cand.need_id].append(cand.score)
        by_offer[cand.offer_id].append(cand.score)

    def best(groups: Mapping[str, list[float]], cap: Mapping[str, int]) -> float:
        return math.fsum(math.fsum(sorted(scores, reverse=True)[:cap[key]])
                         for key, scores in groups.items())

    return min(best(by_need, caps.need), best(by_offer, caps.offer))
