"""Query helpers (never commit): list filters, bbox parsing, constraint errors (features and visibility re-exported)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.elements import ColumnElement

from app.db.features import (
    COORD_DECIMALS,
    asset_feature_select,
    geojson,
    link_select,
    need_feature_select,
    neighbourhood_feature_select,
    resource_select,
)
from app.db.hierarchy import subtree_ids
from app.db.models import Asset, AssetServiceType, Link, Need, Neighbourhood, Resource, ServiceType
from app.db.visibility import (
    _private_shown_geom,
    asset_is_private,
    asset_shown_geom,
    asset_suppressed,
    private_peers,
    refers_to_suppressed_asset,
    visible,
)
from app.errors import AssetmapError, Conflict, InvalidInput
from app.policy import Principal
from app.settings import Settings

__all__ = [
    "COORD_DECIMALS",
    "REVIEWED_STATUSES",
    "ListFilters",
    "apply_asset_filters",
    "apply_common_filters",
    "apply_need_filters",
    "apply_neighbourhood_filters",
    "asset_feature_select",
    "asset_is_private",
    "asset_shown_geom",
    "asset_suppressed",
    "domain_error",
    "geojson",
    "link_select",
    "need_feature_select",
    "neighbourhood_containing",
    "neighbourhood_feature_select",
    "parse_bbox",
    "private_peers",
    "refers_to_suppressed_asset",
    "resource_select",
    "visible",
]


REVIEWED_STATUSES = ("approved", "pending", "rejected", "all")


@dataclass(frozen=True)
class ListFilters:
    """Validated list parameters; identifiers come from allow-lists, values are bound parameters."""

    city_id: int | None = None
    neighbourhood_id: int | None = None
    bbox: tuple[float, float, float, float] | None = None
    category: str | None = None
    service_type: str | None = None
    q: str | None = None
    status: str = "approved"
    after: int | None = None
    limit: int = 100


def parse_bbox(text: str) -> tuple[float, float, float, float]:
    """Parse 'west,south,east,north' in degrees; refuses NaN, infinities, out-of-range and inverted boxes."""
    parts = text.split(",")
    if len(parts) != 4:
        raise InvalidInput("bbox must be four numbers: west,south,east,north (degrees)", field="bbox")
    try:
        west, south, east, north = (float(p) for p in parts)
    except ValueError:
        raise InvalidInput(
            "bbox must be four numbers: west,south,east,north (degrees)", field="bbox"
        ) from None
    if not all(math.isfinite(v) for v in (west, south, east, north)):
        raise InvalidInput("bbox values must be finite numbers", field="bbox")
    if not (-180 <= west <= 180 and -180 <= east <= 180 and -90 <= south <= 90 and -90 <= north <= 90):
        raise InvalidInput(
            "bbox out of range: longitudes within -180..180, latitudes within -90..90", field="bbox"
        )
    if south > north or west > east:
        raise InvalidInput("bbox must have west <= east and south <= north", field="bbox")
    return west, south, east, north


def _envelope(bbox: tuple[float, float, float, float]) -> Any:
    return func.ST_MakeEnvelope(*bbox, 4326)


def _like(q: str) -> str:
    escaped = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def apply_asset_filters(
    stmt: Select[Any], f: ListFilters, principal: Principal, settings: Settings
) -> Select[Any]:
    """Filter an asset select; a bbox matches private assets by the location the caller is shown."""
    if f.bbox is not None:
        env = _envelope(f.bbox)
        if principal.sees_exact_locations:
            stmt = stmt.where(func.ST_Intersects(Asset.geom, env))
        else:
            stmt = stmt.where(
                or_(
                    and_(~asset_is_private(), func.ST_Intersects(Asset.geom, env)),
                    and_(asset_is_private(), func.ST_Intersects(_private_shown_geom(settings), env)),
                )
            )
    if f.category is not None:
        stmt = stmt.where(Asset.category == f.category)
    if f.service_type is not None:
        stmt = stmt.where(
            select(AssetServiceType.asset_id)
            .join(ServiceType, ServiceType.id == AssetServiceType.service_type_id)
            .where(AssetServiceType.asset_id == Asset.id, ServiceType.slug == f.service_type)
            .exists()
        )
    if f.q:
        stmt = stmt.where(Asset.name.ilike(_like(f.q)))
    return stmt


def apply_common_filters(stmt: Select[Any], model: Any, f: ListFilters) -> Select[Any]:
    """City, neighbourhood and keyset filters shared by every list, ordered by id (a stable order)."""
    if f.city_id is not None:
        stmt = stmt.where(model.city_id == f.city_id)
    if f.neighbourhood_id is not None:
        stmt = stmt.where(_in_neighbourhood(model, f.neighbourhood_id))
    if f.after is not None:
        stmt = stmt.where(model.id > f.after)
    return stmt.order_by(model.id).limit(f.limit + 1)


def _in_neighbourhood(model: Any, neighbourhood_id: int) -> ColumnElement[bool]:
    """Items of a neighbourhood and of the areas inside it at any depth: assets and needs by location, resources
    directly or through their asset, links with either end there; for neighbourhoods, the areas it contains."""
    if model is Neighbourhood:
        return Neighbourhood.parent_id == neighbourhood_id
    area = subtree_ids(neighbourhood_id)
    if model is Resource:
        via_asset = select(Asset.id).where(Asset.id == Resource.asset_id, Asset.neighbourhood_id.in_(area))
        return or_(Resource.neighbourhood_id.in_(area), via_asset.exists())
    if model is Link:
        ends = select(Asset.id).where(Asset.neighbourhood_id.in_(area))
        return or_(Link.source_asset_id.in_(ends), Link.target_asset_id.in_(ends))
    return model.neighbourhood_id.in_(area)


def apply_need_filters(stmt: Select[Any], f: ListFilters) -> Select[Any]:
    """Bbox, service type and text filters for needs (text searches the description)."""
    if f.bbox is not None:
        stmt = stmt.where(func.ST_Intersects(Need.geom, _envelope(f.bbox)))
    if f.service_type is not None:
        stmt = stmt.where(
            Need.service_type_id
            == select(ServiceType.id).where(ServiceType.slug == f.service_type).scalar_subquery()
        )
    if f.q:
        stmt = stmt.where(Need.description.ilike(_like(f.q)))
    return stmt


def apply_neighbourhood_filters(stmt: Select[Any], f: ListFilters) -> Select[Any]:
    """Bbox and name filters for neighbourhoods."""
    if f.bbox is not None:
        stmt = stmt.where(func.ST_Intersects(Neighbourhood.geom, _envelope(f.bbox)))
    if f.q:
        stmt = stmt.where(or_(Neighbourhood.name.ilike(_like(f.q)), Neighbourhood.code == f.q))
    return stmt


def neighbourhood_containing(city_id: int, geom_ewkt: str) -> Select[Any]:
    """The smallest neighbourhood of a city that covers a point (districts contain neighbourhoods)."""
    point = func.ST_PointOnSurface(func.ST_GeomFromEWKT(geom_ewkt))
    return (
        select(Neighbourhood.id)
        .where(Neighbourhood.city_id == city_id, func.ST_Covers(Neighbourhood.geom, point))
        .order_by(func.ST_Area(Neighbourhood.geom), Neighbourhood.id)
        .limit(1)
    )


# Constraint names (from the naming convention) and what to tell the user when one is hit.
_CONSTRAINT_MESSAGES: dict[str, tuple[type[AssetmapError], str, str | None]] = {
    "uq_neighbourhood_city_code": (
        Conflict,
        "a neighbourhood with this code exists already in the city",
        "code",
    ),
    "uq_city_name": (Conflict, "a city with this name exists already", "name"),
    "uq_service_type_slug": (Conflict, "a service type with this slug exists already", "slug"),
    "uq_asset_city_source": (Conflict, "an asset with this source and source_id exists already", "source_id"),
    "uq_link_pair_kind": (Conflict, "a link of this kind between these two assets exists already", "kind"),
    "ck_link_not_self": (InvalidInput, "a link must join two different assets", "target_asset_id"),
    "uq_app_user_username": (Conflict, "a user with this name exists already", "username"),
    "ck_resource_availability_order": (
        InvalidInput,
        "available_until is before available_from",
        "available_until",
    ),
    "fk_community_case_asset_id_asset": (
        Conflict,
        "this asset has community-rights cases (see /api/cases): it stays on the map while they do",
        "asset_id",
    ),
    "ck_resource_has_owner": (
        InvalidInput,
        "a resource belongs to an asset or a neighbourhood: give one",
        "asset_id",
    ),
}


def domain_error(exc: IntegrityError) -> AssetmapError:
    """Translate a constraint violation into a 409/422 that names the field, without any SQL."""
    name = getattr(getattr(exc.orig, "diag", None), "constraint_name", None) or ""
    if name in _CONSTRAINT_MESSAGES:
        cls, message, field = _CONSTRAINT_MESSAGES[name]
        return cls(message, field=field)
    if name.startswith("fk_"):
        return InvalidInput(
            "a referenced item does not exist", field=name.split("_")[2] if "_" in name else None
        )
    if name.startswith("ck_"):
        return InvalidInput(f"a value breaks the rule {name.removeprefix('ck_')}")
    return Conflict("the change conflicts with existing data")
