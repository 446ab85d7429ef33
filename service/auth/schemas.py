"""Schemas for access keys."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import ConfigDict, Field

from service.schemas import ISO3, CleanLine, InputSchema, Schema


class KeyCreate(InputSchema):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"role": "country", "country": "HTI", "name": "Haïti, ministère du Travail"},
        {"role": "organizer", "name": "Technical secretariat"}]})

    role: Literal["admin", "organizer", "country"]
    country: ISO3 | None = Field(default=None, description="Required for country keys")
    name: Annotated[CleanLine, Field(max_length=120)] = ""


class KeyRead(Schema):
    id: int
    name: str
    role: str
    country: str | None = Field(validation_alias="country_iso3")
    prefix: str = Field(description="First characters of the key, to recognise it")
    created_at: datetime
    revoked_at: datetime | None


class KeyCreated(KeyRead):
    key: str = Field(description="The secret; shown only this once, store it safely")
