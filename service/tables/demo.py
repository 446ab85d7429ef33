"""Create the demo cooperation table (once, matched by name)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import CooperationTable
from service.tables import service
from service.tables.schemas import TableCreate


def load_demo_table(session: Session, definition: dict[str, Any]) -> int:
    """Create the demo table unless one of the same name exists; return how many were added."""
    name = definition["name"]
    if session.scalar(select(CooperationTable.id).where(CooperationTable.name == name)):
        return 0
    fields = {k: v for k, v in definition.items() if k not in ("settings", "status")}
    data = TableCreate.model_validate({**fields, **definition.get("settings", {})})
    service.create_table(session, data=data)
    return 1
