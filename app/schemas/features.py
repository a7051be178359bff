"""Request models for cities, neighbourhoods, service types, assets, needs, resources and links."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from geo.crs import AnalysisInputError, require_projected
from geo.vocab import (
    ASSET_CATEGORIES,
    LINK_KINDS,
    NEED_SOURCES,
    OWNERSHIPS,
    POPULATION_BANDS,
    POPULATION_EXTRA,
    POPULATION_GROUPS,
    RESOURCE_KINDS,
    VENUE_KINDS,
)

Category = Literal[ASSET_CATEGORIES]
Ownership = Literal[OWNERSHIPS]
NeedSource = Literal[NEED_SOURCES]
ResourceKind = Literal[RESOURCE_KINDS]
LinkKind = Literal[LINK_KINDS]
VenueKind = Literal[tuple(VENUE_KINDS)]
PopulationGroup = Literal[tuple(POPULATION_GROUPS)]
CityRef = int | str
INT4_MAX = 2_147_483_647  # ids are PostgreSQL integers
Text = Field(default=None, max_length=10_000)
SLUG_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"


class Strict(BaseModel):
    """Unknown fields are an error, so a typo is never silently ignored."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


def _check_crs(value: str | None) -> str | None:
    """A city's CRS is for measuring: it must exist and be projected in metres (EPSG:0000 or EPSG:4326 are not)."""
    if value is None:
        return value
    try:
        require_projected(value)
    except AnalysisInputError as exc:
        raise ValueError(str(exc)) from None
    return value


class CityCreate(Strict):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"name": "Leipzig", "country": "Germany", "crs": "EPSG:25833"}]}
    )

    name: str = Field(min_length=1, max_length=200)
    country: str | None = Field(None, max_length=100)
    crs: str | None = Field(
        None, pattern=r"^EPSG:[0-9]{4,6}$", description="projected CRS for measuring, e.g. EPSG:25833"
    )
    data_date: str | None = Field(None, max_length=40)
    attribution: str | None = Text

    _crs = field_validator("crs")(_check_crs)


class CityUpdate(Strict):
    name: str | None = Field(None, min_length=1, max_length=200)
    country: str | None = Field(None, max_length=100)
    crs: str | None = Field(None, pattern=r"^EPSG:[0-9]{4,6}$")
    data_date: str | None = Field(None, max_length=40)
    attribution: str | None = Text

    _crs = field_validator("crs")(_check_crs)


class ServiceTypeCreate(Strict):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"slug": "repair-cafe", "name": "Repair café", "default_radius_m": 800}]
        }
    )

    slug: str = Field(min_length=1, max_length=64, pattern=SLUG_PATTERN)
    name: str = Field(min_length=1, max_length=200)
    description: str | None = Text
    default_radius_m: float = Field(gt=0, le=100_000)
    population_group: PopulationGroup = "all"


class ServiceTypeUpdate(Strict):
    name: str | None = Field(None, min_length=1, max_length=200)
    description: str | None = Text
    default_radius_m: float | None = Field(None, gt=0, le=100_000)
    population_group: PopulationGroup | None = None


def _check_groups(value: dict[str, int] | None) -> dict[str, int] | None:
    if value is None:
        return value
    known = set(POPULATION_BANDS) | set(POPULATION_EXTRA)
    unknown = sorted(set(value) - known)
    if unknown:
        raise ValueError(f"unknown population groups {unknown}: use {sorted(known)}")
    if any(v < 0 for v in value.values()):
        raise ValueError("population counts must not be negative")
    return value


class NeighbourhoodFields(Strict):
    name: str | None = Field(None, min_length=1, max_length=300)
    level: Literal["district", "neighbourhood", "area"] | None = None
    parent_id: int | None = None
    population: int | None = Field(None, ge=0)
    population_by_group: dict[str, int] | None = None
    geometry: dict[str, Any] | None = None

    _groups = field_validator("population_by_group")(_check_groups)


class NeighbourhoodCreate(NeighbourhoodFields):
    city: CityRef
    code: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=300)
    geometry: dict[str, Any]


