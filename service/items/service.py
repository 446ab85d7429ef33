"""Rules for offers and needs: who sees and changes what, validation, versions, listing."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, cast

from sqlalchemy import ColumnElement, Row, and_, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models import OUTCOME_STAGES, Need, Offer, Pairing
from service import revisions, versions
from service.auth.service import Principal
from service.codes import lower_code, upper_code
from service.config import get_settings
from service.countries.service import require_enabled_country, require_factor
from service.cursors import decode_cursor, encode_cursor
from service.db import contains_text
from service.errors import (
    Conflict,
    Forbidden,
    NotFound,
    Unprocessable,
    reject_nulls,
)
from service.items import vectors
from service.items.schemas import ItemCreateBase, ItemUpdateBase

Kind = Literal["offer", "need"]
ItemRow = Offer | Need
MODELS: dict[Kind, type[Offer] | type[Need]] = {"offer": Offer, "need": Need}


@dataclass(frozen=True, slots=True)
class ItemFilters:
    """Filters of a list of offers or needs; None means no filter."""

    country: str | None = None
    factor: str | None = None
    language: str | None = None
    modality: str | None = None
    status: str | None = None
    q: str | None = None


def model_for(kind: Kind) -> type[Offer] | type[Need]:
    """Return the ORM class of a kind."""
    return MODELS[kind]


def bump_revision(session: Session, kind: Kind) -> None:
    """Mark the offers or needs as changed, for every worker's in-memory index."""
    revisions.bump(session, "offers" if kind == "offer" else "needs")


def _visible(model: type[Offer] | type[Need], principal: Principal | None) -> ColumnElement[bool]:
    if principal is None or principal.is_staff:
        return model.id.is_not(None)
    return or_(model.status == "published", model.country_iso3 == principal.country)


def can_see(item: ItemRow, principal: Principal | None) -> bool:
    """Country keys see published items and everything of their own country."""
    if principal is None or principal.is_staff:
        return True
    return item.status == "published" or item.country_iso3 == principal.country


def get_item(session: Session, kind: Kind, item_id: int, *,
             lock: bool = False) -> ItemRow | None:
    """Return the offer or need with this id, visibility not checked; `lock` reads it under a
    row lock (see `lock_current`), current even if the session held an older copy."""
    return cast(ItemRow | None, session.get(model_for(kind), item_id,
                                            with_for_update=lock or None, populate_existing=lock))


def get_item_by_ref(session: Session, kind: Kind, ref: str) -> ItemRow | None:
    """Return the offer or need with this reference."""
    model = model_for(kind)
    return cast(ItemRow | None, session.scalar(select(model).where(model.ref == ref)))


def rows_by_id(session: Session, kind: Kind) -> list[ItemRow]:
    """Return all offers or needs by ascending id."""
    model = model_for(kind)
    return cast(list[ItemRow], list(session.scalars(select(model).order_by(model.id))))


def get_item_or_raise(session: Session, kind: Kind, item_id: int,
                      principal: Principal | None, *, lock: bool = False) -> ItemRow:
    """Return the item if it exists and the caller may see it; otherwise 404 (never 403).
    `lock`: read it under a row lock, for a change (then pass `locked=True` on)."""
    item = get_item(session, kind, item_id, lock=lock)
    if item is None or not can_see(item, principal):
        raise NotFound(f"No {kind} with id {item_id}.")
    return item


def require_can_modify(item: ItemRow, principal: Principal | None) -> None:
    """Admins change anything; a country key only its own country's items."""
    if principal is None or principal.is_admin:
        return
    if principal.role != "country" or principal.country != item.country_iso3:
        raise Forbidden(f"Only {item.country_iso3}'s focal points or an admin can change this.")


def lock_current(session: Session, item: ItemRow) -> None:
    """Reload the item under a row lock before changing it: a concurrent writer then waits for
    the first one to commit and sees its version (412 on a stale If-Match, no lost update)."""
    session.refresh(item, with_for_update=True)


def check_if_match(item: ItemRow, if_match: str | None) -> None:
    """Raise 412 when `If-Match` names another version than the current one."""
    versions.check_if_match(item, if_match, what=f"The {type(item).__name__.lower()}")


def _require_language(language: str) -> None:
    supported = get_settings().languages
    if language not in supported:
        raise Unprocessable(
            f"Unsupported language '{language}'; use one of {', '.join(supported)}.",
            errors=[{"field": "language", "message": "unsupported language"}])


def _new_ref(kind: Kind, country: str) -> str:
    return f"{kind[0].upper()}-{country}-{secrets.token_hex(4).upper()}"


