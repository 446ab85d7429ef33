"""Schemas for countries, groupings and factors."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, TypeVar

from pydantic import AfterValidator, BeforeValidator, ConfigDict, Field

from service.codes import lower_code, upper_code
from service.config import get_settings
from service.schemas import ISO3, CleanLine, CleanProse, Flag, InputSchema, Language, Schema, Whole

Label = Annotated[CleanLine, Field(min_length=1, max_length=200)]
Description = Annotated[CleanProse, Field(min_length=1, max_length=2000)]
TextsT = TypeVar("TextsT", bound=Mapping[str, str | None])


def _working_languages(texts: TextsT) -> TextsT:
    """Refuse a text in a language other than the service's working ones (`LANGUAGES`); a
    null, which removes a text, may name any language (so a stray one can be removed)."""
    languages = get_settings().languages
    wrong = sorted(lang for lang, text in texts.items()
                   if text is not None and lang not in languages)
    if wrong:
        raise ValueError(f"not a working language of the service: {', '.join(wrong)}; "
                         f"use one of {', '.join(languages)}")
    return texts


def _one_text_per_language(texts: object) -> object:
    """Refuse two keys for one language ('en' and 'EN'): codes are read in any letter case,
    and one of the two texts would be dropped without a word."""
    if isinstance(texts, dict):
        seen: dict[str, str] = {}
        for key in texts:
            if isinstance(key, str):
                other = seen.setdefault(lower_code(key), key)
                if other != key:
                    raise ValueError(f"gives the language '{lower_code(key)}' twice (as "
                                     f"'{other}' and '{key}'); give it once")
    return texts


_OneEach = BeforeValidator(_one_text_per_language)
_Working = AfterValidator(_working_languages)
LangMap = Annotated[dict[Language, Label], _OneEach, _Working]
DescriptionMap = Annotated[dict[Language, Description], _OneEach, _Working]
LangChanges = Annotated[dict[Language, Label | None], _OneEach, _Working]
DescriptionChanges = Annotated[dict[Language, Description | None], _OneEach, _Working]


GroupingCode = Annotated[str, Field(min_length=2, max_length=32, pattern=r"^[A-Za-z0-9_]+$"),
                         AfterValidator(upper_code)]
"""A grouping code in any letter case (`cplp`), as `?grouping=` reads it; stored in upper case."""


class GroupingRef(Schema):
    code: str
    name: str


class CountryRead(Schema):
    iso3: str = Field(examples=["BRA"])
    iso2: str = Field(examples=["BR"])
    name: str = Field(examples=["Brazil"])
    languages: list[str] = Field(description="Official languages (ISO 639-1)", examples=[["pt"]])
    is_member: bool = Field(description="Member of the Regional Initiative")
    enabled: bool = Field(description="May submit offers and needs and take part in tables")
    groupings: list[GroupingRef]
    version: int = Field(description="Increases on every change; sent as the ETag")


class CountryUpdate(InputSchema):
    """Admin changes to a country: membership, participation and groupings (none null)."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"enabled": True, "languages": ["en", "fr"], "groupings": ["CARICOM"]}]})

    is_member: Flag | None = None
    enabled: Flag | None = None
    languages: list[Language] | None = Field(
        default=None, min_length=1, max_length=10,
        description="Official languages (ISO 639-1), at least one")
    groupings: list[Annotated[str, Field(min_length=1, max_length=32,
                                         pattern=r"^[A-Za-z0-9_]+$")]] | None = Field(
        default=None, max_length=50
    )


class GroupingRead(Schema):
    code: str
    name: str
    kind: str
    members: list[str]
    version: int = Field(description="Increases on every change, its members' included; sent "
                                     "as the ETag")


GroupingName = Annotated[CleanLine, Field(min_length=2, max_length=200)]
GroupingKind = Annotated[str, Field(pattern=r"^(regional|interregional|other)$")]


class GroupingCreate(InputSchema):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"code": "OECS", "name": "Organisation of Eastern Caribbean States",
         "kind": "regional", "members": ["ATG", "DMA", "GRD", "KNA", "LCA", "VCT"]}]})

    code: GroupingCode
    name: GroupingName
    kind: GroupingKind = "regional"
    members: list[ISO3] = Field(default_factory=list, max_length=250)


class GroupingUpdate(InputSchema):
    """Changes to a grouping (its code stays): `members`, given, replaces the member list;
    no field may be null."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"name": "Mercado Común del Sur", "members": ["ARG", "BOL", "BRA", "PRY", "URY"]}]})

    name: GroupingName | None = None
    kind: GroupingKind | None = None
    members: list[ISO3] | None = Field(default=None, max_length=250)


class FactorRead(Schema):
    code: str = Field(examples=["education"])
    position: int
    labels: dict[str, str] = Field(examples=[{"es": "Educación", "pt": "Educação",
                                              "en": "Education", "fr": "Éducation"}])
    descriptions: dict[str, str]
    version: int = Field(description="Increases on every change; sent as the ETag")


class FactorCreate(InputSchema):
    """A new factor: labels and descriptions keyed by working language, one label at least."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "code": "green_jobs",
        "labels": {"es": "Empleos verdes", "pt": "Empregos verdes", "en": "Green jobs",
                   "fr": "Emplois verts"},
        "descriptions": {"en": "Decent work in the transition to a low-carbon economy."},
        "position": 20}]})

    code: Annotated[str, Field(min_length=2, max_length=40, pattern=r"^[a-z][a-z0-9_]*$")]
    labels: LangMap = Field(min_length=1, max_length=10, description=(
        "Label per working language (es, pt, en, fr): at least one, all four preferably"))
    descriptions: DescriptionMap = Field(default_factory=dict)
    position: Whole | None = Field(default=None, ge=0, le=10_000)


class FactorUpdate(InputSchema):
    """Changes to a factor: given labels and descriptions replace those of their language, a
    null removes one (a factor keeps one label at least); no field itself may be null."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"labels": {"fr": "Éducation et formation"}, "descriptions": {"pt": None}}]})

    labels: LangChanges | None = Field(default=None, max_length=10)
    descriptions: DescriptionChanges | None = Field(default=None, max_length=10)
    position: Whole | None = Field(default=None, ge=0, le=10_000)
