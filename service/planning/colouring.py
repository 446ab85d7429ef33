"""Proper edge colourings of simple graphs, balanced so that no colour class is too large.

Vertices are the integers 0..n-1 and an edge is a pair `(u, v)` with `u < v`. A colour is a
negotiation round: a proper colouring never gives two edges at one vertex the same colour.

- Bipartite graphs get Δ colours (König): an edge whose ends miss different colours is
  coloured after flipping an alternating path, which in a bipartite graph never closes.
- Other graphs get Δ + 1 colours (Vizing) by the Misra-Gries fan-rotation algorithm, then a
  bounded Kempe-chain search tries to empty one colour class to reach Δ colours.
- Any proper colouring with k colours is made equitable (class sizes differ by at most one)
  by swapping, in the two-colour subgraph of a too-large and a too-small class, a component
  with more edges of the larger colour; such a component always exists and is a path.
"""

from __future__ import annotations

import itertools
import math
from collections import deque
from collections.abc import Sequence

Edge = tuple[int, int]


def edge(u: int, v: int) -> Edge:
    """Return the edge between u and v with its smaller end first."""
    return (u, v) if u < v else (v, u)


class EdgeColouring:
    """A mutable proper edge colouring; every change keeps it proper or raises."""

    def __init__(self, n_vertices: int) -> None:
        self.at: list[dict[int, int]] = [{} for _ in range(n_vertices)]  # colour -> neighbour
        self.colour: dict[Edge, int] = {}
        self.classes: dict[int, set[Edge]] = {}

    def copy(self) -> EdgeColouring:
        """Return an independent copy."""
        other = EdgeColouring(0)
        other.at = [dict(d) for d in self.at]
        other.colour = dict(self.colour)
        other.classes = {c: set(es) for c, es in self.classes.items()}
        return other

    def size(self, c: int) -> int:
        """Return the number of edges with colour c."""
        return len(self.classes.get(c, ()))

    def is_free(self, v: int, c: int) -> bool:
        """Tell whether no edge at v has colour c."""
        return c not in self.at[v]

    def first_free(self, v: int, palette: Sequence[int]) -> int | None:
        """Return the first colour of the palette free at v, if any."""
        return next((c for c in palette if c not in self.at[v]), None)

    def assign(self, u: int, v: int, c: int) -> None:
        """Colour the uncoloured edge uv with c, which must be free at both ends."""
        if c in self.at[u] or c in self.at[v]:
            raise AssertionError(f"colour {c} is not free at both ends of {edge(u, v)}")
        e = edge(u, v)
        if e in self.colour:
            raise AssertionError(f"edge {e} is already coloured")
        self.at[u][c] = v
        self.at[v][c] = u
        self.colour[e] = c
        self.classes.setdefault(c, set()).add(e)

    def remove(self, u: int, v: int) -> int:
        """Uncolour the edge uv and return its former colour."""
        e = edge(u, v)
        c = self.colour.pop(e)
        del self.at[u][c]
        del self.at[v][c]
        self.classes[c].discard(e)
        return c

    def chain(self, start: int, first: int, second: int) -> tuple[list[Edge], int]:
        """Follow the path from start whose edges alternate colours first, second, first, ...

        Returns the edges in order and the vertex where the path ends.
        """
        edges: list[Edge] = []
        cur, col = start, first
        while col in self.at[cur]:
            nxt = self.at[cur][col]
            edges.append(edge(cur, nxt))
            cur = nxt
            col = second if col == first else first
            if cur == start:
                break
        return edges, cur

    def swap(self, edges: Sequence[Edge], c: int, d: int) -> None:
        """Exchange colours c and d on the given edges (a whole two-colour component)."""
        recolour = [(e, d if self.colour[e] == c else c) for e in edges]
        for e, _ in recolour:
            self.remove(*e)
        for e, new in recolour:
            self.assign(e[0], e[1], new)

    def relabel(self, old: int, new: int) -> None:
        """Give colour `new`, which must be unused, to every edge of colour `old`."""
        for e in sorted(self.classes.get(old, ())):
            self.remove(*e)
            self.assign(e[0], e[1], new)


