"""Combine the criteria and sort: batch ranking (`rank`) and one item at a time (`score_item`).

No criterion is defined here (see criteria.py; tables.py turns them into lookup tables).

Batch ranking never builds the N x M matrix: needs are taken in blocks of rows. Each block is
ONE matrix product of folded vectors (tables.Folded) that yields the weighted sum of all
criteria at once. Candidates are the entries not below the k-th largest of the block's
per-chunk maxima (a lower bound of the k-th best score, much cheaper than a full partition),
minus a small margin. Their totals are then recomputed exactly, pair by pair, with the same
code on every path, and sorted on (total desc, counterpart id asc: ids written in digits by
number). A row where clipping the cosine at 0 could change the top k is recomputed over all
offers. So the result does not depend on block size, input order or BLAS rounding.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from service.scoring.blas import single_threaded_blas
from service.scoring.columns import Codes
from service.scoring.context import Context
from service.scoring.tables import (
    Floats,
    Folded,
    Side,
    Tables,
    approx_row,
    build,
    combine,
    components,
)
from service.scoring.terms import Explainer, Terms
from service.scoring.text import Progress, TextModel, get_text_model, item_text
from service.scoring.types import CountryProfile, Item, ScoredPairing, country_profiles
from service.scoring.weights import Weights

Vectors = NDArray[np.float32]
BLOCK_BYTES = 256 * 2**20
"""Working memory of one block: scores (4 bytes) and a candidate mask (1 byte) per pair."""
EPS = 1e-4
"""Safety margin (relative to the sum of weights) for approximate scores."""
_PAIR_CHUNK = 65536


def _check_vectors(vectors: NDArray[np.floating], n: int, what: str) -> Vectors:
    arr = np.asarray(vectors, dtype=np.float32)
    if arr.ndim != 2 or arr.shape[0] != n:
        raise ValueError(f"{what} must have shape ({n}, dim), got {arr.shape}")
    return np.ascontiguousarray(arr)


def _id_key(item_id: str) -> tuple[int, int, str, str]:
    """Sort key of an item id for ties: ids written in digits (the API's row ids) in numeric
    order ("9" before "10"), before any other id, which sort as text."""
    if item_id.isascii() and item_id.isdigit():
        digits = item_id.lstrip("0")
        return 0, len(digits), digits, item_id
    return 1, 0, item_id, item_id


def _cosines(nv: Vectors, ov: Vectors, ni: Codes, oj: Codes) -> Floats:
    """Cosine of each pair (ni[p], oj[p]); bit-identical wherever the pair is computed."""
    out = np.empty(len(ni), dtype=np.float64)
    for s in range(0, len(ni), _PAIR_CHUNK):
        e = s + _PAIR_CHUNK
        out[s:e] = np.einsum("ij,ij->i", nv[ni[s:e]], ov[oj[s:e]])
    return out


def _pool(approx: NDArray[np.float32], k: int, eps: float) -> Codes:
    """Indices whose approximate score may still belong to the top k (-inf = excluded)."""
    valid = np.flatnonzero(np.isfinite(approx))
    if len(valid) <= k:
        return valid
    kth = np.partition(approx[valid], len(valid) - k)[len(valid) - k]
    return np.asarray(valid[approx[valid] >= kth - eps], dtype=np.intp)


def _select(scores: NDArray[np.float32], k: int, eps: float) -> tuple[Codes, Codes, Floats]:
    """(rows, cols) of each row's entries within eps of its k-th largest score, and that score.

    Requires k <= number of columns.
    """
    b, m = scores.shape
    groups = max(64, 8 * k)
    if m >= 4 * groups:
        width = m // groups
        maxima = scores[:, : groups * width].reshape(b, groups, width).max(axis=2)
        if m > groups * width:
            tail = scores[:, groups * width :].max(axis=1, keepdims=True)
            maxima = np.concatenate([maxima, tail], axis=1)
        g = maxima.shape[1]
        lower = np.partition(maxima, g - k, axis=1)[:, g - k]
        rows, cols = np.nonzero(scores >= (lower - eps)[:, None])
    else:
        rows, cols = np.nonzero(np.ones((b, m), dtype=bool))
    vals = scores[rows, cols]
    order = np.lexsort((-vals, rows))
    rows, cols, vals = rows[order], cols[order], vals[order]
    starts = np.searchsorted(rows, np.arange(b))
    kth = vals[starts + k - 1].astype(np.float64)
    keep = vals >= kth[rows] - eps
    return rows[keep].astype(np.intp), cols[keep].astype(np.intp), kth


@dataclass(frozen=True)
class _Top:
    """The kept pairs, sorted by query item then rank, with their exact scores."""

    ni: Codes
    oj: Codes
    total: Floats
    parts: dict[str, Floats]


def _top(
    weights: Weights,
    tables: Tables,
    sides: tuple[Side, Side],
    vectors: tuple[Vectors, Vectors],
    pairs: tuple[Codes, Codes],
    k: int,
    *,
    per_need: bool,
) -> _Top:
    """Exact totals of the candidate pairs; the k best of each query item, sorted."""
    needs, offers = sides
    ni, oj = pairs
    parts = components(tables, needs, offers, ni, oj, _cosines(*vectors, ni, oj))
    total = combine(weights, parts)
    query, other, ids = (ni, oj, offers.ids) if per_need else (oj, ni, needs.ids)
    uniq = np.unique(other)
    id_order = sorted(range(len(uniq)), key=lambda u: _id_key(ids[uniq[u]]))
    id_rank = np.empty(len(uniq), dtype=np.intp)
    id_rank[id_order] = np.arange(len(uniq))
    order = np.lexsort((id_rank[np.searchsorted(uniq, other)], -total, query))
    q = query[order]
    starts = np.flatnonzero(np.r_[True, q[1:] != q[:-1]])
    pos = np.arange(len(q)) - np.repeat(starts, np.diff(np.r_[starts, len(q)]))
    sel = order[pos < k]
    return _Top(ni[sel], oj[sel], total[sel], {n: p[sel] for n, p in parts.items()})


def _pairings(
    top: _Top,
    weights: Weights,
    tables: Tables,
    sides: tuple[Side, Side],
    terms: tuple[Mapping[int, Terms], Mapping[int, Terms]],
) -> list[ScoredPairing]:
    needs, offers = sides
    countries = tables.countries
    need_terms, offer_terms = terms
    wdict = weights.as_dict()
    names = list(wdict)
    shared: dict[float, float] = {}  # few distinct values: one float object per value
    out: list[ScoredPairing] = []
    for a in range(0, len(top.ni), _PAIR_CHUNK):  # bounded temporary lists
        b = a + _PAIR_CHUNK
        columns = [
            top.parts[n][a:b].tolist()
            if n == "text"
            else [shared.setdefault(v, v) for v in top.parts[n][a:b].tolist()]
            for n in names
        ]
        ni, oj = top.ni[a:b].tolist(), top.oj[a:b].tolist()
        explained = Explainer.explain_many(
            [need_terms[i] for i in ni], [offer_terms[j] for j in oj]
        )
        out.extend(
            ScoredPairing(
                need_id=needs.ids[i],
                offer_id=offers.ids[j],
                need_country=countries[needs.country[i]],
                offer_country=countries[offers.country[j]],
                total=total,
                components=dict(zip(names, row, strict=True)),
                weights=wdict,
                matched_terms=terms,
            )
            for i, j, total, row, terms in zip(
                ni, oj, top.total[a:b].tolist(), zip(*columns, strict=True), explained, strict=True
            )
        )
    return out


def _terms(
    explainer: Explainer,
    items: tuple[Sequence[Item], Sequence[Item]],
    vectors: tuple[Vectors, Vectors],
    top: _Top,
) -> tuple[dict[int, Terms], dict[int, Terms]]:
    """Terms of the needs and offers that appear in `top` (one shared word table)."""
    idx_n, idx_o = np.unique(top.ni).tolist(), np.unique(top.oj).tolist()
    texts = [item_text(items[0][i]) for i in idx_n] + [item_text(items[1][j]) for j in idx_o]
    terms = explainer.terms(texts, [(vectors[0], idx_n), (vectors[1], idx_o)])
    return dict(zip(idx_n, terms[: len(idx_n)], strict=True)), dict(
        zip(idx_o, terms[len(idx_n) :], strict=True)
    )


def rank(
    needs: Sequence[Item],
    offers: Sequence[Item],
    *,
    weights: Weights,
    context: Context,
    top_k: int,
    model: TextModel | None = None,
    need_vectors: Vectors | None = None,
    offer_vectors: Vectors | None = None,
    progress: Progress | None = None,
    profiles: Mapping[str, CountryProfile] | None = None,
    block_rows: int | None = None,
) -> dict[str, list[ScoredPairing]]:
    """For every need id: its top_k offers of other countries, best first.

    Vectors missing are computed with `model` (default: get_text_model(), also used for the
    matched terms); `progress(done, total)` counts texts encoded, then needs ranked. `profiles`
    (country -> factors offered and needed, input of reciprocity) defaults to those of `needs`
    + `offers`. `block_rows` fixes the block size (default: about BLOCK_BYTES per block).
    """
    weights.validate()
    if top_k < 0:
        raise ValueError(f"top_k must be >= 0, got {top_k}")
    result: dict[str, list[ScoredPairing]] = {n.id: [] for n in needs}
    if not needs or not offers or top_k == 0:
        return result
    model = model or get_text_model()
    to_encode = (need_vectors is None) * len(needs) + (offer_vectors is None) * len(offers)
    total_work = to_encode + len(needs)

    def encode(items: Sequence[Item], done: int) -> Vectors:
        def step(i: int, _n: int) -> None:
            if progress is not None:
                progress(done + i, total_work)

        assert model is not None
        return model.encode([item_text(it) for it in items], progress=step)

    if need_vectors is None:
        need_vectors = encode(needs, 0)
    if offer_vectors is None:
        offer_vectors = encode(offers, to_encode - len(offers))
    nv = _check_vectors(need_vectors, len(needs), "need_vectors")
    ov = _check_vectors(offer_vectors, len(offers), "offer_vectors")
    if nv.shape[1] != ov.shape[1]:
        raise ValueError(f"vector sizes differ: {nv.shape[1]} vs {ov.shape[1]}")
    if profiles is None:
        profiles = country_profiles([*needs, *offers])
    tables, nside, oside = build(needs, offers, context, profiles)
    folded = Folded(weights, tables, oside, ov)

    m = len(offers)
    k = min(top_k, m)
    eps = EPS * weights.total()
    others = weights.total() - weights.text
    step_rows = block_rows or max(1, min(4096, BLOCK_BYTES // (5 * m)))
    found_n: list[Codes] = []
    found_o: list[Codes] = []
    for start in range(0, len(needs), step_rows):
        rows = slice(start, min(len(needs), start + step_rows))
        scores = folded.needs(nside, nv, rows) @ folded.offers.T
        r, c, kth = _select(scores, k, eps)
        del scores
        safe = kth >= others + eps
        keep = safe[r]
        found_n.append(r[keep] + start)
        found_o.append(c[keep])
        for row in (np.flatnonzero(~safe) + start).tolist():
            approx = approx_row(weights, tables, (nside, oside), row, True, ov @ nv[row])
            pool = _pool(approx, k, eps)
            found_n.append(np.full(len(pool), row, dtype=np.intp))
            found_o.append(pool)
        if progress is not None:
            progress(to_encode + rows.stop, total_work)
    ni, oj = np.concatenate(found_n), np.concatenate(found_o)
    valid = nside.country[ni] != oside.country[oj]
    top = _top(weights, tables, (nside, oside), (nv, ov), (ni[valid], oj[valid]), k,
               per_need=True)  # fmt: skip
    explainer = Explainer(model)
    with single_threaded_blas():
        terms = _terms(explainer, (needs, offers), (nv, ov), top)
        for p in _pairings(top, weights, tables, (nside, oside), terms):
            result[p.need_id].append(p)
    return result


def score_item(
    item: Item,
    counterparts: Sequence[Item],
    *,
    weights: Weights,
    context: Context,
    top_k: int,
    model: TextModel | None = None,
    item_vector: NDArray[np.float32] | None = None,
    counterpart_vectors: Vectors | None = None,
    profiles: Mapping[str, CountryProfile] | None = None,
    reciprocity_offers: Sequence[Item] | None = None,
    reciprocity_needs: Sequence[Item] | None = None,
) -> list[ScoredPairing]:
    """The top_k counterparts of one item, best first (same-country counterparts excluded).

    A need is scored against offers, an offer against needs; either way each ScoredPairing
    names the need and the offer. Ties are broken on the counterpart id (ids written in digits
    in numeric order).

    Reciprocity needs to know what every country offers and needs. Give either `profiles`
    (country -> CountryProfile, see `country_profiles`; fastest: compute it once per data
    version) or `reciprocity_offers` and `reciprocity_needs` (all stored offers and needs, from
    which the profiles are built on each call). Without either, profiles come from `item` and
    `counterparts` only, which show one side of every other country.
    With the same profiles, the pairings equal those of rank() on the same data.
    """
    weights.validate()
    if top_k < 0:
        raise ValueError(f"top_k must be >= 0, got {top_k}")
    if top_k == 0 or not counterparts:
        return []
    model = model or get_text_model()
    if item_vector is None:
        item_vector = model.encode([item_text(item)])[0]
    if counterpart_vectors is None:
        counterpart_vectors = model.encode([item_text(c) for c in counterparts])
    cv = _check_vectors(counterpart_vectors, len(counterparts), "counterpart_vectors")
    qv = _check_vectors(np.reshape(item_vector, (1, -1)), 1, "item_vector")
    if qv.shape[1] != cv.shape[1]:
        raise ValueError(f"vector sizes differ: {qv.shape[1]} vs {cv.shape[1]}")
    if profiles is None:
        if reciprocity_offers is not None or reciprocity_needs is not None:
            profiles = country_profiles([*(reciprocity_offers or ()), *(reciprocity_needs or ())])
        else:
            profiles = country_profiles([item, *counterparts])
    is_need = item.kind == "need"
    needs, offers = ([item], counterparts) if is_need else (counterparts, [item])
    tables, nside, oside = build(needs, offers, context, profiles)
    m = len(counterparts)
    approx = approx_row(weights, tables, (nside, oside), 0, is_need, cv @ qv[0])
    pool = _pool(approx, min(top_k, m), EPS * weights.total())
    zero = np.zeros(len(pool), dtype=np.intp)
    pairs = (zero, pool) if is_need else (pool, zero)
    vectors = (qv, cv) if is_need else (cv, qv)
    top = _top(weights, tables, (nside, oside), vectors, pairs, min(top_k, m),
               per_need=is_need)  # fmt: skip
    explainer = Explainer(model)
    with single_threaded_blas():
        terms = _terms(explainer, (needs, offers), vectors, top)
        return _pairings(top, weights, tables, (nside, oside), terms)
