"""Commitments of resources to needs: made without over-committing, moved through their stages, and their outcome."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.db.models import Asset, Commitment, Need, Resource
from app.db.visibility import refers_to_suppressed_asset
from app.errors import Forbidden, InvalidInput, NotFound, RefusedTransition
from app.policy import Principal
from app.services import history
from app.services.matching.candidates import committed_quantity, load_need
from app.settings import Settings

KIND = "commitments"
# Which stage may follow which; done and cancelled are final (docs/MATCHING.md).
NEXT_STAGES: dict[str, tuple[str, ...]] = {
    "proposed": ("agreed", "cancelled"),
    "agreed": ("active", "cancelled"),
    "active": ("done", "cancelled"),
    "done": (),
    "cancelled": (),
}
# Stages at which an outcome (hours given, people helped) may be recorded.
OUTCOME_STAGES = ("active", "done")


def _where(neighbourhood_id: int | None) -> str:
    return (
        f"neighbourhood {neighbourhood_id}" if neighbourhood_id is not None else "outside every neighbourhood"
    )


def _check_organiser(principal: Principal, need: Need) -> None:
    if not principal.can_edit_in(need.neighbourhood_id):
        raise Forbidden(
            f"only an organiser of {_where(need.neighbourhood_id)} (where need {need.id} is), GIS staff or an "
            "admin may commit resources to it"
        )


def _resource_for_update(db: Session, settings: Settings, principal: Principal, resource_id: int) -> Resource:
    """The resource, locked until the transaction ends: commitments to it are made one at a time, so two at
    once cannot both take its last units (docs/MATCHING.md "No over-commitment")."""
    resource = db.scalar(
        select(Resource)
        .where(Resource.id == resource_id, ~refers_to_suppressed_asset(Resource, principal, settings))
        .with_for_update(of=Resource)
    )
    if resource is None or not principal.may_see_entry(resource.status, resource.created_by):
        raise NotFound(
            f"no resource {resource_id}: find candidates at /api/needs/{{id}}/matches", field="resource_id"
        )
    return resource


def _remaining(db: Session, resource: Resource) -> float | None:
    if resource.quantity is None:
        return None
    return float(resource.quantity) - float(db.scalar(select(committed_quantity(resource.id))) or 0.0)


def create_commitment(db: Session, settings: Settings, principal: Principal, data: dict[str, Any]) -> int:
    """Commit part of a resource to a need (stage `proposed`); refused if it would exceed what is left."""
    need = load_need(db, principal, data["need_id"])
    _check_organiser(principal, need)
    resource = _resource_for_update(db, settings, principal, data["resource_id"])
    if resource.city_id != need.city_id:
        raise InvalidInput(
            f"resource {resource.id} is in another city than need {need.id}: choose one of the need's candidates",
            field="resource_id",
        )
    if resource.status != "approved":
        raise RefusedTransition(
            f"resource {resource.id} is {resource.status}: it is committed once published"
        )
    starts_on: dt.date = data.get("starts_on") or dt.date.today()
    ends_on: dt.date | None = data.get("ends_on")
    if ends_on is not None and ends_on < starts_on:
        raise InvalidInput(f"ends_on ({ends_on}) is before starts_on ({starts_on})", field="ends_on")
    if resource.available_from and starts_on < resource.available_from:
        raise InvalidInput(
            f"resource {resource.id} is available from {resource.available_from}: start then or later",
            field="starts_on",
        )
    if resource.available_until and (ends_on is None or ends_on > resource.available_until):
        raise InvalidInput(
            f"resource {resource.id} is available until {resource.available_until}: end then or earlier",
            field="ends_on",
        )
    quantity = float(data["quantity"])
    remaining = _remaining(db, resource)
    if remaining is not None and quantity > remaining + 1e-9:
        unit = f" {resource.unit}" if resource.unit else ""
        raise RefusedTransition(
            f"resource {resource.id} has {max(remaining, 0):g}{unit} left of {resource.quantity:g}: commit at most "
            "that, or cancel another commitment first",
            field="quantity",
            extra={"remaining": max(remaining, 0.0)},
        )
    commitment = Commitment(
        city_id=need.city_id,
        resource_id=resource.id,
        need_id=need.id,
        quantity=quantity,
        starts_on=starts_on,
        ends_on=ends_on,
        note=data.get("note"),
        stage="proposed",
        created_by=principal.user_id,
    )
    db.add(commitment)
    history.record(db, commitment, "create", principal, before=None, message=data.get("message"))
    db.commit()
    return commitment.id


def _load(
    db: Session, principal: Principal, commitment_id: int, *, for_update: bool = False
) -> tuple[Commitment, Need]:
    # locked for a change: two moves at once (done and cancelled) are made one after the other, the second refused
    commitment = db.get(Commitment, commitment_id, with_for_update=for_update)
    need = db.get(Need, commitment.need_id) if commitment is not None else None
    if commitment is None or need is None:
        raise NotFound(f"no commitment {commitment_id}", field="commitment")
    return commitment, need


def update_commitment(
    db: Session, settings: Settings, principal: Principal, commitment_id: int, data: dict[str, Any]
) -> None:
    """Move a commitment to its next stage and/or record its outcome; a stage that may not follow is a 409."""
    if not any(data.get(key) is not None for key in ("stage", "hours_given", "people_helped", "note")):
        raise InvalidInput(
            "nothing to change: give a stage, hours_given, people_helped or a note", field="stage"
        )
    commitment, need = _load(db, principal, commitment_id, for_update=True)
    _check_organiser(principal, need)
    before = history.snapshot(commitment)
    stage = data.get("stage")
    if stage is not None and stage != commitment.stage:
        allowed = NEXT_STAGES[commitment.stage]
        if stage not in allowed:
            then = f"it can become {' or '.join(allowed)}" if allowed else "it is final"
            raise RefusedTransition(
                f"commitment {commitment.id} is {commitment.stage}: it cannot become {stage}; {then}",
                field="stage",
            )
        commitment.stage = stage
        if stage == "done":
            commitment.done_at = func.now()
    outcome = {key: data[key] for key in ("hours_given", "people_helped") if data.get(key) is not None}
    if outcome and commitment.stage not in OUTCOME_STAGES:
        raise RefusedTransition(
            f"commitment {commitment.id} is {commitment.stage}: record hours given and people helped once it is "
            "active or done",
            field=next(iter(outcome)),
        )
    for key, value in outcome.items():
        setattr(commitment, key, value)
    if data.get("note") is not None:
        commitment.note = data["note"]
    commitment.version += 1
    commitment.updated_at = func.now()
    db.flush()
    db.refresh(commitment)
    history.record(db, commitment, "update", principal, before=before, message=data.get("message"))
    db.commit()


def _shape(
    db: Session, settings: Settings, principal: Principal, commitment: Commitment, resource: Resource
) -> dict[str, Any]:
    asset = db.get(Asset, resource.asset_id) if resource.asset_id is not None else None
    private = asset is not None and (asset.category == "individual" or asset.sensitive)
    owner = (
        {"type": "asset", "id": asset.id, "name": asset.name, "category": asset.category, "private": private}
        if asset is not None
        else {"type": "neighbourhood", "id": resource.neighbourhood_id, "private": False}
    )
    return {
        "id": commitment.id,
        "city_id": commitment.city_id,
        "need_id": commitment.need_id,
        "resource": {
            "id": resource.id,
            "kind": resource.kind,
            "unit": resource.unit,
            "remaining": _remaining(db, resource),
        },
        "owner": owner,
        "quantity": commitment.quantity,
        "starts_on": commitment.starts_on.isoformat(),
        "ends_on": commitment.ends_on.isoformat() if commitment.ends_on else None,
        "stage": commitment.stage,
        "next_stages": list(NEXT_STAGES[commitment.stage]),
        "hours_given": commitment.hours_given,
        "people_helped": commitment.people_helped,
        "note": commitment.note,
        "done_at": commitment.done_at.isoformat() if commitment.done_at else None,
        "version": commitment.version,
        "created_at": commitment.created_at.isoformat(),
        "updated_at": commitment.updated_at.isoformat(),
    }


def get_commitment(
    db: Session, settings: Settings, principal: Principal, commitment_id: int
) -> dict[str, Any]:
    """One commitment with its resource's remaining quantity (a person is named, never located)."""
    commitment, _need = _load(db, principal, commitment_id)
    resource = db.get(Resource, commitment.resource_id)
    hidden = db.scalar(
        select(Resource.id).where(
            Resource.id == commitment.resource_id, refers_to_suppressed_asset(Resource, principal, settings)
        )
    )
    if resource is None or hidden is not None:
        raise NotFound(f"no commitment {commitment_id}", field="commitment")
    return _shape(db, settings, principal, commitment, resource)


