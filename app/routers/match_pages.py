"""HTML pages of matching: the organiser's matching page beside the map, and the dashboard (docs/MATCHING.md)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from app.deps import ReadPublic, SessionDep, SettingsDep
from app.routers.case_pages import _optional_int
from app.routers.pages import _page
from app.services.matching import MatchQuery
from app.services.matching import pages as service

router = APIRouter(include_in_schema=False)

CityQuery = Annotated[str | None, Query(max_length=200, description="city id or name")]


def _optional_date(value: str | None, field: str) -> dt.date | None:
    """A date field left empty arrives as an empty string."""
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        from app.errors import InvalidInput

        raise InvalidInput(f"{field}: {value!r} is not a date: write it as YYYY-MM-DD", field=field) from None


@router.get("/matches", response_class=HTMLResponse, name="matches_page")
def show_matches(
    request: Request,
    db: SessionDep,
    settings: SettingsDep,
    principal: ReadPublic,
    city: CityQuery = None,
    need: Annotated[str | None, Query(max_length=12)] = None,
    starts_on: Annotated[str | None, Query(max_length=10)] = None,
    ends_on: Annotated[str | None, Query(max_length=10)] = None,
    kind: Annotated[str | None, Query(max_length=100)] = None,
) -> HTMLResponse:
    """Choose a need, read its ranked candidates and why, commit one, and move its commitments along."""
    query = MatchQuery(
        starts_on=_optional_date(starts_on, "starts_on"),
        ends_on=_optional_date(ends_on, "ends_on"),
        kinds=tuple(k for k in (kind or "").split(",") if k),
    )
    page = service.match_page(db, settings, principal, city, _optional_int(need), query)
    return _page(
        request,
        "matches.html",
        principal,
        page=page,
        kind=kind or "",
        tiles_url=settings.tiles_url or "",
        tiles_attribution=settings.tiles_attribution,
    )


@router.get("/dashboard", response_class=HTMLResponse, name="dashboard_page")
def show_dashboard(
    request: Request,
    db: SessionDep,
    principal: ReadPublic,
    city: CityQuery = None,
    neighbourhood: Annotated[str | None, Query(max_length=12)] = None,
    period: Annotated[str | None, Query(max_length=20)] = None,
) -> HTMLResponse:
    """Needs met, open needs, volunteer hours and people helped, by service type and by month."""
    page = service.dashboard_page(db, city, _optional_int(neighbourhood), period or None)
    return _page(request, "dashboard.html", principal, page=page)
