"""Routes for matching resources to needs, commitments and their dashboard (docs/MATCHING.md)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import Response

from app.deps import EditFeatures, ReadHistory, ReadPublic, SessionDep, SettingsDep, SignedIn
from app.routers.responses import READ, RESTRICTED, SIGNED_IN, errors
from app.schemas.matching import (
    CommitmentCreate,
    CommitmentHistory,
    CommitmentList,
    CommitmentOut,
    CommitmentUpdate,
    Dashboard,
    Matches,
)
from app.services import matching as service
from app.services.matching.commitments import commitment_history

router = APIRouter(tags=["matching"])

IdPath = Annotated[int, Path(ge=1, le=2_147_483_647)]
IdQuery = Annotated[int, Query(ge=1, le=2_147_483_647, description="the need's id")]
OptionalId = Annotated[int | None, Query(ge=1, le=2_147_483_647)]
StartsOn = Annotated[dt.date | None, Query(description="the need's first day (default: today)")]
EndsOn = Annotated[
    dt.date | None, Query(description="the need's last day (default: four weeks after the first)")
]
Kinds = Annotated[
    list[str] | None,
    Query(
        max_length=len(service.RESOURCE_KINDS),
        description=f"resource kinds wanted: {', '.join(service.RESOURCE_KINDS)}",
    ),
]
Wanted = Annotated[float, Query(gt=0, le=1e9, description="how much of a resource the need wants")]
Limit = Annotated[int, Query(ge=1, le=service.candidates.MAX_CANDIDATES)]
CSV_COLUMNS = (
    "rank",
    "score",
    "resource_id",
    "kind",
    "remaining",
    "unit",
    "owner_type",
    "owner_name",
    "distance_band",
    "distance_m",
    "network_hops",
    "why",
)


def _kinds(kind: list[str] | None) -> tuple[str, ...]:
    """`kind=a,b` or `kind=a&kind=b`."""
    return tuple(part.strip() for value in kind or () for part in value.split(",") if part.strip())


def _matches(
    db: Any,
    settings: Any,
    principal: Any,
    need: int,
    starts_on: Any,
    ends_on: Any,
    kind: Any,
    wanted: float,
    limit: int,
) -> dict[str, Any]:
    query = service.MatchQuery(
        starts_on=starts_on, ends_on=ends_on, kinds=_kinds(kind), wanted=wanted, limit=limit
    )
    return service.match_need(db, settings, principal, need, query)


@router.get(
    "/api/matches",
    summary="Candidates for a need, ranked",
    name="list_matches",
    response_model=Matches,
    responses=errors(READ, 404, 409),
)
def list_matches(
    db: SessionDep,
    settings: SettingsDep,
    principal: ReadPublic,
    need: IdQuery,
    starts_on: StartsOn = None,
    ends_on: EndsOn = None,
    kind: Kinds = None,
    wanted: Wanted = 1.0,
    limit: Limit = 20,
) -> dict[str, Any]:
    """The resources whose kind and service fit an open need, best first, each with the parts of its score and
    why; people's distance is a band for readers without planner rights."""
    return _matches(db, settings, principal, need, starts_on, ends_on, kind, wanted, limit)


@router.get(
    "/api/needs/{need_id}/matches",
    summary="Candidates for a need, ranked (by the need's path)",
    name="need_matches",
    response_model=Matches,
    responses=errors(READ, 404, 409),
)
def need_matches(
    db: SessionDep,
    settings: SettingsDep,
    principal: ReadPublic,
    need_id: IdPath,
    starts_on: StartsOn = None,
    ends_on: EndsOn = None,
    kind: Kinds = None,
    wanted: Wanted = 1.0,
    limit: Limit = 20,
) -> dict[str, Any]:
    """As GET /api/matches?need={need_id}."""
    return _matches(db, settings, principal, need_id, starts_on, ends_on, kind, wanted, limit)


