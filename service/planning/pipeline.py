"""The whole planning pipeline: select pairings, merge them into meetings, schedule them."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

from service.planning.meetings import merge_meetings
from service.planning.scheduling import plural, schedule
from service.planning.selection import select
from service.planning.types import Candidate, Limits, Plan


def plan(
    candidates: Sequence[Candidate],
    *,
    capacity: Mapping[str, int],
    limits: Limits,
    time_limit_s: float | None = None,
    fixed: Collection[tuple[str, str]] = (),
) -> Plan:
    """Select the best pairings under the limits, merge them into meetings and schedule them.

    `time_limit_s` caps the selection solver (see `select`); None solves exactly. `fixed`
    pairings are always chosen (see `select`), and when the rounds cannot hold every meeting,
    theirs are scheduled first.
    """
    selection = select(candidates, capacity=capacity, limits=limits, time_limit_s=time_limit_s,
                       fixed=fixed)
    meetings = merge_meetings(selection.chosen)
    return Plan(
        selection=selection,
        meetings=tuple(meetings),
        schedule=schedule(meetings, tables_per_round=limits.tables_per_round, rounds=limits.rounds,
                          held=frozenset(fixed)),
    )


def without_meeting(result: Plan, *, participants: Collection[str],
                    candidates: Sequence[Candidate], limits: Limits) -> dict[str, str]:
    """Explain, for each participant without a scheduled meeting, why it has none.

    Three reasons, in the order the pipeline meets them: no candidate pairing at all; the
    selection could not cover it (covering the most participants comes first, so giving it a
    meeting would uncover another, or no selection within the limits reaches it, or the time
    limit stopped the search first); its meetings were chosen but did not fit in the rounds.
    """
    with_candidate = {c.recipient for c in candidates} | {c.provider for c in candidates}
    selected = {v for mt in result.meetings for v in (mt.a, mt.b)}
    seated = {v for slot in result.schedule.slots for v in (slot.meeting.a, slot.meeting.b)}
    left_out: dict[str, str] = {}
    for meeting, reason in result.schedule.left_out:
        left_out.setdefault(meeting.a, reason)
        left_out.setdefault(meeting.b, reason)
    limits_text = (f"the offers' capacity, {plural(limits.max_offers_per_need, 'offer')} per "
                   f"need, {plural(limits.max_meetings_per_delegation, 'meeting')} per "
                   "delegation")
    if limits.rounds is not None:
        most = limits.rounds * limits.tables_per_round
        limits_text += (f", {plural(limits.rounds, 'round')} of "
                        f"{plural(limits.tables_per_round, 'table')} "
                        f"(at most {plural(most, 'meeting')}"
                        + (", all taken)" if len(result.meetings) >= most else ")"))
    stopped = ("" if result.selection.optimal else
               "; the time limit stopped the search first, and a longer one may find a way")
    reasons: dict[str, str] = {}
    for country in sorted(set(participants) - seated):
        if country not in with_candidate:
            reasons[country] = (
                "no candidate pairing: none of its published needs and offers is among the "
                "best answers to another participant's (or for its own needs), or those pairs "
                "are followed elsewhere, were declined or withdrawn at this table, or their "
                "offers are full")
        elif country not in selected:
            reasons[country] = (
                "no selection within the table's limits gives it a meeting without leaving "
                f"another participant without one ({limits_text}){stopped}")
        else:
            reasons[country] = f"its meetings did not fit in the rounds: {left_out[country]}"
    return reasons
