"""The pairing-selection problem as a mixed-integer programme, solved by HiGHS.

Variables, all in [0, 1]:
- x[c] for each candidate: the pairing is chosen;
- y[p] for each pair of countries with a candidate: the two delegations meet;
- z[v] for each participating country: the delegation has at least one chosen pairing.

Rows: x[c] <= y[p(c)]; per offer sum(x) <= capacity; per need sum(x) <= max_offers_per_need;
per country sum(y) <= meeting cap; sum(y) <= rounds * tables (when rounds are limited);
z[v] <= sum(x over candidates of v). Fixed candidates (pairings under way) have x = y = 1 as
lower bounds, and the caps are raised where they alone exceed them (`Caps`).

Once y is integral, the x-rows other than coverage form a bipartite (needs x offers) matching
matrix, which is totally unimodular; so x may be left continuous and is integral at an optimal
vertex unless coverage rows bind. Callers check integrality and repair it if needed.

The model goes to HiGHS through highspy rather than scipy.optimize.milp because the solve
needs options scipy does not pass on: HiGHS's root heuristics (RINS, RENS, shifting, ...)
spent more than half the time on the benchmark instance while the LP bound is within 0.5 %
of the optimum, so branching finds the optimum sooner without them (bench/plan_perf.py).
Under a time limit the other way round pays: on scored instances, where many pairings score
alike, those heuristics find most of the better selections found before the limit, and they
also shorten the proof there (scored seeds 8 and 11, 2026-12-06: proven in 21.8 and 9.3 s with
them, 32.3 and 16.5 s without), while on random-score seeds 7, 10 and 12 they add 1.5-2.3 s,
mostly RENS and the root reduced-cost heuristic (each measured alone).
OR-Tools CP-SAT 9.15 was measured on the same instances (2 cores, 2026-12-04; scores scaled
to integers; 1, 2 and 8 workers, and LP-heavy settings). It proved no scored instance within
120 s: its bound stayed 0.2-0.3 % above the optimum, which HiGHS proved in 47-131 s. On the
random-score instances of seeds 7-10 its best setting took 2.5-7.2 s, against 2.2-15.7 s for
HiGHS. Its default settings proved none of them within 60 s.
Where HiGHS spends the proof (random-score seed 9, 2026-12-06): 182 nodes, but 36,297 of its
47,756 LP iterations in strong branching; the root bound is 0.3 % above the optimum. Measured
then on seeds 7-12 and rejected (no gain beyond run-to-run spread, or slower): the rounded
start as first incumbent, binary x (about 3x slower), rows y[p] <= sum(x over p), and the options
mip_detect_symmetry, presolve, mip_allow_restart, mip_lp_age_limit, mip_pool_soft_limit and
mip_pscost_minreliable 0-4. The solve time varies with random_seed as much as with any of them.
Also rejected (random-score seeds 7-16 and scored seed 11, 2026-12-06): rows per country pair
and offer (or need) bounding its pairings by the offer's capacity (or the need's limit) times
y[p]. They cut the root bound's excess over the optimum from 0.51 % to 0.28 %, but the median
solve went from 2.8 to 4.4 s (the total from 55 to 50 s; scored seed 11: 31.5 against 29.1 s).
SCIP 10 (pyscipopt) proves these instances at the root with its cuts but took 6-12 s, most of
it in its LP solver.
Also rejected (random-score seeds 7, 8, 10, 11, 12, 2026-12-06): one variable for a country
pair with a single candidate (its x and y merged, that x made integer; the same LP bound from
fewer rows and columns): 4.4, 1.8, 4.9, 8.2, 0.8 s against 2.1, 6.0, 1.7, 9.0, 1.0 s, the
same total. HiGHS 1.16 already runs two MIP workers on two cores by default (`threads=1`
took seed 11 from 9.0 to 12.2 s); the simplex edge-weight options and scaling off changed
nothing, scaling strategy 4 was slower.
Also measured (2026-12-07, the machine under other load): under the API's limit, root
heuristics on except RENS and the root reduced-cost one. On random-score seeds 7-12 it took
1.2-10.9 s against 3.1-12.7 s with all of them on, but on scored seeds 8 and 11 it neither
proved more nor found better plans within 2 s (same scores on 4 of 5 seeds) and proved seed 8
later (not within 38 s, against 31.7 s): not adopted, since the API serves scored instances.
Also rejected (2026-12-07, random-score seeds 7-16, scored seeds 8 and 11): the cuts that
close SCIP's root gap (its c-MIR separator; SCIP does not prove these at the root either, its
bound stays 0.03-0.18 % above the optimum) are flow covers of one offer's capacity or one
need's limit with the x <= y rows. Separated here from the LP solution and added as rows
before the solve, they closed 72-86 % of the random instances' root gap and cut the hard
seeds' nodes (182 to 67, 210 to 112), but separating cost 0.5-1.1 s: median 3.5 against 2.5 s,
seed 7 2.4x slower, and nothing on scored instances (they close under 1 % of their gap).
HiGHS's own root cuts already close 72 % on seed 9; it has no option for more cut rounds, and
mip_pool_age_limit, mip_heuristic_effort 0 and feasibility jump off left every node count as
it was.
Also rejected (2026-12-07 evening): under the API's limit, the plain solve first on 15 % of
the budget, then the heuristic search from the better of its incumbent and the rounded start.
Random-score seeds 7-12 under 20 s: 1.8, 8.2, 11.2, 1.4, 12.7, 0.8 s against 3.5, 5.1, 8.0,
3.7, 9.1, 2.5 s (37 against 33 s in all: the seeds the first solve does not prove start again);
scored seeds 7-11 under 20 s: lower scores on three and wider proven gaps on four (seed 8:
0.110 against 0.061 %).
The bare `_Highs` class is used instead of `highspy.Highs`: the wrapper prints a banner on
stdout when created (which would corrupt CLI output) and routes every solver event through a
Python callback, which a web worker does not need.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import highspy
import numpy as np
import numpy.typing as npt
from highspy._core import _Highs  # the bare solver, see below
from scipy.sparse import csc_array, vstack

from service.planning.types import Candidate, Limits, PlanningInputError, PlanningSolverError

CountryPair = tuple[str, str]
FloatArray = npt.NDArray[np.float64]


def country_pair(candidate: Candidate) -> CountryPair:
    """Return the unordered country pair of a candidate as a sorted tuple."""
    a, b = candidate.recipient, candidate.provider
    return (a, b) if a < b else (b, a)


@dataclass
class Rows:
    """Sparse constraint rows `lower <= sum(coef * var) <= upper`, collected one by one."""

    data: list[float] = field(default_factory=list)
    cols: list[int] = field(default_factory=list)
    rows: list[int] = field(default_factory=list)
    lower: list[float] = field(default_factory=list)
    upper: list[float] = field(default_factory=list)

    def add(self, terms: Sequence[tuple[int, float]], lower: float, upper: float) -> None:
        """Append the row `lower <= sum(coef * var for var, coef in terms) <= upper`."""
        row = len(self.upper)
        for col, coef in terms:
            self.rows.append(row)
            self.cols.append(col)
            self.data.append(coef)
        self.lower.append(lower)
        self.upper.append(upper)

    def matrix(self, n_vars: int) -> csc_array:
        """Return the coefficients as a sparse (rows x n_vars) matrix."""
        shape = (len(self.upper), n_vars)
        return csc_array((self.data, (self.rows, self.cols)), shape=shape, dtype=float)


def meeting_caps(limits: Limits) -> tuple[int, float]:
    """Return the most meetings per delegation and in all; limited rounds lower both.

    A delegation sits in at most one meeting per round, and the rounds hold at most
    `rounds * tables_per_round` meetings, since no schedule could hold more.
    """
    if limits.rounds is None:
        return limits.max_meetings_per_delegation, math.inf
    return (
        min(limits.max_meetings_per_delegation, limits.rounds),
        limits.rounds * limits.tables_per_round,
    )


@dataclass(frozen=True)
class Caps:
    """The limits as they apply to one instance.

    Where the pairings that must stay (`fixed`, see `selection.select`) alone exceed a limit,
    it is raised just enough to hold them: an offer's capacity, a need's offers, a
    delegation's meetings and all meetings.
    """

    offer: dict[str, int]  # by offer id
    need: dict[str, int]  # by need id
    meetings: dict[str, float]  # by country
    total: float


def caps_for(cands: Sequence[Candidate], capacity: Mapping[str, int], limits: Limits,
             fixed: Sequence[bool]) -> Caps:
    """Return the caps of the candidates' offers, needs and countries (see `Caps`)."""
    meeting_cap, total = meeting_caps(limits)
    offers: dict[str, int] = {}
    needs: dict[str, int] = {}
    partners: dict[str, set[str]] = {}
    for cand, keep in zip(cands, fixed, strict=True):
        offers.setdefault(cand.offer_id, 0)
        needs.setdefault(cand.need_id, 0)
        partners.setdefault(cand.recipient, set())
        partners.setdefault(cand.provider, set())
        if keep:
            offers[cand.offer_id] += 1
            needs[cand.need_id] += 1
            partners[cand.recipient].add(cand.provider)
            partners[cand.provider].add(cand.recipient)
    for offer_id in offers:
        if capacity.get(offer_id, 1) < 0:
            raise PlanningInputError(f"capacity of offer {offer_id} is negative")
    fixed_meetings = sum(len(p) for p in partners.values()) // 2
    return Caps(
        offer={o: max(capacity.get(o, 1), n) for o, n in offers.items()},
        need={d: max(limits.max_offers_per_need, n) for d, n in needs.items()},
        meetings={v: max(meeting_cap, len(p)) for v, p in partners.items()},
        total=max(total, fixed_meetings),
    )


