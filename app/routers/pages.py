"""HTML pages: the start page, neighbourhood profiles, the organiser's map editor and the import page."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from app.deps import ImportData, PrincipalDep, ReadPublic, SessionDep, SettingsDep
from app.policy import MANAGE_GEOGRAPHY_ROLES, Principal
from app.services import pages as service
from app.services.tiles import large_layers
from app.templating import templates

router = APIRouter(include_in_schema=False)


def _page(
    request: Request,
    template: str,
    principal: Principal,
    script_sources: list[str] | None = None,
    **context: Any,
) -> HTMLResponse:
    """Render a page; its Content-Security-Policy allows scripts from this origin plus `script_sources` only."""
    # app.main's middleware builds the header from this: no 'unsafe-inline' on these pages.
    request.state.script_sources = tuple(script_sources or ())
    viewer = None if principal.is_anonymous else {"username": principal.username, "role": principal.role}
    return templates.TemplateResponse(request, template, {"viewer": viewer, **context})


@router.get("/", response_class=HTMLResponse, name="start_page")
def show_start_page(
    request: Request, db: SessionDep, settings: SettingsDep, principal: PrincipalDep
) -> HTMLResponse:
    """The start page: the sign-in form for everyone, and cities with links to their maps for those who may read."""
    if principal.is_anonymous and not settings.anonymous_read:
        page = service.StartPage([], [])
    else:
        page = service.start_page(db)
    return _page(request, "start.html", principal, page=page)


@router.get("/maps/neighbourhoods/{neighbourhood_id}", response_class=HTMLResponse, name="neighbourhood_page")
def show_neighbourhood(
    request: Request,
    db: SessionDep,
    settings: SettingsDep,
    principal: ReadPublic,
    neighbourhood_id: Annotated[int, Path(ge=1, le=2_147_483_647)],
) -> HTMLResponse:
    """A neighbourhood's profile: its map (assets, needs, resources, links) beside its summary numbers."""
    profile = service.neighbourhood_profile(db, settings, principal, neighbourhood_id)
    # The map is a folium document shown in an <iframe srcdoc>; the frame inherits this page's policy, so the
    # hashes of the map's inline scripts are allowed and nothing else inline is.
    return _page(request, "neighbourhood.html", principal, profile.script_hashes, profile=profile)


@router.get("/map/edit", response_class=HTMLResponse, name="editor_page")
def show_editor(
    request: Request,
    db: SessionDep,
    settings: SettingsDep,
    principal: ReadPublic,
    city: Annotated[str | None, Query(max_length=200, description="city id or name")] = None,
) -> HTMLResponse:
    """The organiser's map: place, change, move and delete assets and needs (changes go through the API)."""
    page = service.editor_page(db, principal, city)
    return _page(
        request,
        "editor.html",
        principal,
        page=page,
        colours_json=json.dumps(page.colours),
        vector_tiles_json=json.dumps(
            large_layers(db, settings, page.city_id, page.city_name, ("neighbourhoods", "assets", "needs"))
        ),
        tiles_url=settings.tiles_url or "",
        tiles_attribution=settings.tiles_attribution,
    )


@router.get("/maps/outlines.geojson", name="neighbourhood_outlines")
def neighbourhood_outlines(
    db: SessionDep,
    principal: ReadPublic,
    city: Annotated[str, Query(min_length=1, max_length=200, description="city id or name")],
) -> Response:
    """A city's finest neighbourhoods, simplified for display (the organiser map's background)."""
    return Response(
        service.neighbourhood_outlines(db, city),
        media_type="application/geo+json",
        headers={"Cache-Control": "max-age=300"},
    )


@router.get("/organise", name="organise")
def organise(request: Request, principal: ReadPublic) -> RedirectResponse:
    """Another name for the organiser's map."""
    query = request.url.query
    return RedirectResponse("/map/edit" + (f"?{query}" if query else ""), status_code=307)


@router.get("/maps/import", response_class=HTMLResponse, name="import_page")
def show_import(
    request: Request, db: SessionDep, settings: SettingsDep, principal: ImportData
) -> HTMLResponse:
    """GIS staff upload a file, read the dry-run report, adjust the mapping and import."""
    page = service.import_page(db)
    return _page(
        request,
        "import.html",
        principal,
        page=page,
        targets_json=json.dumps(page.targets),
        upload_max_mb=settings.upload_max_bytes // (1024 * 1024),
        can_add_city=principal.role in MANAGE_GEOGRAPHY_ROLES,  # the same rule as POST /api/cities
    )