def is_bipartite(n_vertices: int, edges: Sequence[Edge]) -> bool:
    """Tell whether the graph has no odd cycle (breadth-first two-colouring)."""
    adjacency: list[list[int]] = [[] for _ in range(n_vertices)]
    for u, v in edges:
        adjacency[u].append(v)
        adjacency[v].append(u)
    side: list[int | None] = [None] * n_vertices
    for root in range(n_vertices):
        if side[root] is not None:
            continue
        side[root] = 0
        queue = deque([root])
        while queue:
            u = queue.popleft()
            for w in adjacency[u]:
                if side[w] is None:
                    side[w] = 1 - (side[u] or 0)
                    queue.append(w)
                elif side[w] == side[u]:
                    return False
    return True


def max_degree(n_vertices: int, edges: Sequence[Edge]) -> int:
    """Return Δ, the largest number of edges at one vertex."""
    degree = [0] * n_vertices
    for u, v in edges:
        degree[u] += 1
        degree[v] += 1
    return max(degree, default=0)


def bipartite_colouring(n_vertices: int, edges: Sequence[Edge], k: int) -> EdgeColouring:
    """Colour a bipartite graph with colours 0..k-1, for any k ≥ Δ (König's theorem)."""
    col = EdgeColouring(n_vertices)
    palette = range(k)
    for u, v in edges:
        common = next((c for c in palette if col.is_free(u, c) and col.is_free(v, c)), None)
        if common is not None:
            col.assign(u, v, common)
            continue
        a, b = col.first_free(u, palette), col.first_free(v, palette)
        if a is None or b is None:
            raise AssertionError(f"k = {k} is below the maximum degree")
        # a is free at u but used at v: flip the a/b path from v; in a bipartite graph it
        # cannot end at u (it would reach u through an a-edge, which u does not have).
        path, end = col.chain(v, a, b)
        if end == u:
            raise AssertionError("graph is not bipartite")
        col.swap(path, a, b)
        col.assign(u, v, a)
    return col


def _is_fan(col: EdgeColouring, u: int, fan: Sequence[int]) -> bool:
    for prev, cur in itertools.pairwise(fan):
        c = col.colour.get(edge(u, cur))
        if c is None or not col.is_free(prev, c):
            return False
    return True


def _maximal_fan(col: EdgeColouring, u: int, v: int) -> list[int]:
    fan, seen = [v], {v}
    while True:
        last = fan[-1]
        nxt = next(
            (w for c, w in sorted(col.at[u].items()) if w not in seen and col.is_free(last, c)),
            None,
        )
        if nxt is None:
            return fan
        fan.append(nxt)
        seen.add(nxt)


def misra_gries_colouring(n_vertices: int, edges: Sequence[Edge]) -> EdgeColouring:
    """Colour any simple graph with colours 0..Δ (Misra & Gries, 1992)."""
    col = EdgeColouring(n_vertices)
    palette = range(max_degree(n_vertices, edges) + 1)
    for u, v in edges:
        fan = _maximal_fan(col, u, v)
        c, d = col.first_free(u, palette), col.first_free(fan[-1], palette)
        if c is None or d is None:
            raise AssertionError("Δ + 1 colours cannot run out")
        if c != d:
            path, _ = col.chain(u, d, c)  # the cd-path through u; afterwards d is free at u
            col.swap(path, c, d)
        w = next(
            (i for i, x in enumerate(fan) if col.is_free(x, d) and _is_fan(col, u, fan[: i + 1])),
            None,
        )
        if w is None:
            raise AssertionError("Misra-Gries found no fan vertex to rotate to")
        shifted = [col.colour[edge(u, fan[j + 1])] for j in range(w)]
        for x in fan[1 : w + 1]:
            col.remove(u, x)
        for x, c_new in zip(fan, shifted, strict=False):
            col.assign(u, x, c_new)
        col.assign(u, fan[w], d)
    return col


