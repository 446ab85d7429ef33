"""Text vectors: the model protocol, the text that is encoded, and vector (de)serialisation."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray

from service.scoring.types import Item

Progress = Callable[[int, int], None]


class TextModel(Protocol):
    """Turns texts into L2-normalised float32 vectors of a fixed dimension.

    `name` is stored next to every vector; a vector stored under another name is re-encoded.
    """

    name: str
    dim: int

    def encode(
        self, texts: Sequence[str], *, progress: Progress | None = None
    ) -> NDArray[np.float32]:
        """Encode texts to an (n, dim) array of unit rows; call progress(done, total)."""
        ...


@runtime_checkable
class WordVectorModel(Protocol):
    """Optional extra of a TextModel: vectors of single words, used to explain matches
    across languages ("cosecha ↔ harvest")."""

    def word_vectors(self, words: Sequence[str]) -> NDArray[np.float32]:
        """Encode single words to an (n, dim) array of unit rows."""
        ...


_END = (".", "!", "?", ":", ";")
PUNCTUATION = "\"'`´«»“”‘’()[]{}<>.,;:!?¿¡…-–—/\\|*#%&+=~^_"
_PIECES: dict[str, tuple[str, ...]] = {}
_MAX_PIECES = 500_000


def _pieces(token: str) -> tuple[str, ...]:
    core = token.strip(PUNCTUATION)
    if core == token or not core:
        return (token,)
    start = token.index(core)
    end = start + len(core)
    return tuple(p for p in (token[:start], core, token[end:]) if p)


def split_words(text: str) -> list[str]:
    """Whitespace tokens, with leading and trailing punctuation split off as tokens of their
    own: 'harvest).' -> 'harvest', ').'. The words the text model embeds one by one."""
    cache = _PIECES
    if len(cache) > _MAX_PIECES:
        cache.clear()
    out: list[str] = []
    for token in text.split():
        pieces = cache.get(token)
        if pieces is None:
            pieces = cache[token] = _pieces(token)
        out.extend(pieces)
    return out


def fold_case(text: str) -> str:
    """Case-fold a text before it is encoded: 'ÉCOLE', 'École' and 'école' become one word.

    USE's sentencepiece vocabulary is cased and mostly lower case, so a capitalised word is cut
    into rarer pieces ('ÉDUCATION' -> 'É', 'DU', 'C', 'ATION') and lands far from its meaning.
    `str.casefold` (Unicode full case folding) maps every case variant of a text to the same
    string ('ß' and 'SS' both to 'ss', which `lower` does not), so encoders that apply it are
    case-insensitive by construction; accents are kept.
    """
    return text.casefold()


def item_text(item: Item) -> str:
    """The text that is encoded: title, description and target population, as sentences."""
    parts: list[str] = []
    for raw in (item.title, item.description, item.target_population):
        part = " ".join(raw.split())
        if part:
            parts.append(part if part.endswith(_END) else part + ".")
    return " ".join(parts)


def vector_to_bytes(vector: NDArray[np.floating] | Sequence[float]) -> bytes:
    """Serialise one vector as little-endian float32 (4 bytes per dimension)."""
    arr = np.asarray(vector, dtype="<f4")
    if arr.ndim != 1:
        raise ValueError(f"expected a 1-D vector, got shape {arr.shape}")
    return arr.tobytes()


def vector_from_bytes(data: bytes, dim: int) -> NDArray[np.float32]:
    """Read a vector written by vector_to_bytes; ValueError if its size is not `dim`."""
    if len(data) != 4 * dim:
        raise ValueError(f"vector has {len(data)} bytes, expected {4 * dim} for dim {dim}")
    return np.frombuffer(data, dtype="<f4").astype(np.float32)


def vectors_from_bytes(data: Sequence[bytes], dim: int, *,
                       spare: int = 0) -> NDArray[np.float32]:
    """Read many vectors written by vector_to_bytes into one writable (n + spare, dim) matrix
    with a single copy, the `spare` rows zero; ValueError if any of them is not of size
    `dim`."""
    for k, chunk in enumerate(data):
        if len(chunk) != 4 * dim:
            raise ValueError(f"vector {k} has {len(chunk)} bytes, expected {4 * dim} "
                             f"for dim {dim}")
    joined = bytearray().join([*data, bytes(4 * dim * spare)] if spare else data)
    return np.frombuffer(joined, dtype="<f4").astype(np.float32, copy=False).reshape(
        len(data) + spare, dim)


def normalise_rows(matrix: NDArray[np.floating]) -> NDArray[np.float32]:
    """Return a float32 copy with every non-zero row scaled to unit length."""
    out = np.array(matrix, dtype=np.float32, copy=True)
    if out.ndim != 2:
        raise ValueError(f"expected a 2-D array, got shape {out.shape}")
    norms = np.sqrt(np.einsum("ij,ij->i", out, out))
    norms[norms == 0] = 1.0
    out /= norms[:, None]
    return out


@functools.cache
def get_text_model() -> TextModel:
    """The production text model, created once per process (see docs/scoring.md)."""
    from service.scoring.encoders import UseWordsModel

    return UseWordsModel()
