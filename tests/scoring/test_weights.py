"""Weights: defaults, validation with clear messages, mapping round trip."""

from __future__ import annotations

import math

import pytest

from service.scoring import Weights


def test_defaults_are_valid_and_text_dominates() -> None:
    w = Weights().validate()
    d = w.as_dict()
    assert list(d) == [
        "text", "factor", "modality", "language", "region", "reciprocity", "novelty", "capacity",
    ]  # fmt: skip
    assert d["text"] == max(d.values())
    assert d["factor"] > d["modality"]
    assert math.isclose(w.total(), sum(d.values()))


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("text", -0.1, "must not be negative"),
        ("factor", math.nan, "must be finite"),
        ("region", math.inf, "must be finite"),
    ],
)
def test_bad_values_raise(field: str, value: float, message: str) -> None:
    with pytest.raises(ValueError, match=message) as err:
        Weights(**{field: value}).validate()
    assert field in str(err.value)


def test_all_zero_raises() -> None:
    zero = dict.fromkeys(Weights.names(), 0.0)
    with pytest.raises(ValueError, match="at least one weight"):
        Weights(**zero).validate()


def test_from_mapping_partial_keeps_defaults() -> None:
    w = Weights.from_mapping({"text": 2, "novelty": 0.5})
    assert w.text == 2.0
    assert w.novelty == 0.5
    assert w.factor == Weights().factor


def test_from_mapping_round_trip() -> None:
    w = Weights(text=0.7, capacity=0.0)
    assert Weights.from_mapping(w.as_dict()) == w


def test_from_mapping_unknown_key() -> None:
    with pytest.raises(ValueError, match=r"unknown weight.*'colour'"):
        Weights.from_mapping({"colour": 1.0})


@pytest.mark.parametrize("value", ["1", None, True, [1.0]])
def test_from_mapping_rejects_non_numbers(value: object) -> None:
    with pytest.raises(ValueError, match="must be a number"):
        Weights.from_mapping({"text": value})


def test_from_mapping_validates() -> None:
    with pytest.raises(ValueError, match="must not be negative"):
        Weights.from_mapping({"factor": -1})
