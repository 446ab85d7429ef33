"""Schemas for follow-up activities and progress notes."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import ConfigDict, Field, ValidationInfo, field_validator

from service.schemas import (
    ISO3,
    MAX_ID,
    CleanLine,
    CleanProse,
    CleanText,
    Day,
    InputSchema,
    Schema,
    Whole,
)

ActivityStatus = Literal["planned", "in_progress", "done", "cancelled"]
Title = Annotated[CleanLine, Field(min_length=3, max_length=200)]
Description = Annotated[CleanText, Field(max_length=2000)]
NoteText = Annotated[CleanProse, Field(min_length=1, max_length=4000)]


class ActivityCreate(InputSchema):
    """A joint-monitoring activity of a commitment or agreement."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "title": "Visita de estudio a Santiago", "responsible_country": "CHL",
        "starts_on": "2027-03-01", "due_on": "2027-03-15",
        "description": "Equipo técnico de Haití conoce el sistema de alerta temprana."}]})

    title: Title
    description: Description = ""
    responsible_country: ISO3 = Field(description="The recipient or the provider")
    starts_on: Day | None = None
    due_on: Day
    status: ActivityStatus = "planned"

    @field_validator("due_on")
    @classmethod
    def _not_before_start(cls, due_on: date, info: ValidationInfo) -> date:
        # On the field (after starts_on), so that the problem names `due_on`, as a PATCH does.
        starts_on = info.data.get("starts_on")
        if starts_on is not None and due_on < starts_on:
            raise ValueError(f"due_on ({due_on}) must not be before starts_on ({starts_on})")
        return due_on


class ActivityUpdate(InputSchema):
    """Change some fields of an activity (send `If-Match` with the version you read)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"status": "in_progress"}]})

    title: Title | None = None
    description: Description | None = None
    responsible_country: ISO3 | None = None
    starts_on: Day | None = None
    due_on: Day | None = None
    status: ActivityStatus | None = None


class ActivityRead(Schema):
    id: int
    pairing_id: int
    table_id: int | None
    recipient: str
    provider: str
    pairing_stage: str
    title: str
    description: str
    responsible_country: str
    starts_on: date | None
    due_on: date
    status: ActivityStatus
    overdue: bool = Field(description=(
        "Planned or in progress, of a commitment or agreement, and due before the day "
        "lateness is judged on: `as_of` on `GET /followups` (default: today), else today (UTC)"))
    allowed_status: list[str] = Field(description=(
        "Statuses a change may move it to next (none when done or cancelled); declining or "
        "withdrawing the pairing cancels its planned and in-progress activities, and its "
        "activities change no more"))
    version: int
    created_by: str
    created_at: datetime
    updated_at: datetime


class NoteCreate(InputSchema):
    """A progress note on a commitment or agreement, optionally about one activity."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "text": "Se realizó la primera videoconferencia técnica.", "activity_id": 3}]})

    text: NoteText
    activity_id: Annotated[Whole, Field(ge=1, le=MAX_ID)] | None = None


class NoteRead(Schema):
    id: int
    pairing_id: int
    activity_id: int | None
    text: str
    by: str = Field(validation_alias="author_name")
    role: str = Field(validation_alias="author_role")
    country: str | None = Field(validation_alias="author_country")
    created_at: datetime
