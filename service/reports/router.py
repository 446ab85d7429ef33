"""HTTP routes of the outcome reports (organisers: everything; country keys: their own rows)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Response
from sqlalchemy.orm import Session

from service import tabular
from service.auth.service import Principal
from service.deps import AsOf, PrincipalDep, RowId, SessionDep, country_query, factor_query
from service.errors_doc import responses
from service.reports import export, network
from service.reports.queries import Scope
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
# Checked by `scope_for`, which the command line shares, with the same check as every list's.
CountryParam = Annotated[str | None, country_query(
    "Only the pairings where this country is provider or recipient; a country key's report "
    "stays limited to its own rows (with another country: the pairings between the two)")]
FactorParam = Annotated[str | None, factor_query(
    "Only the pairings whose need is on this accelerator factor, the factor the `factors` "
    "view counts them under")]


@dataclass(frozen=True, slots=True)
class Filters:
    """The query parameters that choose a report's pairings."""

    date_from: date | None
    date_to: date | None
    country: str | None
    factor: str | None

    def scope(self, session: Session, principal: Principal,
              table_id: int | None = None) -> Scope:
        """Check the filters and return the scope of the report (see `scope_for`)."""
        return scope_for(session, principal=principal, table_id=table_id,
                         date_from=self.date_from, date_to=self.date_to, country=self.country,
                         factor=self.factor)


def _filters(date_from: From = None, date_to: To = None, country: CountryParam = None,
             factor: FactorParam = None) -> Filters:
    return Filters(date_from=date_from, date_to=date_to, country=country, factor=factor)


FiltersDep = Annotated[Filters, Depends(_filters)]
_FILES: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/json": {}, "text/csv": {}, tabular.XLSX_MEDIA_TYPE: {}},
          "description": "The report as JSON, CSV or XLSX"}}


def _picture(fmt: network.ImageFormat) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI declaration of a picture's answer, in its one format."""
    return {200: {"content": {network.MEDIA_TYPES[fmt]: {}},
                  "description": f"The picture, as {fmt.upper()}"}}


def _respond(session: Session, scope: Scope, fmt: str, stem: str,
             delimiter: tabular.DelimiterName | None, as_of: date | None) -> Report | Response:
    separator = tabular.csv_delimiter(delimiter, fmt)  # checked before the report is built
    report = build_report(session, scope, as_of=as_of)
    if fmt == "json":
        return report
    return tabular.download(export.sheets(report), fmt, stem, separator)


def _image(data: bytes, fmt: network.ImageFormat) -> Response:
    return Response(data, media_type=network.MEDIA_TYPES[fmt])


def _stem(name: str, scope: Scope) -> str:
    """The name of an export file: the report's, then each filter given (country, factor,
    from, to). A range with only an end says so (`report-to-2026-06-30`): it would otherwise
    be named as the range that starts on that day."""
    to = f"to-{scope.date_to}" if scope.date_to and not scope.date_from else scope.date_to
    parts = (scope.country_filter, scope.factor, scope.date_from, to)
    return "-".join([name, *(str(part) for part in parts if part)])


@router.get("/tables/{table_id}/report", response_model=Report, responses=_FILES | responses(
    401, 404, 422))
def get_table_report(table_id: TableId, session: SessionDep, principal: PrincipalDep,
                     filters: FiltersDep, fmt: Format = "json",
                     delimiter: tabular.DelimiterQuery = None,
                     as_of: AsOf = None) -> Report | Response:
    """Outcomes of a table: counts by stage (the "82 outcomes = 60 expressions of interest +
    17 commitments + 5 agreements" view), by factor, by country as provider and recipient,
    the provider × recipient matrix, triangular partners and follow-up status; optionally
    of the table's pairings created between `from` and `to` (inclusive) only, or of those of
    one `country` or one `factor` (e.g. `?factor=migration&country=GTM`). Follow-up lateness
    is judged on `as_of` (default: today), as on `GET /followups`."""
    scope = filters.scope(session, principal, table_id)
    return _respond(session, scope, fmt, _stem(f"table-{table_id}-report", scope), delimiter,
                    as_of)


@router.get("/tables/{table_id}/report/network.svg", response_class=Response,
            responses=_picture("svg") | responses(401, 404, 422))
def get_table_network_svg(table_id: TableId, session: SessionDep, principal: PrincipalDep,
                          filters: FiltersDep) -> Response:
    """Who cooperates with whom in this table (and a date range, country or factor), as SVG."""
    return _image(network_image(session, filters.scope(session, principal, table_id), "svg"),
                  "svg")


@router.get("/tables/{table_id}/report/network.png", response_class=Response,
            responses=_picture("png") | responses(401, 404, 422))
def get_table_network_png(table_id: TableId, session: SessionDep, principal: PrincipalDep,
                          filters: FiltersDep) -> Response:
    """Who cooperates with whom in this table (and a date range, country or factor), as PNG."""
    return _image(network_image(session, filters.scope(session, principal, table_id), "png"),
                  "png")


@router.get("/reports", response_model=Report, responses=_FILES | responses(401, 422))
def get_report(session: SessionDep, principal: PrincipalDep, filters: FiltersDep,
               fmt: Format = "json", delimiter: tabular.DelimiterQuery = None,
               as_of: AsOf = None) -> Report | Response:
    """The same views over every pairing (all tables and none), optionally limited to the
    pairings created between `from` and `to` (inclusive), to those of one `country` (as
    provider or recipient) or to those of one `factor` (e.g. `?country=GTM`); follow-up
    lateness is judged on `as_of` (default: today)."""
    scope = filters.scope(session, principal)
    return _respond(session, scope, fmt, _stem("report", scope), delimiter, as_of)


@router.get("/reports/network.svg", response_class=Response,
            responses=_picture("svg") | responses(401, 422))
def get_network_svg(session: SessionDep, principal: PrincipalDep,
                    filters: FiltersDep) -> Response:
    """Who cooperates with whom over all tables (and a date range, country or factor), as
    SVG."""
    return _image(network_image(session, filters.scope(session, principal), "svg"), "svg")


@router.get("/reports/network.png", response_class=Response,
            responses=_picture("png") | responses(401, 422))
def get_network_png(session: SessionDep, principal: PrincipalDep,
                    filters: FiltersDep) -> Response:
    """Who cooperates with whom over all tables (and a date range, country or factor), as
    PNG."""
    return _image(network_image(session, filters.scope(session, principal), "png"), "png")
