"""Schemas for countries, groupings and factors."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from service.schemas import ISO3, CleanLine, CleanText, Flag, InputSchema, Language, Schema, Whole

LangMap = dict[Language, Annotated[CleanLine, Field(min_length=1, max_length=200)]]
DescriptionMap = dict[Language, Annotated[CleanText, Field(max_length=2000)]]


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


class CountryUpdate(InputSchema):
    """Admin changes to a country: membership, participation and groupings."""

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


class GroupingCreate(InputSchema):
    code: Annotated[str, Field(min_length=2, max_length=32, pattern=r"^[A-Z0-9_]+$")]
    name: Annotated[CleanLine, Field(min_length=2, max_length=200)]
    kind: Annotated[str, Field(pattern=r"^(regional|interregional|other)$")] = "regional"
    members: list[ISO3] = Field(default_factory=list, max_length=250)


class FactorRead(Schema):
    code: str = Field(examples=["education"])
    position: int
    labels: dict[str, str] = Field(examples=[{"es": "Educación", "pt": "Educação",
                                              "en": "Education", "fr": "Éducation"}])
    descriptions: dict[str, str]


class FactorCreate(InputSchema):
    code: Annotated[str, Field(min_length=2, max_length=40, pattern=r"^[a-z][a-z0-9_]*$")]
    labels: LangMap = Field(min_length=1, max_length=10)
    descriptions: DescriptionMap = Field(default_factory=dict)
    position: Whole | None = Field(default=None, ge=0, le=10_000)


class FactorUpdate(InputSchema):
    labels: LangMap | None = None
    descriptions: DescriptionMap | None = None
    position: Whole | None = Field(default=None, ge=0, le=10_000)
