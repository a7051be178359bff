"""Query helpers (never commit): GeoJSON features built in SQL, visibility and privacy rules, list filters."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from sqlalchemy import JSON, Select, Text, and_, case, false, func, literal, or_, select, true
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement

from app.db.hierarchy import subtree_ids
from app.db.models import Asset, AssetServiceType, Link, Need, Neighbourhood, Resource, ServiceType
from app.errors import AssetmapError, Conflict, InvalidInput
from app.policy import EDIT_ANYWHERE_ROLES, Principal
from app.settings import Settings

COORD_DECIMALS = 6  # about 0.1 m: the display precision of RFC 7946 output
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


def geojson(geom: Any) -> Any:
    """RFC 7946 geometry JSON of a column: counter-clockwise exteriors, 6 decimals."""
    return func.ST_AsGeoJSON(func.ST_ForcePolygonCCW(geom), COORD_DECIMALS).cast(JSON)


def visible(model: Any, principal: Principal, status: str) -> ColumnElement[bool]:
    """Which reviewed items the caller may see: published ones, plus unpublished for staff and their authors."""
    if status == "approved":
        return model.status == "approved"
    if principal.is_staff:
        return true() if status == "all" else model.status == status
    own = model.created_by == principal.user_id if principal.user_id is not None else false()
    wanted = true() if status == "all" else model.status == status
    return and_(wanted, or_(model.status == "approved", own))


def asset_is_private() -> ColumnElement[bool]:
    """People (category individual) and assets marked sensitive."""
    return or_(Asset.category == "individual", Asset.sensitive)


def private_peers(city_id: Any, neighbourhood_id: Any, category: Any) -> Any:
    """How many published people or sensitive assets of this category a neighbourhood (None: outside every
    neighbourhood of the city) has: the group whose size decides whether they may be listed and counted."""
    peer = aliased(Asset)
    return (
        select(func.count())
        .select_from(peer)
        .where(
            peer.city_id == city_id,
            peer.neighbourhood_id.is_not_distinct_from(neighbourhood_id),
            peer.category == category,
            peer.status == "approved",
            or_(peer.category == "individual", peer.sensitive),
        )
        .scalar_subquery()
    )


def _counts_people_here(principal: Principal) -> ColumnElement[bool]:
    """SQL form of Principal.counts_people_in for the asset's own neighbourhood, or the asset's author."""
    if principal.sees_exact_locations or principal.role in EDIT_ANYWHERE_ROLES:
        return true()
    own = Asset.created_by == principal.user_id if principal.user_id is not None else false()
    if principal.role == "organiser" and principal.neighbourhood_ids:
        return or_(own, Asset.neighbourhood_id.in_(sorted(principal.neighbourhood_ids)))
    return own


def asset_suppressed(principal: Principal, settings: Settings) -> ColumnElement[bool]:
    """A published person or sensitive asset that this reader may neither list nor count: its neighbourhood has
    fewer than `small_count_threshold` of its category (small-count suppression, as in the summary)."""
    if principal.sees_exact_locations or principal.role in EDIT_ANYWHERE_ROLES:
        return false()
    small = (
        private_peers(Asset.city_id, Asset.neighbourhood_id, Asset.category) < settings.small_count_threshold
    )
    # CASE keeps the group count from being computed for the many assets that are not private
    return case(
        (and_(asset_is_private(), Asset.status == "approved", ~_counts_people_here(principal)), small),
        else_=false(),
    )


def refers_to_suppressed_asset(model: Any, principal: Principal, settings: Settings) -> ColumnElement[bool]:
    """A resource of, or a link with an end at, an asset this reader may not list (asset_suppressed): left out
    with it, so its id and neighbourhood are not given away."""
    if principal.sees_exact_locations or principal.role in EDIT_ANYWHERE_ROLES:
        return false()
    ends = (
        Asset.id == Resource.asset_id
        if model is Resource
        else or_(Asset.id == Link.source_asset_id, Asset.id == Link.target_asset_id)
    )
    return select(Asset.id).where(ends, asset_suppressed(principal, settings)).exists()


def asset_shown_geom(principal: Principal, settings: Settings) -> Any:
    """The location the caller may see: exact for planner rights, otherwise blurred for private assets."""
    if principal.sees_exact_locations:
        return Asset.geom
    blurred: Any
    if settings.privacy_blur == "neighbourhood":
        blurred = func.coalesce(
            select(func.ST_PointOnSurface(Neighbourhood.geom))
            .where(Neighbourhood.id == Asset.neighbourhood_id)
            .scalar_subquery(),
            Asset.blurred_location,
        )
    else:
        blurred = Asset.blurred_location
    return case((asset_is_private(), blurred), else_=Asset.geom)


def _private_shown_geom(settings: Settings) -> Any:
    """Where a private asset is shown to non-planners; the plain column in the h3 case, so its index is used."""
    if settings.privacy_blur == "h3":
        return Asset.blurred_location
    return asset_shown_geom(Principal(), settings)


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
