"""HTTP routes for matches, table suggestions and plans."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status

from models import Plan
from service import scoring
from service.deps import IndexCacheDep, PrincipalDep, SessionDep, StaffDep
from service.errors import NotFound
from service.errors_doc import responses
from service.items.service import Kind
from service.matching import service
from service.matching.schemas import (
    Component,
    Counterpart,
    MatchList,
    MatchRead,
    MeetingRead,
    PlanRead,
    SuggestionList,
)
from service.matching.service import RankedPair
from service.schemas import MAX_ID, json_response
from service.tables.service import get_table_or_raise

router = APIRouter(tags=["matching"])
Id = Annotated[int, Path(ge=1, le=MAX_ID)]
Limit = Annotated[int, Query(ge=1, le=200, description="How many to return (at most 200)")]


def _match(pair: RankedPair, subject_kind: Kind | None) -> MatchRead:
    s = pair.scored
    other = pair.need if subject_kind == "offer" else pair.offer
    return MatchRead(
        need_id=int(s.need_id), offer_id=int(s.offer_id), need_country=s.need_country,
        offer_country=s.offer_country,
        counterpart=Counterpart(id=int(other.id), kind=other.kind, country=other.country,
                                factor=other.factor, language=other.language,
                                modality=other.modality, title=other.title),
        score=round(s.total, 6),
        components={name: Component(value=round(value, 6), weight=s.weights.get(name, 0.0))
                    for name, value in s.components.items()},
        matched_terms=list(s.matched_terms),
    )


def _matches(kind: Kind, item_id: int, session: SessionDep, cache: IndexCacheDep,
             principal: PrincipalDep, limit: int) -> Response:
    pairs = service.item_matches(session, cache, kind=kind, item_id=item_id, principal=principal,
                                 limit=limit)
    return json_response(MatchList(item_id=item_id, kind=kind,
                                   scoring_version=scoring.SCORING_VERSION,
                                   matches=[_match(p, kind) for p in pairs]))


@router.get("/needs/{item_id}/matches", response_model=MatchList,
            responses=responses(401, 404, 422))
def list_need_matches(item_id: Id, session: SessionDep, cache: IndexCacheDep,
                      principal: PrincipalDep, limit: Limit = 10) -> Response:
    """Rank the published offers of other countries that answer this need, with reasons."""
    return _matches("need", item_id, session, cache, principal, limit)


@router.get("/offers/{item_id}/matches", response_model=MatchList,
            responses=responses(401, 404, 422))
def list_offer_matches(item_id: Id, session: SessionDep, cache: IndexCacheDep,
                       principal: PrincipalDep, limit: Limit = 10) -> Response:
    """Rank the published needs of other countries that this offer answers, with reasons."""
    return _matches("offer", item_id, session, cache, principal, limit)


@router.get("/tables/{table_id}/suggestions", response_model=SuggestionList,
            responses=responses(401, 403, 404, 422))
def list_table_suggestions(
    table_id: Id, session: SessionDep, cache: IndexCacheDep, _staff: StaffDep,
    factor: Annotated[str | None, Query(max_length=40)] = None,
    country: Annotated[str | None, Query(min_length=3, max_length=3)] = None,
    limit: Limit = 50,
) -> SuggestionList:
    """Ranked (need, offer) pairs among the table's participants (organisers)."""
    table = get_table_or_raise(session, table_id)
    pairs, total = service.table_suggestions(session, cache, table=table, factor=factor,
                                             country=country, limit=limit)
    return SuggestionList(table_id=table.id, scoring_version=scoring.SCORING_VERSION,
                          total=total, items=[_match(p, None) for p in pairs])


def _plan_read(plan: Plan) -> PlanRead:
    return PlanRead(
        id=plan.id, table_id=plan.table_id, number=plan.number,
        scoring_version=plan.scoring_version, created_at=plan.created_at,
        created_by=plan.created_by, summary=plan.summary,
        meetings=[MeetingRead.model_validate(m) for m in plan.meetings],
        left_out=[MeetingRead.model_validate(m) for m in plan.left_out],
    )


@router.post("/tables/{table_id}/plan", response_model=PlanRead,
             status_code=status.HTTP_201_CREATED, responses=responses(401, 403, 404, 409))
def create_table_plan(table_id: Id, session: SessionDep, cache: IndexCacheDep,
                      staff: StaffDep) -> PlanRead:
    """Compute and store a new plan: exact selection of pairings, then the round schedule."""
    table = get_table_or_raise(session, table_id)
    return _plan_read(service.compute_plan(session, cache, table=table, actor=staff))


@router.get("/tables/{table_id}/plan", response_model=PlanRead,
            responses=responses(401, 404))
def get_table_plan(table_id: Id, session: SessionDep, _principal: PrincipalDep) -> PlanRead:
    """Get the latest plan of a table."""
    table = get_table_or_raise(session, table_id)
    plan = service.latest_plan(session, table)
    if plan is None:
        raise NotFound(f"Table {table_id} has no plan yet; POST /tables/{table_id}/plan.")
    return _plan_read(plan)
