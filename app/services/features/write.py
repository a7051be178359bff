"""Creating, updating, deleting and reviewing items, with the edit and review rules of each neighbourhood."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.db import queries
from app.db.models import Asset
from app.db.session import single_commit
from app.errors import Conflict, Forbidden, InvalidInput, NotFound, PreconditionRequired, StaleVersion
from app.policy import Principal
from app.services import history
from app.services.catalogue import resolve_city
from app.services.features.assign import _ASSIGN
from app.services.features.kinds import KINDS, _model, describe
from app.services.features.read import get_item
from app.services.imports.load import relocate_items
from app.settings import Settings


def write_then_read(
    db: Session, settings: Settings, principal: Principal, kind: str, write: Callable[[], int]
) -> tuple[int, str, int]:
    """Run `write` (which gives the item's id) and read the item back in the same transaction, which commits
    before this returns: a success means committed, an error means nothing was."""
    with single_commit(db):
        item_id = write()
        text, version = get_item(db, settings, principal, kind, item_id)
    return item_id, text, version


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
