"""Time of the exact pairing plan (selection + schedule) against a greedy baseline.

    python bench/plan_perf.py              # 40 delegations, 2,000 candidate pairings
    python bench/plan_perf.py --runs 7 --stress-limit 0 --other-seeds 0

Instance: 40 delegations with 8 needs and 8 offers each (one per accelerator factor); every
need has 6 or 7 candidate offers of other delegations (2,000 in all), seeded random scores,
offer capacities 1-4, at most 8 meetings per delegation, 3 offers per need, 10 tables.
The greedy baseline, measured in the same run, sorts candidates by score and takes each one
that still fits. The instance is also planned as the API plans it: under PLAN_TIME_LIMIT_S,
which runs the solver's root heuristics and starts from a rounded relaxation, and as a draft
under a short limit (`POST /tables/{id}/plan?time_limit_s=2`). A stress row
(5 needs and offers per delegation, so about 10 candidates per need and much more contention)
shows how the exact solver behaves on a harder instance, under a time limit. Further
instances drawn with other seeds show the time is not a property of one draw.

Scored instances put the production scorer behind the same shape: 40 delegations with one
synthetic multilingual need and offer per accelerator factor each (bench/synth.py, written
in a language the delegation works in), every need's 6 or 7 best offers by
`scoring.rank` as candidates (2,000), capacities from the items. Pair-level criteria (shared
language, region, reciprocity) make many pairings score alike, which makes the exact proof
much longer than on independent random scores; the rows report the exact time on a few of
them and, on more, what a plan under a time limit (as the API runs it) scores against the
solver's proven bound.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import random
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _report import machine, write_section
from synth import TOPICS, generate

from service import scoring
from service.cli.rank import offline_context
from service.config import get_settings
from service.countries.seed import languages_of
from service.planning import Candidate, Limits, Plan, merge_meetings, plan, schedule

DELEGATIONS = (
    "ARG", "BHS", "BLZ", "BOL", "BRA", "BRB", "CHL", "COL", "CRI", "CUB", "DOM", "ECU",
    "GTM", "GUY", "HND", "HTI", "JAM", "MEX", "NIC", "PAN", "PER", "PRY", "SLV", "SUR",
    "TTO", "URY", "VEN", "ATG", "DMA", "GRD", "KNA", "LCA", "VCT", "AGO", "MOZ", "CPV",
    "ZAF", "IND", "IDN", "PHL",
)  # fmt: skip


def make_instance(
    *, seed: int, per_delegation: int, n_candidates: int
) -> tuple[list[Candidate], dict[str, int]]:
    """Build needs, offers and candidate pairings; every need gets about the same number."""
    rng = random.Random(seed)
    needs = [(f"N-{d}-{i}", d) for d in DELEGATIONS for i in range(per_delegation)]
    offers = [(f"O-{d}-{i}", d) for d in DELEGATIONS for i in range(per_delegation)]
    base, extra = divmod(n_candidates, len(needs))
    candidates = []
    for k, (need_id, country) in enumerate(needs):
        pool = [o for o in offers if o[1] != country]
        for offer_id, provider in rng.sample(pool, base + (1 if k < extra else 0)):
            score = round(rng.random(), 4)
            candidates.append(Candidate(need_id, offer_id, country, provider, score))
    capacity = {offer_id: rng.randint(1, 4) for offer_id, _ in offers}
    return candidates, capacity


def _working_language(iso3: str) -> str:
    """The first of es/pt/fr/en the country speaks officially (en when none)."""
    spoken = languages_of(iso3)
    return next((lang for lang in ("es", "pt", "fr", "en") if lang in spoken), "en")


def scored_instance(
    seed: int, model: scoring.TextModel, n_candidates: int = 2000
) -> tuple[list[Candidate], dict[str, int]]:
    """Candidates as the API builds them: each need's best offers by the production scorer."""
    rng = random.Random(seed)
    pool_offers, pool_needs = generate(3000, 3000, seed=seed)

    def pick(pool: Sequence[scoring.Item], prefix: str) -> list[scoring.Item]:
        by_key: dict[tuple[str, str], list[scoring.Item]] = {}
        for item in pool:
            by_key.setdefault((item.language, item.factor), []).append(item)
        return [
            dataclasses.replace(
                rng.choice(by_key[(_working_language(d), factor)]),
                id=f"{prefix}-{d}-{factor}",
                country=d,
            )
            for d in DELEGATIONS
            for factor in sorted(TOPICS)
        ]

    offers, needs = pick(pool_offers, "O"), pick(pool_needs, "N")
    base, extra = divmod(n_candidates, len(needs))
    ranked = scoring.rank(
        needs, offers, weights=scoring.Weights(), context=offline_context([*needs, *offers]),
        top_k=base + 1, model=model,
    )  # fmt: skip
    provider = {o.id: o.country for o in offers}
    candidates = [
        Candidate(need.id, s.offer_id, need.country, provider[s.offer_id], s.total)
        for k, need in enumerate(needs)
        for s in ranked[need.id][: base + (1 if k < extra else 0)]
    ]
    return candidates, {o.id: o.capacity or 1 for o in offers}


