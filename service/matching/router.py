"""HTTP routes for matches, table suggestions and plans."""

from __future__ import annotations

from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, Path, Query, Response, status
from sqlalchemy.orm import Session

from models import CooperationTable, Plan
from service import scoring, tabular
from service.auth.service import Principal
from service.countries.service import query_country, query_factor
from service.cursors import encode_cursor
from service.deps import (
    IndexCacheDep,
    KeysetWindowDep,
    NoBodyDep,
    PrincipalDep,
    RowId,
    SessionDep,
    SettingsDep,
    StaffDep,
    WindowDep,
    country_query,
    factor_query,
    page_size,
)
from service.errors import NotFound
from service.errors_doc import created, responses
from service.items.service import Kind
from service.matching import plans, service
from service.matching.export import plan_sheets
from service.matching.schemas import (
    Component,
    Counterpart,
    MatchList,
    MatchRead,
    MeetingRead,
    OpenPairingRead,
    PlanRead,
    PlanSummaryRead,
    SuggestionList,
    SuggestionRead,
)
from service.matching.service import PairState, RankedPair
from service.schemas import DECIMAL, DIGITS, MAX_ID, Page, json_response
from service.tables.service import get_table_or_raise

router = APIRouter(tags=["matching"])
Id = RowId
M = TypeVar("M", bound=MatchRead)
MATCHES = 10
Limit = Annotated[int, Query(ge=1, description=(
    f"How many to return ({MATCHES} if absent; at most `MAX_PAGE_SIZE`, 200, as on the lists)")),
    DIGITS]


def _match(pair: RankedPair, subject_kind: Kind | None, schema: type[M], **extra: Any) -> M:
    s = pair.scored
    other = pair.need if subject_kind == "offer" else pair.offer
    return schema(
        need_id=int(s.need_id), offer_id=int(s.offer_id), need_country=s.need_country,
        offer_country=s.offer_country,
        counterpart=Counterpart(id=int(other.id), kind=other.kind, country=other.country,
                                factor=other.factor, language=other.language,
                                modality=other.modality, title=other.title),
        score=round(s.total, 6),
        components={name: Component(value=round(value, 6), weight=s.weights.get(name, 0.0))
                    for name, value in s.components.items()},
        matched_terms=list(s.matched_terms),
        **extra,
    )


def _suggestion(pair: RankedPair, state: PairState) -> SuggestionRead:
    held = state.open_pairing
    return _match(pair, None, SuggestionRead, turned_down=state.turned_down,
                  open_pairing=None if held is None else OpenPairingRead(
                      id=held.id, stage=held.stage, table_id=held.table_id))


def _matches(kind: Kind, item_id: int, session: SessionDep, cache: IndexCacheDep,
             principal: PrincipalDep, limit: int) -> Response:
    pairs = service.item_matches(session, cache, kind=kind, item_id=item_id, principal=principal,
                                 limit=limit)
    return json_response(MatchList(item_id=item_id, kind=kind,
                                   scoring_version=scoring.SCORING_VERSION,
                                   matches=[_match(p, kind, MatchRead) for p in pairs]))


@router.get("/needs/{item_id}/matches", response_model=MatchList,
            responses=responses(400, 401, 404, 422))
def list_need_matches(item_id: Id, session: SessionDep, cache: IndexCacheDep,
                      principal: PrincipalDep, settings: SettingsDep,
                      limit: Limit = MATCHES) -> Response:
    """Rank the published offers of other countries that answer this need, with reasons."""
    return _matches("need", item_id, session, cache, principal, page_size(limit, settings))


@router.get("/offers/{item_id}/matches", response_model=MatchList,
            responses=responses(400, 401, 404, 422))
def list_offer_matches(item_id: Id, session: SessionDep, cache: IndexCacheDep,
                       principal: PrincipalDep, settings: SettingsDep,
                       limit: Limit = MATCHES) -> Response:
    """Rank the published needs of other countries that this offer answers, with reasons."""
    return _matches("offer", item_id, session, cache, principal, page_size(limit, settings))


# Plain query parameters, checked once the table is found (as a table's report does), so that
# an unknown table is a 404 whatever the filters say.
PairFactor = Annotated[str | None, factor_query(
    "Only the pairs where the need or the offer is on this accelerator factor")]
PairCountry = Annotated[str | None, country_query(
    "Only the pairs where the need or the offer is of this country")]


@router.get("/tables/{table_id}/suggestions", response_model=SuggestionList,
            responses=responses(400, 401, 403, 404, 422))
def list_table_suggestions(
    table_id: Id, session: SessionDep, cache: IndexCacheDep, _staff: StaffDep,
    window: WindowDep,
    factor: PairFactor = None,
    country: PairCountry = None,
) -> SuggestionList:
    """Ranked (need, offer) pairs among the table's participants (organisers), best first,
    a page at a time (`limit`, then `cursor` or `offset`): for each published need of a
    participant, the 10 best offers of the other participants, the candidates a plan chooses
    from (a plan passes over the pairs it may not propose, open elsewhere, turned down here or
    of a full offer, for the need's next best offers). `factor` and `country` keep the pairs
    where the need or the offer has it."""
    table = get_table_or_raise(session, table_id)
    pairs, total = service.table_suggestions(session, cache, table=table,
                                             factor=query_factor(session, factor),
                                             country=query_country(session, country),
                                             limit=window.limit,
                                             offset=window.offset)
    return SuggestionList(table_id=table.id, scoring_version=scoring.SCORING_VERSION,
                          items=[_suggestion(p, state) for p, state in
                                 zip(pairs, service.pair_states(session, table, pairs),
                                     strict=True)],
                          total=total,
                          limit=window.limit, next_cursor=window.next_cursor(total))


