"""Routes for cities (/api/cities), service types (/api/service-types) and neighbourhood summaries."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Path, Response

from app.deps import Administer, ManageGeography, ReadPublic, SessionDep, SettingsDep
from app.routers.common import CityPath, NeighbourhoodIdPath
from app.routers.responses import READ, RESTRICTED, errors, openapi_links
from app.schemas.features import (
    CityCreate,
    CityList,
    CityOut,
    CityUpdate,
    ServiceTypeCreate,
    ServiceTypeList,
    ServiceTypeOut,
    ServiceTypeUpdate,
)
from app.schemas.summary import NeighbourhoodSummary
from app.services import catalogue
from app.services.summary import neighbourhood_summary

router = APIRouter(prefix="/api")

CITY_LINKS = {
    201: {
        "description": "The new city",
        "links": {
            **openapi_links({"get_city": ("/api/cities/{city}", "get")}, "city"),
            **openapi_links(
                {
                    "update_city": ("/api/cities/{city_id}", "patch"),
                    "delete_city": ("/api/cities/{city_id}", "delete"),
                },
                "city_id",
            ),
        },
    }
}
SERVICE_TYPE_LINKS = {
    201: {
        "description": "The new service type",
        "links": openapi_links(
            {
                "get_service_type": ("/api/service-types/{slug}", "get"),
                "update_service_type": ("/api/service-types/{slug}", "patch"),
                "delete_service_type": ("/api/service-types/{slug}", "delete"),
            },
            "slug",
            source="$response.body#/slug",
        ),
    }
}


def _city(city: Any) -> dict[str, Any]:
    return {
        "id": city.id,
        "name": city.name,
        "country": city.country,
        "crs": city.crs,
        "data_date": city.data_date,
        "attribution": city.attribution,
    }


def _service_type(st: Any) -> dict[str, Any]:
    return {
        "id": st.id,
        "slug": st.slug,
        "name": st.name,
        "description": st.description,
        "default_radius_m": st.default_radius_m,
        "population_group": st.population_group,
    }


@router.get("/cities", tags=["cities"], response_model=CityList, responses=errors(401))
def list_cities(db: SessionDep, principal: ReadPublic) -> dict[str, Any]:
    """All cities."""
    return {"items": [_city(c) for c in catalogue.list_cities(db)]}


@router.post(
    "/cities",
    status_code=201,
    tags=["cities"],
    response_model=CityOut,
    responses=errors(400, RESTRICTED, 409, extra=CITY_LINKS),
)
def create_city(body: CityCreate, db: SessionDep, principal: ManageGeography) -> dict[str, Any]:
    """Add a city."""
    return _city(catalogue.create_city(db, body.model_dump(exclude_unset=True)))


@router.get("/cities/{city}", tags=["cities"], response_model=CityOut, responses=errors(READ, 404))
def get_city(principal: ReadPublic, city: CityPath) -> dict[str, Any]:
    """One city, by id or name."""
    return _city(city)


@router.patch(
    "/cities/{city_id}", tags=["cities"], response_model=CityOut, responses=errors(400, RESTRICTED, 404, 409)
)
def update_city(
    body: CityUpdate, db: SessionDep, principal: ManageGeography, city_id: int = Path(ge=1)
) -> dict[str, Any]:
    """Change a city."""
    return _city(catalogue.update_city(db, city_id, body.model_dump(exclude_unset=True)))


@router.delete("/cities/{city_id}", status_code=204, tags=["cities"], responses=errors(RESTRICTED, 404, 409))
def delete_city(db: SessionDep, principal: Administer, city_id: int = Path(ge=1)) -> Response:
    """Delete a city with all its data (admins only)."""
    catalogue.delete_city(db, city_id)
    return Response(status_code=204)


@router.get("/service-types", tags=["service types"], response_model=ServiceTypeList, responses=errors(401))
def list_service_types(db: SessionDep, principal: ReadPublic) -> dict[str, Any]:
    """The service-type taxonomy."""
    return {"items": [_service_type(s) for s in catalogue.list_service_types(db)]}


@router.post(
    "/service-types",
    status_code=201,
    tags=["service types"],
    response_model=ServiceTypeOut,
    responses=errors(400, RESTRICTED, 409, extra=SERVICE_TYPE_LINKS),
)
def create_service_type(body: ServiceTypeCreate, db: SessionDep, principal: Administer) -> dict[str, Any]:
    """Add a service type."""
    return _service_type(catalogue.create_service_type(db, body.model_dump()))


@router.get(
    "/service-types/{slug}",
    tags=["service types"],
    response_model=ServiceTypeOut,
    responses=errors(READ, 404),
)
def get_service_type(slug: str, db: SessionDep, principal: ReadPublic) -> dict[str, Any]:
    """One service type."""
    return _service_type(catalogue.get_service_type(db, slug))


@router.patch(
    "/service-types/{slug}",
    tags=["service types"],
    response_model=ServiceTypeOut,
    responses=errors(400, RESTRICTED, 404, 409),
)
def update_service_type(
    slug: str, body: ServiceTypeUpdate, db: SessionDep, principal: Administer
) -> dict[str, Any]:
    """Change a service type."""
    return _service_type(catalogue.update_service_type(db, slug, body.model_dump(exclude_unset=True)))


@router.delete(
    "/service-types/{slug}", status_code=204, tags=["service types"], responses=errors(RESTRICTED, 404, 409)
)
def delete_service_type(slug: str, db: SessionDep, principal: Administer) -> Response:
    """Remove a service type no need uses."""
    catalogue.delete_service_type(db, slug)
    return Response(status_code=204)


@router.get(
    "/neighbourhoods/{neighbourhood_id}/summary",
    tags=["neighbourhoods"],
    response_model=NeighbourhoodSummary,
    responses=errors(READ, 404),
)
def get_neighbourhood_summary(
    db: SessionDep,
    settings: SettingsDep,
    principal: ReadPublic,
    neighbourhood_id: NeighbourhoodIdPath,
) -> dict[str, Any]:
    """Population by group, assets by category and service type, needs, resources and links."""
    return neighbourhood_summary(db, settings, principal, neighbourhood_id)
