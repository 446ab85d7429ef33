"""Matching quality of the production scorer on the labelled dev set, next to baselines.

Ranks the dev set as `sscmatch rank` does (`service.cli.rank.rank_file`: the items read and
checked by `load_items`, `rank()` with the default `Weights()` and `offline_context()`, the
regional groupings and CLDR working languages the service ships, which the API stores too, and
the related-factor table; no pairing history, no database), and prints recall@1/5/10 of
grade-2 offers, nDCG@10, MRR and cross-language recall@5 (definitions in the dev set README),
next to a plain word TF-IDF cosine baseline and ablations measured in the same run (with the
same items and context). Writes the `quality` section of docs/benchmarks.md.

    python bench/quality.py [--devset PATH] [--no-write]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from sklearn.feature_extraction.text import TfidfVectorizer

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _report import machine, write_section  # noqa: E402

from service.cli.rank import load_items, offline_context, rank_file  # noqa: E402
from service.scoring import (  # noqa: E402
    Context,
    Item,
    Weights,
    get_text_model,
    item_text,
    rank,
)
from service.scoring.encoders import UseFullModel  # noqa: E402
from service.scoring.text import TextModel  # noqa: E402

DEFAULT_DEVSET = ROOT.parent / "shared" / "eval" / "devset"
Ranking = dict[str, list[str]]
METRICS = ("r@1", "r@5", "r@10", "nDCG@10", "MRR", "x-lang r@5")
CATEGORIES = ("cross_language_only", "paraphrase", "lexical_trap", "cross_factor", "near_duplicate")
TEXT_ONLY = Weights(
    text=1, factor=0, modality=0, language=0, region=0, reciprocity=0, novelty=0, capacity=0
)


def load(devset: Path) -> tuple[list[Item], dict[str, dict[str, int]], dict[str, set[str]]]:
    """Items (read as `sscmatch rank` reads them), qrels and hard-case categories (need ids per
    category) of a dev set folder."""
    items = load_items(devset / "items.json")
    qrels = json.loads((devset / "qrels.json").read_text(encoding="utf-8"))
    hard: dict[str, set[str]] = {c: set() for c in CATEGORIES}
    path = devset / "hard_cases.json"
    if path.exists():
        for case in json.loads(path.read_text(encoding="utf-8")):
            hard.setdefault(case["category"], set()).add(case["need_id"])
    return items, qrels, hard


def metrics(
    ranking: Ranking, items: Sequence[Item], qrels: Mapping[str, Mapping[str, int]],
    only: set[str] | None = None,
) -> dict[str, float]:  # fmt: skip
    """The README's metrics, averaged over the needs (or over `only` of them)."""
    by_id = {it.id: it for it in items}
    sums = dict.fromkeys(METRICS, 0.0)
    n = 0
    xl: list[float] = []
    for need_id, labels in qrels.items():
        if only is not None and need_id not in only:
            continue
        n += 1
        ranked = ranking.get(need_id, [])
        good = [o for o, g in labels.items() if g == 2]
        for k in (1, 5, 10):
            sums[f"r@{k}"] += sum(o in ranked[:k] for o in good) / len(good)
        dcg = sum((2 ** labels.get(o, 0) - 1) / math.log2(r + 2) for r, o in enumerate(ranked[:10]))
        ideal = sorted(labels.values(), reverse=True)[:10]
        sums["nDCG@10"] += dcg / sum((2**g - 1) / math.log2(r + 2) for r, g in enumerate(ideal))
        first = next((r for r, o in enumerate(ranked) if labels.get(o) == 2), None)
        sums["MRR"] += 0.0 if first is None else 1.0 / (first + 1)
        lang = by_id[need_id].language
        other = [o for o in good if by_id[o].language != lang]
        if other:
            xl.append(sum(o in ranked[:5] for o in other) / len(other))
    out = {k: v / max(n, 1) for k, v in sums.items()}
    out["x-lang r@5"] = sum(xl) / len(xl) if xl else float("nan")
    return out


def by_matrix(
    scores: NDArray[np.float64], needs: Sequence[Item], offers: Sequence[Item]
) -> Ranking:
    """Ranking from a need x offer score matrix: other countries only, ties on offer id."""
    out: Ranking = {}
    for i, need in enumerate(needs):
        cand = [(-scores[i, j], o.id) for j, o in enumerate(offers) if o.country != need.country]
        out[need.id] = [oid for _, oid in sorted(cand)]
    return out


def tfidf_ranking(needs: Sequence[Item], offers: Sequence[Item], **kwargs: object) -> Ranking:
    """Cosine of TF-IDF vectors of title + description (the README's baselines)."""
    texts = [f"{it.title}. {it.description}" for it in (*needs, *offers)]
    mat = TfidfVectorizer(**kwargs).fit_transform(texts)
    sims = (mat[: len(needs)] @ mat[len(needs) :].T).toarray()
    return by_matrix(np.asarray(sims, dtype=np.float64), needs, offers)


def scorer_ranking(
    needs: Sequence[Item], offers: Sequence[Item], *, weights: Weights, context: Context,
    model: TextModel, text: Callable[[Item], Item] | None = None,
) -> Ranking:  # fmt: skip
    """Ranking of the production rank() (optionally with items rewritten by `text`)."""
    n2 = [text(n) for n in needs] if text else list(needs)
    o2 = [text(o) for o in offers] if text else list(offers)
    result = rank(n2, o2, weights=weights, context=context, top_k=len(offers), model=model)
    return {k: [p.offer_id for p in v] for k, v in result.items()}


