"""The analysis map pages: /maps/gaps (coverage gaps of a run) and /maps/network (the relationship network)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from app.deps import ReadPublic, SessionDep, SettingsDep
from app.errors import InvalidInput
from app.routers.analysis import SessionFactoryDep
from app.services import analysis
from geo.escape import escape_text
from geo.render import inline_script_hashes, use_local_assets

use_local_assets()  # idempotent: folium loads Leaflet & co. from /static/vendor (create_app does it too)

router = APIRouter(prefix="/maps", tags=["maps"], include_in_schema=False)


def _map_page(request: Request, html: str) -> HTMLResponse:
    """A folium page whose Content-Security-Policy allows exactly its own inline scripts (by hash), no others."""
    request.state.script_sources = tuple(inline_script_hashes(html))
    return HTMLResponse(html)


_WAITING = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="5">
<title>Analysis running</title></head>
<body><p>Analysis run {run_id} for {city} is {status}. This page reloads by itself until the map is ready.</p>
</body></html>"""


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
) -> HTMLResponse:
    """The gap map of a run, or of the latest default run of a city and service on current data (made if none)."""
    if run is None:
        if not city or not service:
            raise InvalidInput("give run=<id>, or city=<name or id> and service=<slug>", field="run")
        found = analysis.latest_or_new_run(
            db, settings, principal, city, service, session_factory=session_factory
        )
    else:
        found = analysis.get_run(db, principal, run)
    if found.status in ("pending", "running"):
        page = _WAITING.format(
            run_id=found.id, city=escape_text(found.params.get("city", "")), status=found.status
        )
        return HTMLResponse(page, status_code=202)
    return _map_page(request, analysis.gap_map_html(db, settings, principal, found))


@router.get("/network", response_class=HTMLResponse, name="network_map_page")
def show_network_map(
    request: Request,
    db: SessionDep,
    settings: SettingsDep,
    principal: ReadPublic,
    city: Annotated[str, Query(min_length=1, max_length=200, description="city id or name")],
) -> HTMLResponse:
    """Assets sized by their number of links, brokers outlined, isolated assets hollow, ties by kind."""
    return _map_page(request, analysis.network_map_html(db, settings, principal, city))
