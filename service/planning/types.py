"""Value types of the planning module: inputs, selections, meetings and schedules."""

from __future__ import annotations

from dataclasses import dataclass


class PlanningInputError(ValueError):
    """Raised when the planner is given inconsistent or out-of-range input."""


class PlanningSolverError(RuntimeError):
    """Raised when the optimisation solver does not report an optimal solution."""


@dataclass(frozen=True, slots=True)
class Candidate:
    """One scored (need, offer) pair between two different countries."""

    need_id: str
    offer_id: str
    recipient: str  # ISO3 code of the need's country
    provider: str  # ISO3 code of the offer's country (never the recipient)
    score: float  # in [0, 1]


@dataclass(frozen=True)
class Limits:
    """Constraints an organiser sets for one cooperation table."""

    max_meetings_per_delegation: int
    max_offers_per_need: int = 1
    rounds: int | None = None
    tables_per_round: int = 10

    def __post_init__(self) -> None:
        if self.max_meetings_per_delegation < 1:
            raise PlanningInputError("max_meetings_per_delegation must be at least 1")
        if self.max_offers_per_need < 1:
            raise PlanningInputError("max_offers_per_need must be at least 1")
        if self.rounds is not None and self.rounds < 0:
            raise PlanningInputError("rounds must not be negative")
        if self.tables_per_round < 1:
            raise PlanningInputError("tables_per_round must be at least 1")


@dataclass(frozen=True)
class Selection:
    """The chosen pairings, their total score and the participants left without a meeting.

    `optimal` is False only when a solver time limit stopped the search early; then
    `score_bound` is a proven upper bound on the total score at the same coverage.
    """

    chosen: tuple[Candidate, ...]
    total_score: float
    uncovered: tuple[str, ...]
    optimal: bool = True
    score_bound: float | None = None


@dataclass(frozen=True, slots=True)
class Meeting:
    """One bilateral meeting between two delegations, merging all their chosen pairings."""

    a: str  # ISO3 code, a < b
    b: str
    value: float  # sum of the chosen candidate scores between a and b
    pairings: tuple[tuple[str, str], ...]  # (need_id, offer_id), sorted


@dataclass(frozen=True, slots=True)
class Slot:
    """A meeting placed at a table in a negotiation round (both numbered from 1)."""

    round: int
    table: int
    meeting: Meeting


@dataclass(frozen=True)
class Schedule:
    """A negotiation-round plan in which no delegation is in two meetings at once."""

    slots: tuple[Slot, ...]
    rounds_used: int
    lower_bound: int  # max(Δ, ceil(m / tables)) over all meetings given
    upper_bound: int  # max(Δ + 1, ceil(m / tables)) over all meetings given
    bipartite: bool
    left_out: tuple[tuple[Meeting, str], ...]  # meetings that did not fit, with the reason


@dataclass(frozen=True)
class Plan:
    """A selection of pairings, the meetings they make and the round schedule."""

    selection: Selection
    meetings: tuple[Meeting, ...]
    schedule: Schedule
