"""Routes of the community-rights cases (docs/CASES.md): the register, one case, its events and documents, what
falls due soon, and a city's regime."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from app.deps import (
    Administer,
    EditFeatures,
    ReadHistory,
    ReadPublic,
    SessionDep,
    SettingsDep,
    WorkCases,
)
from app.routers.common import ItemIdPath
from app.routers.responses import FEATURE_COLLECTION, READ, RESTRICTED, errors, media
from app.schemas.cases import (
    CaseCreate,
    CaseDocumentCreate,
    CaseDocumentCreated,
    CaseEventCreate,
    CaseKind,
    CaseList,
    CaseOut,
    CaseUpdate,
    DueSoonList,
    RegimeOut,
    RegimeSet,
)
from app.schemas.items import HistoryList
from app.services import cases as service
from app.services.cases import register

router = APIRouter(prefix="/api/cases", tags=["cases"])

CityQuery = Annotated[str | None, Query(max_length=200, description="city id or name")]
StageQuery = Annotated[str | None, Query(max_length=30, description="e.g. listed, unsuccessful, expired")]
KindQuery = Annotated[CaseKind | None, Query(description="acv, challenge or transfer")]
NeighbourhoodQuery = Annotated[
    int | None, Query(ge=1, le=2_147_483_647, description="a neighbourhood id (the areas inside it included)")
]
CityPath = Annotated[str, Path(max_length=200, description="city id or name")]


def _filters(
    city: str | None, stage: str | None, kind: str | None, neighbourhood: int | None
) -> service.CaseFilters:
    return service.CaseFilters(city=city, stage=stage, kind=kind, neighbourhood=neighbourhood)


@router.get("", response_model=CaseList, responses=errors(READ, 404))
def list_cases(
    db: SessionDep,
    settings: SettingsDep,
    principal: ReadPublic,
    city: CityQuery = None,
    stage: StageQuery = None,
    kind: KindQuery = None,
    neighbourhood: NeighbourhoodQuery = None,
) -> dict[str, Any]:
    """Cases with their stage and deadlines today: staff see every stage, everyone else the public register
    (listed, unsuccessful and expired ACVs; open challenges and transfers)."""
    filters = _filters(city, stage, kind, neighbourhood)
    return {"items": service.list_cases(db, settings, principal, filters)}


@router.post("", status_code=201, response_model=CaseOut, responses=errors(400, RESTRICTED, 404, 409))
def open_case(
    body: CaseCreate, db: SessionDep, settings: SettingsDep, principal: EditFeatures
) -> dict[str, Any]:
    """Open a case on an asset in your neighbourhoods (or on a new physical space), with its opening event."""
    case_id = service.open_case(db, settings, principal, body.model_dump(exclude_unset=True))
    return service.get_case(db, settings, principal, case_id)


@router.get("/due-soon", response_model=DueSoonList, responses=errors(READ, 404))
def list_due_soon(
    db: SessionDep,
    settings: SettingsDep,
    principal: ReadPublic,
    city: CityQuery = None,
    neighbourhood: NeighbourhoodQuery = None,
    days: Annotated[int, Query(ge=1, le=366, description="how many days ahead")] = 30,
) -> dict[str, Any]:
    """Deadlines in the next `days` days (decisions due, moratoria ending, listings expiring), soonest first."""
    items = service.due_soon(db, settings, principal, _filters(city, None, None, neighbourhood), days)
    return {"days": days, "items": [item.as_json(principal) for item in items]}


def _base_url(request: Request, settings: SettingsDep) -> str:
    return settings.public_origin() or str(request.base_url).rstrip("/")


def _download(content: str | bytes, media_type: str, filename: str) -> Response:
    return Response(
        content,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "max-age=60"},
    )


@router.get(
    "/register.csv",
    response_class=Response,
    responses=errors(READ, 404, extra={200: media("The public register as CSV (UTF-8)", "text/csv")}),
)
def register_csv(
    db: SessionDep,
    settings: SettingsDep,
    principal: ReadPublic,
    city: CityQuery = None,
    stage: StageQuery = None,
    kind: KindQuery = None,
    neighbourhood: NeighbourhoodQuery = None,
) -> Response:
    """The public register as CSV: a row per case, without any community body's contact."""
    records = register.register_records(db, settings, principal, _filters(city, stage, kind, neighbourhood))
    return _download(
        register.register_csv(records, principal), "text/csv; charset=utf-8", "cases-register.csv"
    )


@router.get(
    "/register.geojson",
    response_class=Response,
    responses=errors(
        READ,
        404,
        extra={
            200: media("The public register as GeoJSON", "application/geo+json", schema=FEATURE_COLLECTION)
        },
    ),
)
def register_geojson(
    db: SessionDep,
    settings: SettingsDep,
    principal: ReadPublic,
    city: CityQuery = None,
    stage: StageQuery = None,
    kind: KindQuery = None,
    neighbourhood: NeighbourhoodQuery = None,
) -> Response:
    """The public register as an RFC 7946 FeatureCollection, at the locations the reader may see."""
    records = register.register_records(db, settings, principal, _filters(city, stage, kind, neighbourhood))
    return Response(register.register_geojson(records, principal), media_type="application/geo+json")