def _ref_taken(kind: Kind, ref: str) -> Conflict:
    return Conflict(f"The ref '{ref}' is taken: refs are unique among the {kind}s of all "
                    f"countries. Choose another, or leave `ref` out to have one generated.",
                    errors=[{"field": "ref", "message": "taken"}])


def create_item(session: Session, *, kind: Kind, data: ItemCreateBase,
                principal: Principal | None, encode: bool = True) -> ItemRow:
    """Create an offer or need after checking rights, country, factor, language and ref."""
    country_code = data.country or (principal.country if principal else None)
    if country_code is None:
        raise Unprocessable("Give the country (ISO 3166-1 alpha-3) of the offer or need.",
                            errors=[{"field": "country", "message": "required"}])
    if principal is not None and not principal.is_admin:
        if principal.role != "country":
            raise Forbidden("Only country focal points and admins submit offers and needs.")
        if country_code != principal.country:
            raise Forbidden(f"This key may only submit for {principal.country}.")
    country = require_enabled_country(session, country_code)
    require_factor(session, data.factor)
    language = data.language
    if language is None:
        candidates = [lang for lang in country.languages if lang in get_settings().languages]
        if not candidates:
            raise Unprocessable(
                f"Cannot infer the language for {country.iso3}; give `language`.",
                errors=[{"field": "language", "message": "required for this country"}])
        language = candidates[0]
    _require_language(language)
    model = model_for(kind)
    ref = data.ref or _new_ref(kind, country.iso3)
    if session.scalar(select(model.id).where(model.ref == ref)) is not None:
        raise _ref_taken(kind, ref)
    fields = data.model_dump(exclude={"country", "factor", "language", "ref"})
    item = model(ref=ref, country_iso3=country.iso3, factor_code=data.factor,
                 language=language, version=1, **fields)
    if encode:  # before the INSERT, which then carries the vector (no second statement)
        vectors.encode_rows([item], kind)
    session.add(item)
    try:
        bump_revision(session, kind)  # flushes the INSERT
    except IntegrityError as exc:
        # Another request stored the same ref after the check above (the unique index waited
        # for it to commit): the same answer as when it came first. (No savepoint to read it
        # back: releasing one would apply the revision bump early.)
        table = model.__tablename__
        if f"uq_{table}_ref" in str(exc.orig) or f"{table}.ref" in str(exc.orig):
            raise _ref_taken(kind, ref) from None
        raise
    return item


TEXT_FIELDS = frozenset({"title", "description", "target_population", "language"})
"""The fields whose change calls for encoding the item's text again."""


def update_item(session: Session, *, kind: Kind, item: ItemRow, data: ItemUpdateBase,
                principal: Principal | None, if_match: str | None,
                locked: bool = False, encode: bool = True) -> ItemRow:
    """Apply a partial update, bumping the version; 412 on a stale If-Match. `locked`: the
    item was read under its row lock in this transaction (else it is read again, locked).
    `encode=False` leaves a changed text's vector to the caller (an import encodes its rows
    together)."""
    require_can_modify(item, principal)
    if not locked:
        lock_current(session, item)
    check_if_match(item, if_match)
    changes = data.model_dump(exclude_unset=True)
    reject_nulls(changes)
    if "factor" in changes:
        require_factor(session, changes["factor"])
        changes["factor_code"] = changes.pop("factor")
    if "language" in changes:
        _require_language(changes["language"])
    changed = {k: v for k, v in changes.items() if getattr(item, k) != v}
    if not changed:
        return item
    if changed.get("status") == "published":  # publishing is taking part, as submitting is
        require_enabled_country(session, item.country_iso3)
    if "capacity" in changed:
        _require_room_for_commitments(session, item.id, changed["capacity"])
    if "factor_code" in changed:
        _require_no_outcomes(session, kind, item, factor=changed["factor_code"])
    for key, value in changed.items():
        setattr(item, key, value)
    item.version += 1
    session.flush()
    if encode and TEXT_FIELDS & changed.keys():
        vectors.encode_rows([item], kind)
    bump_revision(session, kind)
    return item


def served(session: Session, offer_id: int, *, besides: int | None = None) -> int:
    """The commitments and agreements an offer serves (other than pairing `besides`): they
    take its capacity."""
    conds = [Pairing.offer_id == offer_id, Pairing.stage.in_(("commitment", "agreement"))]
    if besides is not None:
        conds.append(Pairing.id != besides)
    return session.scalar(select(func.count(Pairing.id)).where(*conds)) or 0


