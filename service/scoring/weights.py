"""The weights of the scoring criteria: one typed object with defaults, validated."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields

MIN_WEIGHT = 1e-6
"""Smallest positive weight. Below it a weight's products with the components underflow
(5e-324 times 0.5 is 0), and the total stops being the weighted mean its parts explain; no
meaningful ratio needs one: the largest weights the API takes are 1000."""


@dataclass(frozen=True)
class Weights:
    """Relative weight of each criterion in the total (only ratios matter).

    Defaults, measured on the labelled dev set (see docs/scoring.md): text carries the
    relevance; factor fit sharpens it; the other criteria matter for pairing and scheduling,
    not for relevance, so their weights are small enough to reorder only near-ties.
    """

    text: float = 1.0
    factor: float = 0.12
    modality: float = 0.02
    language: float = 0.02
    region: float = 0.02
    reciprocity: float = 0.02
    novelty: float = 0.03
    capacity: float = 0.03

    def validate(self) -> Weights:
        """Return self, or raise ValueError naming the weight if one is negative, non-finite or
        positive but below MIN_WEIGHT, or if all are 0."""
        for name, value in self.as_dict().items():
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"weight {name!r} must be a number, got {value!r}")
            if not math.isfinite(value):
                raise ValueError(f"weight {name!r} must be finite, got {value!r}")
            if value < 0:
                raise ValueError(f"weight {name!r} must not be negative, got {value!r}")
            if 0 < value < MIN_WEIGHT:
                raise ValueError(f"weight {name!r} must be 0 or at least {MIN_WEIGHT:g}, "
                                 f"got {value!r}")
        if self.total() <= 0:
            raise ValueError("at least one weight must be greater than 0")
        return self

    def total(self) -> float:
        """Sum of all weights (the denominator of every total score)."""
        return math.fsum(self.as_dict().values())

    def as_dict(self) -> dict[str, float]:
        """The weights by criterion name, in declaration order."""
        return asdict(self)

    @classmethod
    def names(cls) -> tuple[str, ...]:
        """Criterion names, in declaration order."""
        return tuple(f.name for f in fields(cls))

    @classmethod
    def from_mapping(cls, values: Mapping[str, object]) -> Weights:
        """Build validated weights from a mapping; missing keys keep their default.

        Raises ValueError on an unknown key or a bad value.
        """
        unknown = sorted(set(values) - set(cls.names()))
        if unknown:
            raise ValueError(
                f"unknown weight(s) {', '.join(map(repr, unknown))}; "
                f"known: {', '.join(cls.names())}"
            )
        clean: dict[str, float] = {}
        for name, value in values.items():
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"weight {name!r} must be a number, got {value!r}")
            clean[name] = float(value)
        return cls(**clean).validate()
