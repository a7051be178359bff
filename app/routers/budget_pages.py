"""HTML pages of citizen budgets: the rounds, one round with its proposals, the ballot (phone-friendly), results.

Every text a person typed reaches the page through Jinja's autoescaping; the forms post to the API with the
page's script (app/static/js/budget.js), which builds what it shows with text nodes only.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from app.deps import ReadPublic, SessionDep
from app.policy import Principal
from app.routers.pages import _page
from app.services import budget as service

router = APIRouter(include_in_schema=False)

RoundPath = Annotated[int, Path(ge=1, le=2_147_483_647)]


def _round_context(db: Session, principal: Principal, round_id: int) -> dict[str, Any]:
    round_ = service.get_round(db, round_id)
    document = service.round_document(db, principal, round_)
    services = sorted({p["service_type"] for p in document["proposals"] if p["service_type"]})
    return {
        "round": document,
        "organiser": principal.role in service.ORGANISER_ROLES,
        "signed_in": not principal.is_anonymous,
        "map_services": services,
        "service_types": service.service_type_choices(db),
        "next_phases": service.PHASES[service.PHASES.index(document["phase"]) + 1 :],
    }


@router.get("/budgets", response_class=HTMLResponse, name="budget_rounds_page")
def show_rounds(request: Request, db: SessionDep, principal: ReadPublic) -> HTMLResponse:
    """Every round with its phase."""
    names = service.city_names(db)
    rounds = [service.round_summary(r, names.get(r.city_id)) for r in service.list_rounds(db)]
    return _page(request, "budgets.html", principal, rounds=rounds)


@router.get("/budgets/{round_id}", response_class=HTMLResponse, name="budget_round_page")
def show_round(request: Request, db: SessionDep, principal: ReadPublic, round_id: RoundPath) -> HTMLResponse:
    """A round: its phase and dates, its proposals with their need scores, and what can be done now."""
    return _page(request, "budget_round.html", principal, **_round_context(db, principal, round_id))


@router.get("/budgets/{round_id}/ballot", response_class=HTMLResponse, name="budget_ballot_page")
def show_ballot(request: Request, db: SessionDep, principal: ReadPublic, round_id: RoundPath) -> HTMLResponse:
    """The ballot, made for a phone: tick the proposals you approve; sign in or give the code on your paper."""
    context = _round_context(db, principal, round_id)
    context["listed"] = [p for p in context["round"]["proposals"] if p["feasible"] is not False]
    return _page(request, "budget_ballot.html", principal, **context)


@router.get("/budgets/{round_id}/results", response_class=HTMLResponse, name="budget_results_page")
def show_results(
    request: Request, db: SessionDep, principal: ReadPublic, round_id: RoundPath
) -> HTMLResponse:
    """Both rules side by side, with why each proposal was or was not funded (once voting has closed)."""
    context = _round_context(db, principal, round_id)
    round_ = context["round"]
    shown = round_["phase"] == "results" or context["organiser"]
    context["results"] = service.results(db, principal, round_id) if shown else None
    return _page(request, "budget_results.html", principal, **context)
