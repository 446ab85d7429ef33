"""Negotiation-round schedule: a balanced edge colouring of the meeting graph."""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence

from service.planning.colouring import (
    Edge,
    EdgeColouring,
    colour_graph,
    is_bipartite,
    max_degree,
    try_insert,
)
from service.planning.types import Meeting, PlanningInputError, Schedule, Slot


def plural(n: int, word: str) -> str:
    """Return `n` and the word, with an s unless n is 1 ("1 round", "3 rounds")."""
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


class _Parity:
    """Union-find with parities: tells whether adding an edge keeps the graph bipartite."""

    def __init__(self, n: int) -> None:
        self.parent = list(range(n))
        self.parity = [0] * n  # parity of the path to the parent

    def find(self, v: int) -> tuple[int, int]:
        parity = 0
        while self.parent[v] != v:
            parity ^= self.parity[v]
            v = self.parent[v]
        return v, parity

    def keeps_bipartite(self, u: int, v: int) -> bool:
        (ru, pu), (rv, pv) = self.find(u), self.find(v)
        return ru != rv or pu != pv

    def union(self, u: int, v: int) -> None:
        (ru, pu), (rv, pv) = self.find(u), self.find(v)
        if ru != rv:
            self.parent[ru] = rv
            self.parity[ru] = pu ^ pv ^ 1


def _keep_within(
    n: int, edges: Sequence[Edge], order: Sequence[int], rounds: int, tables: int
) -> tuple[list[int], list[int]]:
    """Split edges (most valuable first) into those kept and those dropped.

    An edge is kept when the kept graph still fits in `rounds` rounds under the bound that
    `colour_graph` guarantees: max(Δ, ceil(m / tables)) if bipartite, else max(Δ + 1, ...).
    """
    kept: list[int] = []
    dropped: list[int] = []
    degree = [0] * n
    parity = _Parity(n)
    bipartite, delta = True, 0
    for i in order:
        u, v = edges[i]
        still_bipartite = bipartite and parity.keeps_bipartite(u, v)
        new_delta = max(delta, degree[u] + 1, degree[v] + 1)
        needed = max(new_delta + (0 if still_bipartite else 1), math.ceil((len(kept) + 1) / tables))
        if needed > rounds:
            dropped.append(i)
            continue
        kept.append(i)
        degree[u] += 1
        degree[v] += 1
        parity.union(u, v)
        bipartite, delta = still_bipartite, new_delta
    return kept, dropped


def _left_out_reason(col: EdgeColouring, e: Edge, names: tuple[str, str], rounds: int) -> str:
    a, b = names
    if rounds == 0:
        return "no negotiation rounds are available"
    if not any(col.is_free(e[0], c) and col.is_free(e[1], c) for c in range(rounds)):
        return f"no free round for both {a} and {b} within {plural(rounds, 'round')}"
    return f"every round in which both {a} and {b} are free already has all its tables taken"


def _fit_rounds(
    n: int, meetings: Sequence[Meeting], edges: Sequence[Edge], rounds: int, tables: int,
    held: Collection[tuple[str, str]] = (),
) -> tuple[EdgeColouring, list[tuple[Meeting, str]]]:
    """Schedule the meetings that fit in `rounds` rounds, those holding a `held` pairing
    first, then the most valuable; explain the rest."""
    first = [not any(p in held for p in mt.pairings) for mt in meetings]
    order = sorted(range(len(edges)), key=lambda i: (first[i], -meetings[i].value, edges[i]))
    kept, dropped = _keep_within(n, edges, order, rounds, tables)
    col, _ = colour_graph(n, sorted(edges[i] for i in kept), tables)
    palette = range(rounds)
    pending = dropped
    while True:  # re-insertions can free room for meetings that failed earlier
        still = [i for i in pending if not try_insert(col, *edges[i], palette, tables)]
        if len(still) == len(pending):
            break
        pending = still
    left_out = [
        (meetings[i], _left_out_reason(col, edges[i], (meetings[i].a, meetings[i].b), rounds))
        for i in pending
    ]
    return col, left_out


