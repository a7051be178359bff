"""Routes for default capacities: what a run gives assets whose capacity is unknown (docs/ANALYSIS.md)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Path

from app.deps import ReadPublic, SessionDep, SetDefaultCapacity
from app.routers.responses import READ, RESTRICTED, errors
from app.schemas.capacity import DefaultCapacityList, DefaultCapacityOut, DefaultCapacitySet
from app.services import capacity

router = APIRouter(prefix="/api", tags=["service types"])

SlugPath = Path(max_length=64, description="service type slug, e.g. childcare")
CityRefPath = Path(max_length=200, description="city id or name")


@router.get("/default-capacities", response_model=DefaultCapacityList, responses=errors(READ))
def list_default_capacities(db: SessionDep, principal: ReadPublic) -> dict[str, Any]:
    """Every service type's default capacity (null: none set), then every city's own."""
    return {"items": capacity.list_default_capacities(db)}


@router.put(
    "/service-types/{slug}/default-capacity",
    response_model=DefaultCapacityOut,
    responses=errors(400, RESTRICTED, 404),
)
def set_service_type_default_capacity(
    body: DefaultCapacitySet, db: SessionDep, principal: SetDefaultCapacity, slug: str = SlugPath
) -> dict[str, Any]:
    """Set the capacity runs give this service type's assets whose capacity is unknown (admins and planners)."""
    return capacity.set_default_capacity(db, slug, body.capacity)


@router.delete(
    "/service-types/{slug}/default-capacity",
    response_model=DefaultCapacityOut,
    responses=errors(RESTRICTED, 404),
)
def clear_service_type_default_capacity(
    db: SessionDep, principal: SetDefaultCapacity, slug: str = SlugPath
) -> dict[str, Any]:
    """Clear the service type's default: runs then mark unmet need not computable where capacity is unknown."""
    return capacity.set_default_capacity(db, slug, None)


@router.put(
    "/cities/{city}/service-types/{slug}/default-capacity",
    response_model=DefaultCapacityOut,
    responses=errors(400, RESTRICTED, 404),
)
def set_city_default_capacity(
    body: DefaultCapacitySet,
    db: SessionDep,
    principal: SetDefaultCapacity,
    city: str = CityRefPath,
    slug: str = SlugPath,
) -> dict[str, Any]:
    """Set this city's own default capacity for the service type; it overrides the service type's."""
    return capacity.set_default_capacity(db, slug, body.capacity, city)


@router.delete(
    "/cities/{city}/service-types/{slug}/default-capacity",
    response_model=DefaultCapacityOut,
    responses=errors(RESTRICTED, 404),
)
def clear_city_default_capacity(
    db: SessionDep, principal: SetDefaultCapacity, city: str = CityRefPath, slug: str = SlugPath
) -> dict[str, Any]:
    """Clear the city's own default: its runs use the service type's default again."""
    return capacity.set_default_capacity(db, slug, None, city)