@router.get(
    "/deadlines.ics",
    response_class=Response,
    responses=errors(READ, 404, extra={200: media("The cases' deadlines as iCalendar", "text/calendar")}),
)
def deadlines_calendar(
    request: Request,
    db: SessionDep,
    settings: SettingsDep,
    principal: ReadPublic,
    city: CityQuery = None,
    kind: KindQuery = None,
    neighbourhood: NeighbourhoodQuery = None,
) -> Response:
    """A calendar to subscribe to: every deadline of the cases you may see, on its day in the city's time zone."""
    filters = _filters(city, None, kind, neighbourhood)
    body = register.deadlines_calendar(db, settings, principal, filters, _base_url(request, settings))
    return _download(body, "text/calendar; charset=utf-8", "cases-deadlines.ics")


@router.get(
    "/events.atom",
    response_class=Response,
    responses=errors(
        READ, 404, extra={200: media("The cases' events as an Atom feed", "application/atom+xml")}
    ),
)
def events_feed(
    request: Request,
    db: SessionDep,
    settings: SettingsDep,
    principal: ReadPublic,
    city: CityQuery = None,
    kind: KindQuery = None,
    neighbourhood: NeighbourhoodQuery = None,
) -> Response:
    """The events of the cases you may see, newest first (at most 500)."""
    filters = _filters(city, None, kind, neighbourhood)
    base = _base_url(request, settings)
    body = register.events_feed(
        db,
        settings,
        principal,
        filters,
        base,
        base + str(request.url.path) + (f"?{request.url.query}" if request.url.query else ""),
    )
    return Response(body, media_type="application/atom+xml; charset=utf-8")


@router.get("/regimes/{city}", response_model=RegimeOut, responses=errors(READ, 404))
def get_regime(db: SessionDep, principal: ReadPublic, city: CityPath) -> dict[str, Any]:
    """The periods the city's cases follow: its own regime, or England's (Localism Act 2011) by default."""
    return service.get_regime(db, city)


@router.put("/regimes/{city}", response_model=RegimeOut, responses=errors(400, RESTRICTED, 404))
def set_regime(body: RegimeSet, db: SessionDep, principal: Administer, city: CityPath) -> dict[str, Any]:
    """Set the city's own periods and time zone (admins); those left out keep their value; `reset` drops them."""
    return service.set_regime(db, principal, city, body.model_dump(exclude_none=True))


@router.get("/{case_id}", response_model=CaseOut, responses=errors(READ, 404))
def get_case(
    db: SessionDep, settings: SettingsDep, principal: ReadPublic, case_id: ItemIdPath
) -> dict[str, Any]:
    """One case with its events and documents (the community body's contact only for who may see it)."""
    return service.get_case(db, settings, principal, case_id)


@router.patch("/{case_id}", response_model=CaseOut, responses=errors(400, RESTRICTED, 404, 412))
def update_case(
    body: CaseUpdate, db: SessionDep, settings: SettingsDep, principal: WorkCases, case_id: ItemIdPath
) -> dict[str, Any]:
    """Change a case's reference, description or community body (send the version you read)."""
    data = body.model_dump(exclude_unset=True)
    version = data.pop("version")
    service.update_case(db, settings, principal, case_id, data, expected_version=version)
    return service.get_case(db, settings, principal, case_id)


@router.post(
    "/{case_id}/events", status_code=201, response_model=CaseOut, responses=errors(400, RESTRICTED, 404, 409)
)
def add_event(
    body: CaseEventCreate, db: SessionDep, settings: SettingsDep, principal: WorkCases, case_id: ItemIdPath
) -> dict[str, Any]:
    """Record a dated event; one the process does not allow at the case's stage is a 409 saying why."""
    service.add_event(db, settings, principal, case_id, body.model_dump())
    return service.get_case(db, settings, principal, case_id)


@router.post(
    "/{case_id}/documents",
    status_code=201,
    response_model=CaseDocumentCreated,
    responses=errors(400, RESTRICTED, 404),
)
def add_document(
    body: CaseDocumentCreate, db: SessionDep, settings: SettingsDep, principal: WorkCases, case_id: ItemIdPath
) -> dict[str, Any]:
    """Add a document's metadata (title, kind, date, where it is kept; `public` shows it in the register)."""
    doc_id = service.add_document(db, settings, principal, case_id, body.model_dump())
    return {"id": doc_id, "case": service.get_case(db, settings, principal, case_id)}


@router.get("/{case_id}/history", response_model=HistoryList, responses=errors(RESTRICTED, 404))
def case_history(
    db: SessionDep, settings: SettingsDep, principal: ReadHistory, case_id: ItemIdPath
) -> dict[str, Any]:
    """Every change of the case, oldest first (its organisers, planners, GIS staff and admins)."""
    return {"items": service.case_history(db, settings, principal, case_id)}
