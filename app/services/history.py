"""Change history: snapshots of items before and after each change, listing, revert and restore."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from geoalchemy2.shape import from_shape, to_shape
from shapely.geometry import mapping, shape
from sqlalchemy import inspect, or_, select
from sqlalchemy.orm import Session

from app.db.models import Asset, Change, Commitment, Link, Need, Neighbourhood, Resource, ServiceType
from app.policy import Principal

# Kinds of items whose changes are recorded, by the name used in URLs (/api/{kind}/{id}/history).
KIND_MODELS: dict[str, type[Any]] = {
    "neighbourhoods": Neighbourhood,
    "assets": Asset,
    "needs": Need,
    "resources": Resource,
    "links": Link,
}
# Kinds whose changes are recorded but which are not map features (no generic item routes, revert or restore).
RECORDED_ONLY_MODELS: dict[str, type[Any]] = {"commitments": Commitment}
_NOT_RESTORED = {"id", "version", "created_at", "updated_at"}


def _kind_of(obj: Any) -> str:
    for kind, model in (KIND_MODELS | RECORDED_ONLY_MODELS).items():
        if isinstance(obj, model):
            return kind
    raise TypeError(f"no history is kept for {type(obj).__name__}")


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value


def snapshot(obj: Any) -> dict[str, Any]:
    """Every column of an item as JSON-ready values; geometry as GeoJSON, an asset's service types as slugs."""
    data: dict[str, Any] = {}
    for attr in inspect(obj).mapper.column_attrs:
        value = getattr(obj, attr.key)
        if attr.key in {"geom", "blurred_location"}:
            data[attr.key] = mapping(to_shape(value)) if value is not None else None
        else:
            data[attr.key] = _plain(value)
    if isinstance(obj, Asset):
        data["service_types"] = sorted(st.slug for st in obj.service_types)
    return data


def record(
    db: Session,
    obj: Any,
    action: str,
    principal: Principal,
    *,
    before: dict[str, Any] | None,
    message: str | None = None,
    import_id: int | None = None,
) -> Change:
    """Add a history row for `obj` (flushes; the caller's service commits)."""
    db.flush()
    after = None if action == "delete" else snapshot(obj)
    change = Change(
        kind=_kind_of(obj),
        item_id=obj.id,
        city_id=getattr(obj, "city_id", None),
        action=action,
        version=obj.version,
        before=before,
        after=after,
        user_id=principal.user_id,
        import_id=import_id,
        message=message,
    )
    db.add(change)
    return change


@dataclass(frozen=True, slots=True)
class Entry:
    """One change of an item as listed: the row, its user's name, and the item as it was after the change."""

    change: Change
    username: str | None
    after: dict[str, Any] | None


def list_changes(db: Session, kind: str, item_id: int) -> list[Entry]:
    """An item's history, oldest first, with the user name of each change.

    A bulk import records the items it created as one row naming them all (`item_ids`), without a snapshot: the
    version it names is the item as the import stored it, which the item's next change keeps as its `before`, and
    which until then is the current row. Every other change records its own `after`.
    """
    from app.db.models import User

    rows = db.execute(
        select(Change, User.username)
        .outerjoin(User, User.id == Change.user_id)
        .where(
            Change.kind == kind,
            or_(Change.item_id == item_id, Change.item_ids.op("@>")(item_id)),
        )
        .order_by(Change.id)
    ).all()
    entries = []
    for index, (change, username) in enumerate(rows):
        after = change.after
        if after is None and change.action == "import":
            if index + 1 < len(rows):
                after = rows[index + 1][0].before
            else:
                current = db.get(KIND_MODELS[kind], item_id)
                if current is not None and current.version == change.version:
                    after = snapshot(current)
        entries.append(Entry(change, username, after))
    return entries


def apply_snapshot(db: Session, obj: Any, data: dict[str, Any]) -> None:
    """Set an item's columns from a snapshot (geometry and an asset's service types included)."""
    for attr in inspect(obj).mapper.column_attrs:
        key = attr.key
        if key in _NOT_RESTORED or key not in data:
            continue
        value = data[key]
        if key in {"geom", "blurred_location"} and value is not None:
            value = from_shape(shape(value), srid=4326)
        elif value is not None and isinstance(attr.columns[0].type.python_type, type):
            ptype = attr.columns[0].type.python_type
            if ptype is dt.date and isinstance(value, str):
                value = dt.date.fromisoformat(value)
            elif ptype is dt.datetime and isinstance(value, str):
                value = dt.datetime.fromisoformat(value)
        setattr(obj, key, value)
    if isinstance(obj, Asset) and "service_types" in data:
        obj.service_types = list(
            db.scalars(select(ServiceType).where(ServiceType.slug.in_(data["service_types"])))
        )


def find_version(db: Session, kind: str, item_id: int, version: int) -> dict[str, Any] | None:
    """The snapshot of an item as it was at `version`, or None if no such version was recorded."""
    for entry in reversed(list_changes(db, kind, item_id)):
        if entry.change.version == version and entry.after is not None:
            return entry.after
    return None


def last_deleted(db: Session, kind: str, item_id: int) -> dict[str, Any] | None:
    """The snapshot taken just before an item was deleted, or None if it was never deleted."""
    change = db.scalar(
        select(Change)
        .where(Change.kind == kind, Change.item_id == item_id)
        .order_by(Change.id.desc())
        .limit(1)
    )
    if change is None or change.action != "delete":
        return None
    return change.before
