"""Cities and service types: the reference data every feature points at."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.db.models import City, Need, ServiceType
from app.db.queries import domain_error
from app.errors import Conflict, InvalidInput, NotFound
from app.schemas.features import INT4_MAX


def resolve_city(db: Session, ref: int | str | None, *, field: str = "city") -> City:
    """A city by id or by name (case-insensitive); unknown is a 404 naming what was asked for, and so is a
    reference no city can have (an id beyond int4, a NUL character). The one city resolver of the app."""
    if ref is None or ref == "":
        raise InvalidInput("name a city by id or name", field=field)
    if isinstance(ref, str) and "\x00" in ref:
        raise NotFound(f"no city {ref!r}: list cities at /api/cities", field=field)
    city: City | None
    # An id is ASCII digits within int4; anything else ('²', Arabic-Indic digits) is a name like any other.
    if isinstance(ref, int) or (isinstance(ref, str) and ref.isascii() and ref.isdigit()):
        city = db.get(City, int(ref)) if 0 < int(ref) <= INT4_MAX else None
    else:
        city = db.scalar(select(City).where(func.lower(City.name) == ref.strip().lower()))
    if city is None:
        raise NotFound(f"no city {ref!r}: list cities at /api/cities", field=field)
    return city


def list_cities(db: Session) -> list[City]:
    """All cities by name."""
    return list(db.scalars(select(City).order_by(City.name)))


def _commit(db: Session, *, refresh: object = None) -> None:
    """Flush, reload `refresh` (values the database set) while still in the transaction, then commit: nothing is
    read after the commit, so an answer never fails for a write that landed."""
    try:
        db.flush()
        if refresh is not None:
            db.refresh(refresh)
        db.commit()
    except IntegrityError as exc:
        db.rollback()
        raise domain_error(exc) from None


def _refuse_taken_name(db: Session, name: str | None, *, other_than: int | None = None) -> None:
    """Refuse a name another city has in any case: cities are found by name case-insensitively."""
    if name is None:
        return
    taken = db.scalar(
        select(City.name).where(func.lower(City.name) == name.lower(), City.id != (other_than or 0))
    )
    if taken is not None:
        raise Conflict(f"a city with this name exists already ({taken!r}): choose another name", field="name")


def create_city(db: Session, data: dict[str, Any]) -> City:
    """Add a city; a name another city has (in any case) is a conflict."""
    _refuse_taken_name(db, data.get("name"))
    city = City(**data)
    db.add(city)
    _commit(db)
    return city


def update_city(db: Session, city_id: int, data: dict[str, Any]) -> City:
    """Change a city's name, country, measuring CRS or attribution."""
    city = resolve_city(db, city_id)
    _refuse_taken_name(db, data.get("name"), other_than=city.id)
    for key, value in data.items():
        setattr(city, key, value)
    city.updated_at = func.now()
    _commit(db, refresh=city)
    return city


def delete_city(db: Session, city_id: int) -> None:
    """Delete a city and everything in it."""
    db.delete(resolve_city(db, city_id))
    _commit(db)


def resolve_service_type(db: Session, slug: str, *, field: str = "service_type") -> ServiceType:
    """A service type by slug; unknown is a 422 listing the known ones."""
    st = db.scalar(select(ServiceType).where(ServiceType.slug == slug))
    if st is None:
        known = ", ".join(db.scalars(select(ServiceType.slug).order_by(ServiceType.slug)))
        raise InvalidInput(f"unknown service type {slug!r}: use one of {known}", field=field)
    return st


def get_service_type(db: Session, slug: str) -> ServiceType:
    """A service type by slug, or 404."""
    st = db.scalar(select(ServiceType).where(ServiceType.slug == slug))
    if st is None:
        raise NotFound(f"no service type {slug!r}: list them at /api/service-types")
    return st


def list_service_types(db: Session) -> list[ServiceType]:
    """All service types by slug."""
    return list(db.scalars(select(ServiceType).order_by(ServiceType.slug)))


def create_service_type(db: Session, data: dict[str, Any]) -> ServiceType:
    """Add a service type to the taxonomy."""
    st = ServiceType(**data)
    db.add(st)
    _commit(db)
    return st


def update_service_type(db: Session, slug: str, data: dict[str, Any]) -> ServiceType:
    """Change a service type's name, description, default radius or population group."""
    st = get_service_type(db, slug)
    for key, value in data.items():
        setattr(st, key, value)
    st.updated_at = func.now()
    _commit(db)
    db.refresh(st)
    return st


def delete_service_type(db: Session, slug: str) -> None:
    """Remove a service type that no need uses (assets simply stop offering it)."""
    st = get_service_type(db, slug)
    if db.scalar(select(func.count()).select_from(Need).where(Need.service_type_id == st.id)):
        raise Conflict(f"needs still ask for {slug!r}: move them to another service type first")
    db.delete(st)
    _commit(db)
