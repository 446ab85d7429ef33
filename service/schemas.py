"""Shared pydantic bases, the page envelope and common field types."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from datetime import date
from typing import Annotated, Generic, TypeVar

from fastapi import Response
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

T = TypeVar("T")

MAX_ID = 2**31 - 1
"""Largest record id: ids are 32-bit INTEGER columns (PostgreSQL rejects larger values)."""


class Schema(BaseModel):
    """Base of every response schema: reads ORM attributes."""

    model_config = ConfigDict(from_attributes=True, validate_by_name=True, validate_by_alias=True)


class InputSchema(BaseModel):
    """Base of every request schema: unknown fields are errors."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Page(Schema, Generic[T]):
    """One page of a list: the items, the total matching count and the cursor of the next page."""

    items: list[T]
    total: int = Field(description="Number of items matching the filters, over all pages")
    limit: int
    next_cursor: str | None = Field(
        default=None, description="Pass as `cursor` to get the next page; null on the last page"
    )


def json_response(model: BaseModel, *, status_code: int = 200,
                  headers: Mapping[str, str] | None = None) -> Response:
    """Send a response model built by the route as JSON, as FastAPI would.

    A route that returns the model itself has it validated a second time against the declared
    `response_model` and serialised in another thread hand-off; the busiest routes (offers and
    needs, matches) skip that. Subclass fields are kept (`serialize_as_any`), as FastAPI keeps
    them. The route's declared status code and any headers set on an injected `Response` do
    not apply to a returned response: pass them here.
    """
    body = model.model_dump_json(by_alias=True, serialize_as_any=True)
    return Response(content=body, status_code=status_code, headers=headers,
                    media_type="application/json")


_ALLOWED_CONTROL = {"\n", "\t"}


def _no_control_chars(value: str) -> str:
    for ch in value:
        if ch in _ALLOWED_CONTROL:
            continue
        if unicodedata.category(ch) in ("Cc", "Cs", "Co", "Cn"):
            raise ValueError(
                f"contains a control or unassigned character (U+{ord(ch):04X}); remove it"
            )
    return value


def _single_line(value: str) -> str:
    if "\n" in value or "\t" in value:
        raise ValueError("must be a single line")
    return value


CleanText = Annotated[str, AfterValidator(_no_control_chars)]
"""Free text: any printable Unicode, newlines and tabs allowed."""

CleanLine = Annotated[str, AfterValidator(_no_control_chars), AfterValidator(_single_line)]
"""A single line of printable Unicode."""

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iso_date(value: object) -> object:
    if isinstance(value, date):
        return value
    if isinstance(value, str) and _ISO_DATE.fullmatch(value):
        return value
    raise ValueError("must be a date written YYYY-MM-DD")


Day = Annotated[date, BeforeValidator(_iso_date),
                Field(ge=date(2000, 1, 1), le=date(2100, 12, 31), examples=["2026-12-07"])]
"""A calendar date written YYYY-MM-DD (no timestamps or numbers), 2000–2100."""

ISO3 = Annotated[
    str,
    Field(min_length=3, max_length=3, pattern=r"^[A-Za-z]{3}$", examples=["ARG"]),
    AfterValidator(str.upper),
]
