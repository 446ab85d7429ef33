"""Weights: defaults, validation with clear messages, mapping round trip."""

from __future__ import annotations

import math

import pytest

from service.scoring import Context, Weights, rank
from service.scoring.weights import MIN_WEIGHT

from .helpers import FakeModel, make_item


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


@pytest.mark.parametrize("value", [5e-324, 1e-310, 1e-7, MIN_WEIGHT / 2])
@pytest.mark.parametrize("field", ["text", "capacity"])
def test_positive_weight_below_minimum_raises_naming_it(field: str, value: float) -> None:
    with pytest.raises(ValueError, match="must be 0 or at least 1e-06") as err:
        Weights(**{field: value}).validate()
    assert repr(field) in str(err.value)


def test_subnormal_only_weight_is_refused_before_ranking(model: FakeModel) -> None:
    # With text=5e-324 alone, text * 5e-324 underflows: the total read 1.0 while the only
    # weighted part was below 1 (0.91 here).
    only_text = Weights(**dict.fromkeys(Weights.names(), 0.0) | {"text": 5e-324})
    need = make_item("n1", "need", "ARG", title="school dropout alert")
    offer = make_item("o1", "offer", "BRA", title="school dropout alert system")

    with pytest.raises(ValueError, match="'text' must be 0 or at least"):
        rank([need], [offer], weights=only_text, context=Context(), top_k=1, model=model)


@pytest.mark.parametrize("value", [MIN_WEIGHT, 2 * MIN_WEIGHT])
def test_smallest_weights_give_totals_their_components_explain(
    value: float, model: FakeModel
) -> None:
    weights = Weights(**dict.fromkeys(Weights.names(), 0.0) | {"text": value, "region": value})
    need = make_item("n1", "need", "ARG", title="school dropout alert")
    offer = make_item("o1", "offer", "BRA", title="school dropout alert system")

    (pair,) = rank([need], [offer], weights=weights.validate(), context=Context(), top_k=1,
                   model=model)["n1"]

    expected = (pair.components["text"] + pair.components["region"]) / 2
    assert pair.total == pytest.approx(expected, abs=1e-9)
    assert 0 < pair.components["text"] < 1


def test_from_mapping_refuses_a_subnormal_weight() -> None:
    with pytest.raises(ValueError, match="'novelty' must be 0 or at least"):
        Weights.from_mapping({"novelty": 5e-324})
