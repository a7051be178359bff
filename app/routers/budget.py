"""Routes of citizen budgets (docs/BUDGETS.md): rounds and phases, proposals and their review and need scores,
approval ballots by account or voting code, results by both rules and the pabulib export."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import Response

from app.deps import ReadPublic, RunAnalysis, SessionDep, SettingsDep, SignedIn
from app.routers.responses import READ, RESTRICTED, SIGNED_IN, errors, media
from app.schemas.budget import (
    BallotIn,
    BallotOut,
    CodesCreate,
    CodesOut,
    DatesSet,
    PhaseSet,
    ProposalCreate,
    ProposalOut,
    ResultsOut,
    Review,
    RoundCreate,
    RoundList,
    RoundOut,
)
from app.services import budget as service

router = APIRouter(prefix="/api/budget-rounds", tags=["budgets"])

RoundPath = Annotated[int, Path(ge=1, le=2_147_483_647, description="a budget round id")]
ProposalPath = Annotated[int, Path(ge=1, le=2_147_483_647, description="a proposal id")]
CityQuery = Annotated[str | None, Query(max_length=200, description="city id or name")]
CodeQuery = Annotated[str | None, Query(max_length=40, description="the voting code of a paper ballot")]


@router.get("", response_model=RoundList, responses=errors(READ, 404))
def list_rounds(db: SessionDep, principal: ReadPublic, city: CityQuery = None) -> dict[str, Any]:
    """Budget rounds, newest first, with their phase now."""
    rounds = service.list_rounds(db, city)
    names = service.city_names(db)
    return {"items": [service.round_summary(r, names.get(r.city_id)) for r in rounds]}


@router.post("", status_code=201, response_model=RoundOut, responses=errors(400, RESTRICTED, 404))
def create_round(body: RoundCreate, db: SessionDep, principal: RunAnalysis) -> dict[str, Any]:
    """A new round: its city (or neighbourhoods), amount and the dates its phases start."""
    round_ = service.create_round(db, principal, body.model_dump())
    return service.round_document(db, principal, round_)


@router.get("/{round_id}", response_model=RoundOut, responses=errors(READ, 404))
def get_round(round_id: RoundPath, db: SessionDep, principal: ReadPublic) -> dict[str, Any]:
    """A round with its phase, proposals and need scores."""
    return service.round_document(db, principal, service.get_round(db, round_id))


@router.post("/{round_id}/phase", response_model=RoundOut, responses=errors(400, RESTRICTED, 404, 409))
def move_on(round_id: RoundPath, body: PhaseSet, db: SessionDep, principal: RunAnalysis) -> dict[str, Any]:
    """Start a phase now (phases only move forward)."""
    return service.round_document(db, principal, service.set_phase(db, principal, round_id, body.phase))


@router.patch("/{round_id}/dates", response_model=RoundOut, responses=errors(400, RESTRICTED, 404, 409))
def set_dates(round_id: RoundPath, body: DatesSet, db: SessionDep, principal: RunAnalysis) -> dict[str, Any]:
    """Move the starts of phases that have not started."""
    round_ = service.set_dates(db, principal, round_id, body.model_dump(exclude_none=True))
    return service.round_document(db, principal, round_)


@router.post(
    "/{round_id}/proposals",
    status_code=201,
    response_model=ProposalOut,
    responses=errors(400, SIGNED_IN, 403, 404, 409),
)
def add_proposal(
    round_id: RoundPath, body: ProposalCreate, db: SessionDep, settings: SettingsDep, principal: SignedIn
) -> dict[str, Any]:
    """Propose (while proposals are open); scored against the gap analysis when it has a service and a place."""
    data = body.model_dump(exclude_none=True)
    proposal = service.add_proposal(db, settings, principal, round_id, data)
    return service.proposal_document(db, proposal, organiser=principal.role in service.ORGANISER_ROLES)


@router.post(
    "/{round_id}/proposals/{proposal_id}/review",
    response_model=ProposalOut,
    responses=errors(400, RESTRICTED, 404, 409),
)
def review_proposal(
    round_id: RoundPath, proposal_id: ProposalPath, body: Review, db: SessionDep, principal: RunAnalysis
) -> dict[str, Any]:
    """Mark a proposal feasible or not (a reason is required for not), before voting opens."""
    proposal = service.review_proposal(db, principal, round_id, proposal_id, body.feasible, body.reason)
    return service.proposal_document(db, proposal, organiser=True)


@router.post("/{round_id}/scores", response_model=RoundOut, responses=errors(RESTRICTED, 404))
def rescore(
    round_id: RoundPath, db: SessionDep, settings: SettingsDep, principal: RunAnalysis
) -> dict[str, Any]:
    """Score every proposal again on the current data."""
    round_ = service.get_round(db, round_id)
    service.score_proposals(db, settings, principal, round_)
    return service.round_document(db, principal, round_)


@router.post(
    "/{round_id}/codes", status_code=201, response_model=CodesOut, responses=errors(400, RESTRICTED, 404, 409)
)
def generate_codes(
    round_id: RoundPath, body: CodesCreate, db: SessionDep, principal: RunAnalysis
) -> dict[str, Any]:
    """One-time voting codes to hand out with paper ballots: shown once, only their hashes are kept."""
    return {"round": round_id, "codes": service.generate_codes(db, principal, round_id, body.count)}


@router.put("/{round_id}/ballot", response_model=BallotOut, responses=errors(400, READ, 403, 404, 409))
def cast_ballot(round_id: RoundPath, body: BallotIn, db: SessionDep, principal: ReadPublic) -> dict[str, Any]:
    """Cast or change your one ballot while voting is open: signed in, or with a voting code."""
    return service.cast_ballot(db, principal, round_id, body.approvals, body.code)


@router.get("/{round_id}/ballot", response_model=BallotOut, responses=errors(READ, 403, 404))
def get_ballot(
    round_id: RoundPath, db: SessionDep, principal: ReadPublic, code: CodeQuery = None
) -> dict[str, Any]:
    """Your ballot (signed in, or by voting code): its approvals, or null before you vote."""
    return service.my_ballot(db, principal, round_id, code)


@router.get("/{round_id}/results", response_model=ResultsOut, responses=errors(READ, 404, 409))
def get_results(round_id: RoundPath, db: SessionDep, principal: ReadPublic) -> dict[str, Any]:
    """Greedy by votes and the Method of Equal Shares side by side, with why each project was funded or not."""
    return service.results(db, principal, round_id)


@router.get(
    "/{round_id}/export.pb",
    response_class=Response,
    responses={200: media("The round in pabulib's .pb format", "text/plain"), **errors(READ, 404, 409)},
)
def export_pb(round_id: RoundPath, db: SessionDep, principal: ReadPublic) -> Response:
    """The round as a pabulib .pb file (projects, costs and anonymous approval ballots)."""
    text = service.export_pabulib(db, principal, round_id)
    return Response(
        text,
        media_type="text/plain; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="budget-round-{round_id}.pb"'},
    )
