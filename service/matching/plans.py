"""The plan of a cooperation table: select pairings among its suggestions, schedule the
meetings in rounds, store the plan (numbered, with the settings it was computed from) and its
suggested pairings; read stored plans back."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models import OPEN_STAGES, CooperationTable, Need, Offer, Pairing, Plan
from service import planning, revisions, scoring
from service.auth.service import Principal
from service.config import get_settings
from service.errors import Conflict
from service.matching.context import offer_loads
from service.matching.index import IndexCache
from service.matching.service import (
    CANDIDATES_PER_NEED,
    RankedPair,
    enabled_participants,
    table_pairs,
)
from service.pairings import audit
from service.pairings import service as pairings_service
from service.tables.service import affinity_by_pair, effective_weights, refuse_if_closed


def compute_plan(session: Session, cache: IndexCache, *, table: CooperationTable,
                 actor: Principal, time_limit_s: float | None = None,
                 end_reads: bool = False) -> Plan:
    """Select pairings, schedule the meetings, store the plan and its suggested pairings.

    `time_limit_s` caps the selection's search (None: the `PLAN_TIME_LIMIT_S` setting); the
    summary records the limit and the seconds the plan took. `end_reads` (a request's own
    session, which keeps its objects loaded across a commit) ends the transaction that read
    the plan's inputs before the search (`_end_reads`).
    """
    refuse_if_closed(table, "no plan can be computed for it")
    _check_participants(table)
    held, open_elsewhere, ended = _held_pairs(session, table)
    best = table_pairs(session, cache, table=table, per_need=CANDIDATES_PER_NEED)
    pairs, proposable, capacity = _candidate_pairs(session, cache, table, held=held,
                                                   left_out=open_elsewhere | ended)
    candidates = [
        planning.Candidate(need_id=p.need.id, offer_id=p.offer.id, recipient=p.need.country,
                           provider=p.offer.country, score=p.scored.total)
        for p in proposable
    ]
    elsewhere = sum((p.need.id, p.offer.id) in open_elsewhere for p in best)
    turned_down = sum((p.need.id, p.offer.id) in ended for p in best)
    limits = planning.Limits(max_meetings_per_delegation=table.max_meetings_per_delegation,
                             max_offers_per_need=table.max_offers_per_need,
                             rounds=table.rounds, tables_per_round=table.tables_per_round)
    limit = get_settings().plan_time_limit_s if time_limit_s is None else time_limit_s
    if end_reads:
        _end_reads(session)
    started = time.perf_counter()
    offered = [*candidates, *held.values()]
    result = planning.plan(offered, capacity=capacity, limits=limits, time_limit_s=limit,
                           fixed=held.keys())
    seconds = time.perf_counter() - started
    unseated = planning.without_meeting(
        result, participants=[p.country_iso3 for p in table.participants], candidates=offered,
        limits=limits)
    for country in sorted(set(unseated) - enabled_participants(session, table)):
        unseated[country] = ("the country is disabled: it takes no part in tables until an "
                             "administrator enables it")
    by_key = {(p.need.id, p.offer.id): p for p in pairs}
    scheduled = {pair for slot in result.schedule.slots for pair in slot.meeting.pairings}
    _lock_open_table(session, table)
    if _held_pairs(session, table)[0].keys() != held.keys():
        # The plan counted those pairings against the limits and scheduled their meetings.
        raise Conflict("Pairings of the table were taken up, declined or withdrawn while the "
                       "plan was computed; nothing was stored. Compute the plan again.")
    _store_suggested(session, table, [by_key[k] for k in sorted(scheduled - held.keys())],
                     actor=actor)
    number = (session.scalar(select(func.max(Plan.number)).where(Plan.table_id == table.id))
              or 0) + 1
    plan = Plan(
        table_id=table.id, number=number, scoring_version=scoring.SCORING_VERSION,
        created_by=audit.Actor.of(actor).label()[:120],
        summary=_summary(result, len(candidates), len(held), len(scheduled & held.keys()),
                         elsewhere, limit, seconds) | {
                             "pairs_declined_or_withdrawn": turned_down,
                             "participants_without_meeting": unseated,
                             "settings": plan_settings(table)},
        meetings=[_meeting_json(s.meeting, s.round, s.table, None)
                  for s in result.schedule.slots],
        left_out=[_meeting_json(m, None, None, reason) for m, reason in result.schedule.left_out],
    )
    try:
        with session.begin_nested():
            session.add(plan)
            session.flush()  # the table's row lock makes this number unique; the index too
    except IntegrityError:
        raise Conflict(f"Another plan of table {table.id} was stored at the same time; "
                       "nothing was stored. Compute the plan again.") from None
    return plan


def _end_reads(session: Session) -> None:
    """End the transaction that read the plan's inputs before the selection searches (for up
    to the time limit), so that the search holds no lock: on SQLite a request that writes
    holds the database's write lock from its first statement, and every other write waited
    for the whole plan (and failed past 30 s). Nothing is written before this point; once
    computed, the plan is stored in a new transaction that locks the table and checks again
    what the plan depends on (`_lock_open_table`, the pairings under way, the items)."""
    if session.new or session.dirty or session.deleted:
        return  # not expected: keep such changes in the request's one unit of work
    session.commit()


def _candidate_pairs(session: Session, cache: IndexCache, table: CooperationTable, *,
                    held: dict[Pair, planning.Candidate], left_out: set[Pair]
                    ) -> tuple[list[RankedPair], list[RankedPair], dict[str, int]]:
    """Each need's `CANDIDATES_PER_NEED` best offers that a plan may still propose.

    A pair held here (under way), followed elsewhere or turned down here (`left_out`), or of
    an offer without a free place, is no candidate; the need's next best offers take its
    place, ranked deeper as needed, so that a need whose best offers are all taken still gets
    candidates. Returns the pairs ranked, the candidates among them (best first) and the
    offers' free places.
    """
    depth = CANDIDATES_PER_NEED
    while True:
        pairs = table_pairs(session, cache, table=table, per_need=depth)
        capacity = _free_capacity(session, pairs, held)
        usable = [p for p in pairs if (key := (p.need.id, p.offer.id)) not in held
                  and key not in left_out and capacity[p.offer.id] > 0]
        ranked = Counter(p.need.id for p in pairs)
        kept = Counter(p.need.id for p in usable)
        # A need ranked to the full depth may have more offers below it.
        short = max((CANDIDATES_PER_NEED - kept[need] for need, count in ranked.items()
                     if count == depth and kept[need] < CANDIDATES_PER_NEED), default=0)
        if not short:
            break
        depth += short
    taken: Counter[str] = Counter()
    proposable = []
    for pair in usable:  # best first
        if taken[pair.need.id] < CANDIDATES_PER_NEED:
            taken[pair.need.id] += 1
            proposable.append(pair)
    return pairs, proposable, capacity


def _check_participants(table: CooperationTable) -> None:
    """Refuse to plan a table with fewer than two participants (409): a meeting takes two
    delegations, so such a plan would be empty."""
    codes = sorted(p.country_iso3 for p in table.participants)
    if len(codes) >= 2:
        return
    has = f"only one participant ({codes[0]})" if codes else "no participants"
    raise Conflict(f"Table {table.id} has {has}; a plan pairs the delegations of at least two "
                   f"countries. Add the participants first (PATCH /tables/{table.id} with "
                   "`participants`), then compute the plan. Nothing was stored.",
                   participants=codes)


def plan_settings(table: CooperationTable) -> dict[str, Any]:
    """The table's settings a plan is computed from, stored with it (its summary's
    `settings`): participants, limits, weights and factor affinities."""
    return {
        "participants": sorted(p.country_iso3 for p in table.participants),
        "rounds": table.rounds,
        "tables_per_round": table.tables_per_round,
        "max_meetings_per_delegation": table.max_meetings_per_delegation,
        "max_offers_per_need": table.max_offers_per_need,
        "weights": effective_weights(table).as_dict(),
        "factor_affinity": dict(sorted(table.factor_affinity.items())),
    }


def changed_since(settings: Mapping[str, Any], summary: Mapping[str, Any],
                  scoring_version: str) -> list[str] | None:
    """What changed since a plan was computed that it did not take into account: the names
    of the table's settings that differ now (`settings`, the table's `plan_settings`), and
    `scoring` when the service scores otherwise (another SCORING_VERSION). None for a plan
    stored without its settings (by an earlier version of the service): it cannot tell."""
    stored = summary.get("settings")
    if not isinstance(stored, dict):
        return None
    changed = [name for name, value in settings.items()
               if _comparable(name, stored.get(name)) != _comparable(name, value)]
    return changed + (["scoring"] if scoring_version != scoring.SCORING_VERSION else [])


def _comparable(name: str, value: Any) -> Any:
    """A setting as compared by `changed_since`: affinities by pair of factors, since
    'a:b' and 'b:a' name the same entry (a PATCH may store either), leaving out those that
    say what the default table says (they score nothing otherwise)."""
    if name == "factor_affinity" and isinstance(value, dict):
        return {pair: item for pair, item
                in affinity_by_pair({str(key): item for key, item in value.items()}).items()
                if item != _default_affinity(pair)}
    return value


def _default_affinity(pair: frozenset[str]) -> float:
    """The affinity the default table gives a pair of factors (1 within one factor)."""
    first, second = (sorted(pair) * 2)[:2]
    if first == second:
        return 1.0
    return scoring.DEFAULT_FACTOR_AFFINITY.get((first, second), scoring.DEFAULT_UNRELATED)


def _lock_open_table(session: Session, table: CooperationTable) -> None:
    """Lock the table's row until the plan is stored, and check it is still open.

    The selection is computed without the lock (it may take seconds); storing then waits for
    any other plan of the table being stored, or for a change of the table, so that plans are
    numbered one after the other, and a table closed or changed meanwhile (participants,
    limits, weights: its version moved) gets no plan computed from what it was.
    """
    row = session.execute(select(CooperationTable.status, CooperationTable.version)
                          .where(CooperationTable.id == table.id).with_for_update()).one()
    if row.status == "closed":
        raise Conflict("The table was closed while the plan was computed; nothing was stored.")
    if row.version != table.version:
        raise Conflict("The table's settings or participants changed while the plan was "
                       "computed; nothing was stored. Compute the plan again.")


Pair = tuple[str, str]


def _check_still_published(session: Session, pairs: Sequence[Pair]) -> None:
    """Refuse the plan when a need or offer it suggests anew is no longer published.

    The selection is computed from the items published when it began; one withdrawn or set
    back to draft meanwhile must not get a new suggestion (a pairing proposed by hand for it is
    refused too). The rows are read under a shared row lock, needs then offers, as a proposal
    by hand reads them: a withdrawal under way finishes first and is seen. Called once the
    table's suggestions are locked: a move of one of them locks the pairing, then its items.
    """
    for model, ids in ((Need, {int(n) for n, _o in pairs}), (Offer, {int(o) for _n, o in pairs})):
        if not ids:
            continue
        published = set(session.scalars(
            select(model.id).where(model.id.in_(sorted(ids)), model.status == "published")
            .order_by(model.id).with_for_update(read=True)))
        if ids - published:
            raise Conflict(f"{model.__name__}s {', '.join(map(str, sorted(ids - published)))} "
                           "were withdrawn or set back to draft while the plan was computed; "
                           "nothing was stored. Compute the plan again.")


def _held_pairs(session: Session, table: CooperationTable
                ) -> tuple[dict[Pair, planning.Candidate], set[Pair], set[Pair]]:
    """(need, offer) pairs a plan must keep or leave out, as the planner names them (ids as
    text).

    First the table's pairings already past `suggested`: a new plan keeps them as they are,
    counts them against the table's limits and schedules their meetings (fixed candidates,
    with the score they carry). Then the pairs with an open pairing in another table or in
    none: a need and an offer have at most one open pairing, so those pairs are followed
    there and a plan of this table leaves them out. Last the pairs a country or an organiser
    declined or withdrew at this table (`turned_down`), so that a plan does not propose them
    again, unless the pair is open once more (an organiser suggested it again by hand).
    """
    here: dict[Pair, planning.Candidate] = {}
    elsewhere: set[Pair] = set()
    open_here: set[Pair] = set()
    rows = session.execute(select(
        Pairing.need_id, Pairing.offer_id, Pairing.table_id, Pairing.stage,
        Pairing.recipient_iso3, Pairing.provider_iso3, Pairing.score,
    ).where(Pairing.stage.in_(OPEN_STAGES)))
    for need_id, offer_id, table_id, stage, recipient, provider, score in rows:
        key = (str(need_id), str(offer_id))
        if table_id != table.id:
            elsewhere.add(key)
            continue
        open_here.add(key)
        if stage != "suggested":
            here[key] = planning.Candidate(need_id=key[0], offer_id=key[1], recipient=recipient,
                                           provider=provider, score=min(max(score, 0.0), 1.0))
    ended = {(str(n), str(o)) for n, o in pairings_service.turned_down(session,
                                                                     table_id=table.id)}
    return here, elsewhere, ended - open_here - elsewhere


def _free_capacity(session: Session, pairs: Sequence[RankedPair],
                   held: dict[tuple[str, str], planning.Candidate]) -> dict[str, int]:
    """Partners each offer can still take in this plan: its capacity less the pairings past
    `suggested` it serves in other tables or in none (the table's own held pairings stay
    in the plan, as fixed candidates)."""
    caps = {p.offer.id: p.offer.capacity or 1 for p in pairs}
    missing = sorted({int(o) for _n, o in held} - {int(o) for o in caps})
    caps |= {str(i): c or 1 for i, c in session.execute(
        select(Offer.id, Offer.capacity).where(Offer.id.in_(missing)))} if missing else {}
    load = offer_loads(session, sorted(int(o) for o in caps))
    held_on = Counter(o for _n, o in held)
    return {o: max(cap - load.get(int(o), 0) + held_on[o], 0) for o, cap in caps.items()}


def _store_suggested(session: Session, table: CooperationTable,
                     chosen: Sequence[RankedPair], *, actor: Principal) -> None:
    """Replace the table's `suggested` pairings made by earlier plans by the chosen ones.

    The table's `suggested` pairings are read under their row locks, so a pairing acted on
    while the plan was computed is seen as it is now (or no longer at `suggested`). Those that
    anyone acted on (an event in their history other than a plan's), and suggestions an
    organiser made by hand, stay (those acted on keep their score too); a stale plan
    suggestion nobody touched is deleted together with its history. A suggestion nobody acted
    on chosen again whose score changed (new weights, edited items) gets the new score as a
    change of its own: a new version (ETag) and a `rescored` event with both scores.
    """
    keep = {(int(p.need.id), int(p.offer.id)): p for p in chosen}
    existing = {(r.need_id, r.offer_id): r for r in session.scalars(
        select(Pairing).where(Pairing.table_id == table.id, Pairing.stage == "suggested")
        .order_by(Pairing.id).with_for_update())}
    _check_still_published(session, [(p.need.id, p.offer.id) for p in chosen])
    acted_on = pairings_service.acted_on(session, [r.id for r in existing.values()])
    unchosen = [r.id for k, r in existing.items()
                if k not in keep and r.origin == "plan" and r.id not in acted_on]
    if unchosen:
        session.execute(delete(Pairing).where(Pairing.id.in_(unchosen)))
    created: list[Pairing] = []
    rescored: list[tuple[Pairing, float]] = []
    for key, pair in keep.items():
        row = existing.get(key)
        if row is None:
            row = Pairing(need_id=key[0], offer_id=key[1], table_id=table.id,
                          recipient_iso3=pair.need.country, provider_iso3=pair.offer.country,
                          stage="suggested", origin="plan")
            pairings_service.stamp_score(row, pair.scored)
            created.append(row)
            continue
        if row.id in acted_on:
            continue  # chosen as it is: one that anyone acted on stays as it is
        before = (row.score, row.components, row.scoring_version)
        pairings_service.stamp_score(row, pair.scored)
        if before != (row.score, row.components, row.scoring_version):
            rescored.append((row, before[0]))
    try:
        with session.begin_nested():
            session.add_all(created)
            session.flush()  # the partial unique index settles a pairing opened meanwhile
    except IntegrityError:
        raise Conflict("Another request opened one of the chosen pairings while the plan was "
                       "computed; nothing was stored. Compute the plan again.") from None
    who = audit.Actor.of(actor)
    for row in created:
        audit.record(session, pairing=row, action="created", actor=who, from_stage=None,
                     to_stage="suggested", details={"origin": "plan", "score": row.score})
    for row, previous in rescored:
        pairings_service.save(session, row)
        audit.record(session, pairing=row, action="rescored", actor=who,
                     from_stage="suggested", to_stage="suggested",
                     details={"origin": "plan", "score": row.score, "previous_score": previous,
                              "scoring_version": row.scoring_version})
    revisions.bump(session, "pairings")


def _summary(result: planning.Plan, candidates: int, locked: int, locked_scheduled: int,
             open_elsewhere: int, time_limit_s: float, seconds: float) -> dict[str, object]:
    sched = result.schedule
    return {
        "candidates": candidates,
        "pairings_selected": len(result.selection.chosen),
        "total_score": round(result.selection.total_score, 6),
        "optimal": result.selection.optimal,
        "score_bound": (None if result.selection.score_bound is None
                        else round(result.selection.score_bound, 6)),
        "meetings": len(result.meetings),
        "meetings_scheduled": len(sched.slots),
        "meetings_left_out": len(sched.left_out),
        "rounds_used": sched.rounds_used,
        "lower_bound": sched.lower_bound,
        "upper_bound": sched.upper_bound,
        "bipartite": sched.bipartite,
        "uncovered_participants": list(result.selection.uncovered),
        "pairings_past_suggested_kept": locked,
        "pairings_past_suggested_scheduled": locked_scheduled,
        "pairs_open_elsewhere": open_elsewhere,
        "time_limit_s": time_limit_s,
        "seconds": round(seconds, 3),
    }


def _meeting_json(meeting: planning.Meeting, round_: int | None, table: int | None,
                  reason: str | None) -> dict[str, object]:
    return {
        "round": round_, "table": table, "countries": [meeting.a, meeting.b],
        "value": round(meeting.value, 6),
        "pairings": [{"need_id": int(n), "offer_id": int(o)} for n, o in meeting.pairings],
        "reason": reason,
    }


def latest_plan(session: Session, table: CooperationTable) -> Plan | None:
    """Return the table's most recent plan."""
    return session.scalar(select(Plan).where(Plan.table_id == table.id)
                          .order_by(Plan.number.desc()).limit(1))


def plan_by_number(session: Session, table: CooperationTable, number: int) -> Plan | None:
    """Return one plan of the table by its number."""
    return session.scalar(select(Plan).where(Plan.table_id == table.id, Plan.number == number))


PLAN_SUMMARY_COLUMNS = (Plan.id, Plan.table_id, Plan.number, Plan.scoring_version,
                        Plan.created_at, Plan.created_by, Plan.summary)


def list_plans(session: Session, table: CooperationTable, *, limit: int, offset: int,
               before: int | None = None) -> tuple[list[Any], int]:
    """Return a page of the table's plans, newest first (those numbered below `before`, if
    given), without their meetings, and the number of plans."""
    total = session.scalar(select(func.count()).select_from(Plan)
                           .where(Plan.table_id == table.id)) or 0
    stmt = select(*PLAN_SUMMARY_COLUMNS).where(Plan.table_id == table.id)
    if before is not None:
        stmt = stmt.where(Plan.number < before)
    rows = session.execute(stmt.order_by(Plan.number.desc()).limit(limit).offset(offset)).all()
    return list(rows), total
