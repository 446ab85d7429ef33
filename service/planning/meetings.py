"""Merge chosen pairings into one bilateral meeting per pair of countries."""

from __future__ import annotations

import math
from collections.abc import Sequence

from service.planning.milp import country_pair
from service.planning.types import Candidate, Meeting


def merge_meetings(chosen: Sequence[Candidate]) -> list[Meeting]:
    """Group pairings by unordered country pair into meetings, sorted by (a, b)."""
    groups: dict[tuple[str, str], list[Candidate]] = {}
    for cand in chosen:
        groups.setdefault(country_pair(cand), []).append(cand)
    meetings = []
    for (a, b), members in sorted(groups.items()):
        members.sort(key=lambda c: (c.need_id, c.offer_id))
        meetings.append(
            Meeting(
                a=a,
                b=b,
                value=math.fsum(c.score for c in members),
                pairings=tuple((c.need_id, c.offer_id) for c in members),
            )
        )
    return meetings
