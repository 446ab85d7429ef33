"""Pure scoring of (need, offer) pairs: criteria, weights, text vectors and ranking.

Imports neither the web layer nor the ORM; callers build `Item`s and a `Context` from their
rows and get `ScoredPairing`s back. See docs/scoring.md.
"""

from service.scoring.columns import derive_columns, profiles_of
from service.scoring.context import (
    DEFAULT_COUNTRY_GROUPS,
    DEFAULT_COUNTRY_LANGUAGES,
    DEFAULT_FACTOR_AFFINITY,
    DEFAULT_UNRELATED,
    FACTORS,
    Context,
    default_context,
)
from service.scoring.criteria import MODALITIES, Modality
from service.scoring.rank import rank, score_item
from service.scoring.text import (
    TextModel,
    WordVectorModel,
    get_text_model,
    item_text,
    vector_from_bytes,
    vector_to_bytes,
    vectors_from_bytes,
)
from service.scoring.types import CountryProfile, Item, ScoredPairing, country_profiles
from service.scoring.weights import Weights

SCORING_VERSION = "2026.12-1"
"""Changes whenever the same inputs would give different scores; stored with each result."""

__all__ = [
    "DEFAULT_COUNTRY_GROUPS",
    "DEFAULT_COUNTRY_LANGUAGES",
    "DEFAULT_FACTOR_AFFINITY",
    "DEFAULT_UNRELATED",
    "FACTORS",
    "MODALITIES",
    "SCORING_VERSION",
    "Context",
    "CountryProfile",
    "Item",
    "Modality",
    "ScoredPairing",
    "TextModel",
    "Weights",
    "WordVectorModel",
    "country_profiles",
    "default_context",
    "derive_columns",
    "get_text_model",
    "item_text",
    "profiles_of",
    "rank",
    "score_item",
    "vector_from_bytes",
    "vector_to_bytes",
    "vectors_from_bytes",
]