PlanNumber = Annotated[int, Path(ge=1, le=MAX_ID, description="The plan's number in its table"),
                       DIGITS]
PlanFormat = Annotated[Literal["json", "csv", "xlsx"], Query(
    alias="format", description="json (default); csv (one file, a `# view` section per view) "
                                "or xlsx (a sheet per view): the plan's summary, its schedule "
                                "(a row per pairing, by round and meeting table) and the "
                                "meetings left out")]
TimeLimit = Annotated[float | None, Query(
    gt=0, le=3600, description="Longest search of the selection, in seconds; default: the "
                               "`PLAN_TIME_LIMIT_S` setting (20). A short limit gives a draft "
                               "quickly; past the limit the best plan found is kept, flagged "
                               "`optimal: false` with a proven bound"), DECIMAL]
_PLAN_FILES: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/json": {}, "text/csv": {}, tabular.XLSX_MEDIA_TYPE: {}},
          "description": "The plan as JSON, or its views as CSV or XLSX"}}


def _plan_read(plan: Plan, table: CooperationTable) -> PlanRead:
    return PlanRead(
        id=plan.id, table_id=plan.table_id, number=plan.number,
        scoring_version=plan.scoring_version, created_at=plan.created_at,
        created_by=plan.created_by, summary=plan.summary,
        changed_since=plans.changed_since(plans.plan_settings(table), plan.summary,
                                            plan.scoring_version),
        meetings=[MeetingRead.model_validate(m) for m in plan.meetings],
        left_out=[MeetingRead.model_validate(m) for m in plan.left_out],
    )


@router.post("/tables/{table_id}/plan", response_model=PlanRead,
             status_code=status.HTTP_201_CREATED,
             responses=created() | responses(401, 403, 404, 409, 422))
def create_table_plan(table_id: Id, session: SessionDep, cache: IndexCacheDep,
                      staff: StaffDep, _no_body: NoBodyDep, response: Response,
                      time_limit_s: TimeLimit = None) -> PlanRead:
    """Compute and store a new plan: exact selection of pairings, then the round schedule.

    The plan gets the next number of the table; `Location` names it under `/plans`. A table
    with fewer than two participants, or a closed one, gets 409 and stores nothing (no number
    is taken). Participants with no candidate pairing get a plan all the same, empty, naming
    each of them in `participants_without_meeting` with the reason. The request takes no
    body: `time_limit_s` goes in the query (a body is 422 rather than ignored).
    """
    table = get_table_or_raise(session, table_id)
    plan = plans.compute_plan(session, cache, table=table, actor=staff,
                                time_limit_s=time_limit_s, end_reads=True)
    response.headers["Location"] = f"/api/v1/tables/{table.id}/plans/{plan.number}"
    return _plan_read(plan, table)


def _plan_response(session: Session, table: CooperationTable, plan: Plan,
                   reader: Principal, fmt: str,
                   delimiter: tabular.DelimiterName | None) -> PlanRead | Response:
    separator = tabular.csv_delimiter(delimiter, fmt)
    if fmt == "json":
        return _plan_read(plan, table)
    return tabular.download(plan_sheets(session, table, plan, reader), fmt,
                            f"table-{table.id}-plan-{plan.number}", separator)


@router.get("/tables/{table_id}/plan", response_model=PlanRead,
            responses=_PLAN_FILES | responses(401, 404, 422))
def get_table_plan(table_id: Id, session: SessionDep, principal: PrincipalDep,
                   fmt: PlanFormat = "json",
                   delimiter: tabular.DelimiterQuery = None) -> PlanRead | Response:
    """Get the latest plan of a table, as JSON or as a spreadsheet to print."""
    table = get_table_or_raise(session, table_id)
    plan = plans.latest_plan(session, table)
    if plan is None:
        raise NotFound(f"Table {table_id} has no plan yet; POST /tables/{table_id}/plan.")
    return _plan_response(session, table, plan, principal, fmt, delimiter)


@router.get("/tables/{table_id}/plans", response_model=Page[PlanSummaryRead],
            responses=responses(400, 401, 404, 422))
def list_table_plans(
    table_id: Id, session: SessionDep, _principal: PrincipalDep,
    window: KeysetWindowDep,
) -> Page[PlanSummaryRead]:
    """List the stored plans of a table, newest first, with their summaries (no meetings).
    The `next_cursor` continues below the last plan shown, so a plan computed while you page
    neither shifts nor repeats the pages that follow."""
    table = get_table_or_raise(session, table_id)
    rows, total = plans.list_plans(session, table, limit=window.limit + 1,
                                   offset=window.offset, before=window.before)
    settings = plans.plan_settings(table)  # the same for every plan of the page
    return window.keyset_page(Page[PlanSummaryRead], rows, [
        PlanSummaryRead.model_validate({**row._mapping, "changed_since": plans.changed_since(
            settings, row.summary, row.scoring_version)}) for row in rows], total,
        cursor_of=lambda row: encode_cursor(row.number))


@router.get("/tables/{table_id}/plans/{number}", response_model=PlanRead,
            responses=_PLAN_FILES | responses(401, 404, 422))
def get_table_plan_by_number(table_id: Id, number: PlanNumber, session: SessionDep,
                             principal: PrincipalDep,
                             fmt: PlanFormat = "json",
                             delimiter: tabular.DelimiterQuery = None) -> PlanRead | Response:
    """Get one stored plan of a table by its number, as JSON or as a spreadsheet."""
    table = get_table_or_raise(session, table_id)
    plan = plans.plan_by_number(session, table, number)
    if plan is None:
        raise NotFound(f"Table {table_id} has no plan number {number}; "
                       f"GET /tables/{table_id}/plans lists its plans.")
    return _plan_response(session, table, plan, principal, fmt, delimiter)
