"""Coverage-gap analysis under /api/analysis: runs and their results, site suggestions, closures, the network."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import TypeAdapter
from sqlalchemy.orm import Session

from app.deps import ReadPublic, RunAnalysis, SessionDep, SettingsDep
from app.routers.common import GEOJSON, GeoJSONResponse, link_after
from app.routers.responses import FEATURE_COLLECTION, READ, RESTRICTED, errors, media, openapi_links
from app.schemas.analysis import RunCreate, SuggestSitesRequest, WhatIfRequest
from app.schemas.analysis_results import Network, RunAssets, RunList, SiteSuggestionOut, WhatIfOut
from app.schemas.analysis_runs import RunDocument
from app.services import analysis
from app.services.analysis import parents

router = APIRouter(prefix="/api/analysis", tags=["analysis"])

RunId = Annotated[int, Path(ge=1, le=2_147_483_647, description="analysis run id")]
CELL_PAGE_DEFAULT = 1000
CELL_PAGE_MAX = 10_000
# Documents are sent as the services build them, serialised as FastAPI does an un-modelled dict (NaN as null):
# the models of app.schemas document them, and tests/app/test_openapi_contract.py holds each answer to its model.
_AS_BUILT = TypeAdapter(dict[str, Any])


def as_built(document: dict[str, Any]) -> JSONResponse:
    """A service's document as the answer, no field coerced or left out by a response model."""
    return JSONResponse(_AS_BUILT.dump_python(document, mode="json"))


def get_session_factory(request: Request) -> Callable[[], Session]:
    """Sessions for work that outlives the request (background runs)."""
    return request.app.state.sessionmaker


SessionFactoryDep = Annotated[Callable[[], Session], Depends(get_session_factory)]
RUN_LINKS = openapi_links(
    {
        "get_run": ("/api/analysis/runs/{run_id}", "get"),
        "get_run_neighbourhoods": ("/api/analysis/runs/{run_id}/neighbourhoods", "get"),
        "get_run_cells": ("/api/analysis/runs/{run_id}/cells", "get"),
        "get_run_assets": ("/api/analysis/runs/{run_id}/assets", "get"),
        "suggest_sites": ("/api/analysis/runs/{run_id}/suggest-sites", "post"),
        "what_if": ("/api/analysis/runs/{run_id}/what-if", "post"),
    },
    "run_id",
)


@router.post(
    "/runs",
    status_code=201,
    summary="Start a coverage-gap run",
    responses=errors(
        400,
        RESTRICTED,
        404,
        429,
        extra={
            201: {"description": "The finished run", "model": RunDocument, "links": RUN_LINKS},
            202: {
                "description": "Queued: poll the run at its Location",
                "model": RunDocument,
                "links": RUN_LINKS,
            },
        },
    ),
)
async def create_run(
    request: Request,
    body: RunCreate,
    db: SessionDep,
    settings: SettingsDep,
    principal: RunAnalysis,
    session_factory: SessionFactoryDep,
) -> JSONResponse:
    """Compute a run (201); a large run, or one asked for with background=true, is queued (202): poll it."""

    def work(cancel: threading.Event) -> tuple[Any, dict[str, Any]]:
        run = analysis.create_run(
            db, settings, principal, body, session_factory=session_factory, cancel=cancel
        )
        return run, analysis.run_document(db, settings, principal, run)

    run, document = await analysis.off_the_loop(request.receive, work)
    return JSONResponse(
        document,
        status_code=201 if run.status == "succeeded" else 202,
        headers={"Location": f"/api/analysis/runs/{run.id}"},
    )


