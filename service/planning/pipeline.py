"""The whole planning pipeline: select pairings, merge them into meetings, schedule them."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

from service.planning.meetings import merge_meetings
from service.planning.scheduling import schedule
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
    pairings are always chosen (see `select`).
    """
    selection = select(candidates, capacity=capacity, limits=limits, time_limit_s=time_limit_s,
                       fixed=fixed)
    meetings = merge_meetings(selection.chosen)
    return Plan(
        selection=selection,
        meetings=tuple(meetings),
        schedule=schedule(meetings, tables_per_round=limits.tables_per_round, rounds=limits.rounds),
    )
