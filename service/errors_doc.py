"""OpenAPI declarations of the problem-details responses that routes can return."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

_DESCRIPTIONS = {
    400: "Bad request",
    401: "Missing, invalid or revoked access key",
    403: "The key's role or country may not do this",
    404: "Not found (or not visible to this key)",
    409: "Conflict with the current state",
    412: "The `If-Match` version is stale; nothing was changed",
    413: "Request body too large",
    422: "Invalid input; `errors` lists the offending fields",
    503: "Database unreachable, or not at the latest migration (`type` ends `/not-migrated`)",
}


class FieldProblem(BaseModel):
    field: str
    message: str
    type: str | None = None


class Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str = Field(examples=["https://sscmatch.example/problems/validation"])
    title: str = Field(examples=["Invalid input"])
    status: int = Field(examples=[422])
    detail: str = Field(examples=["The request has invalid fields: body.title"])
    instance: str | None = None
    errors: list[FieldProblem] | None = None


def responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """Return the `responses=` mapping documenting these problem statuses."""
    return {
        code: {
            "description": _DESCRIPTIONS.get(code, "Error"),
            "model": Problem,
            "content": {"application/problem+json": {}},
        }
        for code in codes
    }


_ETAG = {"description": "The resource's version, to send back as `If-Match` (`\"3\"`)",
         "schema": {"type": "string"}}
_LOCATION = {"description": "The new resource's path", "schema": {"type": "string"}}


def created() -> dict[int | str, dict[str, Any]]:
    """Return the `responses=` entry documenting the `Location` of a resource created (201)."""
    return {201: {"headers": {"Location": _LOCATION}}}


def versioned(status: int = 200) -> dict[int | str, dict[str, Any]]:
    """Return the `responses=` entry documenting the `ETag` of a versioned resource (and, for a
    201, the `Location` of the one created)."""
    headers = {"ETag": _ETAG} | (created()[201]["headers"] if status == 201 else {})
    return {status: {"headers": headers}}
