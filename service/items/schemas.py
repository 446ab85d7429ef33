"""Schemas for offers and needs (one set of rules; offers add a capacity)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import ConfigDict, Field, JsonValue

from service.schemas import ISO3, CleanLine, CleanText, InputSchema, LowerCode, Schema, Whole
from service.scoring import Modality

Status = Literal["draft", "published", "withdrawn"]
Title = Annotated[CleanLine, Field(min_length=3, max_length=300)]
Description = Annotated[CleanText, Field(min_length=1, max_length=5000)]
Population = Annotated[CleanLine, Field(max_length=300)]
Language = Annotated[str, LowerCode, Field(
    min_length=2, max_length=2, pattern=r"^[a-z]{2}$", examples=["es"],
    description="ISO 639-1 code (any letter case; stored in lower case)")]
Ref = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:\-]+$")]
FactorCode = Annotated[str, LowerCode, Field(
    min_length=1, max_length=40, examples=["education"],
    description="Code of an accelerator factor (any letter case; stored in lower case)")]
Capacity = Annotated[Whole, Field(ge=1, le=50, description="How many partners the offer can serve")]

_EXAMPLE_OFFER: dict[str, JsonValue] = {
    "country": "CHL",
    "factor": "education",
    "title": "Modelo de alerta temprana de deserción escolar por trabajo infantil",
    "description": "Chile comparte su sistema de alerta temprana que cruza datos de "
                   "asistencia escolar y programas sociales para detectar niños en riesgo de "
                   "trabajo infantil.",
    "language": "es",
    "modality": "technical_assistance",
    "target_population": "niños y niñas de 10 a 17 años",
    "capacity": 2,
    "status": "published",
}
_EXAMPLE_NEED: dict[str, JsonValue] = {
    k: v for k, v in _EXAMPLE_OFFER.items() if k != "capacity"
} | {
    "country": "HTI",
    "language": "fr",
    "title": "Système d'alerte précoce contre l'abandon scolaire lié au travail des enfants",
    "description": "Nous cherchons un appui technique pour concevoir un système d'alerte qui "
                   "repère les enfants qui quittent l'école pour travailler.",
    "target_population": "enfants de 10 à 17 ans",
}


class ItemCreateBase(InputSchema):
    country: ISO3 | None = Field(
        default=None, description="ISO 3166-1 alpha-3; defaults to the key's own country"
    )
    factor: FactorCode
    title: Title
    description: Description
    language: Language | None = Field(
        default=None, description="Defaults to the country's working language"
    )
    modality: Modality
    target_population: Population = ""
    status: Literal["draft", "published"] = Field(
        default="published", description="`draft` keeps it visible to its own country only"
    )
    ref: Ref | None = Field(default=None, description=(
        "Your own reference, unique among the offers (or needs) of all countries; generated "
        "if omitted"))


class OfferCreate(ItemCreateBase):
    model_config = ConfigDict(json_schema_extra={"examples": [_EXAMPLE_OFFER]})
    capacity: Capacity = 1


class NeedCreate(ItemCreateBase):
    model_config = ConfigDict(json_schema_extra={"examples": [_EXAMPLE_NEED]})


class ItemUpdateBase(InputSchema):
    factor: FactorCode | None = None
    title: Title | None = None
    description: Description | None = None
    language: Language | None = None
    modality: Modality | None = None
    target_population: Population | None = None
    status: Status | None = None


class OfferUpdate(ItemUpdateBase):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"capacity": 3, "status": "published"}]})
    capacity: Capacity | None = None


class NeedUpdate(ItemUpdateBase):
    model_config = ConfigDict(json_schema_extra={"examples": [{"title": "Nuevo título",
                                                        "status": "published"}]})


class ItemReadBase(Schema):
    id: int
    ref: str
    country: str = Field(validation_alias="country_iso3", examples=["CHL"])
    factor: str = Field(validation_alias="factor_code", examples=["education"])
    title: str
    description: str
    language: str
    modality: str
    target_population: str
    status: str
    version: int = Field(description="Increases on every change; sent as the ETag")
    created_at: datetime
    updated_at: datetime


class OfferRead(ItemReadBase):
    kind: Literal["offer"] = "offer"
    capacity: int


class NeedRead(ItemReadBase):
    kind: Literal["need"] = "need"
