"""HTML pages of the community-rights cases: the public register (/cases), one case, and what falls due soon."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, Response

from app.deps import ReadPublic, SessionDep, SettingsDep
from app.routers.pages import _page
from app.services.cases import packs
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


ServiceQuery = Annotated[
    str | None, Query(min_length=1, max_length=64, description="service type slug (a challenge's service)")
]
AreaQuery = Annotated[
    str | None,
    Query(min_length=1, max_length=64, description="neighbourhood id or code (a challenge's area)"),
]
RunQuery = Annotated[int | None, Query(ge=1, le=2_147_483_647, description="analysis run id to use")]


def _pdf(pack: packs.Pack, stem: str) -> Response:
    return Response(
        packs.render_pdf(pack),
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{stem}.pdf"', "Cache-Control": "no-store"},
    )


def _pdf_href(request: Request, path: str) -> str:
    query = request.url.query
    return f"{path}?{query}" if query else path


@router.get("/cases/{case_id}/pack", response_class=HTMLResponse, name="case_pack_page")
def show_case_pack(
    request: Request,
    db: SessionDep,
    settings: SettingsDep,
    principal: ReadPublic,
    case_id: Annotated[int, Path(ge=1, le=2_147_483_647)],
    service: ServiceQuery = None,
    neighbourhood: AreaQuery = None,
    run: RunQuery = None,
) -> HTMLResponse:
    """A case's evidence pack as a page (docs/PACKS.md); a challenge's for its service and area."""
    pack = packs.case_pack(
        db, settings, principal, case_id, service=service, neighbourhood=neighbourhood, run_id=run
    )
    request.state.script_sources = ()  # the pack runs no script
    return HTMLResponse(packs.render_html(pack, _pdf_href(request, f"/cases/{case_id}/pack.pdf")))


@router.get("/cases/{case_id}/pack.pdf", name="case_pack_pdf")
def download_case_pack(
    db: SessionDep,
    settings: SettingsDep,
    principal: ReadPublic,
    case_id: Annotated[int, Path(ge=1, le=2_147_483_647)],
    service: ServiceQuery = None,
    neighbourhood: AreaQuery = None,
    run: RunQuery = None,
) -> Response:
    """A case's evidence pack as a PDF, made from the same template as its page."""
    pack = packs.case_pack(
        db, settings, principal, case_id, service=service, neighbourhood=neighbourhood, run_id=run
    )
    return _pdf(pack, f"evidence-pack-case-{case_id}")


def _challenge(
    db: Any, settings: Any, principal: Any, city: str, service: str, neighbourhood: str, run: int | None
) -> packs.Pack:
    return packs.challenge_pack(db, settings, principal, city, service, neighbourhood, run_id=run)


ChallengeCity = Annotated[str, Query(min_length=1, max_length=200, description="city id or name")]
ChallengeService = Annotated[str, Query(min_length=1, max_length=64, description="service type slug")]
ChallengeArea = Annotated[str, Query(min_length=1, max_length=64, description="neighbourhood id or code")]


@router.get("/packs/challenge", response_class=HTMLResponse, name="challenge_pack_page")
def show_challenge_pack(
    request: Request,
    db: SessionDep,
    settings: SettingsDep,
    principal: ReadPublic,
    city: ChallengeCity,
    service: ChallengeService,
    neighbourhood: ChallengeArea,
    run: RunQuery = None,
) -> HTMLResponse:
    """A Right to Challenge pack for a service in a neighbourhood, without a case."""
    pack = _challenge(db, settings, principal, city, service, neighbourhood, run)
    request.state.script_sources = ()
    return HTMLResponse(packs.render_html(pack, _pdf_href(request, "/packs/challenge.pdf")))


@router.get("/packs/challenge.pdf", name="challenge_pack_pdf")
def download_challenge_pack(
    db: SessionDep,
    settings: SettingsDep,
    principal: ReadPublic,
    city: ChallengeCity,
    service: ChallengeService,
    neighbourhood: ChallengeArea,
    run: RunQuery = None,
) -> Response:
    """A Right to Challenge pack as a PDF."""
    pack = _challenge(db, settings, principal, city, service, neighbourhood, run)
    return _pdf(pack, "evidence-pack-challenge")
