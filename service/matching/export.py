"""A stored plan as tables for the secretariat: the schedule to print, the meetings left out
and the plan's summary, written as CSV or XLSX by `service.tabular`.

Views:
- summary: the table, the plan's number, author and date, what changed since it was computed,
  then every summary figure and the settings it was computed with (`settings.rounds`, ...);
- schedule: one row per pairing, in order of round and meeting table, with both delegations
  (code and name) and the need and offer it brings to the meeting;
- left_out: the meetings that did not fit the rounds, with the reason.

Titles of needs and offers are shown when the reader may see the item today: it is published,
the reader is an organiser or an admin, or it belongs to the reader's country. Otherwise (an
item since withdrawn, set back to draft or deleted) the title cell is empty and the status
column says why.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import CooperationTable, Country, Need, Offer, Plan
from service.auth.service import Principal
from service.matching.plans import changed_since, plan_settings
from service.tabular import Cell, Sheet

SCHEDULE_HEADER = [
    "round", "meeting_table", "delegation_a", "delegation_a_name", "delegation_b",
    "delegation_b_name", "meeting_value", "need_id", "need_country", "need_title",
    "need_status", "offer_id", "offer_country", "offer_title", "offer_status",
]
LEFT_OUT_HEADER = ["delegation_a", "delegation_a_name", "delegation_b", "delegation_b_name",
                   "meeting_value", "pairings", "reason"]


@dataclass(frozen=True, slots=True)
class _Item:
    country: str
    title: str
    status: str


def _items(session: Session, model: type[Offer] | type[Need],
           ids: Iterable[int]) -> dict[int, _Item]:
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    rows = session.execute(select(model.id, model.country_iso3, model.title, model.status)
                           .where(model.id.in_(wanted)))
    return {int(i): _Item(country, title, status) for i, country, title, status in rows}


def _item_cells(item: _Item | None, reader: Principal) -> list[Cell]:
    """Country, title and status of an item as the reader may see them."""
    if item is None:
        return [None, None, "deleted"]
    visible = (item.status == "published" or reader.is_staff
               or reader.country == item.country)
    return [item.country, item.title if visible else None, item.status]


def _pairings(meetings: Iterable[Mapping[str, Any]]) -> list[tuple[int, int]]:
    return [(int(p["need_id"]), int(p["offer_id"])) for m in meetings for p in m["pairings"]]


def plan_sheets(session: Session, table: CooperationTable, plan: Plan,
                reader: Principal) -> list[Sheet]:
    """Return the plan's views as tables, in a fixed order."""
    pairs = _pairings(plan.meetings) + _pairings(plan.left_out)
    needs = _items(session, Need, (n for n, _ in pairs))
    offers = _items(session, Offer, (o for _, o in pairs))
    codes = sorted({c for m in [*plan.meetings, *plan.left_out] for c in m["countries"]})
    names = {iso3: name for iso3, name in session.execute(
        select(Country.iso3, Country.name).where(Country.iso3.in_(codes)))}

    def delegations(meeting: Mapping[str, Any]) -> list[Cell]:
        a, b = meeting["countries"]
        return [a, names.get(a), b, names.get(b)]

    summary = Sheet("summary", ["item", "value"], [
        ["table_id", table.id], ["table_name", table.name], ["plan_number", plan.number],
        ["created_at", plan.created_at], ["created_by", plan.created_by],
        ["scoring_version", plan.scoring_version],
        ["changed_since", _changes(changed_since(plan_settings(table), plan.summary,
                                                 plan.scoring_version))],
        *_summary_rows(plan.summary),
    ])
    ordered = sorted(plan.meetings, key=lambda m: (m["round"] or 0, m["table"] or 0))
    schedule = Sheet("schedule", SCHEDULE_HEADER, [
        [m["round"], m["table"], *delegations(m), m["value"],
         need_id, *_item_cells(needs.get(need_id), reader),
         offer_id, *_item_cells(offers.get(offer_id), reader)]
        for m in ordered for need_id, offer_id in _pairings([m])
    ])
    left_out = Sheet("left_out", LEFT_OUT_HEADER, [
        [*delegations(m), m["value"], len(m["pairings"]), m["reason"]] for m in plan.left_out
    ])
    return [summary, schedule, left_out]


def _changes(changed: list[str] | None) -> str:
    if changed is None:
        return "unknown (the plan was stored without its settings)"
    return ", ".join(changed) or "nothing"


def _summary_rows(summary: Mapping[str, Any]) -> Iterable[list[Cell]]:
    """A row per summary figure, and one per setting the plan was computed with
    (`settings.weights`, ...)."""
    for key, value in summary.items():
        if key == "settings" and isinstance(value, dict):
            yield from ([f"settings.{name}", _figure(item)] for name, item in value.items())
        else:
            yield [key, _figure(value)]


def _figure(value: Any) -> Cell:
    """One summary figure as a cell: lists joined by commas, mappings one `key: value` a line
    (the values may hold commas and semicolons)."""
    if isinstance(value, list):
        return ", ".join(map(str, value))
    if isinstance(value, dict):
        return "\n".join(f"{key}: {item}" for key, item in value.items())
    return cast(Cell, value)
