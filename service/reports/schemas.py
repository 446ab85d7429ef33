"""Schemas of the outcome report: one model per view."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import Field

from service.schemas import Schema


class StageCounts(Schema):
    suggested: int = 0
    expression_of_interest: int = 0
    commitment: int = 0
    agreement: int = 0
    declined: int = 0
    withdrawn: int = 0
    outcomes: int = Field(default=0, description="expression_of_interest + commitment + "
                                                 "agreement")


class ReportScope(Schema):
    table_id: int | None = Field(description="The table, or null for all pairings")
    table_name: str | None
    date_from: date | None = Field(description="Pairings created on or after this day (UTC)")
    date_to: date | None = Field(description="Pairings created on or before this day (UTC)")
    country: str | None = Field(description="Set for country keys: only this country's rows")
    country_filter: str | None = Field(
        default=None, examples=["GTM"],
        description="The `country` filter: only pairings where this country is provider or "
                    "recipient")
    factor: str | None = Field(
        default=None, examples=["migration"],
        description="The `factor` filter: only pairings whose need is on this factor")
    generated_at: datetime
    as_of: date = Field(description="Day against which follow-up lateness is judged")


class Headline(Schema):
    outcomes: int
    expression_of_interest: int
    commitment: int
    agreement: int
    text: str = Field(examples=["82 outcomes = 60 expressions of interest + 17 commitments "
                                "+ 5 agreements"])


class StageRow(Schema):
    stage: str
    count: int


class FactorRow(StageCounts):
    factor: str
    label: str


class CountryRow(StageCounts):
    country: str
    name: str
    role: str = Field(description="provider or recipient")


class MatrixCell(Schema):
    provider: str
    recipient: str
    expression_of_interest: int = 0
    commitment: int = 0
    agreement: int = 0
    outcomes: int = 0


class Matrix(Schema):
    providers: list[str]
    recipients: list[str]
    cells: list[MatrixCell] = Field(description="Only the non-empty (provider, recipient) pairs")


class PartnerRow(StageCounts):
    name: str
    support: str
    pairings: int
    confirmed: int = Field(description="Pairings where the organiser confirmed this partner")


class FollowupRow(Schema):
    country: str = Field(description="Responsible country, or `ALL` for the totals")
    planned: int = 0
    in_progress: int = 0
    done: int = 0
    cancelled: int = Field(default=0, description=(
        "Cancelled, by hand or with their pairing when it was declined or withdrawn"))
    overdue: int = Field(default=0, description="Planned or in progress and past due")
    total: int = 0


class Report(Schema):
    scope: ReportScope
    headline: Headline
    stages: list[StageRow]
    factors: list[FactorRow]
    countries: list[CountryRow]
    matrix: Matrix
    partners: list[PartnerRow]
    followups: list[FollowupRow] = Field(description="Per responsible country, then `ALL`")
