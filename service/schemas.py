"""Shared pydantic bases, the page envelope and common field types."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Annotated, Any, Generic, TypeVar

import pycountry
from fastapi import Response
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, Strict
from pydantic_core import PydanticUndefined, to_json

T = TypeVar("T")
V = TypeVar("V")

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


class RowSerializer:
    """Send database rows as a page of a flat response schema, without validating each row.

    `Schema.model_validate` on a result row reads it attribute by attribute through pydantic's
    `from_attributes` path, which took 40 % of an item-list request's CPU. The rows come from
    typed columns whose values already have the schema's types, so a page is built as plain
    dicts (each field from the column named by its validation alias, or its default) and
    serialised by pydantic-core, the same serialiser `model_dump_json` uses. Only flat schemas
    of plain fields are accepted; tests compare the output with `model_validate` on both
    databases so that the two cannot drift apart.
    """

    def __init__(self, schema: type[BaseModel]) -> None:
        self.plan: list[tuple[str, str, Any]] = []
        for name, field in schema.model_fields.items():
            if isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel):
                raise TypeError(f"{schema.__name__}.{name} is a nested model; rows are flat")
            source = field.validation_alias if isinstance(field.validation_alias, str) else name
            default = None if field.default is PydanticUndefined else field.default
            self.plan.append((field.serialization_alias or name, source, default))

    def items(self, rows: Sequence[Any]) -> list[dict[str, Any]]:
        """Return result rows (all with the same `_fields`) as the schema's JSON objects."""
        if not rows:
            return []
        position = {key: i for i, key in enumerate(rows[0]._fields)}
        plan = [(name, position.get(source, -1), default) for name, source, default in self.plan]
        return [{name: row[i] if i >= 0 else default for name, i, default in plan}
                for row in rows]

    def page(self, rows: Sequence[Any], *, total: int, limit: int,
             next_cursor: str | None) -> Response:
        """Return rows as a `Page` of the schema, as JSON."""
        body = {"items": self.items(rows), "total": total, "limit": limit,
                "next_cursor": next_cursor}
        return Response(content=to_json(body), media_type="application/json")


_ALLOWED_CONTROL = {"\n", "\t"}
# Embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069) reorder the text around
# them: "\u202egnp.exe" shows as "exe.png". The marks U+200E/U+200F, which right-to-left
# languages need, only set the direction of neutral characters and stay allowed.
_BIDI_CONTROLS = frozenset(map(chr, [*range(0x202A, 0x202F), *range(0x2066, 0x206A)]))
_LINE_BREAKS = {"\n": "a line break", "\t": "a tab", "\u2028": "a line separator (U+2028)",
                "\u2029": "a paragraph separator (U+2029)"}


def _normalise_text(value: object) -> object:
    # Windows sends a line break as "\r\n" (and old Macs as "\r"): the same break as "\n".
    # An accented letter may come composed ("ê", as most keyboards write it) or as a letter
    # and a combining accent ("e" + U+0302, as some systems and copied PDFs do): stored
    # composed (NFC), the two spellings are one text for search, refs and reports.
    if not isinstance(value, str):
        return value
    if "\r" in value:
        value = value.replace("\r\n", "\n").replace("\r", "\n")
    return value if unicodedata.is_normalized("NFC", value) else unicodedata.normalize(
        "NFC", value)


def _no_control_chars(value: str) -> str:
    for ch in value:
        if ch in _ALLOWED_CONTROL:
            continue
        if ch in _BIDI_CONTROLS:
            raise ValueError(
                f"contains a bidirectional control character (U+{ord(ch):04X}), which "
                "reorders the text as displayed; remove it")
        if unicodedata.category(ch) in ("Cc", "Cs", "Co", "Cn"):
            raise ValueError(
                f"contains a control or unassigned character (U+{ord(ch):04X}); remove it"
            )
    return value


def _single_line(value: str) -> str:
    for ch, name in _LINE_BREAKS.items():
        if ch in value:
            raise ValueError(f"must be a single line (it contains {name})")
    return value


def _has_letter_or_digit(value: str) -> str:
    # Invisible characters alone (zero-width spaces) or punctuation alone name nothing.
    if value and not any(unicodedata.category(ch)[0] in "LN" for ch in value):
        raise ValueError("must contain at least one letter or digit")
    return value


CleanText = Annotated[str, BeforeValidator(_normalise_text),
                      AfterValidator(_no_control_chars)]
