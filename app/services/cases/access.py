"""Who may do what with a case: organisers in their neighbourhoods, the council's side (planners) for decisions,
and everyone else the public register only."""

from __future__ import annotations

from app.errors import Forbidden
from app.policy import CASE_DECISION_ROLES, Principal
from app.services.cases.rules import DECISION_EVENTS


def _where(neighbourhood_id: int | None) -> str:
    return (
        f"neighbourhood {neighbourhood_id}" if neighbourhood_id is not None else "outside every neighbourhood"
    )


def check_open(principal: Principal, neighbourhood_id: int | None) -> None:
    """Organisers open cases on assets in their neighbourhoods; GIS staff and admins anywhere."""
    if not principal.can_edit_in(neighbourhood_id):
        raise Forbidden(
            f"you may not open cases on assets in {_where(neighbourhood_id)}: an organiser of that neighbourhood "
            "may, or ask an admin to assign it to you"
        )


def check_update(principal: Principal, neighbourhood_id: int | None) -> None:
    """Change a case's details or add a document: its organisers, GIS staff, the council's side and admins."""
    if principal.role in CASE_DECISION_ROLES or principal.can_edit_in(neighbourhood_id):
        return
    raise Forbidden(
        f"only an organiser of {_where(neighbourhood_id)}, a planner or an admin may change this case"
    )


def check_event(principal: Principal, event_kind: str, neighbourhood_id: int | None) -> None:
    """The council's decisions are the council's (planners, admins); other events also the case's organisers."""
    if event_kind in DECISION_EVENTS:
        if principal.role not in CASE_DECISION_ROLES:
            raise Forbidden(
                f"{event_kind} is the council's decision: a planner (the council's officer) or an admin records it"
            )
        return
    check_update(principal, neighbourhood_id)


def sees_private(principal: Principal, neighbourhood_id: int | None) -> bool:
    """Whether the caller sees the community body's contact, event notes, private documents and the history:
    planner rights, GIS staff, admins, and the organisers of the case's neighbourhood."""
    return principal.sees_exact_locations or principal.can_edit_in(neighbourhood_id)


def sees_every_stage(principal: Principal) -> bool:
    """Staff see cases at every stage; everyone else the public register (docs/CASES.md)."""
    return principal.is_staff


def may_open(principal: Principal) -> bool:
    """Whether the caller's role opens cases somewhere (POST /api/cases' rule; the neighbourhood is checked then)."""
    return principal.role in ("admin", "gis", "organiser")


def may_record_on(principal: Principal, neighbourhood_id: int | None) -> bool:
    """Whether the caller records some event of a case in this neighbourhood (its page shows the form)."""
    return principal.role in CASE_DECISION_ROLES or principal.can_edit_in(neighbourhood_id)
