"""Applying a create or update body to an item of each kind: references resolved, geometry checked and placed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from geoalchemy2.shape import from_shape
from shapely import Point
from shapely.geometry.base import BaseGeometry
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.db import queries
from app.db.hierarchy import subtree_ids
from app.db.models import Asset, Link, Need, Neighbourhood, Resource, ServiceType
from app.errors import InvalidInput
from app.geometry import as_multipolygon, parse_geometry
from app.services.catalogue import resolve_service_type
from app.settings import Settings
from geo.privacy import blur_points


def _locate(db: Session, city_id: int, geom: BaseGeometry) -> int | None:
    return db.scalar(queries.neighbourhood_containing(city_id, f"SRID=4326;{geom.wkt}"))


def _assign_asset(db: Session, settings: Settings, obj: Asset, data: dict[str, Any]) -> None:
    geometry = data.pop("geometry", None)
    slugs = data.pop("service_types", None)
    for key, value in data.items():
        setattr(obj, key, value)
    if geometry is not None:
        point = parse_geometry(geometry, ("Point",))
        assert isinstance(point, Point)
        obj.geom = from_shape(point, srid=4326)
        lon, lat = blur_points([point.x], [point.y], settings.privacy_h3_resolution)
        obj.blurred_location = from_shape(Point(lon[0], lat[0]), srid=4326)
        obj.neighbourhood_id = _locate(db, obj.city_id, point)
    if slugs is not None:
        unique = list(dict.fromkeys(slugs))
        found = {st.slug: st for st in db.scalars(select(ServiceType).where(ServiceType.slug.in_(unique)))}
        for slug in unique:
            if slug not in found:
                resolve_service_type(db, slug, field="service_types")  # raises with the list of known slugs
        obj.service_types = [found[s] for s in unique]


def _assign_need(db: Session, settings: Settings, obj: Need, data: dict[str, Any]) -> None:
    geometry = data.pop("geometry", None)
    slug = data.pop("service_type", None)
    for key, value in data.items():
        setattr(obj, key, value)
    if slug is not None:
        obj.service_type_id = resolve_service_type(db, slug).id
    if geometry is not None:
        geom = parse_geometry(geometry, ("Point", "Polygon", "MultiPolygon"))
        obj.geom = from_shape(geom, srid=4326)
        obj.neighbourhood_id = _locate(db, obj.city_id, geom)


def _assign_neighbourhood(db: Session, settings: Settings, obj: Neighbourhood, data: dict[str, Any]) -> None:
    geometry = data.pop("geometry", None)
    parent_id = data.pop("parent_id", obj.parent_id)
    for key, value in data.items():
        setattr(obj, key, value)
    if parent_id is not None:
        parent = db.get(Neighbourhood, parent_id)
        if parent is None or parent.city_id != obj.city_id or parent_id == obj.id:
            raise InvalidInput(
                f"parent_id {parent_id} is not another neighbourhood of this city", field="parent_id"
            )
        if obj.id is not None and parent_id in set(db.scalars(subtree_ids(obj.id))):
            raise InvalidInput(
                f"parent_id {parent_id} lies inside this neighbourhood: choose a parent outside it",
                field="parent_id",
            )
    obj.parent_id = parent_id
    if geometry is not None:
        geom = as_multipolygon(parse_geometry(geometry, ("Polygon", "MultiPolygon")))
        obj.geom = func.ST_ForcePolygonCCW(func.ST_GeomFromEWKT(f"SRID=4326;{geom.wkt}"))


def _owner_city(db: Session, model: Any, item_id: int | None, field: str) -> int | None:
    if item_id is None:
        return None
    city_id = db.scalar(select(model.city_id).where(model.id == item_id))
    if city_id is None:
        raise InvalidInput(f"no {field.removesuffix('_id')} {item_id}", field=field)
    return city_id


def _assign_resource(db: Session, settings: Settings, obj: Resource, data: dict[str, Any]) -> None:
    for key, value in data.items():
        setattr(obj, key, value)
    cities = {
        _owner_city(db, Asset, obj.asset_id, "asset_id"),
        _owner_city(db, Neighbourhood, obj.neighbourhood_id, "neighbourhood_id"),
    } - {None}
    if not cities:
        raise InvalidInput(
            "a resource belongs to an asset or a neighbourhood: give asset_id or neighbourhood_id"
        )
    if len(cities) > 1:
        raise InvalidInput(
            "the asset and the neighbourhood are in different cities", field="neighbourhood_id"
        )
    obj.city_id = cities.pop()  # type: ignore[assignment]
    if obj.available_from and obj.available_until and obj.available_until < obj.available_from:
        raise InvalidInput("available_until is before available_from", field="available_until")


def _assign_link(db: Session, settings: Settings, obj: Link, data: dict[str, Any]) -> None:
    for key, value in data.items():
        setattr(obj, key, value)
    if obj.source_asset_id == obj.target_asset_id:
        raise InvalidInput(
            "a link must join two different assets, not an asset to itself", field="target_asset_id"
        )
    source_city = _owner_city(db, Asset, obj.source_asset_id, "source_asset_id")
    target_city = _owner_city(db, Asset, obj.target_asset_id, "target_asset_id")
    if source_city != target_city:
        raise InvalidInput("both assets of a link must be in the same city", field="target_asset_id")
    obj.city_id = source_city  # type: ignore[assignment]


_ASSIGN: dict[str, Callable[..., None]] = {
    "assets": _assign_asset,
    "needs": _assign_need,
    "neighbourhoods": _assign_neighbourhood,
    "resources": _assign_resource,
    "links": _assign_link,
}
