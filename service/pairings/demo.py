"""Take the demo table through the whole lifecycle, so that a newcomer sees a non-empty report.

The demo secretariat plans the table and opens its session; then the delegations (and the
secretariat for some of them, as during a session) express interest, commit, sign agreements
(two with a triangular partner), decline and withdraw; commitments and agreements get
follow-up activities (some late) and progress notes. Runs once per database: a demo table
whose pairings were already acted on is left alone.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from models import CooperationTable, Pairing
from service.auth.service import Principal
from service.errors import ServiceError
from service.followups import service as followups
from service.followups.schemas import ActivityCreate, NoteCreate
from service.matching import plans
from service.matching.index import IndexCache
from service.pairings import lifecycle
from service.pairings import service as pairings
from service.pairings.schemas import PartnerWrite, TransitionRequest

SECRETARIAT = Principal(key_id=0, role="organizer", country=None, name="Demo secretariat")
PARTNERS = (PartnerWrite(name="OIT / ILO", support="technical"),
            PartnerWrite(name="Agência Brasileira de Cooperação (ABC)", support="financial"))
# How many of the plan's pairings (best first) end at each stage; the rest stay suggested.
TARGETS = (("agreement", 5), ("commitment", 8), ("withdrawn", 2), ("declined", 3),
           ("expression_of_interest", 16))


def _focal_point(iso3: str) -> Principal:
    return Principal(key_id=0, role="country", country=iso3, name=f"Demo focal point {iso3}")


def _move(session: Session, pairing_id: int, principal: Principal, to: str, *,
          on_behalf_of: str | None = None, reason: str | None = None) -> Pairing:
    pairing = pairings.get_pairing_or_raise(session, pairing_id, principal, lock=True)
    data = TransitionRequest(to=to, reason=reason, on_behalf_of=on_behalf_of)
    return lifecycle.transition(session, pairing=pairing, data=data, principal=principal,
                                if_match=None)


def _drive(session: Session, p: Pairing, target: str, n: int) -> None:
    """Take one pairing from `suggested` to `target`, alternating who acts."""
    recipient, provider = _focal_point(p.recipient_iso3), _focal_point(p.provider_iso3)
    if target == "declined":
        _move(session, p.id, provider if n % 2 else recipient, "declined",
              reason="No podemos asumir este intercambio en el ciclo actual.")
        return
    if n % 3 == 0:  # the secretariat records it for the delegation, as during a session
        _move(session, p.id, SECRETARIAT, "expression_of_interest",
              on_behalf_of=p.recipient_iso3)
    else:
        _move(session, p.id, recipient, "expression_of_interest")
    if target == "expression_of_interest" or (target == "withdrawn" and n % 2 == 0):
        if target == "withdrawn":
            _move(session, p.id, recipient, "withdrawn",
                  reason="Priorities changed after the national budget review.")
        return
    _move(session, p.id, provider, "commitment")
    _move(session, p.id, recipient, "commitment")
    if target == "withdrawn":
        _move(session, p.id, provider, "withdrawn",
              reason="The experts planned for this exchange are no longer available.")
    elif target == "agreement":
        partner = PARTNERS[n % len(PARTNERS)] if n < 2 else None
        if partner is not None:
            locked = pairings.get_pairing_or_raise(session, p.id, SECRETARIAT, lock=True)
            lifecycle.set_partner(session, pairing=locked, data=partner, principal=SECRETARIAT,
                                  if_match=None)
            locked = pairings.get_pairing_or_raise(session, p.id, SECRETARIAT, lock=True)
            lifecycle.confirm_partner(session, pairing=locked, principal=SECRETARIAT,
                                      if_match=None)
        _move(session, p.id, recipient, "agreement")
        _move(session, p.id, provider, "agreement")


def _follow_up(session: Session, pairing_id: int, n: int) -> None:
    """Activities around today's date: some done, some under way, some late."""
    today = followups.today()
    p = pairings.get_pairing_or_raise(session, pairing_id, SECRETARIAT)
    plans = [
        ("Videoconferencia técnica de arranque", p.provider_iso3, -60, -45, "done"),
        ("Visita de estudio al programa", p.recipient_iso3, -40, -10 + n, "in_progress"),
        ("Informe conjunto de avance", p.recipient_iso3, 10, 60, "planned"),
    ]
    if n % 2 == 0:
        plans.append(("Taller de capacitación de inspectores", p.provider_iso3, -30, -5,
                      "planned"))
    focal = _focal_point(p.recipient_iso3)
    for title, who, start, due, status in plans:
        data = ActivityCreate(title=title, responsible_country=who,
                              starts_on=today + timedelta(days=start),
                              due_on=today + timedelta(days=due), status=status)
        activity = followups.create_activity(session, pairing=p, data=data, principal=focal)
        if status == "done":
            followups.create_note(session, pairing=p, principal=_focal_point(who), data=NoteCreate(
                text="Primera reunión realizada; se acordó el plan de trabajo.",
                activity_id=activity.id))
    followups.create_note(session, pairing=p, principal=_focal_point(p.provider_iso3),
                          data=NoteCreate(text="Equipo técnico designado por ambas partes."))


def load_demo_lifecycle(session: Session, table_name: str) -> int:
    """Plan the demo table and act on its pairings; return how many pairings were moved."""
    table = session.scalar(select(CooperationTable).where(CooperationTable.name == table_name)
                           .options(selectinload(CooperationTable.participants)))
    if table is None or table.status == "closed":
        return 0
    acted = session.scalar(select(func.count(Pairing.id)).where(
        Pairing.table_id == table.id, Pairing.stage != "suggested")) or 0
    if acted:
        return 0
    plans.compute_plan(session, IndexCache(), table=table, actor=SECRETARIAT)
    table.status = "in_session"
    table.version += 1
    session.flush()
    planned = list(session.scalars(select(Pairing).where(
        Pairing.table_id == table.id, Pairing.stage == "suggested")
        .order_by(Pairing.score.desc(), Pairing.id)))
    targets = [stage for stage, count in TARGETS for _ in range(count)]
    moved = 0
    for n, (pairing, target) in enumerate(zip(planned, targets, strict=False)):
        try:
            with session.begin_nested():
                _drive(session, pairing, target, n)
                if target in ("commitment", "agreement"):
                    _follow_up(session, pairing.id, n)
            moved += 1
        except ServiceError:
            continue  # e.g. an offer without capacity left: this pairing stays as it was
    return moved
