"""The audit trail of pairings: who acted (key, role, country, delegation represented), when,
from which stage to which, and why. Events are only ever inserted."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import Pairing, PairingEvent
from service.auth.service import Principal


@dataclass(frozen=True, slots=True)
class Actor:
    """Who performs a change: the key and, for an organiser, the delegation acted for."""

    key_id: int | None
    name: str
    role: str
    country: str | None
    on_behalf_of: str | None = None

    @classmethod
    def of(cls, principal: Principal, on_behalf_of: str | None = None) -> Actor:
        """Describe a principal (key id 0 stands for the system, e.g. the demo loader)."""
        return cls(key_id=principal.key_id or None, name=principal.name[:120] or principal.role,
                   role=principal.role, country=principal.country, on_behalf_of=on_behalf_of)

    @property
    def acting_country(self) -> str | None:
        """The country whose side this act is: the key's own, or the one represented."""
        return self.country or self.on_behalf_of

    def label(self) -> str:
        """A short human label, e.g. `organizer:Secretariat for HTI`."""
        text = f"{self.role}:{self.name}"
        return f"{text} for {self.on_behalf_of}" if self.on_behalf_of else text


def record(session: Session, *, pairing: Pairing, action: str, actor: Actor,
           from_stage: str | None, to_stage: str | None, reason: str | None = None,
           details: dict[str, Any] | None = None) -> PairingEvent:
    """Append an event to a pairing's history (after its version was bumped)."""
    event = PairingEvent(
        pairing_id=pairing.id, action=action, from_stage=from_stage, to_stage=to_stage,
        actor_key_id=actor.key_id, actor_name=actor.name, actor_role=actor.role,
        actor_country=actor.country, on_behalf_of=actor.on_behalf_of, reason=reason,
        details=details or {}, version=pairing.version,
    )
    session.add(event)
    session.flush()
    return event


def history(session: Session, pairing_id: int, *, limit: int, offset: int,
            after: int | None = None) -> tuple[list[PairingEvent], int]:
    """Return a page of a pairing's events, oldest first (those with an id above `after`, if
    given), and the count of all its events."""
    mine = PairingEvent.pairing_id == pairing_id
    total = session.scalar(select(func.count(PairingEvent.id)).where(mine)) or 0
    above = [] if after is None else [PairingEvent.id > after]
    rows = session.scalars(select(PairingEvent).where(mine, *above).order_by(PairingEvent.id)
                           .limit(limit).offset(offset))
    return list(rows), total