def list_commitments(
    db: Session,
    settings: Settings,
    principal: Principal,
    *,
    need_id: int | None = None,
    resource_id: int | None = None,
) -> list[dict[str, Any]]:
    """Commitments of a need or of a resource, oldest first (those of resources this reader may not list left out)."""
    stmt = (
        select(Commitment, Resource)
        .join(Resource, Resource.id == Commitment.resource_id)
        .where(~refers_to_suppressed_asset(Resource, principal, settings))
        .order_by(Commitment.id)
    )
    if need_id is not None:
        stmt = stmt.where(Commitment.need_id == need_id)
    if resource_id is not None:
        stmt = stmt.where(Commitment.resource_id == resource_id)
    return [_shape(db, settings, principal, c, r) for c, r in db.execute(stmt).all()]


def commitment_history(db: Session, commitment_id: int) -> list[dict[str, Any]]:
    """A commitment's recorded changes, oldest first."""
    return [
        {
            "id": entry.change.id,
            "action": entry.change.action,
            "version": entry.change.version,
            "at": entry.change.at.isoformat(),
            "username": entry.username,
            "message": entry.change.message,
            "stage": (entry.after or {}).get("stage"),
            "before": entry.change.before,
            "after": entry.after,
        }
        for entry in history.list_changes(db, KIND, commitment_id)
    ]
