"""The lifecycle rules as plain data and functions (no database): which stage may follow
which, and which consents a step needs."""

from __future__ import annotations

from typing import Literal

Stage = Literal["suggested", "expression_of_interest", "commitment", "agreement", "declined",
                "withdrawn"]
Side = Literal["recipient", "provider"]

NEXT: dict[str, tuple[str, ...]] = {
    "suggested": ("expression_of_interest", "declined", "withdrawn"),
    "expression_of_interest": ("commitment", "declined", "withdrawn"),
    "commitment": ("agreement", "declined", "withdrawn"),
    "agreement": ("declined", "withdrawn"),
    "declined": (),
    "withdrawn": (),
}
"""The stages reachable from each stage; there is no way back."""

CONSENT_STEPS = ("commitment", "agreement")
"""Steps that bind both countries: the stage changes only when every consent is in."""

NEXT_STAGE_OF = {"commitment": "expression_of_interest", "agreement": "commitment"}
"""The stage at which the consents of each binding step are collected."""

CLOSING = ("declined", "withdrawn")
"""Either country may close an open pairing, always with a reason."""

PARTNER_EDITABLE = ("suggested", "expression_of_interest", "commitment")
"""Stages in which the triangular partner may still be named, changed or removed."""


def allowed_next(stage: str) -> tuple[str, ...]:
    """Return the stages a pairing at `stage` may move to."""
    return NEXT.get(stage, ())


def is_allowed(current: str, target: str) -> bool:
    """True when `target` directly follows `current`."""
    return target in allowed_next(current)


def required_sides(step: str, *, has_partner: bool) -> tuple[str, ...]:
    """Return the consents a step needs: both countries, and for an agreement with a
    triangular partner also the organiser's confirmation of the partner."""
    sides: tuple[str, ...] = ("recipient", "provider")
    if step == "agreement" and has_partner:
        sides += ("partner",)
    return sides


def pending_sides(step: str, given: set[str], *, has_partner: bool) -> list[str]:
    """Return the consents of `step` still missing, in a stable order."""
    return [s for s in required_sides(step, has_partner=has_partner) if s not in given]


def next_consent_step(stage: str) -> str | None:
    """The step whose consents are being collected at `stage` (None if there is none)."""
    return {"expression_of_interest": "commitment", "commitment": "agreement"}.get(stage)
