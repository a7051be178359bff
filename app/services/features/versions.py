"""An item's history, and going back: reverting to a recorded version, restoring a deleted item."""

from __future__ import annotations

from typing import Any

from geoalchemy2.shape import to_shape
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.errors import Conflict, NotFound
from app.policy import Principal
from app.services import history
from app.services.features.assign import _locate
from app.services.features.kinds import _model, describe
from app.services.features.read import _is_private, shape_item
from app.services.features.write import _check_review, _flush, _load, _relocate_after_boundary_change
from app.settings import Settings


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