def _require_room_for_commitments(session: Session, offer_id: int, capacity: int) -> None:
    """An offer's capacity may not go below the commitments and agreements it already serves
    (the offer's row is locked, as when a commitment is confirmed)."""
    held = served(session, offer_id)
    if capacity < held:
        raise Conflict(
            f"Offer {offer_id} already serves {held} commitment(s) or agreement(s); its "
            f"capacity cannot go below {held}.",
            errors=[{"field": "capacity", "message": f"at least {held}"}])


def _require_no_outcomes(session: Session, kind: Kind, item: ItemRow, *, factor: str) -> None:
    """An item's factor may not change while pairings on it are at an outcome stage (interest,
    commitment, agreement): the reports count them under the need's factor, and the parties
    took them up on the items as they were. (The item's row is locked, and a pairing's
    creation or move locks it too, so none reaches such a stage meanwhile.)"""
    column = Pairing.need_id if kind == "need" else Pairing.offer_id
    taken = list(session.scalars(select(Pairing.id).where(
        column == item.id, Pairing.stage.in_(OUTCOME_STAGES)).order_by(Pairing.id)))
    if taken:
        listed = ", ".join(map(str, taken))
        raise Conflict(
            f"The {kind} {item.id} is taken up by pairing(s) {listed} (expression of "
            f"interest, commitment or agreement), which count under its factor "
            f"'{item.factor_code}'; its factor cannot change. Submit a new {kind} on "
            f"'{factor}' instead (and withdraw this one if it no longer applies), or first "
            f"decline or withdraw those pairings. Its title and description may still change.",
            errors=[{"field": "factor", "message": f"taken up by pairing(s) {listed}"}],
            pairings=taken)


def withdraw_item(session: Session, *, kind: Kind, item: ItemRow, principal: Principal | None,
                  if_match: str | None, locked: bool = False) -> ItemRow:
    """Withdraw an item: it stays stored (pairings may refer to it) but is no longer offered.
    `locked` as for `update_item`."""
    require_can_modify(item, principal)
    if not locked:
        lock_current(session, item)
    check_if_match(item, if_match)
    if item.status != "withdrawn":
        item.status = "withdrawn"
        item.version += 1
        session.flush()
        bump_revision(session, kind)
    return item


def _conditions(model: type[Offer] | type[Need], filters: ItemFilters,
                principal: Principal | None, *, dialect: str) -> list[ColumnElement[bool]]:
    conds: list[ColumnElement[bool]] = [_visible(model, principal)]
    if filters.country:
        conds.append(model.country_iso3 == upper_code(filters.country))
    if filters.factor:
        conds.append(model.factor_code == lower_code(filters.factor))
    if filters.language:
        conds.append(model.language == lower_code(filters.language))
    if filters.modality:
        conds.append(model.modality == filters.modality)
    if filters.status:
        conds.append(model.status == filters.status)
    text = (filters.q or "").strip()
    if text:  # a blank `q` is no filter (" " matched everything, " trabajo " nothing)
        conds.append(or_(*(contains_text(column, text, dialect=dialect) for column in
                           (model.title, model.description, model.target_population))))
    return conds


def list_items(session: Session, *, kind: Kind, principal: Principal | None,
               filters: ItemFilters, limit: int,
               cursor: str | None = None) -> tuple[Sequence[Row[Any]], int, str | None]:
    """Return one page (by ascending id) as read-only rows with the items' attributes, the
    total count and the next cursor."""
    model = model_for(kind)
    conds = _conditions(model, filters, principal, dialect=session.get_bind().dialect.name)
    # Plain rows of the listed columns, read on the session's connection: a page is only
    # read, so the ORM's entities (identity map, change tracking) and its row loading would be
    # work for nothing (building entities took a third of a page's CPU, loading rows a fifth).
    columns = [c for c in model.__table__.columns if c.key != "embedding"]
    where = and_(*conds)
    # The total rides along with the page as an uncorrelated subquery, which both databases
    # evaluate once: one round trip instead of two (~0.4 ms of a 50-row list's ~4 ms of CPU),
    # and on PostgreSQL's READ COMMITTED the page and its total come from one snapshot.
    total_of_all = select(func.count(model.id)).where(where).scalar_subquery()
    stmt = select(*columns, total_of_all.label("page_total")).where(where)
    if cursor:
        stmt = stmt.where(model.id > decode_cursor(cursor))
    connection = session.connection()
    # `all()` fetches the page in one call; iterating the result fetched it row by row.
    rows = connection.execute(stmt.order_by(model.id).limit(limit + 1)).all()
    next_cursor = encode_cursor(rows[limit - 1].id) if len(rows) > limit else None
    if rows:
        total = rows[0].page_total
    else:  # past the last match (a stale cursor): count on its own
        total = connection.scalar(select(func.count(model.id)).where(where)) or 0
    return rows[:limit], total, next_cursor