def _slots(col: EdgeColouring, by_edge: dict[Edge, Meeting]) -> tuple[Slot, ...]:
    """Number rounds by total value (highest first) and tables by meeting value."""
    rounds = []
    for members in col.classes.values():
        if members:
            ordered = sorted((by_edge[e] for e in members), key=lambda mt: (-mt.value, mt.a, mt.b))
            total = math.fsum(mt.value for mt in ordered)
            rounds.append((-total, min((mt.a, mt.b) for mt in ordered), ordered))
    rounds.sort(key=lambda r: (r[0], r[1]))
    return tuple(
        Slot(round=r, table=t, meeting=mt)
        for r, (_, _, ordered) in enumerate(rounds, start=1)
        for t, mt in enumerate(ordered, start=1)
    )


def schedule(meetings: Sequence[Meeting], *, tables_per_round: int, rounds: int | None,
             held: Collection[tuple[str, str]] = ()) -> Schedule:
    """Place meetings in rounds and at tables so that no delegation is in two at once.

    With `rounds=None` every meeting is scheduled in max(Δ, ceil(m / tables)) rounds when the
    meeting graph is bipartite (the minimum) and in at most max(Δ + 1, ceil(m / tables))
    rounds otherwise (Δ: most meetings of one delegation, m: number of meetings), the
    minimum whenever a Kempe-chain reduction of the colouring or a fit into that many rounds
    finds it (deciding whether it exists is NP-hard in general). With fewer
    rounds than that, the meetings holding a `held` (need_id, offer_id) pairing (one under
    way) are kept first, then the most valuable that fit, and the others are returned in
    `left_out` with the reason. Rounds are numbered by total value, highest
    first; tables within a round by meeting value.

    Raises:
        PlanningInputError: bad limits, a meeting with `a >= b`, or two meetings for one pair.
    """
    if tables_per_round < 1:
        raise PlanningInputError("tables_per_round must be at least 1")
    if rounds is not None and rounds < 0:
        raise PlanningInputError("rounds must not be negative")
    ordered = sorted(meetings, key=lambda mt: (mt.a, mt.b))
    for prev, mt in zip([None, *ordered], ordered, strict=False):
        if not mt.a < mt.b:
            raise PlanningInputError(f"meeting {mt.a}-{mt.b} must have a < b")
        if prev is not None and (prev.a, prev.b) == (mt.a, mt.b):
            raise PlanningInputError(f"two meetings given for {mt.a}-{mt.b}")
    countries = sorted({mt.a for mt in ordered} | {mt.b for mt in ordered})
    index = {code: i for i, code in enumerate(countries)}
    n = len(countries)
    edges = [(index[mt.a], index[mt.b]) for mt in ordered]
    m, delta = len(edges), max_degree(n, edges)
    by_tables = math.ceil(m / tables_per_round)
    col, k = colour_graph(n, edges, tables_per_round)
    lower = max(delta, by_tables)
    if k > lower and (rounds is None or rounds >= k):
        # Odd loops: the colouring took Δ + 1 rounds. Fitting into the fewest rounds, as for
        # a table with that many, often finds room for every meeting; keep it if it does.
        tight, dropped = _fit_rounds(n, ordered, edges, lower, tables_per_round, held)
        if not dropped:
            col, k = tight, lower
    left_out: list[tuple[Meeting, str]] = []
    if rounds is not None and k > rounds:
        col, left_out = _fit_rounds(n, ordered, edges, rounds, tables_per_round, held)
    slots = _slots(col, dict(zip(edges, ordered, strict=True)))
    return Schedule(
        slots=slots,
        rounds_used=max((s.round for s in slots), default=0),
        lower_bound=lower,
        upper_bound=max(delta + 1, by_tables),
        bipartite=is_bipartite(n, edges),
        left_out=tuple(left_out),
    )