@dataclass
class SelectionModel:
    """Index structures and the constraint rows shared by every solve."""

    cands: list[Candidate]
    pairs: list[CountryPair]
    countries: list[str]
    rows: Rows
    lower: FloatArray  # variable lower bounds (1 for the fixed pairings and their meetings)
    upper: FloatArray  # variable upper bounds (0 for offers without capacity)
    by_country: dict[str, list[int]]
    pair_of: npt.NDArray[np.intp]  # index in `pairs` of each candidate's country pair

    @property
    def n_vars(self) -> int:
        """Return the number of variables (x, then y, then z)."""
        return len(self.cands) + len(self.pairs) + len(self.countries)

    @property
    def z_start(self) -> int:
        """Return the index of the first coverage variable."""
        return len(self.cands) + len(self.pairs)


def build_model(cands: Sequence[Candidate], caps: Caps,
                fixed: Sequence[bool] | None = None) -> SelectionModel:
    """Build the rows of the selection problem for validated, sorted candidates; `fixed`
    marks the candidates that must be chosen."""
    n = len(cands)
    pairs = sorted({country_pair(c) for c in cands})
    countries = sorted({v for p in pairs for v in p})
    pair_col = {p: n + i for i, p in enumerate(pairs)}
    z_start = n + len(pairs)
    rows = Rows()
    by_offer: dict[str, list[int]] = {}
    by_need: dict[str, list[int]] = {}
    by_country: dict[str, list[int]] = {v: [] for v in countries}
    pair_of = np.empty(n, dtype=np.intp)
    lower = np.zeros(z_start + len(countries))
    for i, cand in enumerate(cands):
        by_offer.setdefault(cand.offer_id, []).append(i)
        by_need.setdefault(cand.need_id, []).append(i)
        by_country[cand.recipient].append(i)
        by_country[cand.provider].append(i)
        col = pair_col[country_pair(cand)]
        pair_of[i] = col - n
        rows.add([(i, 1.0), (col, -1.0)], -math.inf, 0.0)
        if fixed is not None and fixed[i]:
            lower[i] = lower[col] = 1.0
    upper = np.ones(z_start + len(countries))
    for offer_id, members in sorted(by_offer.items()):
        cap = caps.offer[offer_id]
        if cap == 0:
            upper[members] = 0.0
        elif cap < len(members):
            rows.add([(i, 1.0) for i in members], -math.inf, float(cap))
    for need_id, members in sorted(by_need.items()):
        if caps.need[need_id] < len(members):
            rows.add([(i, 1.0) for i in members], -math.inf, float(caps.need[need_id]))
    if math.isfinite(caps.total):
        rows.add([(j, 1.0) for j in pair_col.values()], -math.inf, caps.total)
    incident: dict[str, list[int]] = {v: [] for v in countries}
    for p in pairs:
        incident[p[0]].append(pair_col[p])
        incident[p[1]].append(pair_col[p])
    for k, v in enumerate(countries):
        if caps.meetings[v] < len(incident[v]):
            rows.add([(j, 1.0) for j in incident[v]], -math.inf, float(caps.meetings[v]))
        rows.add([(z_start + k, 1.0)] + [(i, -1.0) for i in by_country[v]], -math.inf, 0.0)
    return SelectionModel(list(cands), pairs, countries, rows, lower, upper, by_country,
                          pair_of)


