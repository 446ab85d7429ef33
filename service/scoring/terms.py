"""Matched terms: which words explain the text similarity of a pair.

First the words found on both sides (same stem; accents and plural endings ignored). Then, when
the text model can embed single words (`WordVectorModel`), word pairs across the two texts that
are each other's nearest neighbour with a cosine of at least PAIR_SIMILARITY, such as
"cosecha ↔ harvest": they explain a match between languages. Computed only for the pairs that
are returned, from word lists made once per item.
"""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from service.scoring.stopwords import STOPWORDS
from service.scoring.text import PUNCTUATION, TextModel, WordVectorModel, split_words

MIN_LETTERS = 4
SALIENT_WORDS = 12
PAIR_SIMILARITY = 0.65
MAX_TERMS = 6
MAX_PAIRS = 3
_CHUNK = 32768


def fold(word: str) -> str:
    """Lower case without accents: 'Inspección' -> 'inspeccion'."""
    decomposed = unicodedata.normalize("NFKD", word.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def stem(folded: str) -> str:
    """A crude multilingual stem: plural endings dropped, cut at 7 letters."""
    if folded.endswith("es") and len(folded) > 5:
        folded = folded[:-2]
    elif folded.endswith("s") and not folded.endswith("ss") and len(folded) > 4:
        folded = folded[:-1]
    return folded[:7]


_WORDS: dict[str, tuple[str, str]] = {}
_MAX_WORDS = 500_000
# French articles and conjunctions elided before a vowel: "l'école", "d'enfants", "qu'elles"
_ELIDED = frozenset({"c", "d", "j", "l", "m", "n", "s", "t", "qu", "jusqu", "lorsqu", "puisqu"})


def _unelided(word: str) -> str:
    """The word without an elided French article before it ("l'école" -> "école") or an
    English possessive after it ("children's" -> "children"), so that it is compared, and
    left out as a function or background word, as the word itself."""
    for mark in ("'", "\u2019"):
        head, found, rest = word.partition(mark)
        if found and rest and head in _ELIDED:
            word = rest
        if word.endswith(mark + "s") and len(word) > 2:
            word = word[:-2]
    return word


def _word(token: str) -> tuple[str, str]:
    """(stem, shown word) of a token; ("", "") if it is not a content word."""
    word = _unelided(token.strip(PUNCTUATION).lower())
    if not word.replace("-", "").replace("'", "").replace("\u2019", "").isalpha():
        return "", ""
    folded = fold(word)
    if len(folded) < MIN_LETTERS or folded in STOPWORDS:
        return "", ""
    return stem(folded), word


def content_words(text: str) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """(stems, words, tokens) of the content words, first occurrence of each stem, in order.

    `words` are shown (lower case); `tokens` are the words as the text model saw them
    (split_words).
    """
    seen: set[str] = set()
    keys: list[str] = []
    words: list[str] = []
    tokens: list[str] = []
    cache = _WORDS
    if len(cache) > _MAX_WORDS:
        cache.clear()
    for token in split_words(text):
        found = cache.get(token)
        if found is None:
            found = cache[token] = _word(token)
        key = found[0]
        if key and key not in seen:
            seen.add(key)
            keys.append(key)
            words.append(found[1])
            tokens.append(token)
    return tuple(keys), tuple(words), tuple(tokens)


@dataclass(frozen=True)
class Terms:
    """The words of one item that can be shown as matched terms.

    `salient` are the positions (in `words`) of the words closest to the item's meaning;
    `vectors.rows[index]` locate their vectors in `vectors.table` (padded with its last,
    all-zero row).
    """

    keys: tuple[str, ...]
    words: tuple[str, ...]
    salient: tuple[int, ...] = ()
    index: int = -1
    vectors: WordTable | None = None

    @functools.cached_property
    def priority(self) -> tuple[int, ...]:
        """Word positions, longer words first (shown first when shared)."""
        words = self.words
        return tuple(sorted(range(len(words)), key=lambda i: (-len(words[i]), i)))


VectorRows = Sequence[tuple[NDArray[np.float32], Sequence[int]]]


@dataclass(frozen=True)
class WordTable:
    """Word vectors of one Explainer.terms() call, and each item's salient rows in it."""

    table: NDArray[np.float32]
    rows: NDArray[np.intp]


class Explainer:
    """Computes matched terms; word vectors come from the model when it provides them."""

    def __init__(self, model: TextModel | None) -> None:
        self._words = model if isinstance(model, WordVectorModel) else None

    def terms(
        self, texts: Sequence[str], vectors: NDArray[np.float32] | VectorRows | None = None
    ) -> list[Terms]:
        """Terms of each text; `vectors` (the texts' vectors) select the salient words.

        `vectors` is an (n, dim) array, or (matrix, row indices) parts whose rows, in order,
        are the texts' vectors (no copy of the matrices is made). Terms of the same call share
        one word-vector table: compute both sides of the pairs to explain in one call.
        """
        found = [content_words(t) for t in texts]
        plain = [(k, w) for k, w, _ in found]
        lists = [tokens for _, _, tokens in found]
        del found
        if self._words is None or vectors is None or not lists:
            return [Terms(k, w) for k, w in plain]
        vocab = sorted({tok for tokens in lists for tok in tokens})
        row = {tok: i for i, tok in enumerate(vocab)}
        words = np.asarray(self._words.word_vectors(vocab), dtype=np.float32)
        parts = [(vectors, range(len(texts)))] if isinstance(vectors, np.ndarray) else vectors
        part_of = np.concatenate(
            [np.full(len(rows), k, dtype=np.intp) for k, (_, rows) in enumerate(parts)]
        )
        row_of = np.concatenate([np.asarray(rows, dtype=np.intp) for _, rows in parts])
        dim = parts[0][0].shape[1]
        table = np.zeros((len(vocab) + 1, dim), dtype=np.float32)
        if words.shape[1:] != table.shape[1:]:  # item vectors from another model
            return [Terms(k, w) for k, w in plain]
        table[: len(vocab)] = words
        sizes = np.fromiter(map(len, lists), dtype=np.intp, count=len(lists))
        starts = np.cumsum(sizes) - sizes
        owner = np.repeat(np.arange(len(lists)), sizes)
        token_row = np.fromiter(
            (row[tok] for tokens in lists for tok in tokens), dtype=np.intp, count=int(sizes.sum())
        )
        position = np.arange(len(owner)) - np.repeat(starts, sizes)
        sims = np.empty(len(owner), dtype=np.float32)
        for a in range(0, len(owner), _CHUNK):
            b = a + _CHUNK
            item_vectors = np.empty((len(owner[a:b]), dim), dtype=np.float32)
            for k, (matrix, _) in enumerate(parts):
                mine = part_of[owner[a:b]] == k
                item_vectors[mine] = matrix[row_of[owner[a:b][mine]]]
            sims[a:b] = np.einsum("ij,ij->i", table[token_row[a:b]], item_vectors)
        order = np.lexsort((position, -sims, owner))
        rank_in_item = np.empty(len(order), dtype=np.intp)
        rank_in_item[order] = position
        chosen = np.flatnonzero(rank_in_item < SALIENT_WORDS)  # sorted: by item, then position
        rows = np.full((len(lists), SALIENT_WORDS), len(vocab), dtype=np.intp)
        slot = np.arange(len(chosen)) - np.repeat(
            np.cumsum(np.minimum(sizes, SALIENT_WORDS)) - np.minimum(sizes, SALIENT_WORDS),
            np.minimum(sizes, SALIENT_WORDS),
        )
        rows[owner[chosen], slot] = token_row[chosen]
        picks = position[chosen].tolist()
        shared = WordTable(table, rows)
        out: list[Terms] = []
        at = 0
        for k, ((keys, words_), size) in enumerate(zip(plain, sizes.tolist(), strict=True)):
            n = min(size, SALIENT_WORDS)
            out.append(Terms(keys, words_, tuple(picks[at : at + n]), k, shared))
            at += n
        return out

    @staticmethod
    def explain(need: Terms, offer: Terms) -> tuple[str, ...]:
        """Matched terms of one pair: shared words first, then close word pairs."""
        return Explainer.explain_many([need], [offer])[0]

    @staticmethod
    def explain_many(needs: Sequence[Terms], offers: Sequence[Terms]) -> list[tuple[str, ...]]:
        """Matched terms of the pairs (needs[p], offers[p])."""
        shared_all: list[list[int]] = []
        for need, offer in zip(needs, offers, strict=True):
            common = set(offer.keys).intersection(need.keys)
            shared_all.append(
                [i for i in need.priority if need.keys[i] in common][:MAX_TERMS] if common else []
            )
        found = _word_pairs(needs, offers)
        out: list[tuple[str, ...]] = []
        for p, (need, offer, shared) in enumerate(zip(needs, offers, shared_all, strict=True)):
            terms = [need.words[i] for i in shared]
            candidates = found.get(p)
            if candidates and len(terms) < MAX_TERMS:
                used = {need.keys[i] for i in shared}
                n_pairs = 0
                for _sim, a, b in sorted(candidates):
                    kn, ko = need.keys[need.salient[a]], offer.keys[offer.salient[b]]
                    if kn in used or ko in used or kn == ko:
                        continue
                    terms.append(
                        f"{need.words[need.salient[a]]} \u2194 {offer.words[offer.salient[b]]}"
                    )
                    n_pairs += 1
                    if n_pairs >= MAX_PAIRS or len(terms) >= MAX_TERMS:
                        break
            out.append(tuple(terms))
        return out


def _word_pairs(
    needs: Sequence[Terms], offers: Sequence[Terms]
) -> dict[int, list[tuple[float, int, int]]]:
    """Per pair index: (-cosine, need word, offer word) of mutual nearest salient words."""
    groups: dict[tuple[int, int], list[int]] = {}
    tables: dict[int, WordTable] = {}
    for p, (n, o) in enumerate(zip(needs, offers, strict=True)):
        if n.vectors is not None and o.vectors is not None and n.salient and o.salient:
            tables[id(n.vectors)] = n.vectors
            tables[id(o.vectors)] = o.vectors
            groups.setdefault((id(n.vectors), id(o.vectors)), []).append(p)
    found: dict[int, list[tuple[float, int, int]]] = {}
    step = max(1, _CHUNK // (SALIENT_WORDS * 4))
    for (tn, to), pairs in groups.items():
        wn, wo = tables[tn], tables[to]
        n_idx = np.fromiter((needs[p].index for p in pairs), dtype=np.intp, count=len(pairs))
        o_idx = np.fromiter((offers[p].index for p in pairs), dtype=np.intp, count=len(pairs))
        for c in range(0, len(pairs), step):
            a_vec = wn.table[wn.rows[n_idx[c : c + step]]]
            b_vec = wo.table[wo.rows[o_idx[c : c + step]]]
            # padding rows are zero vectors: cosine 0, below PAIR_SIMILARITY, never chosen
            sims = np.matmul(a_vec, b_vec.transpose(0, 2, 1))
            best_b = sims.argmax(axis=2)
            best_a = sims.argmax(axis=1)
            rows = np.arange(len(a_vec))[:, None]
            cols = np.arange(SALIENT_WORDS)[None, :]
            top = sims[rows, cols, best_b]
            mutual = best_a[rows, best_b] == cols
            hit_p, hit_a = np.nonzero(mutual & (top >= PAIR_SIMILARITY))
            for k, a in zip(hit_p.tolist(), hit_a.tolist(), strict=True):
                pair = pairs[c + k]
                found.setdefault(pair, []).append((-float(top[k, a]), a, int(best_b[k, a])))
    return found
