"""Pure planning: choose pairings exactly, merge them into meetings, schedule the rounds.

Imports neither the web layer nor the ORM; results are deterministic and do not depend on
the order of the input.
"""

from service.planning.meetings import merge_meetings
from service.planning.pipeline import plan, without_meeting
from service.planning.scheduling import schedule
from service.planning.selection import select
from service.planning.types import (
    Candidate,
    Limits,
    Meeting,
    Plan,
    PlanningInputError,
    PlanningSolverError,
    Schedule,
    Selection,
    Slot,
)

__all__ = [
    "Candidate",
    "Limits",
    "Meeting",
    "Plan",
    "PlanningInputError",
    "PlanningSolverError",
    "Schedule",
    "Selection",
    "Slot",
    "merge_meetings",
    "plan",
    "schedule",
    "select",
    "without_meeting",
]
