"""Neighbourhoods, assets, needs, resources and links: create, read, update, delete, review, revert, restore."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from geoalchemy2.shape import from_shape, to_shape
from shapely import Point
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Select, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.db import queries
from app.db.models import Asset, Link, Need, Neighbourhood, Resource, ServiceType
from app.db.session import single_commit
from app.errors import Conflict, Forbidden, InvalidInput, NotFound, PreconditionRequired, StaleVersion
from app.geometry import as_multipolygon, parse_geometry
from app.policy import Principal
from app.services import history
from app.services.catalogue import resolve_city, resolve_service_type
from app.services.imports.load import relocate_items
from app.settings import Settings
from geo.privacy import blur_points

KINDS: dict[str, type[Any]] = history.KIND_MODELS


@dataclass(frozen=True)
class Kind:
    """What differs between the five history-tracked kinds, looked up once by `describe`."""

    name: str
    model: type[Any]
    singular: str
    geographic: bool  # items are GeoJSON Features, lists FeatureCollections
    reviewed: bool  # entries are proposed, then approved or rejected
    # The neighbourhood rule: an item is one ("self"), lies in the one its location falls in ("location"), or
    # touches those of the assets it refers to, and a resource also its own if it names one ("assets").
    neighbourhoods: Literal["self", "location", "assets"]
    select: Callable[[Principal, Settings], Select[Any]]  # rows of (id, JSON text) built by the database
    # the kind's own list filters; None: those of resources and links (hide what refers to a suppressed asset)
    filter: Callable[[Select[Any], queries.ListFilters, Principal, Settings], Select[Any]] | None


def _asset_filters(
    stmt: Select[Any], filters: queries.ListFilters, principal: Principal, settings: Settings
) -> Select[Any]:
    stmt = stmt.where(~queries.asset_suppressed(principal, settings))
    return queries.apply_asset_filters(stmt, filters, principal, settings)


_KINDS: dict[str, Kind] = {
    kind.name: kind
    for kind in (
        Kind(
            "neighbourhoods",
            Neighbourhood,
            "neighbourhood",
            neighbourhoods="self",
            geographic=True,
            reviewed=False,
            select=lambda principal, settings: queries.neighbourhood_feature_select(),
            filter=lambda stmt, filters, principal, settings: queries.apply_neighbourhood_filters(
                stmt, filters
            ),
        ),
        Kind(
            "assets",
            Asset,
            "asset",
            neighbourhoods="location",
            geographic=True,
            reviewed=True,
            select=queries.asset_feature_select,
            filter=_asset_filters,
        ),
        Kind(
            "needs",
            Need,
            "need",
            neighbourhoods="location",
            geographic=True,
            reviewed=True,
            select=lambda principal, settings: queries.need_feature_select(),
            filter=lambda stmt, filters, principal, settings: queries.apply_need_filters(stmt, filters),
        ),
        Kind(
            "resources",
            Resource,
            "resource",
            neighbourhoods="assets",
            geographic=False,
            reviewed=True,
            select=lambda principal, settings: queries.resource_select(),
            filter=None,
        ),
        Kind(
            "links",
            Link,
            "link",
            neighbourhoods="assets",
            geographic=False,
            reviewed=True,
            select=lambda principal, settings: queries.link_select(),
            filter=None,
        ),
    )
}


def describe(kind: str) -> Kind:
    """The description of a kind; an unknown one is a 404."""
    try:
        return _KINDS[kind]
    except KeyError:
        raise NotFound(f"no such kind of item {kind!r}: use one of {', '.join(KINDS)}") from None


@dataclass(frozen=True)
class Page:
    """One page of a list: items as JSON text, and the id to continue after (None on the last page)."""

    items: list[str]
    next_after: int | None


def _model(kind: str) -> Any:
    return describe(kind).model


def _select(kind: str, principal: Principal, settings: Settings) -> Select[Any]:
    return describe(kind).select(principal, settings)


def list_items(
    db: Session, settings: Settings, principal: Principal, kind: str, filters: queries.ListFilters
) -> Page:
    """A keyset-paged list of items the caller may see, in id order, as JSON text built by the database."""
    described = describe(kind)
    model = described.model
    if filters.status != "approved" and described.reviewed and not (principal.is_staff or principal.user_id):
        raise Forbidden("sign in to see entries that are not published")
    stmt = described.select(principal, settings)
    if described.reviewed:
        stmt = stmt.where(queries.visible(model, principal, filters.status))
    if described.filter is not None:
        stmt = described.filter(stmt, filters, principal, settings)
    else:
        stmt = stmt.where(~queries.refers_to_suppressed_asset(model, principal, settings))
    rows = db.execute(queries.apply_common_filters(stmt, model, filters)).all()
    more = len(rows) > filters.limit
    rows = rows[: filters.limit]
    return Page([r[1] for r in rows], rows[-1][0] if more and rows else None)


def write_then_read(
    db: Session, settings: Settings, principal: Principal, kind: str, write: Callable[[], int]
) -> tuple[int, str, int]:
    """Run `write` (which gives the item's id) and read the item back in the same transaction, which commits
    before this returns: a success means committed, an error means nothing was."""
    with single_commit(db):
        item_id = write()
        text, version = get_item(db, settings, principal, kind, item_id)
    return item_id, text, version


def _is_private(data: dict[str, Any]) -> bool:
    return data.get("category") == "individual" or bool(data.get("sensitive"))


def _blurred_geometry(db: Session, settings: Settings, data: dict[str, Any]) -> dict[str, Any]:
    """Where a private asset is shown to readers without planner rights (as queries.asset_shown_geom)."""
    if settings.privacy_blur == "neighbourhood" and data.get("neighbourhood_id") is not None:
        text = db.scalar(
            select(
                func.ST_AsGeoJSON(func.ST_PointOnSurface(Neighbourhood.geom), queries.COORD_DECIMALS)
            ).where(Neighbourhood.id == data["neighbourhood_id"])
        )
        if text is not None:
            return json.loads(text)
    if data.get("blurred_location") is not None:
        return data["blurred_location"]
    x, y = data["geom"]["coordinates"][:2]
    lon, lat = blur_points([x], [y], settings.privacy_h3_resolution)
    return {"type": "Point", "coordinates": [float(lon[0]), float(lat[0])]}


def shape_item(
    db: Session,
    settings: Settings,
    principal: Principal,
    kind: str,
    data: dict[str, Any] | None,
    *,
    blur: bool = False,
    check_count: bool = True,
) -> dict[str, Any] | None:
    """An item's column values (the current row's or a history snapshot) as this reader may see them, or None if
    the reader may not see it: review visibility, small-count suppression of people and sensitive assets, and
    their blurred location without contact details for readers without planner rights (`blur`: blur anyway,
    because the item is private now)."""
    if data is None:
        return None
    if describe(kind).reviewed and not principal.may_see_entry(data.get("status"), data.get("created_by")):
        return None
    if describe(kind).neighbourhoods == "assets" and check_count:
        ends = [data.get(key) for key in ("asset_id", "source_asset_id", "target_asset_id")]
        for asset in db.scalars(select(Asset).where(Asset.id.in_([e for e in ends if e is not None]))):
            if shape_item(db, settings, principal, "assets", history.snapshot(asset)) is None:
                return None  # a resource or link of a person the reader may not see would give them away
    if kind != "assets" or principal.sees_exact_locations or not (blur or _is_private(data)):
        return data
    own = principal.user_id is not None and data.get("created_by") == principal.user_id
    if (
        check_count
        and _is_private(data)
        and data.get("status") == "approved"
        and not (own or principal.counts_people_in(data.get("neighbourhood_id")))
    ):
        peers = db.scalar(
            select(
                queries.private_peers(data.get("city_id"), data.get("neighbourhood_id"), data.get("category"))
            )
        )
        if (peers or 0) < settings.small_count_threshold:
            return None
    shaped = dict(data)
    if data.get("geom") is not None:
        shaped["geom"] = shaped["blurred_location"] = _blurred_geometry(db, settings, data)
    shaped["contact"] = None
    shaped["location_blurred"] = True
    return shaped


# The view the database builds an item's JSON in before shape_item decides what of it the reader gets.
_FULL_VIEW = Principal(role="admin")


def _rounded(geometry: dict[str, Any]) -> dict[str, Any]:
    x, y = geometry["coordinates"][:2]
    return {
        "type": geometry["type"],
        "coordinates": [round(x, queries.COORD_DECIMALS), round(y, queries.COORD_DECIMALS)],
    }


def get_item(
    db: Session, settings: Settings, principal: Principal, kind: str, item_id: int
) -> tuple[str, int]:
    """One item as JSON text with its version, as shape_item gives it to the reader; hidden and missing items are
    both a 404."""
    model = _model(kind)
    current = db.scalar(select(model).where(model.id == item_id))
    shaped = None if current is None else shape_item(db, settings, principal, kind, history.snapshot(current))
    if shaped is None:
        raise NotFound(f"no {describe(kind).singular} {item_id}")
    stmt = _select(kind, _FULL_VIEW, settings).add_columns(model.version).where(model.id == item_id)
    text, version = db.execute(stmt).one()[1:]
    if kind == "assets":
        feature = json.loads(text)
        feature["geometry"] = (
            _rounded(shaped["geom"]) if shaped.get("location_blurred") else feature["geometry"]
        )
        feature["properties"]["contact"] = shaped["contact"]
        feature["properties"]["location_blurred"] = bool(shaped.get("location_blurred"))
        text = json.dumps(feature, ensure_ascii=False)
    return text, version


def _load(db: Session, principal: Principal, kind: str, item_id: int, *, lock: bool = True) -> Any:
    model = _model(kind)
    stmt = select(model).where(model.id == item_id)
    if describe(kind).reviewed:
        stmt = stmt.where(queries.visible(model, principal, "all"))
    obj = db.scalar(stmt.with_for_update() if lock else stmt)
    if obj is None:
        raise NotFound(f"no {describe(kind).singular} {item_id}")
    return obj


def _asset_place(db: Session, asset_id: int | None) -> int | None:
    return db.scalar(select(Asset.neighbourhood_id).where(Asset.id == asset_id))


def _places_of(db: Session, kind: str, obj: Any) -> list[int | None]:
    """Every neighbourhood an item touches (its own, its asset's, both ends of a link): an editor needs them all."""
    if describe(kind).neighbourhoods == "self":
        return [obj.id]
    if describe(kind).neighbourhoods == "location":
        return [obj.neighbourhood_id]
    if kind == "resources":
        places = [] if obj.asset_id is None else [_asset_place(db, obj.asset_id)]
        if obj.neighbourhood_id is not None:
            places.append(obj.neighbourhood_id)
        return places or [None]
    return [_asset_place(db, obj.source_asset_id), _asset_place(db, obj.target_asset_id)]


def _check_edit(db: Session, principal: Principal, kind: str, obj: Any) -> None:
    if principal.role == "contributor" and obj.status == "pending" and obj.created_by == principal.user_id:
        return  # contributors may place their own proposals anywhere; review decides
    for nid in _places_of(db, kind, obj):
        if not principal.can_edit_in(nid):
            where = f"neighbourhood {nid}" if nid is not None else "outside every neighbourhood"
            raise Forbidden(
                f"you may not edit entries {where}: ask an admin to assign you that neighbourhood"
            )


def _check_review(db: Session, principal: Principal, kind: str, obj: Any, what: str) -> None:
    """Only an admin or an organiser of every neighbourhood the item touches may `what`."""
    if not all(principal.can_review_in(nid) for nid in _places_of(db, kind, obj)):
        raise Forbidden(f"only an admin or an organiser of this neighbourhood may {what}")


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


def _verified_changes(kind: str, obj: Any, data: dict[str, Any]) -> bool:
    return kind == "assets" and "verified" in data and bool(data["verified"]) != bool(obj.verified)


def _check_verified(db: Session, principal: Principal, kind: str, obj: Any, changes: bool) -> None:
    """`verified` is a reviewer's mark: only an admin or the neighbourhood's organiser may set or clear it."""
    if changes:
        _check_review(db, principal, kind, obj, "mark an entry verified (or unverified)")


def create_item(
    db: Session, settings: Settings, principal: Principal, kind: str, data: dict[str, Any]
) -> int:
    """Create an item (contributors' entries start pending); records history; returns the new id."""
    model = _model(kind)
    obj = model()
    if "city" in data:
        obj.city_id = resolve_city(db, data.pop("city")).id
    if describe(kind).reviewed:
        obj.status = principal.initial_status()
        obj.created_by = principal.user_id
    obj.version = 1
    verified = _verified_changes(kind, obj, data)
    _ASSIGN[kind](db, settings, obj, data)
    _check_edit(db, principal, kind, obj)
    _check_verified(db, principal, kind, obj, verified)
    db.add(obj)
    _flush(db)
    history.record(db, obj, "create", principal, before=None)
    if describe(kind).neighbourhoods == "self":
        _relocate_after_boundary_change(db, principal, obj.city_id, obj.id)
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


def _items_in(db: Session, neighbourhood_id: int) -> dict[str, set[int]]:
    """The assets and needs placed in a neighbourhood now."""
    return {
        kind: set(db.scalars(select(KINDS[kind].id).where(KINDS[kind].neighbourhood_id == neighbourhood_id)))
        for kind in ("assets", "needs")
    }


def _relocate_after_boundary_change(
    db: Session,
    principal: Principal,
    city_id: int,
    neighbourhood_id: int,
    *,
    deleted_members: dict[str, set[int]] | None = None,
) -> None:
    """A boundary changed: the city's assets and needs get the neighbourhood they now fall in (the relocation that
    follows boundary imports), and each item that moved gets a new version in its history. `deleted_members`: the
    items of a neighbourhood just deleted (the database has already let go of their neighbourhood)."""
    now = db.scalar(select(func.now()))
    for kind, moved in relocate_items(db, city_id).items():
        model = KINDS[kind]
        old_place = dict(moved)
        for item_id in (deleted_members or {}).get(kind, set()):
            old_place[item_id] = neighbourhood_id
        if not old_place:
            continue
        objs = list(
            db.scalars(
                select(model).where(model.id.in_(sorted(old_place))).execution_options(populate_existing=True)
            )
        )
        befores = {}
        for obj in objs:
            befores[obj.id] = {**history.snapshot(obj), "neighbourhood_id": old_place[obj.id]}
            obj.version = obj.version + 1
            obj.updated_at = now
        _flush(db)
        for obj in objs:
            history.record(
                db,
                obj,
                "update",
                principal,
                before=befores[obj.id],
                message=f"boundary of neighbourhood {neighbourhood_id} changed",
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
    verified = _verified_changes(kind, obj, data)
    new_boundary = describe(kind).neighbourhoods == "self" and data.get("geometry") is not None
    _ASSIGN[kind](db, settings, obj, data)
    _check_edit(db, principal, kind, obj)
    _check_verified(db, principal, kind, obj, verified)
    obj.version = obj.version + 1
    obj.updated_at = func.now()
    _flush(db)
    db.refresh(obj)
    history.record(db, obj, "update", principal, before=before, message=message)
    if new_boundary:
        _relocate_after_boundary_change(db, principal, obj.city_id, obj.id)
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
    members = _items_in(db, obj.id) if describe(kind).neighbourhoods == "self" else None
    db.delete(obj)
    _flush(db)
    if members is not None:
        _relocate_after_boundary_change(db, principal, obj.city_id, obj.id, deleted_members=members)
    db.commit()


def review_item(
    db: Session, principal: Principal, kind: str, item_id: int, decision: str, reason: str | None
) -> None:
    """Approve or reject a pending entry; only the neighbourhood's organiser or an admin may, never its author."""
    if not describe(kind).reviewed:
        raise NotFound(f"{kind} are not reviewed")
    obj = _load(db, principal, kind, item_id)
    if obj.created_by is not None and obj.created_by == principal.user_id and principal.role != "admin":
        raise Forbidden("you cannot review your own entry: another organiser or an admin must")
    _check_review(db, principal, kind, obj, "review this entry")
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


def _latest(db: Session, kind: str, item_id: int, entries: list[history.Entry]) -> dict[str, Any] | None:
    """The item as it is now, or as it was last (a deleted item's snapshot before deletion)."""
    model = _model(kind)
    current = db.scalar(select(model).where(model.id == item_id))
    if current is not None:
        return history.snapshot(current)
    for entry in reversed(entries):
        if entry.after is not None or entry.change.before is not None:
            return entry.after or entry.change.before
    return None


def item_history(
    db: Session, settings: Settings, principal: Principal, kind: str, item_id: int
) -> list[dict[str, Any]]:
    """The recorded changes of an item (also of a deleted one), oldest first, each snapshot shaped for the reader
    as the item itself is (shape_item): 404 where the item would be, blurred where the item is."""
    _model(kind)
    entries = history.list_changes(db, kind, item_id)
    latest = _latest(db, kind, item_id, entries)
    if not entries or shape_item(db, settings, principal, kind, latest) is None:
        raise NotFound(f"no {describe(kind).singular} {item_id}")
    blur = latest is not None and _is_private(latest)

    def shaped(data: dict[str, Any] | None) -> dict[str, Any] | None:
        return shape_item(db, settings, principal, kind, data, blur=blur, check_count=False)

    return [
        {
            "id": e.change.id,
            "action": e.change.action,
            "version": e.change.version,
            "at": e.change.at.isoformat(),
            "user": e.username,
            "import_id": e.change.import_id,
            "message": e.change.message,
            "before": shaped(e.change.before),
            "after": shaped(e.after),
        }
        for e in entries
    ]


def _strip_derived(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k not in {"status", "review_note", "created_by", "import_id"}}


def _relocate(db: Session, kind: str, obj: Any) -> None:
    """Assets and needs take the neighbourhood their (restored) location falls in now."""
    if describe(kind).neighbourhoods == "location":
        obj.neighbourhood_id = _locate(db, obj.city_id, to_shape(obj.geom))


def revert_item(
    db: Session,
    settings: Settings,
    principal: Principal,
    kind: str,
    item_id: int,
    version: int,
    message: str | None,
) -> None:
    """Put an item back as it was at `version`; a new version is recorded (nothing is rewritten). The caller must
    be a reviewer both where the item is and where the reverted version puts it."""
    obj = _load(db, principal, kind, item_id)
    if shape_item(db, settings, principal, kind, history.snapshot(obj)) is None:
        raise NotFound(f"no {describe(kind).singular} {item_id}")
    _check_review(db, principal, kind, obj, "revert")
    data = history.find_version(db, kind, item_id, version)
    if shape_item(db, settings, principal, kind, data, check_count=False) is None:
        raise NotFound(f"{describe(kind).singular} {item_id} has no recorded version {version}")
    assert data is not None
    before = history.snapshot(obj)
    history.apply_snapshot(db, obj, _strip_derived(data))
    obj.version = obj.version + 1
    obj.updated_at = func.now()
    _flush(db)
    _relocate(db, kind, obj)
    _check_review(db, principal, kind, obj, "revert an item to a version in this place")
    history.record(
        db, obj, "revert", principal, before=before, message=message or f"reverted to version {version}"
    )
    if describe(kind).neighbourhoods == "self":
        _relocate_after_boundary_change(db, principal, obj.city_id, obj.id)
    db.commit()


def restore_item(
    db: Session, settings: Settings, principal: Principal, kind: str, item_id: int, message: str | None
) -> None:
    """Bring back a deleted item under its old id, as it was just before deletion, where it falls now."""
    model = _model(kind)
    if db.get(model, item_id) is not None:
        raise Conflict(f"{describe(kind).singular} {item_id} exists: there is nothing to restore")
    data = history.last_deleted(db, kind, item_id)
    if shape_item(db, settings, principal, kind, data) is None:
        raise NotFound(f"no deleted {describe(kind).singular} {item_id}")
    assert data is not None
    obj = model(id=item_id)
    history.apply_snapshot(db, obj, data)
    _relocate(db, kind, obj)
    _check_review(db, principal, kind, obj, "restore this item here")
    obj.version = int(data.get("version") or 0) + 1
    db.add(obj)
    _flush(db)
    history.record(db, obj, "restore", principal, before=None, message=message)
    if describe(kind).neighbourhoods == "self":
        _relocate_after_boundary_change(db, principal, obj.city_id, obj.id)
    db.commit()
