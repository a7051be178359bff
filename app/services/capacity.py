"""Default capacities per service type and per city (docs/ANALYSIS.md "Unknown capacity").

A run gives every asset whose capacity is unknown the default of its city and service type, else the service
type's default; with neither, its unmet-need measures are not computable. The default a run used is recorded in
its parameters, so a changed default makes the next run a new one and an old run stays reproducible.
"""

from __future__ import annotations

import math
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import City, CityServiceCapacity, ServiceType
from app.db.session import session_scope
from app.errors import InvalidInput
from app.schemas.capacity import MAX_DEFAULT_CAPACITY
from app.services.catalogue import list_service_types, resolve_city, resolve_service_type
from app.settings import Settings


def check_capacity(capacity: float) -> float:
    """A default capacity: a number > 0 and at most MAX_DEFAULT_CAPACITY (a 422 otherwise)."""
    value = float(capacity)
    if not math.isfinite(value) or value <= 0 or value > MAX_DEFAULT_CAPACITY:
        raise InvalidInput(
            f"a default capacity must be a number > 0 and at most {MAX_DEFAULT_CAPACITY:,.0f}, got {capacity!r}",
            field="capacity",
        )
    return value


def default_capacity_for(db: Session, city_id: int, service_type: ServiceType) -> float | None:
    """The default capacity a run of this city and service type uses: the city's own, else the service type's."""
    own = db.get(CityServiceCapacity, (city_id, service_type.id))
    return own.default_capacity if own is not None else service_type.default_capacity


def _row(service_type: ServiceType, city: City | None, capacity: float | None) -> dict[str, Any]:
    return {
        "service_type": service_type.slug,
        "city": city.name if city is not None else None,
        "city_id": city.id if city is not None else None,
        "default_capacity": capacity,
    }


def set_default_capacity(
    db: Session, slug: str, capacity: float | None, city: int | str | None = None
) -> dict[str, Any]:
    """Set (or with None clear) the default capacity of a service type, for every city or for one city."""
    service_type = resolve_service_type(db, slug, field="service_type")
    value = None if capacity is None else check_capacity(capacity)
    if city is None:
        service_type.default_capacity = value
        db.commit()
        return _row(service_type, None, value)
    city_row = resolve_city(db, city)
    own = db.get(CityServiceCapacity, (city_row.id, service_type.id))
    if value is None:
        if own is not None:
            db.delete(own)
    elif own is None:
        db.add(
            CityServiceCapacity(city_id=city_row.id, service_type_id=service_type.id, default_capacity=value)
        )
    else:
        own.default_capacity = value
    db.commit()
    return _row(service_type, city_row, value)


def list_default_capacities(db: Session) -> list[dict[str, Any]]:
    """Every service type's default capacity (None: none set), then every city's own, by slug and city name."""
    rows = [_row(st, None, st.default_capacity) for st in list_service_types(db)]
    overrides = db.execute(
        select(ServiceType, City, CityServiceCapacity.default_capacity)
        .join(CityServiceCapacity, CityServiceCapacity.service_type_id == ServiceType.id)
        .join(City, City.id == CityServiceCapacity.city_id)
        .order_by(ServiceType.slug, City.name)
    ).all()
    rows += [_row(st, city, capacity) for st, city, capacity in overrides]
    return rows


def set_from_terminal(
    settings: Settings, slug: str, capacity: float | None, city: str | None = None
) -> dict[str, Any]:
    """`assetmap capacity set/clear`: set_default_capacity in a session of its own."""
    with session_scope(settings) as db:
        return set_default_capacity(db, slug, capacity, city)


def list_from_terminal(settings: Settings) -> list[dict[str, Any]]:
    """`assetmap capacity list`: list_default_capacities in a session of its own."""
    with session_scope(settings) as db:
        return list_default_capacities(db)