@router.get(
    "/api/matches/export.csv",
    summary="Candidates for a need as CSV",
    name="export_matches",
    response_class=Response,
    responses=errors(
        READ,
        404,
        409,
        extra={
            200: {
                "description": "One row per candidate",
                "content": {"text/csv": {"schema": {"type": "string"}}},
            }
        },
    ),
)
def export_matches(
    db: SessionDep,
    settings: SettingsDep,
    principal: ReadPublic,
    need: IdQuery,
    starts_on: StartsOn = None,
    ends_on: EndsOn = None,
    kind: Kinds = None,
    wanted: Wanted = 1.0,
    limit: Limit = 100,
) -> Response:
    """The same candidates as a spreadsheet: the same privacy (a person's distance only as a band)."""
    result = _matches(db, settings, principal, need, starts_on, ends_on, kind, wanted, limit)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for c in result["candidates"]:
        writer.writerow(
            [
                c["rank"],
                c["score"],
                c["resource"]["id"],
                c["resource"]["kind"],
                c["resource"]["remaining"],
                c["resource"]["unit"],
                c["owner"]["type"],
                _spreadsheet_safe(c["owner"]["name"]),
                c["distance_band"],
                "" if c["distance_m"] is None else c["distance_m"],
                "" if c["network_hops"] is None else c["network_hops"],
                "; ".join(_spreadsheet_safe(w) for w in c["why"]),
            ]
        )
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="need-{need}-matches.csv"'},
    )


def _spreadsheet_safe(value: str | None) -> str:
    """Text people typed, never read as a formula by a spreadsheet."""
    text = value or ""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


@router.post(
    "/api/commitments",
    status_code=201,
    summary="Commit a resource to a need",
    name="create_commitment",
    response_model=CommitmentOut,
    responses=errors(400, RESTRICTED, 404, 409),
)
def create_commitment(
    body: CommitmentCreate, db: SessionDep, settings: SettingsDep, principal: EditFeatures
) -> dict[str, Any]:
    """Turn a candidate into a commitment (stage `proposed`); refused (409) when more is asked than is left."""
    commitment_id = service.create_commitment(db, settings, principal, body.model_dump())
    return service.get_commitment(db, settings, principal, commitment_id)


@router.get(
    "/api/commitments",
    summary="List commitments of a need or a resource",
    name="list_commitments",
    response_model=CommitmentList,
    responses=errors(SIGNED_IN),
)
def list_commitments(
    db: SessionDep,
    settings: SettingsDep,
    principal: SignedIn,
    need: OptionalId = None,
    resource: OptionalId = None,
) -> dict[str, Any]:
    """Commitments, oldest first."""
    return {"items": service.list_commitments(db, settings, principal, need_id=need, resource_id=resource)}


@router.get(
    "/api/commitments/{commitment_id}",
    summary="Get a commitment",
    name="get_commitment",
    response_model=CommitmentOut,
    responses=errors(SIGNED_IN, 404),
)
def get_commitment(
    db: SessionDep, settings: SettingsDep, principal: SignedIn, commitment_id: IdPath
) -> dict[str, Any]:
    """One commitment with its resource's remaining quantity."""
    return service.get_commitment(db, settings, principal, commitment_id)


@router.patch(
    "/api/commitments/{commitment_id}",
    summary="Move a commitment to its next stage or record its outcome",
    name="update_commitment",
    response_model=CommitmentOut,
    responses=errors(400, RESTRICTED, 404, 409),
)
def update_commitment(
    body: CommitmentUpdate,
    db: SessionDep,
    settings: SettingsDep,
    principal: EditFeatures,
    commitment_id: IdPath,
) -> dict[str, Any]:
    """proposed -> agreed -> active -> done, or cancelled before done; hours given and people helped once active."""
    service.update_commitment(db, settings, principal, commitment_id, body.model_dump(exclude_unset=True))
    return service.get_commitment(db, settings, principal, commitment_id)


@router.get(
    "/api/commitments/{commitment_id}/history",
    summary="History of a commitment",
    name="history_commitment",
    response_model=CommitmentHistory,
    responses=errors(RESTRICTED, 404),
)
def history_of_commitment(
    db: SessionDep, settings: SettingsDep, principal: ReadHistory, commitment_id: IdPath
) -> dict[str, Any]:
    """Every change of a commitment: who, when, its stage before and after."""
    service.get_commitment(db, settings, principal, commitment_id)  # 404 for one this reader may not see
    return {"items": commitment_history(db, commitment_id)}


@router.get(
    "/api/dashboard",
    summary="Needs met, open needs and volunteer hours",
    name="matching_dashboard",
    response_model=Dashboard,
    responses=errors(READ, 404),
)
def matching_dashboard(
    db: SessionDep,
    principal: ReadPublic,
    city: Annotated[str, Query(min_length=1, max_length=200, description="city id or name")],
    neighbourhood: OptionalId = None,
    period: Annotated[
        str | None, Query(max_length=20, description="YYYY or YYYY-MM (default: all time)")
    ] = None,
) -> dict[str, Any]:
    """Sums of what commitments achieved, by service type and by month, in a city or a neighbourhood."""
    return service.dashboard(db, city, neighbourhood, period)