def greedy(
    candidates: Sequence[Candidate], capacity: dict[str, int], limits: Limits
) -> list[Candidate]:
    """Take candidates best score first whenever offer, need and meeting limits allow."""
    offer_used: dict[str, int] = {}
    need_used: dict[str, int] = {}
    partners: dict[str, set[str]] = {d: set() for d in DELEGATIONS}
    chosen = []
    for c in sorted(candidates, key=lambda c: (-c.score, c.need_id, c.offer_id)):
        if offer_used.get(c.offer_id, 0) >= capacity.get(c.offer_id, 1):
            continue
        if need_used.get(c.need_id, 0) >= limits.max_offers_per_need:
            continue
        new_pair = c.provider not in partners[c.recipient]
        cap = limits.max_meetings_per_delegation
        if new_pair and (len(partners[c.recipient]) >= cap or len(partners[c.provider]) >= cap):
            continue
        chosen.append(c)
        offer_used[c.offer_id] = offer_used.get(c.offer_id, 0) + 1
        need_used[c.need_id] = need_used.get(c.need_id, 0) + 1
        partners[c.recipient].add(c.provider)
        partners[c.provider].add(c.recipient)
    return chosen


def _covered(chosen: Sequence[Candidate]) -> int:
    return len({c.recipient for c in chosen} | {c.provider for c in chosen})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--stress-limit", type=float, default=60.0, help="seconds for the stress row (0: skip)"
    )
    parser.add_argument(
        "--other-seeds", type=int, default=6, help="further instances, one run each (0: skip)"
    )
    parser.add_argument(
        "--scored-seeds", type=int, default=10, help="scored instances under a limit (0: skip)"
    )
    parser.add_argument(
        "--scored-exact", type=int, default=3, help="of those, how many to solve exactly"
    )
    parser.add_argument(
        "--scored-limit", type=float, default=2.0, help="time limit of the scored rows, seconds"
    )
    parser.add_argument(
        "--draft-limit", type=float, default=2.0,
        help="time limit of a draft plan (POST /plan?time_limit_s=), seconds (0: skip)",
    )
    args = parser.parse_args()
    limits = Limits(max_meetings_per_delegation=8, max_offers_per_need=3, tables_per_round=10)
    candidates, capacity = make_instance(seed=args.seed, per_delegation=8, n_candidates=2000)

    def timed(limit: float | None) -> tuple[Plan, list[float], list[float]]:
        """Plan the instance `args.runs` times: the last plan, wall and CPU seconds of each."""
        walls: list[float] = []
        cpus: list[float] = []
        for _ in range(args.runs):
            start, cpu_start = time.perf_counter(), time.process_time()
            done = plan(candidates, capacity=capacity, limits=limits, time_limit_s=limit)
            walls.append(time.perf_counter() - start)
            cpus.append(time.process_time() - cpu_start)
        return done, walls, cpus

    result, times, cpu_times = timed(None)
    # The API runs the same plan under PLAN_TIME_LIMIT_S, which turns the solver's root
    # heuristics on and starts from a rounded relaxation (see service.planning.selection).
    api_limit = get_settings().plan_time_limit_s
    api_plan, api_times, _ = timed(api_limit)
    draft, draft_times, _ = timed(args.draft_limit) if args.draft_limit > 0 else (None, [], [])
    start = time.perf_counter()
    sched = schedule(result.meetings, tables_per_round=10, rounds=None)
    schedule_time = time.perf_counter() - start
    greedy_times: list[float] = []
    for _ in range(args.runs):
        start = time.perf_counter()
        baseline = greedy(candidates, capacity, limits)
        greedy_meetings = merge_meetings(baseline)
        greedy_times.append(time.perf_counter() - start)
    greedy_score = math.fsum(c.score for c in baseline)
    sel = result.selection
    exact_median, greedy_median = statistics.median(times), statistics.median(greedy_times)

    lines = [
        "## Pairing plan (exact selection + round schedule)",
        "",
        f"Command: `python bench/plan_perf.py --runs {args.runs} --seed {args.seed}"
        f" --stress-limit {args.stress_limit:g} --other-seeds {args.other_seeds}"
        f" --scored-seeds {args.scored_seeds} --scored-exact {args.scored_exact}"
        f" --scored-limit {args.scored_limit:g} --draft-limit {args.draft_limit:g}`  ",
        f"Machine: {machine()}",
        "",
        f"Instance: {len(DELEGATIONS)} delegations x 8 needs and 8 offers, "
        f"{len(candidates)} candidate pairings, capacities 1-4, max 8 meetings per "
        "delegation, 3 offers per need, 10 tables per round. Selection: HiGHS through highspy "
        "(root heuristics off), proven optimal; schedule: Kempe-balanced edge colouring.",
        "",
        "| method | time median | time max | CPU median | total score | pairings | meetings"
        " | covered |",
        "|---|---|---|---|---|---|---|---|",
        f"| exact plan (select + schedule), {args.runs} runs | {exact_median:.2f} s"
        f" | {max(times):.2f} s | {statistics.median(cpu_times):.2f} s"
        f" | {sel.total_score:.4f} | {len(sel.chosen)}"
        f" | {len(result.meetings)} | {_covered(sel.chosen)}/{len(DELEGATIONS)} |",
        f"| same, as the API runs it (time limit {api_limit:g} s), {args.runs} runs"
        f" | {statistics.median(api_times):.2f} s | {max(api_times):.2f} s | -"
        f" | {api_plan.selection.total_score:.4f} | {len(api_plan.selection.chosen)}"
        f" | {len(api_plan.meetings)} | {_covered(api_plan.selection.chosen)}"
        f"/{len(DELEGATIONS)} |",
        *_draft_row(draft, draft_times, args, sel.total_score),
        f"| greedy selection (baseline), {args.runs} runs | {greedy_median * 1000:.1f} ms"
        f" | {max(greedy_times) * 1000:.1f} ms | - | {greedy_score:.4f} | {len(baseline)}"
        f" | {len(greedy_meetings)} | {_covered(baseline)}/{len(DELEGATIONS)} |",
        "",
        f"Exact / greedy: score x{sel.total_score / greedy_score:.4f} "
        f"(+{sel.total_score - greedy_score:.2f}), time x{exact_median / greedy_median:.0f}. "
        f"Optimal: {sel.optimal}; as the API runs it: {api_plan.selection.optimal}.  ",
        f"Schedule alone: {schedule_time * 1000:.1f} ms; {sched.rounds_used} rounds for "
        f"{len(result.meetings)} meetings (lower bound {sched.lower_bound}, upper bound "
        f"{sched.upper_bound}, bipartite: {sched.bipartite}).",
    ]
    if args.other_seeds > 0:
        seeds = [args.seed + k for k in range(1, args.other_seeds + 1)]
        other: list[float] = []
        all_optimal = True
        for seed in seeds:
            cands, caps = make_instance(seed=seed, per_delegation=8, n_candidates=2000)
            start = time.perf_counter()
            done = plan(cands, capacity=caps, limits=limits)
            other.append(time.perf_counter() - start)
            all_optimal = all_optimal and done.selection.optimal
        lines += [
            "",
            f"Same shape, seeds {seeds[0]}-{seeds[-1]} (one run each): median "
            f"{statistics.median(other):.2f} s, max {max(other):.2f} s, all optimal: "
            f"{all_optimal}.",
        ]
    if args.stress_limit > 0:
        stress, stress_cap = make_instance(seed=args.seed, per_delegation=5, n_candidates=2000)
        start = time.perf_counter()
        hard = plan(stress, capacity=stress_cap, limits=limits, time_limit_s=args.stress_limit)
        hard_time = time.perf_counter() - start
        hard_greedy = math.fsum(c.score for c in greedy(stress, stress_cap, limits))
        bound = hard.selection.score_bound
        gap = "0" if bound is None else f"{bound - hard.selection.total_score:.3f}"
        lines += [
            "",
            "Stress (5 needs and 5 offers per delegation, about 10 candidates per need, same "
            f"limits), one run with time_limit_s={args.stress_limit:g}: {hard_time:.2f} s, "
            f"optimal: {hard.selection.optimal}, total score "
            f"{hard.selection.total_score:.4f} (proven gap to the optimum <= {gap}), greedy "
            f"{hard_greedy:.4f}; {hard.schedule.rounds_used} rounds "
            f"(lower bound {hard.schedule.lower_bound}).",
        ]
    if args.scored_seeds > 0:
        lines += ["", *_scored_rows(args, limits)]
    body = "\n".join(lines)
    write_section("plan-perf", body)
    print(body)


