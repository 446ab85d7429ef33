"""Schemas for cooperation tables."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BeforeValidator, ConfigDict, Field, JsonValue, field_validator

from service.schemas import ISO3, CleanLine, Day, InputSchema, Number, Schema, Whole

TableStatus = Literal["planning", "open", "matching", "in_session", "closed"]
WeightName = Annotated[str, Field(max_length=32)]
Weight = Annotated[Number, Field(ge=0, le=1000)]
_FACTOR_PAIR = re.compile(r"[a-z0-9_]+:[a-z0-9_]+")


def _factor_pair(value: object) -> object:
    """Refuse a key that is not two factor codes joined by a colon, saying how to write one
    (the pattern alone answered with a regular expression)."""
    if isinstance(value, str) and not _FACTOR_PAIR.fullmatch(value):
        raise ValueError(f"'{value}' is not a pair of factors: write two factor codes, in lower "
                         "case, joined by a colon, such as 'ict:agriculture'")
    return value


FactorPair = Annotated[str, Field(max_length=90, pattern=r"^[a-z0-9_]+:[a-z0-9_]+$"),
                       BeforeValidator(_factor_pair)]
Affinity = Annotated[Number, Field(ge=0, le=1)]
WeightMap = dict[WeightName, Weight]
AffinityMap = dict[FactorPair, Affinity]

_EXAMPLE: dict[str, JsonValue] = {
    "name": "Mesa de Cooperación Sur-Sur 2026",
    "starts_on": "2026-12-07",
    "ends_on": "2026-12-09",
    "venue": "Lima",
    "host_country": "PER",
    "participants": ["ARG", "BRA", "CHL", "COL", "HTI", "JAM", "PER"],
    "rounds": 6,
    "tables_per_round": 8,
    "max_meetings_per_delegation": 6,
    "max_offers_per_need": 2,
    "weights": {"text": 0.6, "factor": 0.15},
}


class TableSettings(InputSchema):
    rounds: Whole = Field(default=6, ge=1, le=100, description="Negotiation rounds available")
    tables_per_round: Whole = Field(default=10, ge=1, le=500,
                                  description="Meeting tables available in each round")
    max_meetings_per_delegation: Whole = Field(default=6, ge=1, le=100)
    max_offers_per_need: Whole = Field(default=2, ge=1, le=20)
    weights: WeightMap = Field(
        default_factory=dict,
        description="Overrides of the scoring weights (text, factor, modality, language, "
                    "region, reciprocity, novelty, capacity); missing ones keep their default")
    factor_affinity: AffinityMap = Field(
        default_factory=dict,
        description="Overrides of the factor-affinity table, keyed 'factor_a:factor_b'")


class TableCreate(TableSettings):
    model_config = ConfigDict(json_schema_extra={"examples": [_EXAMPLE]})

    name: Annotated[CleanLine, Field(min_length=3, max_length=200)]
    starts_on: Day
    ends_on: Day
    venue: Annotated[CleanLine, Field(max_length=200)] = ""
    host_country: ISO3 | None = Field(default=None, description=(
        "The country hosting the table (an enabled country). It need not take part: list it "
        "in `participants` too for its delegation to have meetings"))
    participants: list[ISO3] = Field(default_factory=list, max_length=250)


class TableUpdate(InputSchema):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"status": "matching", "participants": ["ARG", "BRA", "CHL", "HTI", "PER"],
         "weights": {"region": 0.1, "novelty": None}}]})

    name: Annotated[CleanLine, Field(min_length=3, max_length=200)] | None = None
    starts_on: Day | None = None
    ends_on: Day | None = None
    venue: Annotated[CleanLine, Field(max_length=200)] | None = None
    host_country: ISO3 | None = None
    participants: list[ISO3] | None = Field(default=None, max_length=250)
    status: TableStatus | None = Field(default=None, description=(
        "Moves forward only, planning → open → matching → in_session → closed, and may skip "
        "steps; a closed table stays closed and takes no other change"))
    rounds: Whole | None = Field(default=None, ge=1, le=100)
    tables_per_round: Whole | None = Field(default=None, ge=1, le=500)
    max_meetings_per_delegation: Whole | None = Field(default=None, ge=1, le=100)
    max_offers_per_need: Whole | None = Field(default=None, ge=1, le=20)
    weights: dict[WeightName, Weight | None] | None = Field(default=None, description=(
        "Changes to the table's weight overrides: a weight given replaces the table's, a null "
        "returns it to its default, and weights not named keep their value"))
    factor_affinity: dict[FactorPair, Affinity | None] | None = Field(
        default=None, description=(
            "Changes to the table's affinity overrides, keyed 'factor_a:factor_b' (either "
            "order names the same pair): a value given replaces the pair's, a null returns the "
            "pair to the default table, and pairs not named keep their value"))

    @field_validator("participants")
    @classmethod
    def _unique(cls, value: list[str] | None) -> list[str] | None:
        return sorted(set(value)) if value is not None else None


class TableRead(Schema):
    id: int
    name: str
    starts_on: date
    ends_on: date
    venue: str
    host_country: str | None = Field(validation_alias="host_country_iso3")
    status: TableStatus
    participants: list[str]
    rounds: int
    tables_per_round: int
    max_meetings_per_delegation: int
    max_offers_per_need: int
    weights: dict[str, float] = Field(description="Effective weights (defaults + overrides)")
    factor_affinity: dict[str, float] = Field(description="Overrides of the affinity table")
    version: int
    created_at: datetime
    updated_at: datetime