def production_ranking(devset: Path) -> Ranking:
    """The ranking `sscmatch rank --items DEVSET/items.json` writes, every offer kept."""
    items = load_items(devset / "items.json")
    top = max(1, sum(it.kind == "offer" for it in items))
    result = rank_file(devset / "items.json", top, show_progress=False)
    return {need: [r["offer_id"] for r in ranked] for need, ranked in result.items()}


def fmt_row(name: str, m: Mapping[str, float]) -> str:
    return f"| {name} | " + " | ".join(f"{m[k]:.3f}" for k in METRICS) + " |"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--devset", type=Path, default=DEFAULT_DEVSET)
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args(argv)
    items, qrels, hard = load(args.devset)
    needs = [it for it in items if it.kind == "need"]
    offers = [it for it in items if it.kind == "offer"]
    words = get_text_model()
    full = UseFullModel()
    ctx = offline_context(items)  # the context of `sscmatch rank` (and of the API's data)
    timings: dict[str, float] = {}
    texts = [item_text(it) for it in items]
    for name, mdl in (
        ("use-m3-words, new words", words),
        ("use-m3-words, known words", words),
        ("use-m3-full", full),
    ):
        mdl.encode(["warm up"])
        t0 = time.perf_counter()
        mdl.encode(texts)
        timings[name] = time.perf_counter() - t0

    def only_title(it: Item) -> Item:
        return dataclasses.replace(it, description="", target_population="")

    def only_description(it: Item) -> Item:
        return dataclasses.replace(it, title="", target_population="")

    def no_population(it: Item) -> Item:
        return dataclasses.replace(it, target_population="")

    def only_population(it: Item) -> Item:
        return dataclasses.replace(it, title="", description="")

    no_factor = dataclasses.replace(Weights(), factor=0.0)
    text_factor = dataclasses.replace(TEXT_ONLY, factor=Weights().factor)
    rows: list[tuple[str, Ranking]] = [
        ("**production**: `sscmatch rank` (rank(), Weights(), offline_context())",
         production_ranking(args.devset)),
        ("baseline: word TF-IDF cosine", tfidf_ranking(needs, offers)),
        ("baseline: char TF-IDF (char_wb 3-5) cosine",
         tfidf_ranking(needs, offers, analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True)),
        ("text only, use-m3-full (sentence encoder)",
         scorer_ranking(needs, offers, weights=TEXT_ONLY, context=ctx, model=full)),
        ("text only, use-m3-words (production encoder)",
         scorer_ranking(needs, offers, weights=TEXT_ONLY, context=ctx, model=words)),
        ("  text = title only",
         scorer_ranking(needs, offers, weights=TEXT_ONLY, context=ctx, model=words,
                        text=only_title)),
        ("  text = description only",
         scorer_ranking(needs, offers, weights=TEXT_ONLY, context=ctx, model=words,
                        text=only_description)),
        ("  text = target population only",
         scorer_ranking(needs, offers, weights=TEXT_ONLY, context=ctx, model=words,
                        text=only_population)),
        ("  text = title + description",
         scorer_ranking(needs, offers, weights=TEXT_ONLY, context=ctx, model=words,
                        text=no_population)),
        ("text + factor only (weights of production)",
         scorer_ranking(needs, offers, weights=text_factor, context=ctx, model=words)),
        ("production without factor (factor = 0)",
         scorer_ranking(needs, offers, weights=no_factor, context=ctx, model=words)),
        ("production with an empty Context() (no groupings, languages, related factors)",
         scorer_ranking(needs, offers, weights=Weights(), context=Context(), model=words)),
        ("production with use-m3-full instead of use-m3-words",
         scorer_ranking(needs, offers, weights=Weights(), context=ctx, model=full)),
    ]  # fmt: skip
    for f in (0.06, 0.18, 0.25):
        w = dataclasses.replace(Weights(), factor=f)
        ranking = scorer_ranking(needs, offers, weights=w, context=ctx, model=words)
        rows.append((f"production with factor = {f}", ranking))

    header = "| ranker | " + " | ".join(METRICS) + " |\n|---|" + "---|" * len(METRICS)
    table = [header] + [fmt_row(name, metrics(r, items, qrels)) for name, r in rows]
    cat_header = "| ranker | " + " | ".join(f"{c} ({len(hard.get(c, ()))})" for c in CATEGORIES)
    cat_rows = [cat_header + " |", "|---|" + "---|" * len(CATEGORIES)]
    for name, r in rows[:5]:
        vals = [metrics(r, items, qrels, only=hard.get(c, set()))["r@5"] for c in CATEGORIES]
        cat_rows.append(f"| {name} | " + " | ".join(f"{v:.3f}" for v in vals) + " |")
    defaults = Weights().as_dict()
    n_items = len(items)
    speed = ", ".join(f"{k}: {n_items / t:,.0f} items/s" for k, t in timings.items())
    body = "\n".join(
        [
            "## Matching quality (dev set)",
            "",
            "Command: `python bench/quality.py`  ",
            f"Machine: {machine()}  ",
            f"Dev set: `{args.devset.name}/` ({len(needs)} needs, {len(offers)} offers); "
            "offers of the need's own country excluded; recall of grade-2 offers.  ",
            "Production weights: " + ", ".join(f"{k} {v:g}" for k, v in defaults.items()) + ".  ",
            f"Encoding speed of the {n_items} dev-set texts (model loaded, ~90 words each): "
            f"{speed}.",
            "",
            *table,
            "",
            "recall@5 per hard-case category (needs in each category in brackets):",
            "",
            *cat_rows,
        ]
    )
    print(body)
    if not args.no_write:
        write_section("quality", body)
        print("\nwrote section 'quality' of docs/benchmarks.md", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