def _draft_row(
    draft: Plan | None, times: Sequence[float], args: argparse.Namespace, optimum: float
) -> list[str]:
    """The row of the same instance planned as a draft, under `--draft-limit` seconds."""
    if draft is None:
        return []
    sel = draft.selection
    short = (optimum - sel.total_score) / optimum * 100
    return [
        f"| same, as a draft (`time_limit_s={args.draft_limit:g}`), {args.runs} runs"
        f" | {statistics.median(times):.2f} s | {max(times):.2f} s | -"
        f" | {sel.total_score:.4f} ({short:.3f} % under the optimum) | {len(sel.chosen)}"
        f" | {len(draft.meetings)} | {_covered(sel.chosen)}/{len(DELEGATIONS)} |"
    ]


def _scored_rows(args: argparse.Namespace, limits: Limits) -> list[str]:
    """Scored instances: exact time on the first few, time-limited quality on all."""
    model = scoring.get_text_model()
    seeds = [args.seed + k for k in range(args.scored_seeds)]
    rows = [
        f"Scored instances (seeds {seeds[0]}-{seeds[-1]}; candidates from `scoring.rank`, see the"
        " script's docstring):",
        "",
        f"| seed | greedy score | limited to {args.scored_limit:g} s: time | score"
        " | proven gap to the optimum | exact: time | exact score |",
        "|---|---|---|---|---|---|---|",
    ]
    gaps: list[float] = []
    exact_times: list[float] = []
    for k, seed in enumerate(seeds):
        cands, caps = scored_instance(seed, model)
        greedy_score = math.fsum(c.score for c in greedy(cands, caps, limits))
        start = time.perf_counter()
        limited = plan(cands, capacity=caps, limits=limits, time_limit_s=args.scored_limit)
        limited_time = time.perf_counter() - start
        sel = limited.selection
        bound = sel.total_score if sel.score_bound is None else sel.score_bound
        gaps.append((bound - sel.total_score) / bound)
        exact_cells = "- | -"
        if k < args.scored_exact:
            start = time.perf_counter()
            exact = plan(cands, capacity=caps, limits=limits)
            exact_times.append(time.perf_counter() - start)
            assert exact.selection.optimal
            exact_cells = f"{exact_times[-1]:.1f} s | {exact.selection.total_score:.4f}"
        rows.append(
            f"| {seed} | {greedy_score:.4f} | {limited_time:.2f} s | {sel.total_score:.4f}"
            f" | {gaps[-1] * 100:.3f} % | {exact_cells} |"
        )
    rows += [
        "",
        f"Under the {args.scored_limit:g} s limit: proven gap median "
        f"{statistics.median(gaps) * 100:.3f} %, max {max(gaps) * 100:.3f} %."
        + (
            f" Exact: median {statistics.median(exact_times):.1f} s, max {max(exact_times):.1f} s."
            if exact_times
            else ""
        ),
    ]
    return rows


if __name__ == "__main__":
    main()