@router.get(
    "/runs",
    summary="List analysis runs, newest first",
    response_model=RunList,
    responses=errors(READ, 404),
)
def list_runs(
    db: SessionDep,
    settings: SettingsDep,
    principal: ReadPublic,
    city: Annotated[str | None, Query(max_length=200, description="city id or name")] = None,
    service_type: Annotated[str | None, Query(max_length=64, description="service type slug")] = None,
    before: Annotated[
        int | None, Query(ge=1, le=2_147_483_647, description="continue with runs older than this id")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> JSONResponse:
    """Runs (status, parameters, data version, totals) newest first."""
    runs, next_before = analysis.list_runs(
        db, principal, city=city, service_slug=service_type, before=before, limit=limit
    )
    return as_built(
        {
            "items": [analysis.run_document(db, settings, principal, run) for run in runs],
            "next_before": next_before,
        }
    )


@router.get(
    "/runs/{run_id}",
    summary="A run: status, parameters, data version, totals, timing",
    response_model=RunDocument,
    responses=errors(READ, 404),
)
def get_run(run_id: RunId, db: SessionDep, settings: SettingsDep, principal: ReadPublic) -> JSONResponse:
    """Poll this until status is succeeded or failed."""
    return as_built(analysis.run_document(db, settings, principal, analysis.get_run(db, principal, run_id)))


@router.get(
    "/runs/{run_id}/neighbourhoods",
    summary="Per-neighbourhood results (GeoJSON)",
    response_class=Response,
    responses=errors(
        READ, 404, 409, extra={200: media("A FeatureCollection", GEOJSON, schema=FEATURE_COLLECTION)}
    ),
)
def get_run_neighbourhoods(
    run_id: RunId,
    db: SessionDep,
    principal: ReadPublic,
    level: Annotated[
        Literal["district", "neighbourhood", "area"] | None,
        Query(
            description="areas of this level, each summed from the run's areas inside it; default: the run's"
        ),
    ] = None,
) -> GeoJSONResponse:
    """Population (served group), need, covered share, mean distance, unmet need, gap share, access, desert."""
    if level is not None:
        return GeoJSONResponse(parents.parent_collection(db, principal, run_id, level))
    return GeoJSONResponse(analysis.neighbourhood_collection(db, principal, run_id))


@router.get(
    "/runs/{run_id}/cells",
    summary="Per-unit results (GeoJSON, keyset-paged)",
    response_class=Response,
    responses=errors(
        READ, 404, 409, extra={200: media("A FeatureCollection", GEOJSON, schema=FEATURE_COLLECTION)}
    ),
)
def get_run_cells(
    request: Request,
    run_id: RunId,
    db: SessionDep,
    principal: ReadPublic,
    shape: Annotated[
        Literal["points", "hexagons"], Query(description="unit centres or H3 hexagons")
    ] = "points",
    after: Annotated[
        str | None,
        Query(pattern=r"^[0-9a-z:]{1,32}$", description="continue after this unit id (from 'next')"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=CELL_PAGE_MAX)] = CELL_PAGE_DEFAULT,
) -> JSONResponse:
    """Need, distance to the nearest asset, covered, access score and shortfall of each demand unit."""
    page = analysis.cell_page(db, principal, run_id, shape, after, limit)
    next_url = link_after(request, page.next_after) if page.next_after else None
    return JSONResponse(
        {
            "type": "FeatureCollection",
            "features": page.features,
            "numberReturned": len(page.features),
            "next": next_url,
            "links": [{"rel": "next", "type": GEOJSON, "href": next_url}] if next_url else [],
        },
        media_type=GEOJSON,
    )


@router.get(
    "/runs/{run_id}/assets",
    summary="Per-asset results of a run",
    response_model=RunAssets,
    responses=errors(READ, 404, 409),
)
def get_run_assets(
    run_id: RunId, db: SessionDep, settings: SettingsDep, principal: ReadPublic
) -> JSONResponse:
    """Capacity used, decay-weighted demand in reach, supply ratio and idle flag of each of the service's assets."""
    return as_built(analysis.run_assets(db, settings, principal, run_id))


@router.post(
    "/runs/{run_id}/suggest-sites",
    summary="Suggest p new sites for a run's gaps",
    response_model=SiteSuggestionOut,
    responses=errors(400, RESTRICTED, 404, 409, 429),
)
async def suggest_sites(
    request: Request,
    run_id: RunId,
    body: SuggestSitesRequest,
    db: SessionDep,
    settings: SettingsDep,
    principal: RunAnalysis,
) -> JSONResponse:
    """Chosen sites (community spaces by name), objective, greedy objective, LP bound, and unmet need per area."""
    suggestion = await analysis.off_the_loop(
        request.receive,
        lambda cancel: analysis.suggest_sites(
            db,
            settings,
            principal,
            run_id,
            body.p,
            body.candidates,
            capacity=body.capacity,
            capacitated=body.capacitated,
            time_limit_s=body.time_limit_s,
            cancel=cancel,
        ),
    )
    return as_built(suggestion)


@router.post(
    "/runs/{run_id}/what-if",
    summary="What if these assets closed",
    response_model=WhatIfOut,
    responses=errors(400, RESTRICTED, 404, 409, 429),
)
async def what_if(
    request: Request,
    run_id: RunId,
    body: WhatIfRequest,
    db: SessionDep,
    settings: SettingsDep,
    principal: RunAnalysis,
) -> JSONResponse:
    """People losing coverage and the change in unmet need per neighbourhood."""
    closure = await analysis.off_the_loop(
        request.receive,
        lambda cancel: analysis.what_if(db, settings, principal, run_id, body.close, cancel=cancel),
    )
    return as_built(closure)


@router.get(
    "/network",
    summary="The relationship network of a city's published assets",
    response_model=Network,
    responses=errors(READ, 404),
)
def get_network(
    db: SessionDep,
    settings: SettingsDep,
    principal: ReadPublic,
    city: Annotated[str, Query(min_length=1, max_length=200, description="city id or name")],
) -> JSONResponse:
    """Degree, betweenness (brokers), components, isolated assets and ties crossing neighbourhood borders."""
    view = analysis.network_view(db, settings, principal, city)
    return as_built(analysis.network_document(view, principal, settings))
