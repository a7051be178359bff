"""Neighbourhoods, assets, needs, resources and links: create, read, update, delete, review, revert, restore."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from geoalchemy2.shape import from_shape, to_shape
from shapely import Point
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Select, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.db import queries
from app.db.models import Asset, Link, Need, Neighbourhood, Resource, ServiceType
from app.errors import Conflict, Forbidden, InvalidInput, NotFound, PreconditionRequired, StaleVersion
from app.geometry import as_multipolygon, parse_geometry
from app.policy import Principal
from app.services import history
from app.services.catalogue import resolve_city, resolve_service_type
from app.settings import Settings
from geo.privacy import blur_points

KINDS: dict[str, type[Any]] = history.KIND_MODELS
REVIEWED = {"assets", "needs", "resources", "links"}
GEO_KINDS = {"neighbourhoods", "assets", "needs"}
_SINGULAR = {
    "neighbourhoods": "neighbourhood",
    "assets": "asset",
    "needs": "need",
    "resources": "resource",
    "links": "link",
}


@dataclass(frozen=True)
class Page:
    """One page of a list: items as JSON text, and the id to continue after (None on the last page)."""

    items: list[str]
    next_after: int | None


def _model(kind: str) -> Any:
    try:
        return KINDS[kind]
    except KeyError:
        raise NotFound(f"no such kind of item {kind!r}: use one of {', '.join(KINDS)}") from None


def _select(kind: str, principal: Principal, settings: Settings) -> Select[Any]:
    if kind == "assets":
        return queries.asset_feature_select(principal, settings)
    if kind == "needs":
        return queries.need_feature_select()
    if kind == "neighbourhoods":
        return queries.neighbourhood_feature_select()
    if kind == "resources":
        return queries.resource_select()
    return queries.link_select()


def list_items(
    db: Session, settings: Settings, principal: Principal, kind: str, filters: queries.ListFilters
) -> Page:
    """A keyset-paged list of items the caller may see, in id order, as JSON text built by the database."""
    model = _model(kind)
    if filters.status != "approved" and kind in REVIEWED and not (principal.is_staff or principal.user_id):
        raise Forbidden("sign in to see entries that are not published")
    stmt = _select(kind, principal, settings)
    if kind in REVIEWED:
        stmt = stmt.where(queries.visible(model, principal, filters.status))
    if kind == "assets":
        stmt = queries.apply_asset_filters(stmt, filters, principal, settings)
    elif kind == "needs":
        stmt = queries.apply_need_filters(stmt, filters)
    elif kind == "neighbourhoods":
        stmt = queries.apply_neighbourhood_filters(stmt, filters)
    rows = db.execute(queries.apply_common_filters(stmt, model, filters)).all()
    more = len(rows) > filters.limit
    rows = rows[: filters.limit]
    return Page([r[1] for r in rows], rows[-1][0] if more and rows else None)


def get_item(
    db: Session, settings: Settings, principal: Principal, kind: str, item_id: int
) -> tuple[str, int]:
    """One item as JSON text with its version; hidden and missing items are both a 404."""
    model = _model(kind)
    stmt = _select(kind, principal, settings).add_columns(model.version).where(model.id == item_id)
    if kind in REVIEWED:
        stmt = stmt.where(queries.visible(model, principal, "all"))
    row = db.execute(stmt).first()
    if row is None:
        raise NotFound(f"no {_SINGULAR[kind]} {item_id}")
    return row[1], row[2]


def _load(db: Session, principal: Principal, kind: str, item_id: int, *, lock: bool = True) -> Any:
    model = _model(kind)
    stmt = select(model).where(model.id == item_id)
    if kind in REVIEWED:
        stmt = stmt.where(queries.visible(model, principal, "all"))
    obj = db.scalar(stmt.with_for_update() if lock else stmt)
    if obj is None:
        raise NotFound(f"no {_SINGULAR[kind]} {item_id}")
    return obj


def _neighbourhood_of(db: Session, kind: str, obj: Any) -> int | None:
    """The neighbourhood whose editors may change this item."""
    if kind == "neighbourhoods":
        return obj.id
    if kind in {"assets", "needs"}:
        return obj.neighbourhood_id
    if kind == "resources":
        if obj.neighbourhood_id is not None:
            return obj.neighbourhood_id
        return db.scalar(select(Asset.neighbourhood_id).where(Asset.id == obj.asset_id))
    return db.scalar(select(Asset.neighbourhood_id).where(Asset.id == obj.source_asset_id))


def _check_edit(db: Session, principal: Principal, kind: str, obj: Any) -> None:
    if principal.role == "contributor" and obj.status == "pending" and obj.created_by == principal.user_id:
        return  # contributors may place their own proposals anywhere; review decides
    nid = _neighbourhood_of(db, kind, obj)
    if not principal.can_edit_in(nid):
        where = f"neighbourhood {nid}" if nid is not None else "outside every neighbourhood"
        raise Forbidden(f"you may not edit entries {where}: ask an admin to assign you that neighbourhood")


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


def _flush(db: Session) -> None:
    try:
        db.flush()
    except IntegrityError as exc:
        db.rollback()
        raise queries.domain_error(exc) from None


def create_item(
    db: Session, settings: Settings, principal: Principal, kind: str, data: dict[str, Any]
) -> int:
    """Create an item (contributors' entries start pending); records history; returns the new id."""
    model = _model(kind)
    obj = model()
    if "city" in data:
        obj.city_id = resolve_city(db, data.pop("city")).id
    if kind in REVIEWED:
        obj.status = principal.initial_status()
        obj.created_by = principal.user_id
    obj.version = 1
    _ASSIGN[kind](db, settings, obj, data)
    _check_edit(db, principal, kind, obj)
    db.add(obj)
    _flush(db)
    history.record(db, obj, "create", principal, before=None)
    db.commit()
    return obj.id


def _check_version(obj: Any, expected: int | None) -> None:
    if expected is None:
        raise PreconditionRequired(
            "send the version you edited: an If-Match header with the ETag from GET, or a 'version' field"
        )
    if obj.version != expected:
        raise StaleVersion(
            f"this item changed since you read it (you sent version {expected}, it is now {obj.version}): "
            "reload it, reapply your change and send the new version",
            extra={"current_version": obj.version},
        )


def update_item(
    db: Session,
    settings: Settings,
    principal: Principal,
    kind: str,
    item_id: int,
    data: dict[str, Any],
    *,
    expected_version: int | None,
    message: str | None = None,
) -> None:
    """Change an item if the caller's version is current (else 412) and both old and new places are theirs."""
    obj = _load(db, principal, kind, item_id)
    _check_edit(db, principal, kind, obj)
    _check_version(obj, expected_version)
    before = history.snapshot(obj)
    _ASSIGN[kind](db, settings, obj, data)
    _check_edit(db, principal, kind, obj)
    obj.version = obj.version + 1
    obj.updated_at = func.now()
    _flush(db)
    db.refresh(obj)
    history.record(db, obj, "update", principal, before=before, message=message)
    db.commit()


def delete_item(
    db: Session,
    principal: Principal,
    kind: str,
    item_id: int,
    *,
    expected_version: int | None,
    message: str | None,
) -> None:
    """Delete an item (restorable from its history); If-Match, when sent, must be current."""
    obj = _load(db, principal, kind, item_id)
    _check_edit(db, principal, kind, obj)
    if expected_version is not None:
        _check_version(obj, expected_version)
    before = history.snapshot(obj)
    history.record(db, obj, "delete", principal, before=before, message=message)
    db.delete(obj)
    _flush(db)
    db.commit()


def review_item(
    db: Session, principal: Principal, kind: str, item_id: int, decision: str, reason: str | None
) -> None:
    """Approve or reject a pending entry; only the neighbourhood's organiser or an admin may, never its author."""
    if kind not in REVIEWED:
        raise NotFound(f"{kind} are not reviewed")
    obj = _load(db, principal, kind, item_id)
    if obj.created_by is not None and obj.created_by == principal.user_id and principal.role != "admin":
        raise Forbidden("you cannot review your own entry: another organiser or an admin must")
    if not principal.can_review_in(_neighbourhood_of(db, kind, obj)):
        raise Forbidden("only an organiser of this neighbourhood or an admin may review this entry")
    if obj.status != "pending":
        raise Conflict(f"this entry is {obj.status}, not pending")
    if decision == "reject" and not reason:
        raise InvalidInput("say why the entry is rejected", field="reason")
    before = history.snapshot(obj)
    obj.status = "approved" if decision == "approve" else "rejected"
    obj.review_note = reason
    obj.version = obj.version + 1
    obj.updated_at = func.now()
    _flush(db)
    history.record(db, obj, decision, principal, before=before, message=reason)
    db.commit()


def item_history(db: Session, principal: Principal, kind: str, item_id: int) -> list[dict[str, Any]]:
    """The recorded changes of an item (also of a deleted one), oldest first."""
    _model(kind)
    changes = history.list_changes(db, kind, item_id)
    if not changes:
        raise NotFound(f"no {_SINGULAR[kind]} {item_id}")
    return [
        {
            "id": e.change.id,
            "action": e.change.action,
            "version": e.change.version,
            "at": e.change.at.isoformat(),
            "user": e.username,
            "import_id": e.change.import_id,
            "message": e.change.message,
            "before": e.change.before,
            "after": e.after,
        }
        for e in changes
    ]


def _strip_derived(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k not in {"status", "review_note", "created_by", "import_id"}}


def revert_item(
    db: Session,
    settings: Settings,
    principal: Principal,
    kind: str,
    item_id: int,
    version: int,
    message: str | None,
) -> None:
    """Put an item back as it was at `version`; a new version is recorded (nothing is rewritten)."""
    obj = _load(db, principal, kind, item_id)
    if not principal.can_review_in(_neighbourhood_of(db, kind, obj)):
        raise Forbidden("only an admin or an organiser of this neighbourhood may revert")
    data = history.find_version(db, kind, item_id, version)
    if data is None:
        raise NotFound(f"{_SINGULAR[kind]} {item_id} has no recorded version {version}")
    before = history.snapshot(obj)
    history.apply_snapshot(db, obj, _strip_derived(data))
    obj.version = obj.version + 1
    obj.updated_at = func.now()
    _flush(db)
    if kind in {"assets", "needs"}:
        obj.neighbourhood_id = _locate(db, obj.city_id, to_shape(obj.geom))
    history.record(
        db, obj, "revert", principal, before=before, message=message or f"reverted to version {version}"
    )
    db.commit()


def restore_item(db: Session, principal: Principal, kind: str, item_id: int, message: str | None) -> None:
    """Bring back a deleted item under its old id, as it was just before deletion."""
    model = _model(kind)
    if db.get(model, item_id) is not None:
        raise Conflict(f"{_SINGULAR[kind]} {item_id} exists: there is nothing to restore")
    data = history.last_deleted(db, kind, item_id)
    if data is None:
        raise NotFound(f"no deleted {_SINGULAR[kind]} {item_id}")
    obj = model(id=item_id)
    history.apply_snapshot(db, obj, data)
    if not principal.can_review_in(_neighbourhood_of(db, kind, obj)):
        raise Forbidden("only an admin or an organiser of this neighbourhood may restore")
    obj.version = int(data.get("version") or 0) + 1
    db.add(obj)
    _flush(db)
    history.record(db, obj, "restore", principal, before=None, message=message)
    db.commit()