class NeighbourhoodUpdate(NeighbourhoodFields):
    code: str | None = Field(None, min_length=1, max_length=64)
    version: int | None = None
    message: str | None = Field(None, max_length=2000)


class AssetFields(Strict):
    name: str | None = Field(None, min_length=1, max_length=300)
    category: Category | None = None
    kind: VenueKind | None = Field(None, description="what sort of place it is (GET /api/venue-kinds)")
    description: str | None = Text
    service_types: list[str] | None = Field(None, max_length=50)
    capacity: float | None = Field(None, ge=0, description="null means unknown; 0 means closed")
    capacity_unit: str | None = Field(None, max_length=50)
    ownership: Ownership | None = None
    contact: str | None = Field(None, max_length=500)
    opening_hours: str | None = Field(None, max_length=500)
    source: str | None = Field(None, max_length=100)
    source_id: str | None = Field(None, max_length=200)
    verified: bool | None = None
    sensitive: bool | None = None
    geometry: dict[str, Any] | None = None


class AssetCreate(AssetFields):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "city": "Berlin",
                    "name": "Reading group",
                    "category": "association",
                    "service_types": ["learning"],
                    "geometry": {"type": "Point", "coordinates": [13.4132, 52.5219]},
                }
            ]
        }
    )

    city: CityRef
    name: str = Field(min_length=1, max_length=300)
    category: Category
    geometry: dict[str, Any]


class AssetUpdate(AssetFields):
    version: int | None = None
    message: str | None = Field(None, max_length=2000)


class NeedFields(Strict):
    service_type: str | None = Field(None, max_length=64)
    people_affected: int | None = Field(None, ge=0)
    severity: int | None = Field(None, ge=1, le=5)
    source: NeedSource | None = None
    description: str | None = Text
    observed_on: dt.date | None = None
    geometry: dict[str, Any] | None = None


class NeedCreate(NeedFields):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "city": "Berlin",
                    "service_type": "childcare",
                    "people_affected": 12,
                    "severity": 3,
                    "source": "survey",
                    "geometry": {"type": "Point", "coordinates": [13.4132, 52.5219]},
                }
            ]
        }
    )

    city: CityRef
    service_type: str = Field(max_length=64)
    geometry: dict[str, Any]


class NeedUpdate(NeedFields):
    version: int | None = None
    message: str | None = Field(None, max_length=2000)


class ResourceFields(Strict):
    kind: ResourceKind | None = None
    quantity: float | None = Field(None, ge=0)
    unit: str | None = Field(None, max_length=50)
    available_from: dt.date | None = None
    available_until: dt.date | None = None
    description: str | None = Text
    asset_id: int | None = None
    neighbourhood_id: int | None = None


class ResourceCreate(ResourceFields):
    kind: ResourceKind


class ResourceUpdate(ResourceFields):
    version: int | None = None
    message: str | None = Field(None, max_length=2000)


class LinkFields(Strict):
    kind: LinkKind | None = None
    weight: float | None = Field(None, ge=0)
    directed: bool | None = None
    description: str | None = Text


class LinkCreate(LinkFields):
    source_asset_id: int
    target_asset_id: int
    kind: LinkKind


class LinkUpdate(LinkFields):
    version: int | None = None
    message: str | None = Field(None, max_length=2000)


class ReviewDecision(Strict):
    decision: Literal["approve", "reject"]
    reason: str | None = Field(None, max_length=2000)


class RevertRequest(Strict):
    version: int = Field(ge=1)
    message: str | None = Field(None, max_length=2000)


class CityOut(BaseModel):
    """A city as the API answers with it."""

    id: int
    name: str
    country: str | None
    crs: str | None
    data_date: str | None
    attribution: str | None


class CityList(BaseModel):
    """All cities by name."""

    items: list[CityOut]


class ServiceTypeOut(BaseModel):
    """A service type as the API answers with it."""

    id: int
    slug: str
    name: str
    description: str | None
    default_radius_m: float
    population_group: str


class ServiceTypeList(BaseModel):
    """The service-type taxonomy."""

    items: list[ServiceTypeOut]
