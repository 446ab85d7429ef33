"""Stage changes, consents and triangular partners of a pairing.

Every function here receives a pairing loaded with `lock=True`, checks `If-Match`, applies
the rules, bumps the version with a version-checked UPDATE and appends one audit event.
Declining or withdrawing a pairing also cancels its open follow-up activities, each with its
own event.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models import Country, Need, Offer, Pairing, PairingConsent, PairingPartner
from service.auth.service import Principal
from service.errors import Conflict, Forbidden, NotFound, Unprocessable
from service.followups import service as followups
from service.items.service import served
from service.pairings import audit, rules
from service.pairings.audit import Actor
from service.pairings.schemas import PartnerWrite, TransitionRequest
from service.pairings.service import (
    acted_on,
    allowed_moves,
    check_if_match,
    disabled_countries,
    require_session,
    save,
    taken_up_by,
)


def _side_of(pairing: Pairing, country: str) -> str:
    return "recipient" if country == pairing.recipient_iso3 else "provider"


def resolve_actor(session: Session, pairing: Pairing, principal: Principal,
                  on_behalf_of: str | None, *, default: str | None = None) -> tuple[Actor, str]:
    """Return who acts and for which side (recipient or provider).

    A country key acts for its own side. Organisers and admins act for a delegation, named in
    `on_behalf_of` (or `default`), and only while the pairing's table is in session.
    """
    if principal.role == "country":
        assert principal.country is not None
        if on_behalf_of not in (None, principal.country):
            raise Forbidden("A country key acts only for its own country.")
        return Actor.of(principal), _side_of(pairing, principal.country)
    country = on_behalf_of or default
    parties = (pairing.recipient_iso3, pairing.provider_iso3)
    if country is None or country not in parties:
        raise Unprocessable(
            f"Organisers act for one of the two delegations: set on_behalf_of to "
            f"{parties[0]} or {parties[1]}.",
            errors=[{"field": "on_behalf_of", "message": f"one of {', '.join(parties)}"}])
    require_session(session, pairing.table_id)
    return Actor.of(principal, country), _side_of(pairing, country)


def _refuse_transition(session: Session, pairing: Pairing, target: str) -> Conflict:
    allowed = allowed_moves(pairing, disabled_countries(session))
    listed = ", ".join(allowed) if allowed else "none (the pairing is closed)"
    return Conflict(f"A pairing at '{pairing.stage}' cannot move to '{target}'. Allowed: "
                    f"{listed}.", allowed=allowed, stage=pairing.stage)


def _require_published(session: Session, pairing: Pairing) -> None:
    """A pairing moves on only while its need and offer are both published.

    A withdrawn item or one set back to draft may still close the pairing (declined or
    withdrawn); publishing it again lets the pairing go on. The two rows are read under a
    row lock (need, then offer), so a withdrawal racing this move either waits for it or is
    seen by it.
    """
    items = (("need", Need, pairing.need_id), ("offer", Offer, pairing.offer_id))
    for kind, model, item_id in items:
        status = session.scalar(select(model.status).where(model.id == item_id)
                                .with_for_update())
        if status != "published":
            raise Conflict(
                f"The {kind} {item_id} of pairing {pairing.id} is {status}: the pairing "
                f"moves on only once it is published again; it may be declined or withdrawn.",
                allowed=[s for s in rules.allowed_next(pairing.stage) if s in rules.CLOSING])


def _require_enabled(session: Session, pairing: Pairing) -> None:
    """A pairing moves on only while both its countries are enabled: a disabled country takes
    no new part (no new pairing, and no interest, commitment or agreement on one it has), but
    its pairings may still be declined or withdrawn; enabling it again lets them go on."""
    disabled = session.execute(select(Country.iso3, Country.name).where(
        Country.iso3.in_((pairing.recipient_iso3, pairing.provider_iso3)),
        Country.enabled.is_(False)).order_by(Country.iso3)).first()
    if disabled is not None:
        iso3, name = disabled
        raise Conflict(
            f"{name} ({iso3}) is disabled: pairing {pairing.id} moves on only once an "
            "administrator enables it again; it may be declined or withdrawn.",
            allowed=[s for s in rules.allowed_next(pairing.stage) if s in rules.CLOSING])


def _check_capacity(session: Session, pairing: Pairing) -> None:
    """An offer serves at most `capacity` commitments and agreements at once."""
    session.execute(select(Offer.id).where(Offer.id == pairing.offer_id).with_for_update())
    capacity = session.scalar(select(Offer.capacity).where(Offer.id == pairing.offer_id)) or 1
    used = served(session, pairing.offer_id, besides=pairing.id)
    if used >= capacity:
        raise Conflict(f"Offer {pairing.offer_id} has no capacity left: it serves {capacity} "
                       f"partner(s) and already has {used} commitment(s) or agreement(s).",
                       stage=pairing.stage, allowed=list(rules.allowed_next(pairing.stage)))


def _given(pairing: Pairing, step: str) -> set[str]:
    return {c.side for c in pairing.consents if c.step == step}


def _before_consent(session: Session, pairing: Pairing, *, step: str, side: str) -> None:
    """Refuse a repeated consent, and a commitment the offer has no capacity left for
    (checked before anything is written)."""
    given = _given(pairing, step)
    has_partner = pairing.partner is not None
    if side in given:
        missing = rules.pending_sides(step, given, has_partner=has_partner)
        waiting = f"; waiting for: {', '.join(missing)}" if missing else ""
        raise Conflict(f"The {side} side already confirmed the {step} of pairing "
                       f"{pairing.id}{waiting}.", stage=pairing.stage,
                       allowed=list(rules.allowed_next(pairing.stage)))
    completes = not rules.pending_sides(step, given | {side}, has_partner=has_partner)
    if step == "commitment" and completes:
        _check_capacity(session, pairing)


def _consent(session: Session, pairing: Pairing, *, step: str, side: str,
             actor: Actor) -> None:
    consent = PairingConsent(
        pairing_id=pairing.id, step=step, side=side,
        country_iso3=actor.acting_country if side != "partner" else None,
        actor_key_id=actor.key_id, actor_name=actor.name, actor_role=actor.role,
        on_behalf=actor.on_behalf_of is not None)
    try:
        with session.begin_nested():
            session.add(consent)
            session.flush()  # unique per (pairing, step, side): the last guard against a race
    except IntegrityError:
        raise Conflict(f"The {side} side has just confirmed the {step} of pairing "
                       f"{pairing.id} in another request.") from None
    pairing.consents.append(consent)


def _complete_if_ready(pairing: Pairing, step: str) -> str | None:
    """Return the new stage when every consent of `step` is in (else None)."""
    if pairing.stage != rules.NEXT_STAGE_OF.get(step) or rules.pending_sides(
            step, _given(pairing, step), has_partner=pairing.partner is not None):
        return None
    return step


def _retracts_suggestion(session: Session, pairing: Pairing, principal: Principal,
                         data: TransitionRequest) -> bool:
    """An organiser or admin withdraws a suggestion no country has taken up yet (the
    secretariat's own proposal) in its own name, at any time; every later step is a
    delegation's, taken by an organiser only for it (`on_behalf_of`) during a session."""
    return (principal.is_staff and data.on_behalf_of is None
            and pairing.stage == "suggested" and data.to == "withdrawn"
            and not acted_on(session, [pairing.id], by_countries=True))


def _refuse_retraction(session: Session, pairing: Pairing) -> Unprocessable:
    """The secretariat withdrew in its own name a suggestion a country has taken up: say so,
    and how it may still act (for a delegation, during a session)."""
    parties = (pairing.recipient_iso3, pairing.provider_iso3)
    taken = taken_up_by(session, pairing.id)
    who = (f"{taken[0]} took it up ({taken[1].replace('_', ' ')})" if taken is not None
           else "a country took it up")
    return Unprocessable(
        f"Pairing {pairing.id} is no longer the secretariat's own suggestion to withdraw: "
        f"{who}. Organisers withdraw it only for a delegation (on_behalf_of {parties[0]} or "
        f"{parties[1]}) while its table is in session (status `in_session`); otherwise a "
        "country withdraws it with its own key.",
        errors=[{"field": "on_behalf_of", "message": f"one of {', '.join(parties)}"}])


def transition(session: Session, *, pairing: Pairing, data: TransitionRequest,
               principal: Principal, if_match: str | None) -> Pairing:
    """Move a pairing to `data.to`, or record this side's consent to a binding step; a
    pairing declined or withdrawn has its planned and in-progress activities cancelled."""
    check_if_match(pairing, if_match)
    target, before = data.to, pairing.stage
    if not rules.is_allowed(before, target):
        raise _refuse_transition(session, pairing, target)
    if target in rules.CLOSING and not data.reason:
        raise Unprocessable(f"Give a reason to mark the pairing {target}.",
                            errors=[{"field": "reason", "message": "required"}])
    if _retracts_suggestion(session, pairing, principal, data):
        actor, side = Actor.of(principal), ""
    elif (principal.is_staff and data.on_behalf_of is None and pairing.stage == "suggested"
          and target == "withdrawn"):
        raise _refuse_retraction(session, pairing)
    else:
        default = pairing.recipient_iso3 if target == "expression_of_interest" else None
        actor, side = resolve_actor(session, pairing, principal, data.on_behalf_of,
                                    default=default)
    details: dict[str, object] = {}
    new_stage: str | None = target
    if target == "expression_of_interest" and side != "recipient":
        raise Forbidden(f"Only the recipient ({pairing.recipient_iso3}) expresses interest.")
    if target not in rules.CLOSING:  # after who may act: a 403 says more than the state
        _require_enabled(session, pairing)
        _require_published(session, pairing)
    if target in rules.CONSENT_STEPS:
        _before_consent(session, pairing, step=target, side=side)
        _consent(session, pairing, step=target, side=side, actor=actor)
        new_stage = _complete_if_ready(pairing, target)
        details = {"step": target, "side": side, "pending": rules.pending_sides(
            target, _given(pairing, target), has_partner=pairing.partner is not None)}
    save(session, pairing, stage=new_stage)
    action = "confirmed" if target in rules.CONSENT_STEPS else "stage_changed"
    audit.record(session, pairing=pairing, action=action, actor=actor, from_stage=before,
                 to_stage=pairing.stage, reason=data.reason, details=details)
    if pairing.stage in rules.CLOSING:  # nothing is followed up any more: no open activity
        followups.cancel_open_activities(session, pairing=pairing, actor=actor,
                                         reason=data.reason)
    return pairing


def set_partner(session: Session, *, pairing: Pairing, data: PartnerWrite,
                principal: Principal, if_match: str | None) -> Pairing:
    """Name or change the triangular partner; agreement consents given so far are cleared."""
    check_if_match(pairing, if_match)
    if pairing.stage not in rules.PARTNER_EDITABLE:
        raise Conflict(f"The partner of a pairing at '{pairing.stage}' cannot change any more.",
                       allowed=list(rules.allowed_next(pairing.stage)))
    current = pairing.partner
    if current is not None and (current.name, current.support) == (data.name, data.support):
        return pairing
    actor = Actor.of(principal)
    cleared = _clear_agreement_consents(session, pairing)
    if current is None:
        pairing.partner = PairingPartner(pairing_id=pairing.id, name=data.name,
                                         support=data.support)
    else:
        current.name, current.support = data.name, data.support
    session.flush()
    save(session, pairing)
    audit.record(session, pairing=pairing, action="partner_set", actor=actor,
                 from_stage=pairing.stage, to_stage=pairing.stage,
                 details={"partner": data.model_dump(), "cleared_consents": cleared})
    return pairing


def remove_partner(session: Session, *, pairing: Pairing, principal: Principal,
                   if_match: str | None) -> Pairing:
    """Remove the triangular partner (agreement consents given so far are cleared)."""
    check_if_match(pairing, if_match)
    if pairing.partner is None:
        raise NotFound(f"Pairing {pairing.id} has no triangular partner.")
    if pairing.stage not in rules.PARTNER_EDITABLE:
        raise Conflict(f"The partner of a pairing at '{pairing.stage}' cannot change any more.",
                       allowed=list(rules.allowed_next(pairing.stage)))
    old = {"name": pairing.partner.name, "support": pairing.partner.support}
    cleared = _clear_agreement_consents(session, pairing)
    pairing.partner = None
    session.flush()
    save(session, pairing)
    audit.record(session, pairing=pairing, action="partner_removed", actor=Actor.of(principal),
                 from_stage=pairing.stage, to_stage=pairing.stage,
                 details={"partner": old, "cleared_consents": cleared})
    return pairing


def _clear_agreement_consents(session: Session, pairing: Pairing) -> list[str]:
    """Signatures were given for another arrangement: they must be given again."""
    gone = [c for c in pairing.consents if c.step == "agreement"]
    for consent in gone:
        pairing.consents.remove(consent)  # delete-orphan: deleted at the next flush
    session.flush()
    return sorted(c.side for c in gone)


def confirm_partner(session: Session, *, pairing: Pairing, principal: Principal,
                    if_match: str | None) -> Pairing:
    """The organiser confirms the triangular partner for the agreement (staff only)."""
    if not principal.is_staff:
        raise Forbidden("Only organisers confirm the triangular partner of an agreement.")
    check_if_match(pairing, if_match)
    if pairing.partner is None:
        raise Conflict(f"Pairing {pairing.id} has no triangular partner to confirm.")
    if pairing.stage not in rules.PARTNER_EDITABLE:
        raise _refuse_transition(session, pairing, "agreement")
    _require_enabled(session, pairing)
    _require_published(session, pairing)
    actor = Actor.of(principal)
    before = pairing.stage
    _before_consent(session, pairing, step="agreement", side="partner")
    _consent(session, pairing, step="agreement", side="partner", actor=actor)
    new_stage = _complete_if_ready(pairing, "agreement")
    save(session, pairing, stage=new_stage)
    audit.record(session, pairing=pairing, action="partner_confirmed", actor=actor,
                 from_stage=before, to_stage=pairing.stage,
                 details={"partner": {"name": pairing.partner.name,
                                      "support": pairing.partner.support}})
    return pairing
