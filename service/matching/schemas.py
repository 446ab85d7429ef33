"""Schemas for matches, table suggestions and plans."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from service.schemas import Page, Schema


class Component(Schema):
    value: float = Field(ge=0, le=1, description="The component's value in [0, 1]")
    weight: float = Field(ge=0, description="Its weight in the total")


class Counterpart(Schema):
    id: int
    kind: str
    country: str
    factor: str
    language: str
    modality: str
    title: str


class MatchRead(Schema):
    need_id: int
    offer_id: int
    need_country: str
    offer_country: str
    counterpart: Counterpart = Field(description="The matched item (offer for a need, need "
                                                 "for an offer)")
    score: float = Field(ge=0, le=1, description="Weighted mean of the components")
    components: dict[str, Component]
    matched_terms: list[str] = Field(description="Terms or phrases matched on both sides")


class OpenPairingRead(Schema):
    id: int
    stage: str
    table_id: int | None


class SuggestionRead(MatchRead):
    open_pairing: OpenPairingRead | None = Field(
        description="The pair's open pairing, at this table, another one or none (`table_id` "
                    "null); null when it has none. Creating another answers 409: act on it")
    turned_down: bool = Field(
        description="A country or an organiser declined or withdrew the pair at this table "
                    "and it has no open pairing: a plan leaves it out (an organiser may still "
                    "suggest it again by hand)")


class MatchList(Schema):
    item_id: int
    kind: str
    scoring_version: str
    matches: list[MatchRead]


class SuggestionList(Page[SuggestionRead]):
    """A page of a table's ranked (need, offer) pairs."""

    table_id: int
    scoring_version: str


class MeetingRead(Schema):
    round: int | None
    table: int | None
    countries: list[str]
    value: float
    pairings: list[dict[str, int]] = Field(description="(need_id, offer_id) merged into it")
    reason: str | None = None


class PlanSummaryRead(Schema):
    id: int
    table_id: int
    number: int = Field(description="Plans of a table are numbered 1, 2, ...")
    scoring_version: str
    created_at: datetime
    created_by: str
    summary: dict[str, Any] = Field(
        description="Totals, bounds and rounds used; `uncovered_participants` (no chosen "
                    "pairing) and `participants_without_meeting` (each participant left "
                    "without a scheduled meeting, with the reason: no candidate, the table's "
                    "limits, or the rounds); the time limit and the seconds the plan took; "
                    "`settings`: the table's participants, limits, weights and factor "
                    "affinities the plan was computed with")
    changed_since: list[str] | None = Field(
        description="What changed since the plan was computed and is not in it: the names of "
                    "the table's `settings` that differ now (participants, rounds, "
                    "tables_per_round, max_meetings_per_delegation, max_offers_per_need, "
                    "weights, factor_affinity), and `scoring` when the service now scores "
                    "otherwise (another scoring_version); empty when nothing did; null for a "
                    "plan stored without its settings. Compute the plan again to apply them",
        examples=[["participants", "rounds"]])


class PlanRead(PlanSummaryRead):
    meetings: list[MeetingRead]
    left_out: list[MeetingRead]
