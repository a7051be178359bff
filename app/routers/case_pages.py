"""HTML pages of the community-rights cases: the public register (/cases), one case, and what falls due soon."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse

from app.deps import ReadPublic, SessionDep, SettingsDep
from app.routers.pages import _page
from app.services.cases import register as service

router = APIRouter(include_in_schema=False)

CityQuery = Annotated[str | None, Query(max_length=200, description="city id or name")]
NeighbourhoodQuery = Annotated[int | None, Query(ge=1, le=2_147_483_647)]


def _optional_int(value: str | None) -> int | None:
    """A select's empty choice ('all') arrives as an empty string."""
    return (
        int(value) if value and value.isascii() and value.isdigit() and int(value) <= 2_147_483_647 else None
    )


@router.get("/cases", response_class=HTMLResponse, name="cases_register_page")
def show_register(
    request: Request,
    db: SessionDep,
    settings: SettingsDep,
    principal: ReadPublic,
    city: CityQuery = None,
    stage: Annotated[str | None, Query(max_length=30)] = None,
    neighbourhood: Annotated[str | None, Query(max_length=12)] = None,
) -> HTMLResponse:
    """The public register of a city on a map and as a table, filtered by stage and neighbourhood."""
    page = service.register_page(db, settings, principal, city, stage or None, _optional_int(neighbourhood))
    return _page(
        request,
        "cases.html",
        principal,
        page=page,
        tiles_url=settings.tiles_url or "",
        tiles_attribution=settings.tiles_attribution,
    )


@router.get("/cases/due-soon", response_class=HTMLResponse, name="cases_due_soon_page")
def show_due_soon(
    request: Request,
    db: SessionDep,
    settings: SettingsDep,
    principal: ReadPublic,
    city: CityQuery = None,
    neighbourhood: Annotated[str | None, Query(max_length=12)] = None,
    days: Annotated[int, Query(ge=1, le=366)] = 30,
) -> HTMLResponse:
    """The deadlines of the next days in a city or a neighbourhood."""
    page = service.due_soon_page(db, settings, principal, city, _optional_int(neighbourhood), days)
    return _page(request, "due_soon.html", principal, page=page)


@router.get("/cases/{case_id}", response_class=HTMLResponse, name="case_page")
def show_case(
    request: Request,
    db: SessionDep,
    settings: SettingsDep,
    principal: ReadPublic,
    case_id: Annotated[int, Path(ge=1, le=2_147_483_647)],
) -> HTMLResponse:
    """One case: its stage, deadlines, events and documents; its organisers and the council record events here."""
    page = service.case_page(db, settings, principal, case_id)
    return _page(
        request,
        "case.html",
        principal,
        case=page.case,
        kind_label=page.kind_label,
        stage_label=page.stage_label,
        deadlines=page.deadlines,
        event_kinds=page.event_kinds,
        can_record=page.can_record,
    )
