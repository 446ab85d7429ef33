"""Pairings: visibility, loading (with a row lock for changes), listing, creation and reading.

The stage changes, consents and triangular partners are in `lifecycle.py`.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import ColumnElement, CursorResult, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from models import (
    OPEN_STAGES,
    CooperationTable,
    Country,
    Need,
    Offer,
    Pairing,
    PairingEvent,
    PairingPartner,
    TableParticipant,
    utcnow,
)
from service import revisions, versions
from service.auth.service import Principal
from service.codes import upper_code
from service.countries.service import require_enabled_country
from service.errors import (
    Conflict,
    Forbidden,
    NotFound,
    field_error,
)
from service.items import service as items_service
from service.pairings import audit, rules
from service.pairings.audit import Actor
from service.pairings.schemas import ConsentRead, PairingCreate, PairingRead, PartnerRead
from service.scoring import SCORING_VERSION, ScoredPairing

# (need, offer, table id or None) -> the pair's score and components, or None if unscored.
PairScorer = Callable[[Need, Offer, int | None], ScoredPairing | None]


@dataclass(frozen=True, slots=True)
class PairingFilters:
    """Filters of a list of pairings; None means no filter."""

    table_id: int | None = None
    stage: str | None = None
    country: str | None = None
    need_id: int | None = None
    offer_id: int | None = None


def visible_clause(principal: Principal) -> ColumnElement[bool]:
    """Staff see every pairing; a country key only those where it is recipient or provider."""
    if principal.is_staff:
        return Pairing.id.is_not(None)
    return or_(Pairing.recipient_iso3 == principal.country,
               Pairing.provider_iso3 == principal.country)


def can_see(pairing: Pairing, principal: Principal) -> bool:
    """True when the caller may read this pairing."""
    return principal.is_staff or principal.country in (pairing.recipient_iso3,
                                                       pairing.provider_iso3)


def _load(session: Session, pairing_id: int, *, refresh: bool) -> Pairing | None:
    stmt = (select(Pairing).where(Pairing.id == pairing_id)
            .options(joinedload(Pairing.need), joinedload(Pairing.offer),
                     joinedload(Pairing.partner), selectinload(Pairing.consents)))
    if refresh:
        stmt = stmt.execution_options(populate_existing=True)
    return session.scalar(stmt)


def get_pairing_or_raise(session: Session, pairing_id: int, principal: Principal, *,
                         lock: bool = False) -> Pairing:
    """Return a visible pairing or raise 404 (never 403: others' pairings do not exist).

    With `lock`, the row is locked first (`SELECT ... FOR UPDATE` on PostgreSQL), so that
    concurrent changes of one pairing queue up and each sees the state the previous left.
    """
    if lock:
        session.execute(select(Pairing.id).where(Pairing.id == pairing_id).with_for_update())
    pairing = _load(session, pairing_id, refresh=lock)
    if pairing is None or not can_see(pairing, principal):
        raise NotFound(f"No pairing with id {pairing_id}.")
    return pairing


def check_if_match(pairing: Pairing, if_match: str | None) -> None:
    """Raise 412 when `If-Match` names another version than the current one."""
    versions.check_if_match(pairing, if_match, what=f"Pairing {pairing.id}")


def save(session: Session, pairing: Pairing, *, stage: str | None = None) -> None:
    """Bump the version (and optionally change the stage) with a version-checked UPDATE.

    The row is already locked on PostgreSQL; the `WHERE version = ...` also guards backends
    without row locks: a lost race is a 409, never a silent overwrite.
    """
    values: dict[str, object] = {"version": pairing.version + 1, "updated_at": utcnow()}
    if stage is not None:
        values["stage"] = stage
    result = cast(CursorResult[Any], session.execute(
        update(Pairing).where(Pairing.id == pairing.id, Pairing.version == pairing.version)
        .values(**values).execution_options(synchronize_session=False)))
    if result.rowcount != 1:
        raise Conflict(f"Pairing {pairing.id} was changed concurrently; fetch it and retry.")
    for key, value in values.items():
        set_committed_value(pairing, key, value)
    revisions.bump(session, "pairings")


def involving(countries: Collection[str]) -> ColumnElement[bool]:
    """Pairings in which one of `countries` takes part, as recipient or as provider."""
    return or_(Pairing.recipient_iso3.in_(countries), Pairing.provider_iso3.in_(countries))


TABLE_CLOSED, COUNTRIES_REMOVED = "table_closed", "countries_removed"
"""Keys of the details of the withdrawals a table makes itself (`withdraw_suggestions`)."""


def withdraw_suggestions(session: Session, *, table_id: int, actor: Actor, reason: str,
                         countries: Collection[str] | None = None) -> int:
    """Withdraw a table's pairings still at `suggested` (of `countries` only, when given, as
    either side), each with its audit event; return how many."""
    conds = [Pairing.table_id == table_id, Pairing.stage == "suggested"]
    if countries is not None:
        conds.append(involving(countries))
    details: dict[str, object] = (
        {TABLE_CLOSED: table_id} if countries is None
        else {"table": table_id, COUNTRIES_REMOVED: sorted(countries)})
    pairings = session.scalars(select(Pairing).where(*conds)
                               .order_by(Pairing.id).with_for_update()).all()
    for pairing in pairings:
        save(session, pairing, stage="withdrawn")
        audit.record(session, pairing=pairing, action="stage_changed", actor=actor,
                     from_stage="suggested", to_stage="withdrawn", reason=reason,
                     details=details)
    return len(pairings)


def turned_down(session: Session, *, table_id: int) -> set[tuple[int, int]]:
    """Return the (need, offer) pairs declined or withdrawn at a table by a country or an
    organiser: not those the table withdrew itself when it closed or a country left it. The
    latest ended pairing of a pair decides (an organiser may have suggested it again)."""
    latest: dict[tuple[int, int], int] = {}
    for pairing_id, need_id, offer_id in session.execute(
            select(Pairing.id, Pairing.need_id, Pairing.offer_id).where(
                Pairing.table_id == table_id, Pairing.stage.in_(("declined", "withdrawn")))
            .order_by(Pairing.id)):
        latest[(need_id, offer_id)] = pairing_id
    if not latest:
        return set()
    events = session.execute(select(PairingEvent.pairing_id, PairingEvent.details).where(
        PairingEvent.pairing_id.in_(latest.values()), PairingEvent.to_stage == "withdrawn"))
    by_the_table = {pairing_id for pairing_id, details in events
                    if isinstance(details, dict) and details.keys() & {TABLE_CLOSED,
                                                                        COUNTRIES_REMOVED}}
    return {pair for pair, pairing_id in latest.items() if pairing_id not in by_the_table}


def under_way(session: Session, *, table_id: int, countries: Collection[str]) -> list[int]:
    """Return the ids of a table's pairings past `suggested` and still open (agreements
    included) in which one of `countries` takes part, as either side.

    Every open pairing of those countries at the table is read under its row lock, so a
    suggestion taken up meanwhile is seen at its new stage (the move waits for, or is waited
    for by, the caller's transaction)."""
    rows = session.execute(select(Pairing.id, Pairing.stage).where(
        Pairing.table_id == table_id, Pairing.stage.in_(OPEN_STAGES), involving(countries),
    ).order_by(Pairing.id).with_for_update())
    return [pairing_id for pairing_id, stage in rows if stage != "suggested"]


SECRETARIAT_EVENTS = ("created", "rescored")
"""The events of a suggestion nobody has taken up: its creation and a plan's new scores."""


def acted_on(session: Session, pairing_ids: Collection[int], *,
             by_countries: bool = False) -> set[int]:
    """Return which of the pairings someone acted on: their history holds an event other than
    `SECRETARIAT_EVENTS` (a move, a consent, a partner, a note...). `by_countries`: only a
    country's acts count (with its own key, or an organiser's for its delegation), so that a
    partner the secretariat named leaves a suggestion its own."""
    if not pairing_ids:
        return set()
    return set(session.scalars(select(PairingEvent.pairing_id).where(
        PairingEvent.pairing_id.in_(pairing_ids), *_acts(by_countries=by_countries))))


def _acts(*, by_countries: bool) -> list[ColumnElement[bool]]:
    """The events that act on a pairing (`acted_on`): not `SECRETARIAT_EVENTS`, and with
    `by_countries` only a country's (with its own key, or an organiser's for its delegation)."""
    acts: list[ColumnElement[bool]] = [PairingEvent.action.not_in(SECRETARIAT_EVENTS)]
    if by_countries:
        acts.append(or_(PairingEvent.actor_role == "country",
                        PairingEvent.on_behalf_of.is_not(None)))
    return acts


def taken_up_by(session: Session, pairing_id: int) -> tuple[str, str] | None:
    """Return the country that first acted on a pairing and its act (`acted_on` with
    `by_countries`), or None when no country has."""
    row = session.execute(
        select(func.coalesce(PairingEvent.on_behalf_of, PairingEvent.actor_country),
               PairingEvent.action)
        .where(PairingEvent.pairing_id == pairing_id, *_acts(by_countries=True))
        .order_by(PairingEvent.id).limit(1)).first()
    return None if row is None or row[0] is None else (row[0], row[1])


def require_session(session: Session, table_id: int | None) -> None:
    """Organisers act for a delegation only while the pairing's table is in session."""
    table = session.get(CooperationTable, table_id) if table_id else None
    if table is None or table.status != "in_session":
        raise Forbidden("Organisers can act for a delegation only during a session of the "
                        "pairing's cooperation table (table status `in_session`); otherwise "
                        "each country acts with its own key.")


def require_item_filter(session: Session, kind: items_service.Kind, item_id: int,
                        principal: Principal) -> None:
    """Raise NotFound, as `GET /needs/{id}` or `/offers/{id}` would, unless the need or offer
    `item_id` exists and the caller may see it or one of its pairings (a partner's offer
    withdrawn since still filters the caller's pairings with it)."""
    item = items_service.get_item(session, kind, item_id)
    if item is not None and items_service.can_see(item, principal):
        return
    column = Pairing.need_id if kind == "need" else Pairing.offer_id
    if item is None or session.scalar(select(Pairing.id).where(
            column == item_id, visible_clause(principal)).limit(1)) is None:
        raise NotFound(f"No {kind} with id {item_id}.")


def list_pairings(session: Session, *, principal: Principal, filters: PairingFilters,
                  limit: int, offset: int, before: int | None = None
                  ) -> tuple[list[Pairing], int]:
    """Return one page of the visible pairings (newest first; those with an id below `before`,
    if given) and the total count of the list."""
    conds = [visible_clause(principal)]
    if filters.table_id is not None:
        conds.append(Pairing.table_id == filters.table_id)
    if filters.stage:
        conds.append(Pairing.stage == filters.stage)
    if filters.country:
        conds.append(involving([upper_code(filters.country)]))
    if filters.need_id is not None:
        conds.append(Pairing.need_id == filters.need_id)
    if filters.offer_id is not None:
        conds.append(Pairing.offer_id == filters.offer_id)
    total = session.scalar(select(func.count(Pairing.id)).where(*conds)) or 0
    below = [] if before is None else [Pairing.id < before]
    rows = session.scalars(
        select(Pairing).where(*conds, *below).order_by(Pairing.id.desc()).limit(limit)
        .offset(offset)
        .options(joinedload(Pairing.need), joinedload(Pairing.offer),
                 joinedload(Pairing.partner), selectinload(Pairing.consents)))
    return list(rows.unique()), total


def _items(session: Session, data: PairingCreate, principal: Principal) -> tuple[Need, Offer]:
    # A shared row lock on each (need, then offer, in the order a move on locks them): a
    # withdrawal or change of either (which locks the row for update) waits for this
    # pairing, or this pairing waits for it and sees the item's new status.
    shared: dict[str, Any] = {"with_for_update": {"read": True}, "populate_existing": True}
    need = session.get(Need, data.need_id, **shared)
    if need is None or not items_service.can_see(need, principal):
        raise field_error("need_id", f"No need with id {data.need_id}.")
    offer = session.get(Offer, data.offer_id, **shared)
    if offer is None or not items_service.can_see(offer, principal):
        raise field_error("offer_id", f"No offer with id {data.offer_id}.")
    if need.country_iso3 == offer.country_iso3:
        raise field_error("offer_id", "A pairing links two different countries; this offer "
                                       f"is {need.country_iso3}'s own.")
    for kind, item in (("need", need), ("offer", offer)):
        if item.status != "published":
            raise Conflict(f"The {kind} {item.id} is {item.status}; only published offers "
                           "and needs can be paired.")
    return need, offer


def _check_table(session: Session, table_id: int, need: Need, offer: Offer) -> None:
    # A shared lock on the table: a change of its participants or status (which locks the row
    # for update) waits for this pairing, or this pairing sees the change.
    table = session.scalar(select(CooperationTable).where(CooperationTable.id == table_id)
                           .with_for_update(read=True)
                           .execution_options(populate_existing=True))
    if table is None:
        raise field_error("table_id", f"No cooperation table with id {table_id}.")
    if table.status == "closed":
        raise Conflict(f"Table {table_id} is closed; it takes no new pairings.")
    members = set(session.scalars(select(TableParticipant.country_iso3).where(
        TableParticipant.table_id == table_id)))
    missing = sorted({need.country_iso3, offer.country_iso3} - members)
    if missing:
        raise field_error("table_id", f"{', '.join(missing)} do(es) not take part in table "
                                       f"{table_id}.")


def _start(data: PairingCreate, principal: Principal, need: Need) -> tuple[str, str, Actor]:
    """Decide the first stage, the origin and the actor of a new pairing (or refuse)."""
    if principal.role == "country":
        if need.country_iso3 != principal.country:
            raise Forbidden(f"Only the recipient country ({need.country_iso3}) or an organiser "
                            "proposes a pairing for this need.")
        if data.on_behalf_of not in (None, principal.country):
            raise Forbidden("A country key acts only for its own country.")
        return "expression_of_interest", "recipient", Actor.of(principal)
    if data.on_behalf_of is None:
        return "suggested", "organizer", Actor.of(principal)
    if data.on_behalf_of != need.country_iso3:
        raise field_error("on_behalf_of", "Interest is expressed for the recipient "
                                           f"delegation ({need.country_iso3}).")
    return "expression_of_interest", "organizer", Actor.of(principal, data.on_behalf_of)


def stamp_score(pairing: Pairing, scored: ScoredPairing) -> None:
    """Store a pair's score (clamped to [0, 1]), its components and the scoring version."""
    pairing.score = min(max(scored.total, 0.0), 1.0)
    pairing.components = dict(scored.components)
    pairing.scoring_version = SCORING_VERSION


def create_pairing(session: Session, *, data: PairingCreate, principal: Principal,
                   scorer: PairScorer | None = None) -> Pairing:
    """Create a pairing: `suggested` by an organiser, `expression_of_interest` when the
    recipient (or an organiser for it, in session) proposes it. One open pairing per pair.

    `scorer` gives the pair's score and its components, stored with the pairing as a plan
    stores those of the pairings it suggests (without one, the score is 0)."""
    need, offer = _items(session, data, principal)
    stage, origin, actor = _start(data, principal, need)
    for country in sorted({need.country_iso3, offer.country_iso3}):
        require_enabled_country(session, country)  # a disabled country takes no new pairing
    if data.table_id is not None:
        _check_table(session, data.table_id, need, offer)
    if actor.on_behalf_of is not None:
        require_session(session, data.table_id)
    existing = session.scalar(select(Pairing.id).where(
        Pairing.need_id == need.id, Pairing.offer_id == offer.id, Pairing.stage.in_(OPEN_STAGES)))
    if existing is not None:
        raise Conflict(f"Pairing {existing} between need {need.id} and offer {offer.id} is "
                       "still open; act on it instead.", pairing_id=existing)
    pairing = Pairing(need_id=need.id, offer_id=offer.id, table_id=data.table_id,
                      recipient_iso3=need.country_iso3, provider_iso3=offer.country_iso3,
                      stage=stage, origin=origin, score=0.0, components={}, version=1)
    if scorer is not None and (scored := scorer(need, offer, data.table_id)) is not None:
        stamp_score(pairing, scored)
    try:
        with session.begin_nested():
            session.add(pairing)
            session.flush()  # the partial unique index settles concurrent creations
    except IntegrityError:
        raise Conflict(f"An open pairing between need {need.id} and offer {offer.id} was "
                       "just created by another request.") from None
    details: dict[str, object] = {"origin": origin}
    if data.partner is not None:
        session.add(PairingPartner(pairing_id=pairing.id, name=data.partner.name,
                                   support=data.partner.support))
        details["partner"] = data.partner.model_dump()
    audit.record(session, pairing=pairing, action="created", actor=actor, from_stage=None,
                 to_stage=stage, reason=data.reason, details=details)
    revisions.bump(session, "pairings")
    return get_pairing_or_raise(session, pairing.id, principal, lock=False)


def disabled_countries(session: Session) -> frozenset[str]:
    """Return the codes of the disabled countries: their pairings only close (`allowed_moves`)."""
    return frozenset(session.scalars(select(Country.iso3).where(Country.enabled.is_(False))))


def allowed_moves(pairing: Pairing, disabled: Collection[str] = ()) -> list[str]:
    """Return the stages a pairing (need and offer loaded) may move to now: while its need or
    offer is not published, or one of its countries is among the `disabled`, only the closing
    ones; it moves on once both are published and both countries enabled."""
    allowed = rules.allowed_next(pairing.stage)
    if (pairing.need.status != "published" or pairing.offer.status != "published"
            or pairing.recipient_iso3 in disabled or pairing.provider_iso3 in disabled):
        return [stage for stage in allowed if stage in rules.CLOSING]
    return list(allowed)


def to_read(pairing: Pairing, principal: Principal, *,
            disabled: Collection[str] = ()) -> PairingRead:
    """Serialise a pairing (need, offer, partner and consents loaded) for `principal`;
    `disabled`: the disabled countries (`disabled_countries`), for `allowed`.

    The title of another country's need or offer is left out while it is not published.
    """
    step = rules.next_consent_step(pairing.stage)
    given = {c.side for c in pairing.consents if c.step == step}
    partner = pairing.partner
    pending = (rules.pending_sides(step, given, has_partner=partner is not None) if step
               else [])
    partner_read = None
    if partner is not None:
        confirmed = any(c.step == "agreement" and c.side == "partner" for c in pairing.consents)
        partner_read = PartnerRead(name=partner.name, support=partner.support,
                                   confirmed=confirmed)
    return PairingRead(
        id=pairing.id, need_id=pairing.need_id, offer_id=pairing.offer_id,
        table_id=pairing.table_id, recipient=pairing.recipient_iso3,
        provider=pairing.provider_iso3, factor=pairing.need.factor_code,
        need_title=pairing.need.title if items_service.can_see(pairing.need, principal) else None,
        offer_title=(pairing.offer.title if items_service.can_see(pairing.offer, principal)
                     else None),
        need_status=pairing.need.status, offer_status=pairing.offer.status,
        stage=pairing.stage,
        origin=pairing.origin, score=pairing.score, components=dict(pairing.components),
        scoring_version=pairing.scoring_version, partner=partner_read,
        consents=[ConsentRead.model_validate(c) for c in pairing.consents], pending=pending,
        allowed=allowed_moves(pairing, disabled), version=pairing.version,
        created_at=pairing.created_at, updated_at=pairing.updated_at)
