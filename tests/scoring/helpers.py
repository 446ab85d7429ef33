"""Helpers of the scoring unit tests: a tiny deterministic text model and an item builder."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence

import numpy as np
from numpy.typing import NDArray

from service.scoring import Item

DIM = 24


class FakeModel:
    """Bag of hashed words: texts sharing words get similar unit vectors. Milliseconds."""

    name = "fake-bow-1"
    dim = DIM

    def encode(
        self, texts: Sequence[str], *, progress: Callable[[int, int], None] | None = None
    ) -> NDArray[np.float32]:
        out = np.zeros((len(texts), DIM), dtype=np.float32)
        for i, text in enumerate(texts):
            for word in re.findall(r"\w+", text.lower()):
                seed = int.from_bytes(hashlib.sha256(word.encode()).digest()[:8], "little")
                out[i] += np.random.default_rng(seed).standard_normal(DIM).astype(np.float32)
            norm = float(np.linalg.norm(out[i]))
            out[i] = out[i] / norm if norm else 0.0
            if progress is not None:
                progress(i + 1, len(texts))
        return out


class FakeWordModel(FakeModel):
    """FakeModel that also embeds single words (to exercise cross-language terms)."""

    name = "fake-bow-words-1"

    def word_vectors(self, words: Sequence[str]) -> NDArray[np.float32]:
        return self.encode(list(words))


def make_item(
    id: str,
    kind: str,
    country: str,
    *,
    factor: str = "education",
    language: str = "es",
    modality: str = "training",
    title: str = "",
    description: str = "",
    target_population: str = "",
    capacity: int | None = None,
) -> Item:
    """An Item with defaults for every field a test does not care about."""
    return Item(
        id=id,
        kind="offer" if kind == "offer" else "need",
        country=country,
        factor=factor,
        language=language,
        modality=modality,
        title=title or f"item {id}",
        description=description,
        target_population=target_population,
        capacity=capacity if kind == "offer" else None,
    )
