"""Rules for cooperation tables: creation, settings, participants and status changes."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from models import TABLE_STATUSES, CooperationTable, Country, Factor, TableParticipant
from service import scoring
from service.auth.service import Principal
from service.errors import Conflict, NotFound, Unprocessable, reject_nulls
from service.pairings.audit import Actor
from service.pairings.service import under_way, withdraw_suggestions
from service.schemas import merge_changes
from service.scoring.weights import MIN_WEIGHT
from service.tables.schemas import TableCreate, TableRead, TableUpdate
from service.versions import check_if_match


def effective_weights(table: CooperationTable) -> scoring.Weights:
    """Return the table's weights: defaults overridden by the table's settings.

    A table stored before weights under `MIN_WEIGHT` were refused is read with its ratios
    kept: when one is that small, the weights are divided by the largest, and any still under
    it counts as 0 (rather than every request that scores for the table failing).
    """
    weights: dict[str, float] = {**asdict(scoring.Weights()), **table.weights}
    if _too_small(weights):
        top = max(weights.values())
        weights = {name: value / top if value / top >= MIN_WEIGHT else 0.0
                   for name, value in weights.items()}
    return scoring.Weights.from_mapping(weights)


def _weight_overrides(table: CooperationTable) -> dict[str, float]:
    """The overrides a PATCH of weights changes: as stored, or, for a table stored with a
    weight now refused as too small, all its weights as read (`effective_weights`), so that
    the change keeps the ratios it had and the PATCH is not refused for a value it did not
    send."""
    if _too_small(table.weights):
        return effective_weights(table).as_dict()
    return dict(table.weights)


def _too_small(weights: dict[str, float]) -> bool:
    """Whether a weight is above 0 but under `MIN_WEIGHT` (refused since; stored before)."""
    return any(0 < value < MIN_WEIGHT for value in weights.values())


def factor_pair(key: str) -> frozenset[str]:
    """The two factors an affinity key names: 'a:b' and 'b:a' name the same pair."""
    a, _, b = key.partition(":")
    return frozenset((a, b))


def affinity_by_pair(affinity: Mapping[str, Any]) -> dict[frozenset[str], Any]:
    """An affinity map keyed by pair, whichever way each key names it."""
    return {factor_pair(key): value for key, value in affinity.items()}


def factor_affinity(table: CooperationTable) -> dict[tuple[str, str], float]:
    """Return the affinity table: defaults overridden (symmetrically) by the table's."""
    table_map = dict(scoring.DEFAULT_FACTOR_AFFINITY)
    for key, value in table.factor_affinity.items():
        a, _, b = key.partition(":")
        table_map[(a, b)] = value
        table_map[(b, a)] = value
    return table_map


def to_read(table: CooperationTable) -> TableRead:
    """Serialise a table with its effective weights and participants."""
    return TableRead(
        id=table.id, name=table.name, starts_on=table.starts_on, ends_on=table.ends_on,
        venue=table.venue, host_country=table.host_country_iso3, status=table.status,
        participants=[p.country_iso3 for p in table.participants], rounds=table.rounds,
        tables_per_round=table.tables_per_round,
        max_meetings_per_delegation=table.max_meetings_per_delegation,
        max_offers_per_need=table.max_offers_per_need,
        weights=effective_weights(table).as_dict(), factor_affinity=table.factor_affinity,
        version=table.version, created_at=table.created_at, updated_at=table.updated_at,
    )


def _check_weights(weights: dict[str, float]) -> None:
    try:
        scoring.Weights.from_mapping({**asdict(scoring.Weights()), **weights}).validate()
    except ValueError as exc:
        raise Unprocessable(f"Invalid weights: {exc}",
                            errors=[{"field": "weights", "message": str(exc)}]) from None


def _check_affinity(session: Session, affinity: Iterable[str]) -> None:
    """Keys of an affinity map: known factors, two different ones per key, each pair given
    once (a:b and b:a are one pair: the table is symmetric)."""
    pairs: dict[frozenset[str], str] = {}
    codes: set[str] = set()
    for key in affinity:
        a, _, b = key.partition(":")
        codes |= {a, b}
        if a == b:
            raise Unprocessable(
                f"factor_affinity '{key}': a factor's affinity with itself is always 1.",
                errors=[{"field": "factor_affinity", "message": f"{key}: same factor twice"}])
        other = pairs.setdefault(factor_pair(key), key)
        if other != key:
            raise Unprocessable(
                f"factor_affinity gives the pair {other} twice (as '{other}' and '{key}'); "
                f"the affinity is symmetric: give it once.",
                errors=[{"field": "factor_affinity", "message": f"{key}: same pair as {other}"}])
    if not codes:
        return
    known = set(session.scalars(select(Factor.code).where(Factor.code.in_(codes))))
    unknown = sorted(codes - known)
    if unknown:
        raise Unprocessable(
            f"Unknown factors in factor_affinity: {', '.join(unknown)}.",
            errors=[{"field": "factor_affinity", "message": f"unknown: {', '.join(unknown)}"}])


