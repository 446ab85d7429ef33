"""Schemas for pairings, their transitions, triangular partners and audit events."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, JsonValue

from service.schemas import ISO3, MAX_ID, CleanLine, CleanProse, InputSchema, Schema, Whole

Stage = Literal["suggested", "expression_of_interest", "commitment", "agreement", "declined",
                "withdrawn"]
Support = Literal["technical", "financial", "methodological"]
Reason = Annotated[CleanProse, Field(min_length=3, max_length=2000)]
PartnerName = Annotated[CleanLine, Field(min_length=2, max_length=200, examples=["OIT / ILO"])]
IdRef = Annotated[Whole, Field(ge=1, le=MAX_ID)]


class PartnerWrite(InputSchema):
    """The triangular partner of a pairing and the kind of support it brings."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"name": "Agencia Brasileira de Cooperação (ABC)", "support": "financial"}]})

    name: PartnerName
    support: Support


_CREATE_EXAMPLE: dict[str, JsonValue] = {"need_id": 12, "offer_id": 40, "table_id": 1,
                                         "reason": "Nos interesa esta experiencia."}


class PairingCreate(InputSchema):
    """Propose a pairing: organisers from a suggestion, a recipient country directly."""

    model_config = ConfigDict(json_schema_extra={"examples": [_CREATE_EXAMPLE]})

    need_id: IdRef
    offer_id: IdRef
    table_id: IdRef | None = Field(default=None, description="The cooperation table, if any")
    partner: PartnerWrite | None = None
    reason: Reason | None = Field(default=None, description="Why; kept in the audit trail")
    on_behalf_of: ISO3 | None = Field(
        default=None, description="Organisers, during a table session: express interest for "
                                  "the recipient delegation (the pairing starts at "
                                  "`expression_of_interest`)")


class TransitionRequest(InputSchema):
    """Move a pairing to another stage, or give this side's consent to a binding step."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"to": "commitment"},
        {"to": "declined", "reason": "No contamos con presupuesto este año."},
        {"to": "agreement", "on_behalf_of": "HTI"},
    ]})

    to: Stage
    reason: Reason | None = Field(default=None, description="Required to decline or withdraw")
    on_behalf_of: ISO3 | None = Field(
        default=None, description="Organisers acting for a delegation during a table session")


class PartnerRead(Schema):
    name: str
    support: str
    confirmed: bool = Field(description="The organiser confirmed the partner for the agreement")


class ConsentRead(Schema):
    step: str = Field(examples=["commitment"])
    side: str = Field(examples=["provider"], description="recipient, provider or partner")
    country: str | None = Field(validation_alias="country_iso3")
    by: str = Field(validation_alias="actor_name")
    role: str = Field(validation_alias="actor_role")
    on_behalf: bool
    at: datetime = Field(validation_alias="created_at")


class PairingRead(Schema):
    id: int
    need_id: int
    offer_id: int
    table_id: int | None
    recipient: str = Field(examples=["HTI"])
    provider: str = Field(examples=["CHL"])
    factor: str
    need_title: str | None = Field(description=(
        "Shown to a country while the need is published, or if it is the country's own"))
    offer_title: str | None = Field(description=(
        "Shown to a country while the offer is published, or if it is the country's own"))
    need_status: str = Field(description="draft, published or withdrawn")
    offer_status: str = Field(description="draft, published or withdrawn")
    stage: Stage
    origin: str = Field(description="plan, organizer or recipient")
    score: float
    components: dict[str, float]
    scoring_version: str
    partner: PartnerRead | None
    consents: list[ConsentRead]
    pending: list[str] = Field(
        description="Consents still missing for the next binding step (commitment or "
                    "agreement): recipient, provider, partner")
    allowed: list[str] = Field(description=(
        "Stages this pairing may move to next: only declined and withdrawn while its need or "
        "offer is not published or one of its countries is disabled"))
    version: int = Field(description="Increases on every change; sent as the ETag")
    created_at: datetime
    updated_at: datetime


class EventRead(Schema):
    id: int
    at: datetime
    action: str = Field(description="created, rescored (a new plan changed the score of a "
                                    "suggestion it kept), stage_changed, confirmed, "
                                    "partner_set, partner_removed, partner_confirmed, "
                                    "activity_added, activity_updated (also each open "
                                    "activity cancelled when the pairing is declined or "
                                    "withdrawn: `details.pairing_closed`), note_added")
    from_stage: str | None
    to_stage: str | None
    by: str = Field(validation_alias="actor_name")
    key_id: int | None = Field(validation_alias="actor_key_id")
    role: str = Field(validation_alias="actor_role")
    country: str | None = Field(validation_alias="actor_country",
                                description="The acting key's country (country keys)")
    on_behalf_of: str | None = Field(description="The delegation an organiser acted for")
    reason: str | None
    details: dict[str, Any]
    version: int = Field(description="The pairing's version after this event")


class History(Schema):
    """One page of a pairing's audit trail, oldest first, with the paging fields of every
    list (`Page`): `total`, `limit` and `next_cursor`."""

    pairing_id: int
    events: list[EventRead] = Field(description="Oldest first (in the order they happened)")
    total: int = Field(description="Number of events of the pairing, over all pages")
    limit: int
    next_cursor: str | None = Field(
        default=None, description="Pass as `cursor` to get the next page; null on the last "
                                  "page. Events added meanwhile come on later pages")