def try_insert(col: EdgeColouring, u: int, v: int, palette: Sequence[int], cap: int | None) -> bool:
    """Colour the uncoloured edge uv from the palette, with one Kempe swap if needed.

    A colour class may not grow beyond `cap` edges (None: no limit). Returns False, leaving
    the colouring unchanged, when neither a common free colour nor one swap makes room.
    """

    def fits(c: int, grow: int) -> bool:
        return cap is None or col.size(c) + grow <= cap

    free_u = [c for c in palette if col.is_free(u, c)]
    free_v = [c for c in palette if col.is_free(v, c)]
    for c in free_u:
        if col.is_free(v, c) and fits(c, 1):
            col.assign(u, v, c)
            return True
    for a in (c for c in free_u if not col.is_free(v, c)):
        for b in (c for c in free_v if not col.is_free(u, c)):
            # Flip the a/b path from v (then a is free at both) or the b/a path from u.
            for start, other, first, second in ((v, u, a, b), (u, v, b, a)):
                path, end = col.chain(start, first, second)
                if end == other:
                    continue
                n_first, n_second = (len(path) + 1) // 2, len(path) // 2
                if fits(first, n_second - n_first + 1) and fits(second, n_first - n_second):
                    col.swap(path, first, second)
                    col.assign(u, v, first)
                    return True
    return False


def reduce_colours(col: EdgeColouring, k: int) -> EdgeColouring | None:
    """Try to recolour a k-colouring with colours 0..k-2; return None if the search fails.

    Empties one colour class (smallest first) and re-inserts its edges with `try_insert`.
    """
    for drop in sorted(range(k), key=lambda c: (col.size(c), c)):
        trial = col.copy()
        removed = sorted(trial.classes.get(drop, ()))
        for e in removed:
            trial.remove(*e)
        rest = [c for c in range(k) if c != drop]
        if all(try_insert(trial, u, v, rest, None) for u, v in removed):
            if drop != k - 1:
                trial.relabel(k - 1, drop)
            return trial
    return None


def balance(col: EdgeColouring, k: int) -> None:
    """Make the colour classes 0..k-1 differ in size by at most one (k ≥ colours used)."""
    while True:
        big = min(range(k), key=lambda c: (-col.size(c), c))
        small = min(range(k), key=lambda c: (col.size(c), c))
        if col.size(big) - col.size(small) <= 1:
            return
        path = _surplus_path(col, big, small)
        col.swap(path, big, small)


def _surplus_path(col: EdgeColouring, big: int, small: int) -> list[Edge]:
    """Find a big/small component with one more big edge: a path that starts and ends big."""
    for e in sorted(col.classes[big]):
        for x in e:
            if col.is_free(x, small):
                path, _ = col.chain(x, big, small)
                if len(path) % 2 == 1:
                    return path
    raise AssertionError("a larger colour class always has a surplus path")


def colour_graph(n_vertices: int, edges: Sequence[Edge], cap: int) -> tuple[EdgeColouring, int]:
    """Colour the graph with few colours, none used on more than `cap` edges.

    Uses k = max(Δ, ceil(m / cap)) colours for bipartite graphs (optimal), at most
    max(Δ + 1, ceil(m / cap)) otherwise. Returns the colouring and k.
    """
    m = len(edges)
    if m == 0:
        return EdgeColouring(n_vertices), 0
    delta = max_degree(n_vertices, edges)
    by_tables = math.ceil(m / cap)
    if is_bipartite(n_vertices, edges):
        col, base = bipartite_colouring(n_vertices, edges, delta), delta
    else:
        col, base = misra_gries_colouring(n_vertices, edges), delta + 1
        if by_tables <= delta:
            reduced = reduce_colours(col, base)
            if reduced is not None:
                col, base = reduced, delta
    k = max(base, by_tables)
    balance(col, k)
    return col, k