def _check_countries(session: Session, codes: list[str], field: str) -> None:
    if not codes:
        return
    found = set(session.scalars(
        select(Country.iso3).where(Country.iso3.in_(codes), Country.enabled.is_(True))))
    missing = sorted(set(codes) - found)
    if missing:
        raise Unprocessable(
            f"Unknown or not enabled countries in {field}: {', '.join(missing)}.",
            errors=[{"field": field, "message": f"unknown or not enabled: {', '.join(missing)}"}])


def get_table(session: Session, table_id: int, *,
              lock: bool = False) -> CooperationTable | None:
    """Return the table with participants loaded; `lock` reads it under a row lock, current
    even if the session held an older copy (changes of one table happen one at a time)."""
    stmt = (select(CooperationTable).where(CooperationTable.id == table_id)
            .options(selectinload(CooperationTable.participants)))
    if lock:
        stmt = stmt.with_for_update(of=CooperationTable).execution_options(
            populate_existing=True)
    return session.scalar(stmt)


def require_table(session: Session, table_id: int) -> CooperationTable:
    """Return the table (one lookup by primary key, participants not loaded) or raise
    NotFound, as a table's report and every list filtered by `table_id` answer."""
    table = session.get(CooperationTable, table_id)
    if table is None:
        raise NotFound(f"No cooperation table with id {table_id}.")
    return table


def get_table_or_raise(session: Session, table_id: int, *,
                       lock: bool = False) -> CooperationTable:
    """Return the table (see `get_table`) or raise NotFound."""
    table = get_table(session, table_id, lock=lock)
    if table is None:
        raise NotFound(f"No cooperation table with id {table_id}.")
    return table


def list_tables(session: Session, *, status: str | None = None, limit: int = 50,
                offset: int = 0, before: int | None = None
                ) -> tuple[list[CooperationTable], int]:
    """Return tables, newest first (those with an id below `before`, if given), and the
    total count of the list."""
    stmt = select(CooperationTable)
    count = select(func.count(CooperationTable.id))
    if status:
        stmt = stmt.where(CooperationTable.status == status)
        count = count.where(CooperationTable.status == status)
    if before is not None:
        stmt = stmt.where(CooperationTable.id < before)
    rows = session.scalars(stmt.options(selectinload(CooperationTable.participants))
                           .order_by(CooperationTable.id.desc()).limit(limit).offset(offset))
    return list(rows), session.scalar(count) or 0


def _check_dates(starts: date, ends: date, *, moved: str = "ends_on") -> None:
    """Refuse an end before the start (422 naming `moved`, the date the request changed:
    a PATCH of `starts_on` alone past the stored end names `starts_on`)."""
    if ends >= starts:
        return
    if moved == "starts_on":
        raise Unprocessable(f"starts_on must not be after ends_on ({ends.isoformat()}).",
                            errors=[{"field": "starts_on", "message": "after ends_on"}])
    raise Unprocessable(f"ends_on ({ends}) must not be before starts_on ({starts}).",
                        errors=[{"field": "ends_on", "message": "before starts_on"}])


def create_table(session: Session, *, data: TableCreate) -> CooperationTable:
    """Create a cooperation table in `planning` status."""
    _check_dates(data.starts_on, data.ends_on)
    participants = sorted(set(data.participants))
    _check_countries(session, participants, "participants")
    if data.host_country:
        _check_countries(session, [data.host_country], "host_country")
    _check_weights(data.weights)
    _check_affinity(session, data.factor_affinity)
    table = CooperationTable(
        name=data.name, starts_on=data.starts_on, ends_on=data.ends_on, venue=data.venue,
        host_country_iso3=data.host_country, status="planning", rounds=data.rounds,
        tables_per_round=data.tables_per_round,
        max_meetings_per_delegation=data.max_meetings_per_delegation,
        max_offers_per_need=data.max_offers_per_need, weights=dict(data.weights),
        factor_affinity=dict(data.factor_affinity),
        participants=[TableParticipant(country_iso3=c) for c in participants],
    )
    session.add(table)
    session.flush()
    return table


