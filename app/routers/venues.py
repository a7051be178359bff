"""Routes for the kinds of place that could host each service type: site suggestion's venues (ANALYSIS.md (d))."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from app.deps import ReadPublic, SessionDep, SetVenueKinds
from app.routers.responses import READ, RESTRICTED, errors
from app.schemas.venues import VenueKindsList, VenueKindsOut, VenueKindsSet
from app.services import venues

router = APIRouter(prefix="/api", tags=["service types"])

SlugPath = Path(max_length=64, description="service type slug, e.g. childcare")
CityRefPath = Path(max_length=200, description="city id or name")


@router.get("/venue-kinds", response_model=VenueKindsList, responses=errors(READ, 404))
def list_venue_kinds(
    db: SessionDep,
    principal: ReadPublic,
    city: Annotated[
        str | None, Query(max_length=200, description="city id or name: the lists that apply there")
    ] = None,
) -> dict[str, Any]:
    """Every venue kind (indoor or open), then the kinds of place that could host each service type."""
    return {"kinds": venues.kinds_vocabulary(), "items": venues.list_venue_kinds(db, city)}


@router.put(
    "/service-types/{slug}/venue-kinds",
    response_model=VenueKindsOut,
    responses=errors(400, RESTRICTED, 404),
)
def set_service_type_venue_kinds(
    body: VenueKindsSet, db: SessionDep, principal: SetVenueKinds, slug: str = SlugPath
) -> dict[str, Any]:
    """Set the kinds of place that could host this service type, for every city without its own (admins and
    planners)."""
    return venues.set_venue_kinds(db, slug, body.kinds)


@router.put(
    "/cities/{city}/service-types/{slug}/venue-kinds",
    response_model=VenueKindsOut,
    responses=errors(400, RESTRICTED, 404),
)
def set_city_venue_kinds(
    body: VenueKindsSet,
    db: SessionDep,
    principal: SetVenueKinds,
    city: str = CityRefPath,
    slug: str = SlugPath,
) -> dict[str, Any]:
    """Set this city's own list for the service type; it replaces the service type's list there."""
    return venues.set_venue_kinds(db, slug, body.kinds, city)


@router.delete(
    "/cities/{city}/service-types/{slug}/venue-kinds",
    response_model=VenueKindsOut,
    responses=errors(RESTRICTED, 404),
)
def reset_city_venue_kinds(
    db: SessionDep, principal: SetVenueKinds, city: str = CityRefPath, slug: str = SlugPath
) -> dict[str, Any]:
    """Drop the city's own list: the service type's list applies there again."""
    return venues.reset_venue_kinds(db, slug, city)
