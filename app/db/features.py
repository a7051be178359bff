"""Selects that build RFC 7946 features and JSON objects of assets, needs, neighbourhoods, resources, links."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Select, Text, case, false, func, literal, select
from sqlalchemy.dialects.postgresql import aggregate_order_by

from app.db.models import Asset, AssetServiceType, Link, Need, Neighbourhood, Resource, ServiceType
from app.db.visibility import asset_is_private, asset_shown_geom
from app.policy import Principal
from app.settings import Settings

COORD_DECIMALS = 6  # about 0.1 m: the display precision of RFC 7946 output


def geojson(geom: Any) -> Any:
    """RFC 7946 geometry JSON of a column: counter-clockwise exteriors, 6 decimals."""
    return func.ST_AsGeoJSON(func.ST_ForcePolygonCCW(geom), COORD_DECIMALS).cast(JSON)


def _service_slugs() -> Any:
    return (
        select(
            func.coalesce(
                func.json_agg(aggregate_order_by(ServiceType.slug, ServiceType.slug)),
                literal("[]").cast(JSON),
            )
        )
        .join(AssetServiceType, AssetServiceType.service_type_id == ServiceType.id)
        .where(AssetServiceType.asset_id == Asset.id)
        .scalar_subquery()
    )


def _feature(id_col: Any, geometry: Any, *props: tuple[str, Any]) -> Any:
    args: list[Any] = []
    for key, value in props:
        args.extend([literal(key), value])
    return func.json_build_object(
        "type", "Feature", "id", id_col, "geometry", geometry, "properties", func.json_build_object(*args)
    )


def asset_feature_select(principal: Principal, settings: Settings) -> Select[Any]:
    """SELECT id, feature-JSON-text for assets as the caller may see them."""
    private = asset_is_private()
    exact = principal.sees_exact_locations
    contact = Asset.contact if exact else case((private, None), else_=Asset.contact)
    feature = _feature(
        Asset.id,
        geojson(asset_shown_geom(principal, settings)),
        ("city_id", Asset.city_id),
        ("neighbourhood_id", Asset.neighbourhood_id),
        ("category", Asset.category),
        ("kind", Asset.kind),
        ("name", Asset.name),
        ("description", Asset.description),
        ("service_types", _service_slugs()),
        ("capacity", Asset.capacity),
        ("capacity_unit", Asset.capacity_unit),
        ("ownership", Asset.ownership),
        ("contact", contact),
        ("opening_hours", Asset.opening_hours),
        ("source", Asset.source),
        ("source_id", Asset.source_id),
        ("verified", Asset.verified),
        ("sensitive", Asset.sensitive),
        ("location_blurred", false() if exact else private),
        ("status", Asset.status),
        ("version", Asset.version),
        ("created_at", Asset.created_at),
        ("updated_at", Asset.updated_at),
    )
    return select(Asset.id, feature.cast(Text()))


def need_feature_select() -> Select[Any]:
    """SELECT id, feature-JSON-text for needs."""
    slug = select(ServiceType.slug).where(ServiceType.id == Need.service_type_id).scalar_subquery()
    feature = _feature(
        Need.id,
        geojson(Need.geom),
        ("city_id", Need.city_id),
        ("neighbourhood_id", Need.neighbourhood_id),
        ("service_type", slug),
        ("people_affected", Need.people_affected),
        ("severity", Need.severity),
        ("source", Need.source),
        ("description", Need.description),
        ("observed_on", Need.observed_on),
        ("status", Need.status),
        ("version", Need.version),
        ("created_at", Need.created_at),
        ("updated_at", Need.updated_at),
    )
    return select(Need.id, feature.cast(Text()))


def neighbourhood_feature_select() -> Select[Any]:
    """SELECT id, feature-JSON-text for neighbourhoods."""
    feature = _feature(
        Neighbourhood.id,
        geojson(Neighbourhood.geom),
        ("city_id", Neighbourhood.city_id),
        ("code", Neighbourhood.code),
        ("name", Neighbourhood.name),
        ("level", Neighbourhood.level),
        ("parent_id", Neighbourhood.parent_id),
        ("population", Neighbourhood.population),
        ("population_by_group", Neighbourhood.population_by_group),
        ("version", Neighbourhood.version),
        ("updated_at", Neighbourhood.updated_at),
    )
    return select(Neighbourhood.id, feature.cast(Text()))


def _object(*props: tuple[str, Any]) -> Any:
    args: list[Any] = []
    for key, value in props:
        args.extend([literal(key), value])
    return func.json_build_object(*args).cast(Text())


def resource_select() -> Select[Any]:
    """SELECT id, JSON-text for resources."""
    return select(
        Resource.id,
        _object(
            ("id", Resource.id),
            ("city_id", Resource.city_id),
            ("asset_id", Resource.asset_id),
            ("neighbourhood_id", Resource.neighbourhood_id),
            ("kind", Resource.kind),
            ("quantity", Resource.quantity),
            ("unit", Resource.unit),
            ("available_from", Resource.available_from),
            ("available_until", Resource.available_until),
            ("description", Resource.description),
            ("status", Resource.status),
            ("version", Resource.version),
            ("created_at", Resource.created_at),
            ("updated_at", Resource.updated_at),
        ),
    )


def link_select() -> Select[Any]:
    """SELECT id, JSON-text for links."""
    return select(
        Link.id,
        _object(
            ("id", Link.id),
            ("city_id", Link.city_id),
            ("source_asset_id", Link.source_asset_id),
            ("target_asset_id", Link.target_asset_id),
            ("kind", Link.kind),
            ("weight", Link.weight),
            ("directed", Link.directed),
            ("description", Link.description),
            ("status", Link.status),
            ("version", Link.version),
            ("created_at", Link.created_at),
            ("updated_at", Link.updated_at),
        ),
    )