def update_table(session: Session, *, table: CooperationTable, data: TableUpdate,
                 principal: Principal, if_match: str | None = None) -> CooperationTable:
    """Change settings, participants or status (status only moves forward).

    `table` should be read under its row lock (`get_table(..., lock=True)`); a stale
    `if_match` is a 412 that changes nothing, and a request that changes nothing keeps the
    version. Closing the table withdraws its pairings still at `suggested` (nobody took them
    up), so that their pairs are free for other tables; pairings under way stay as they are.
    A participant leaves the same way: its suggestions are withdrawn, and it cannot leave
    while it takes part in pairings under way at the table (409 naming them).
    """
    check_if_match(table, if_match, what=f"Table {table.id}")
    changes = data.model_dump(exclude_unset=True)
    reject_nulls(changes, nullable={"host_country"})
    removed: list[str] = []
    if "status" in changes:
        _check_status(table, changes["status"])
    # Closing it again (a retry whose answer was lost) changes nothing, like any request
    # that changes nothing; any other change of a closed table is refused.
    if fields := sorted(changes.keys() - {"status"}):
        refuse_if_closed(table, f"its {', '.join(fields)} cannot change any more",
                         fields=fields)
    if "status" in changes:
        table.status = changes.pop("status")
    if "participants" in changes:
        codes = changes.pop("participants")
        current = sorted(p.country_iso3 for p in table.participants)
        # Only countries joining must be enabled: one disabled since it joined stays listed.
        _check_countries(session, sorted(set(codes) - set(current)), "participants")
        if codes != current:
            removed = sorted(set(current) - set(codes))
            _check_removable(session, table, removed)
            table.participants = [TableParticipant(country_iso3=c) for c in codes]
    if "host_country" in changes:
        host = changes.pop("host_country")
        if host is not None and host != table.host_country_iso3:
            _check_countries(session, [host], "host_country")
        table.host_country_iso3 = host
    if "weights" in changes:
        changes["weights"] = merge_changes(_weight_overrides(table), changes["weights"])
        _check_weights(changes["weights"])
    if "factor_affinity" in changes:
        given = changes["factor_affinity"]
        _check_affinity(session, given)
        named = {factor_pair(key) for key in given}  # a pair named the other way replaces it
        kept = {key: value for key, value in table.factor_affinity.items()
                if factor_pair(key) not in named}
        merged = merge_changes(kept, given)
        if affinity_by_pair(merged) == affinity_by_pair(table.factor_affinity):
            del changes["factor_affinity"]  # the same entries, some named the other way
        else:
            changes["factor_affinity"] = merged
    _check_dates(changes.get("starts_on", table.starts_on), changes.get("ends_on", table.ends_on),
                 moved="ends_on" if "ends_on" in changes else "starts_on")
    for key, value in changes.items():
        setattr(table, key, value)
    if not session.is_modified(table):  # every value given equals the stored one
        return table
    table.version += 1
    session.flush()
    if table.status == "closed":  # closed just now: a closed table takes no change
        withdraw_suggestions(session, table_id=table.id, actor=Actor.of(principal),
                             reason="The table closed while this pairing was still a suggestion.")
    elif removed:
        withdraw_suggestions(session, table_id=table.id, actor=Actor.of(principal),
                             countries=removed,
                             reason="The country no longer takes part in the table.")
    return table


def _check_removable(session: Session, table: CooperationTable, removed: list[str]) -> None:
    """Refuse to remove participants that take part in pairings under way at the table."""
    if not removed:
        return
    held = under_way(session, table_id=table.id, countries=removed)
    if held:
        raise Conflict(
            f"{', '.join(removed)} cannot leave table {table.id}: pairings "
            f"{', '.join(map(str, held))} are under way there (expression of interest or "
            "later). Decline or withdraw them first; their suggestions are withdrawn with "
            "the country.", pairings=held, countries=removed)


def next_statuses(current: str) -> list[str]:
    """The statuses a table in `current` may move to: any later one in the order
    planning → open → matching → in_session → closed (steps may be skipped)."""
    order = list(TABLE_STATUSES)
    return order[order.index(current) + 1:]


def refuse_if_closed(table: CooperationTable, refused: str, *,
                     fields: Sequence[str] = ()) -> None:
    """Refuse a change of a closed table: 409 saying what was refused (`refused`), with the
    table's `current_status` and the `fields` the request would change, if any."""
    if table.status == "closed":
        named: dict[str, Any] = {"fields": list(fields)} if fields else {}
        raise Conflict(f"Table {table.id} is closed: {refused}. A closed table stays as it "
                       "is (its status cannot go back); create a new table to meet again.",
                       current_status="closed", **named)


def _check_status(table: CooperationTable, new: str) -> None:
    """Refuse a move back (409 naming the current and requested status and the allowed
    ones); a move forward may skip steps, and the same status changes nothing."""
    current = table.status
    allowed = next_statuses(current)
    if new == current or new in allowed:
        return
    raise Conflict(
        f"Table {table.id} cannot move back from '{current}' to '{new}': a table's status "
        f"only moves forward ({' → '.join(TABLE_STATUSES)}). It may move to: "
        f"{', '.join(allowed) or 'nothing, a closed table stays closed'}.",
        current_status=current, requested_status=new, allowed=allowed)
