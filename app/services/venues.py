"""Which kinds of place could host each service type: the editable mapping behind site suggestion's venues.

A service type lists the venue kinds (geo.vocab.VENUE_KINDS, asset.kind) that suit it, seeded by migration 0008
(geo.vocab.DEFAULT_SERVICE_VENUE_KINDS); a city may keep its own list for a service type, which replaces the
service type's. A suggestion's default candidates ("venues", ANALYSIS.md (d)) are the places of a kind on the
list that applies, and the places offering a space resource that is still available.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import City, CityServiceVenueKinds, ServiceType
from app.db.session import session_scope
from app.errors import InvalidInput
from app.services.catalogue import get_service_type, list_service_types, resolve_city
from app.settings import Settings
from geo.vocab import VENUE_KINDS, check_venue_kinds


def venue_kinds_for(db: Session, city_id: int, service_type: ServiceType) -> tuple[list[str], str]:
    """The kinds of place that could host this service in this city, and whose list it is ('city' or
    'service_type')."""
    own = db.get(CityServiceVenueKinds, (city_id, service_type.id))
    if own is not None:
        return list(own.venue_kinds), "city"
    return list(service_type.venue_kinds), "service_type"


def checked_kinds(kinds: list[str]) -> list[str]:
    """The kinds as given, without repeats; an unknown kind is a 422 that lists the known ones."""
    try:
        return list(check_venue_kinds([k.strip() for k in kinds]))
    except ValueError as exc:
        raise InvalidInput(str(exc), field="kinds") from None


def kinds_vocabulary() -> list[dict[str, str]]:
    """Every venue kind with whether it is a room indoors or an open space."""
    return [{"kind": kind, "space": space} for kind, space in VENUE_KINDS.items()]


def _row(service_type: ServiceType, city: City | None, kinds: list[str], source: str) -> dict[str, Any]:
    return {
        "service_type": service_type.slug,
        "city": city.name if city is not None else None,
        "city_id": city.id if city is not None else None,
        "venue_kinds": kinds,
        "source": source,
    }


def list_venue_kinds(db: Session, city: int | str | None = None) -> list[dict[str, Any]]:
    """Every service type's kinds; with a city, the list that applies there (its own, else the service type's)."""
    service_types = list_service_types(db)
    if city is None:
        return [_row(st, None, list(st.venue_kinds), "service_type") for st in service_types]
    city_row = resolve_city(db, city)
    own = {
        row.service_type_id: list(row.venue_kinds)
        for row in db.scalars(
            select(CityServiceVenueKinds).where(CityServiceVenueKinds.city_id == city_row.id)
        )
    }
    return [
        _row(st, city_row, own[st.id], "city")
        if st.id in own
        else _row(st, city_row, list(st.venue_kinds), "service_type")
        for st in service_types
    ]


def set_venue_kinds(
    db: Session, slug: str, kinds: list[str], city: int | str | None = None
) -> dict[str, Any]:
    """Set the kinds of place that could host a service type, for every city or (its own list) for one city."""
    service_type = get_service_type(db, slug)
    values = checked_kinds(kinds)
    if city is None:
        service_type.venue_kinds = values
        db.commit()
        return _row(service_type, None, values, "service_type")
    city_row = resolve_city(db, city)
    own = db.get(CityServiceVenueKinds, (city_row.id, service_type.id))
    if own is None:
        db.add(
            CityServiceVenueKinds(city_id=city_row.id, service_type_id=service_type.id, venue_kinds=values)
        )
    else:
        own.venue_kinds = values
    db.commit()
    return _row(service_type, city_row, values, "city")


def reset_venue_kinds(db: Session, slug: str, city: int | str) -> dict[str, Any]:
    """Drop a city's own list for a service type: the service type's list applies there again."""
    service_type = get_service_type(db, slug)
    city_row = resolve_city(db, city)
    own = db.get(CityServiceVenueKinds, (city_row.id, service_type.id))
    if own is not None:
        db.delete(own)
    db.commit()
    return _row(service_type, city_row, list(service_type.venue_kinds), "service_type")


def list_from_terminal(settings: Settings, city: str | None = None) -> list[dict[str, Any]]:
    """`assetmap venues list`: list_venue_kinds in a session of its own."""
    with session_scope(settings) as db:
        return list_venue_kinds(db, city)


def set_from_terminal(
    settings: Settings, slug: str, kinds: list[str], city: str | None = None
) -> dict[str, Any]:
    """`assetmap venues set`: set_venue_kinds in a session of its own."""
    with session_scope(settings) as db:
        return set_venue_kinds(db, slug, kinds, city)


def reset_from_terminal(settings: Settings, slug: str, city: str) -> dict[str, Any]:
    """`assetmap venues reset`: reset_venue_kinds in a session of its own."""
    with session_scope(settings) as db:
        return reset_venue_kinds(db, slug, city)
