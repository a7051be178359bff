"""The analysis map pages: /maps/gaps (coverage gaps of a run) and /maps/network (the relationship network)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from app.deps import ReadPublic, SessionDep, SettingsDep
from app.routers.analysis import SessionFactoryDep
from app.services.analysis import map_pages
from app.services.analysis.map_pages import MapPage, MapPageKind

router = APIRouter(prefix="/maps", tags=["maps"], include_in_schema=False)

# A map is 200; a run still computing 202 (the page reloads itself); a failed run 409; no run at all 404.
_STATUS_BY_KIND: dict[MapPageKind, int] = {"map": 200, "waiting": 202, "failed": 409, "missing": 404}


def _answer(request: Request, page: MapPage) -> HTMLResponse:
    """A map's Content-Security-Policy allows exactly its own inline scripts (by hash); other pages keep the default."""
    if page.kind == "map":
        request.state.script_sources = page.script_hashes
    return HTMLResponse(page.html, status_code=_STATUS_BY_KIND[page.kind])


@router.get("/gaps", response_class=HTMLResponse, name="gap_map_page")
def show_gap_map(
    request: Request,
    db: SessionDep,
    settings: SettingsDep,
    principal: ReadPublic,
    session_factory: SessionFactoryDep,
    run: Annotated[int | None, Query(ge=1, le=2_147_483_647, description="analysis run id")] = None,
    city: Annotated[str | None, Query(max_length=200, description="city id or name")] = None,
    service: Annotated[str | None, Query(max_length=64, description="service type slug")] = None,
    distance: Annotated[
        Literal["straight", "network"], Query(description="the default run's distances: straight or on foot")
    ] = "straight",
    walk_from: Annotated[
        int | None, Query(ge=1, le=2_147_483_647, description="asset id: draw its 5, 10 and 15 minute walks")
    ] = None,
    budget_round: Annotated[
        int | None, Query(ge=1, le=2_147_483_647, description="a citizen-budget round: show its proposals")
    ] = None,
) -> HTMLResponse:
    """The gap map of a run, or of the latest default run of a city and service; a view never computes one
    (readers with analysis rights queue one in the background when none is on the current data)."""
    page = map_pages.gap_map_page(
        db,
        settings,
        principal,
        run=run,
        city=city,
        service=service,
        session_factory=session_factory,
        distance=distance,
        walk_from=walk_from,
        budget_round=budget_round,
    )
    return _answer(request, page)


@router.get("/network", response_class=HTMLResponse, name="network_map_page")
def show_network_map(
    request: Request,
    db: SessionDep,
    settings: SettingsDep,
    principal: ReadPublic,
    city: Annotated[str, Query(min_length=1, max_length=200, description="city id or name")],
) -> HTMLResponse:
    """Assets sized by their number of links, brokers outlined, isolated assets hollow, ties by kind."""
    return _answer(request, map_pages.network_map_page(db, settings, principal, city))
