"""Request and answer models for default capacities (docs/ANALYSIS.md "Unknown capacity")."""

from __future__ import annotations

from pydantic import BaseModel, Field

from app.schemas.features import Strict

MAX_DEFAULT_CAPACITY = 1_000_000.0


class DefaultCapacitySet(Strict):
    """The capacity a run gives assets of this service type whose capacity is unknown."""

    capacity: float = Field(gt=0, le=MAX_DEFAULT_CAPACITY, description="places, seats or visits per asset")


class DefaultCapacityOut(BaseModel):
    """A default capacity: of a service type (city null), or a city's own for it (null: none set)."""

    service_type: str
    city: str | None
    city_id: int | None
    default_capacity: float | None


class DefaultCapacityList(BaseModel):
    """Every service type's default capacity, then every city's own."""

    items: list[DefaultCapacityOut]