@dataclass(frozen=True)
class Solved:
    """Outcome of one solve: a solution (if any was found) and a proven objective bound."""

    values: FloatArray | None
    objective: float  # of the solution, maximised
    bound: float  # no solution is better than this
    optimal: bool


# Root heuristics HiGHS would otherwise run; see the module docstring.
_HEURISTICS_OFF = (
    "mip_heuristic_run_rins",
    "mip_heuristic_run_rens",
    "mip_heuristic_run_root_reduced_cost",
    "mip_heuristic_run_zi_round",
    "mip_heuristic_run_shifting",
)


def _finite(bounds: FloatArray) -> FloatArray:
    """Replace numpy infinities by HiGHS's own infinity."""
    return np.clip(bounds, -highspy.kHighsInf, highspy.kHighsInf)


def solve(
    model: SelectionModel,
    objective: FloatArray,
    *,
    integral_x: bool,
    extra: Rows | None = None,
    lower: FloatArray | None = None,
    upper: FloatArray | None = None,
    time_limit: float | None = None,
    may_be_infeasible: bool = False,
    relax: bool = False,
    start: FloatArray | None = None,
    heuristics: bool = False,
) -> Solved:
    """Maximise `objective` over the model; y and z are binary, x binary if `integral_x`.

    `extra` adds rows over the same variables; `lower`/`upper` replace the variable bounds.
    `relax` solves the linear relaxation instead (every variable continuous). `start` is a
    feasible solution handed to the solver as its first incumbent. `heuristics` keeps the
    root heuristics on: they slow down a solve to the proven optimum, but under a time limit
    they find better selections sooner on instances where many pairings score alike.
    An infeasible problem raises unless `may_be_infeasible`, which returns no solution.
    """
    n_vars = model.n_vars
    parts = [model.rows] if extra is None or not extra.upper else [model.rows, extra]
    matrix = csc_array(vstack([rows.matrix(n_vars) for rows in parts], format="csc"))
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = n_vars, matrix.shape[0]
    lp.sense_ = highspy.ObjSense.kMaximize
    lp.col_cost_ = objective
    lp.col_lower_ = model.lower if lower is None else lower
    lp.col_upper_ = model.upper if upper is None else upper
    lp.row_lower_ = _finite(np.concatenate([np.asarray(rows.lower) for rows in parts]))
    lp.row_upper_ = _finite(np.concatenate([np.asarray(rows.upper) for rows in parts]))
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = matrix.indptr
    lp.a_matrix_.index_ = matrix.indices
    lp.a_matrix_.value_ = matrix.data
    n_continuous = n_vars if relax else 0 if integral_x else len(model.cands)
    lp.integrality_ = [highspy.HighsVarType.kContinuous] * n_continuous + [
        highspy.HighsVarType.kInteger
    ] * (n_vars - n_continuous)

    highs = _Highs()
    highs.setOptionValue("output_flag", False)
    highs.setOptionValue("mip_rel_gap", 0.0)
    for option in () if heuristics else _HEURISTICS_OFF:
        highs.setOptionValue(option, False)
    if time_limit is not None:
        highs.setOptionValue("time_limit", max(time_limit, 0.01))
    highs.passModel(lp)
    if start is not None:
        incumbent = highspy.HighsSolution()
        incumbent.col_value = start.tolist()
        incumbent.value_valid = True
        highs.setSolution(incumbent)
    highs.run()
    status = highs.getModelStatus()
    if status == highspy.HighsModelStatus.kInfeasible and may_be_infeasible:
        return Solved(None, -math.inf, -math.inf, optimal=False)
    if status not in (highspy.HighsModelStatus.kOptimal, highspy.HighsModelStatus.kTimeLimit):
        raise PlanningSolverError(f"selection solver failed: {highs.modelStatusToString(status)}")
    info = highs.getInfo()
    has_solution = info.primal_solution_status == highspy.SolutionStatus.kSolutionStatusFeasible
    values = np.asarray(highs.getSolution().col_value, dtype=np.float64) if has_solution else None
    objective_value = -math.inf if values is None else float(objective @ values)
    optimal = status == highspy.HighsModelStatus.kOptimal and values is not None
    bound = objective_value if optimal else float(info.mip_dual_bound)
    return Solved(values, objective_value, bound, optimal=optimal)
