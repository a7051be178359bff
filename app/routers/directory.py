"""The services directory (docs/DIRECTORY.md): an asset's service offers, the budget question, and its page."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from app.deps import EditFeatures, ReadHistory, ReadPublic, SessionDep
from app.routers.common import IfMatch, ItemIdPath, version_from
from app.routers.pages import _page
from app.routers.responses import RESTRICTED, errors
from app.schemas.directory import BudgetAnswer, OfferCreate, OfferList, OfferOut, OfferUpdate
from app.schemas.items import HistoryList
from app.services.directory import offers, questions

router = APIRouter(prefix="/api", tags=["service directory"])
page_router = APIRouter(include_in_schema=False)

ServiceTypesQuery = Annotated[
    list[str] | None, Query(max_length=20, description="service type slugs wanted (repeat the parameter)")
]
GroupsQuery = Annotated[
    list[str] | None, Query(max_length=5, description="groups the person declares: female, foreigners")
]


@router.get("/assets/{item_id}/service-offers", response_model=OfferList, responses=errors(RESTRICTED, 404))
def list_service_offers(db: SessionDep, principal: ReadPublic, item_id: ItemIdPath) -> dict[str, Any]:
    """An asset's service offers with cost per month, eligibility and whether each is open now."""
    return {"items": offers.list_offers(db, principal, item_id)}


@router.post(
    "/assets/{item_id}/service-offers",
    status_code=201,
    response_model=OfferOut,
    responses=errors(400, RESTRICTED, 404),
)
def create_service_offer(
    body: OfferCreate, db: SessionDep, principal: EditFeatures, item_id: ItemIdPath
) -> dict[str, Any]:
    """Add a service offer to an asset (edit rights where the asset is)."""
    return offers.create_offer(db, principal, item_id, body.model_dump(exclude_unset=True))


@router.get("/service-offers/{item_id}", response_model=OfferOut, responses=errors(RESTRICTED, 404))
def get_service_offer(db: SessionDep, principal: ReadPublic, item_id: ItemIdPath) -> JSONResponse:
    """One service offer, with its version as ETag."""
    data = offers.get_offer(db, principal, item_id)
    return JSONResponse(data, headers={"ETag": f'"{data["version"]}"'})


@router.patch(
    "/service-offers/{item_id}",
    response_model=OfferOut,
    responses=errors(400, RESTRICTED, 404, 412),
)
def update_service_offer(
    body: OfferUpdate, db: SessionDep, principal: EditFeatures, item_id: ItemIdPath, if_match: IfMatch = None
) -> dict[str, Any]:
    """Change a service offer; a stale If-Match or `version` gets 412."""
    values = body.model_dump(exclude_unset=True)
    return offers.update_offer(db, principal, item_id, values, version_from(if_match, body.version))


@router.delete("/service-offers/{item_id}", status_code=204, responses=errors(RESTRICTED, 404))
def delete_service_offer(
    db: SessionDep, principal: EditFeatures, item_id: ItemIdPath, message: str | None = None
) -> Response:
    """Delete a service offer (its history stays)."""
    offers.delete_offer(db, principal, item_id, message)
    return Response(status_code=204)


@router.get(
    "/service-offers/{item_id}/history", response_model=HistoryList, responses=errors(RESTRICTED, 404)
)
def service_offer_history(db: SessionDep, principal: ReadHistory, item_id: ItemIdPath) -> JSONResponse:
    """Every change of a service offer, oldest first."""
    return JSONResponse({"items": offers.offer_history(db, principal, item_id)})


@router.get("/directory/budget", response_model=BudgetAnswer, responses=errors(400, RESTRICTED, 404))
def what_budget_buys(
    db: SessionDep,
    principal: ReadPublic,
    city: Annotated[str, Query(min_length=1, max_length=200, description="city id or name")],
    lat: Annotated[float, Query(ge=-90, le=90)],
    lon: Annotated[float, Query(ge=-180, le=180)],
    budget: Annotated[float, Query(ge=0, le=1_000_000, description="amount a month")],
    currency: Annotated[str, Query(pattern=r"^[A-Za-z]{3}$")] = "EUR",
    age: Annotated[int | None, Query(ge=0, le=130)] = None,
    service_type: ServiceTypesQuery = None,
    group: GroupsQuery = None,
    resident: bool = True,
    referral: bool = False,
    radius_m: Annotated[float | None, Query(gt=0, le=50_000)] = None,
    sessions_per_month: Annotated[float | None, Query(gt=0, le=100)] = None,
    at: Annotated[dt.datetime | None, Query(description="when to check opening (default now)")] = None,
) -> dict[str, Any]:
    """What a monthly budget can buy near a place for a person: services within reach whose eligibility fits,
    with cost per month, by distance band then cost."""
    return questions.budget(
        db,
        city,
        lat,
        lon,
        budget,
        currency,
        age,
        service_type or [],
        group or [],
        resident,
        referral,
        radius_m,
        sessions_per_month,
        at,
    )


@page_router.get("/directory/budget", response_class=HTMLResponse, name="directory_budget_page")
def budget_page(
    request: Request,
    db: SessionDep,
    principal: ReadPublic,
    city: Annotated[str | None, Query(max_length=200)] = None,
    lat: Annotated[str | None, Query(max_length=30)] = None,
    lon: Annotated[str | None, Query(max_length=30)] = None,
    budget: Annotated[str | None, Query(max_length=30)] = None,
    age: Annotated[str | None, Query(max_length=10)] = None,
    service_type: ServiceTypesQuery = None,
) -> HTMLResponse:
    """The budget question as a page for phones: a short form and the answer as a list."""
    page = questions.budget_page(db, city, lat, lon, budget, age, service_type or [])
    response = _page(request, "directory_budget.html", principal, script_sources=[], page=page)
    if page.error:
        response.status_code = 422
    return response