"""Free text: any printable Unicode, line breaks (CR LF and CR are stored as LF) and tabs
allowed; no bidirectional embeddings, overrides or isolates. Stored in NFC."""

CleanProse = Annotated[str, BeforeValidator(_normalise_text),
                       AfterValidator(_no_control_chars), AfterValidator(_has_letter_or_digit)]
"""Free text as `CleanText` that must say something: at least one letter or digit (when not
empty), so that "..." or "-" is not taken for a reason."""

CleanLine = Annotated[str, BeforeValidator(_normalise_text),
                      AfterValidator(_no_control_chars), AfterValidator(_single_line),
                      AfterValidator(_has_letter_or_digit)]
"""A single line of printable Unicode with at least one letter or digit (when not empty),
stored in NFC."""

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iso_date(value: object) -> object:
    if isinstance(value, date):
        return value
    if isinstance(value, str) and _ISO_DATE.fullmatch(value):
        return value
    raise ValueError("must be a date written YYYY-MM-DD")


def _written_as(pattern: str, message: str) -> BeforeValidator:
    """A check that a number in a URL, still text, is written as `pattern` says."""
    written = re.compile(pattern)

    def check(value: object) -> object:
        if isinstance(value, str) and not written.fullmatch(value):
            raise ValueError(message)
        return value

    return BeforeValidator(check)


DIGITS = _written_as(r"[0-9]+", "must be written in the digits 0-9 only")
"""After the `Path`/`Query` of an integer in a URL: only digits are read. Pydantic would read
`1_0` as 10, and `+1`, ` 1` or `1.0` as 1, so a mistyped URL could reach another row."""

DECIMAL = _written_as(r"[0-9]+(\.[0-9]+)?",
                      "must be a number written with the digits 0-9 and at most one point")
"""After the `Query` of a number in a URL: `2` or `2.5`; not `1_0`, `+2`, `2e0` or `inf`."""

Whole = Annotated[int, Strict()]
"""A JSON integer: `true`, `"3"` and `3.0` are refused, not read as 1 and 3."""

Number = Annotated[float, Strict(), AfterValidator(lambda value: value + 0.0)]
"""A JSON number (integers included): `true` and `"0.5"` are refused; -0.0 is read as 0.0."""

Flag = Annotated[bool, Strict()]
"""`true` or `false`: `1`, `"yes"` and `"true"` are refused."""

Day = Annotated[date, BeforeValidator(_iso_date),
                Field(ge=date(2000, 1, 1), le=date(2100, 12, 31), examples=["2026-12-07"])]
"""A calendar date written YYYY-MM-DD (no timestamps or numbers), 2000–2100."""

def _iso639_1(code: str) -> str:
    if pycountry.languages.get(alpha_2=code) is None:
        raise ValueError(f"'{code}' is not an ISO 639-1 language code")
    return code


def _lower(value: object) -> object:
    return value.lower() if isinstance(value, str) else value


LowerCode = BeforeValidator(_lower)
"""Reads a code in any letter case (`PT`, `Es`) as the lower-case code it stands for."""

Language = Annotated[str, LowerCode, Field(pattern=r"^[a-z]{2}$", examples=["es"]),
                     AfterValidator(_iso639_1)]
"""A two-letter ISO 639-1 language code (any letter case, stored in lower case)."""


def _not_alpha_2(value: object) -> object:
    """Refuse an ISO 3166-1 alpha-2 code naming its alpha-3 twin, as the CLI and the query
    filters do (a bare "at least 3 characters" left the caller to guess the code)."""
    if isinstance(value, str) and re.fullmatch(r"[A-Za-z]{2}", value):
        twin = pycountry.countries.get(alpha_2=value.upper())
        if twin is not None:
            raise ValueError(f"'{value}' is an ISO 3166-1 alpha-2 code; use the alpha-3 code "
                             f"{twin.alpha_3} ({twin.name})")
    return value


ISO3 = Annotated[
    str,
    Field(min_length=3, max_length=3, pattern=r"^[A-Za-z]{3}$", examples=["ARG"]),
    AfterValidator(str.upper),
    BeforeValidator(_not_alpha_2),
]


def merge_changes(current: Mapping[str, V], changes: Mapping[str, V | None]) -> dict[str, V]:
    """A flat map after a PATCH of it (as JSON merge patch, RFC 7396, does for one level):
    the keys given replace those of `current`, those given as null are removed, the others
    stay as they are."""
    merged = dict(current)
    for key, value in changes.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged
