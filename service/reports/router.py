"""HTTP routes of the outcome reports (organisers: everything; country keys: their own rows)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response

from service import tabular
from service.deps import PrincipalDep, RowId, SessionDep
from service.errors_doc import responses
from service.reports import export, network
from service.reports.schemas import Report
from service.reports.service import build_report, network_image, scope_for
from service.schemas import Day

router = APIRouter(tags=["reports"])
TableId = RowId
Format = Annotated[Literal["json", "csv", "xlsx"], Query(
    alias="format", description="json (default), csv (one file, a `# view` section per view) "
                                "or xlsx (a sheet per view)")]
From = Annotated[Day | None, Query(alias="from", description="Pairings created on or after "
                                                              "this day (UTC)")]
To = Annotated[Day | None, Query(alias="to", description="Pairings created on or before "
                                                          "this day (UTC)")]
_FILES: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/json": {}, "text/csv": {}, tabular.XLSX_MEDIA_TYPE: {}},
          "description": "The report as JSON, CSV or XLSX"}}


def _picture(fmt: network.ImageFormat) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI declaration of a picture's answer, in its one format."""
    return {200: {"content": {network.MEDIA_TYPES[fmt]: {}},
                  "description": f"The picture, as {fmt.upper()}"}}


def _respond(report: Report, fmt: str, stem: str) -> Report | Response:
    if fmt == "json":
        return report
    return tabular.download(export.sheets(report), fmt, stem)


def _image(data: bytes, fmt: network.ImageFormat) -> Response:
    return Response(data, media_type=network.MEDIA_TYPES[fmt])


def _stem(name: str, date_from: date | None, date_to: date | None) -> str:
    return name + (f"-{date_from}" if date_from else "") + (f"-{date_to}" if date_to else "")


@router.get("/tables/{table_id}/report", response_model=Report, responses=_FILES | responses(
    401, 404, 422))
def get_table_report(table_id: TableId, session: SessionDep, principal: PrincipalDep,
                     date_from: From = None, date_to: To = None,
                     fmt: Format = "json") -> Report | Response:
    """Outcomes of a table: counts by stage (the "82 outcomes = 60 expressions of interest +
    17 commitments + 5 agreements" view), by factor, by country as provider and recipient,
    the provider × recipient matrix, triangular partners and follow-up status; optionally
    of the table's pairings created between `from` and `to` (inclusive) only."""
    scope = scope_for(session, principal=principal, table_id=table_id, date_from=date_from,
                      date_to=date_to)
    return _respond(build_report(session, scope), fmt,
                    _stem(f"table-{table_id}-report", date_from, date_to))


@router.get("/tables/{table_id}/report/network.svg", response_class=Response,
            responses=_picture("svg") | responses(401, 404, 422))
def get_table_network_svg(table_id: TableId, session: SessionDep, principal: PrincipalDep,
                          date_from: From = None, date_to: To = None) -> Response:
    """Who cooperates with whom in this table (and a date range), as SVG."""
    scope = scope_for(session, principal=principal, table_id=table_id, date_from=date_from,
                      date_to=date_to)
    return _image(network_image(session, scope, "svg"), "svg")


@router.get("/tables/{table_id}/report/network.png", response_class=Response,
            responses=_picture("png") | responses(401, 404, 422))
def get_table_network_png(table_id: TableId, session: SessionDep, principal: PrincipalDep,
                          date_from: From = None, date_to: To = None) -> Response:
    """Who cooperates with whom in this table (and a date range), as PNG."""
    scope = scope_for(session, principal=principal, table_id=table_id, date_from=date_from,
                      date_to=date_to)
    return _image(network_image(session, scope, "png"), "png")


@router.get("/reports", response_model=Report, responses=_FILES | responses(401, 422))
def get_report(session: SessionDep, principal: PrincipalDep, date_from: From = None,
               date_to: To = None, fmt: Format = "json") -> Report | Response:
    """The same views over every pairing (all tables and none), optionally limited to the
    pairings created between `from` and `to` (inclusive)."""
    scope = scope_for(session, principal=principal, date_from=date_from, date_to=date_to)
    return _respond(build_report(session, scope), fmt, _stem("report", date_from, date_to))


@router.get("/reports/network.svg", response_class=Response,
            responses=_picture("svg") | responses(401, 422))
def get_network_svg(session: SessionDep, principal: PrincipalDep, date_from: From = None,
                    date_to: To = None) -> Response:
    """Who cooperates with whom over all tables (and a date range), as SVG."""
    scope = scope_for(session, principal=principal, date_from=date_from, date_to=date_to)
    return _image(network_image(session, scope, "svg"), "svg")


@router.get("/reports/network.png", response_class=Response,
            responses=_picture("png") | responses(401, 422))
def get_network_png(session: SessionDep, principal: PrincipalDep, date_from: From = None,
                    date_to: To = None) -> Response:
    """Who cooperates with whom over all tables (and a date range), as PNG."""
    scope = scope_for(session, principal=principal, date_from=date_from, date_to=date_to)
    return _image(network_image(session, scope, "png"), "png")
