"""Opening a case, recording its events and documents, changing its details and a city's regime: each one use
case in one transaction, every change in the history (kind `cases`) like other items."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.db import queries
from app.db.models import Asset, CaseDocument, CaseEvent, CaseRegime, Change, CommunityCase
from app.db.session import single_commit
from app.errors import InvalidInput, NotFound, StaleVersion
from app.policy import Principal
from app.services import history
from app.services.cases import access
from app.services.cases.records import (
    CaseRecord,
    as_rule_events,
    load_records,
    regime_answer,
    regime_for,
    snapshot,
    today_in,
)
from app.services.cases.rules import OPENING_EVENT, Event, check_next, regime_config, regime_from_config
from app.services.catalogue import resolve_city
from app.services.features import create_item
from app.settings import Settings

HISTORY_KIND = "cases"


def _record_change(
    db: Session,
    principal: Principal,
    case: CommunityCase,
    action: str,
    before: dict[str, Any] | None,
    message: str,
) -> None:
    db.flush()
    events = list(db.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id)))
    documents = list(
        db.scalars(select(CaseDocument).where(CaseDocument.case_id == case.id).order_by(CaseDocument.id))
    )
    for item in (case, *events, *documents):
        db.refresh(item)  # the database's timestamps
    db.add(
        Change(
            kind=HISTORY_KIND,
            item_id=case.id,
            city_id=case.city_id,
            action=action,
            version=case.version,
            before=before,
            after=snapshot(case, events, documents),
            user_id=principal.user_id,
            message=message,
        )
    )


def _snapshot_now(db: Session, case: CommunityCase) -> dict[str, Any]:
    events = list(db.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id)))
    documents = list(
        db.scalars(select(CaseDocument).where(CaseDocument.case_id == case.id).order_by(CaseDocument.id))
    )
    return snapshot(case, events, documents)


def _flush(db: Session) -> None:
    try:
        db.flush()
    except IntegrityError as exc:
        db.rollback()
        raise queries.domain_error(exc) from None


def load_for_change(db: Session, settings: Settings, principal: Principal, case_id: int) -> CaseRecord:
    """A case the caller may see, locked for a change; a case they may not see is a 404 like a missing one."""
    records = load_records(db, settings, principal, case_id=case_id, lock=True)
    if not records or not (access.sees_every_stage(principal) or records[0].state.public):
        raise NotFound(f"no case {case_id}")
    return records[0]


def _bump(case: CommunityCase) -> None:
    case.version = case.version + 1
    case.updated_at = func.now()


def _new_event(case: CommunityCase, principal: Principal, data: dict[str, Any]) -> CaseEvent:
    return CaseEvent(
        case_id=case.id,
        kind=data["kind"],
        occurred_on=data["on"],
        to_community_interest_group=bool(data.get("to_community_interest_group", False)),
        note=data.get("note"),
        recorded_by=principal.user_id,
    )


def open_case(db: Session, settings: Settings, principal: Principal, data: dict[str, Any]) -> int:
    """Open a case on an existing asset (`asset_id`) or on a new physical space created with it (`asset`), with
    its opening event (a nomination, an expression of interest, a request) dated `opened_on` (default: today in
    the city). Returns the case id."""
    with single_commit(db):
        city = resolve_city(db, data["city"])
        regime = regime_for(db, city)
        if (data.get("asset_id") is None) == (data.get("asset") is None):
            raise InvalidInput(
                "name the asset: asset_id of an existing one, or asset to create one", field="asset_id"
            )
        if data.get("asset") is not None:
            fields = {**data["asset"], "city": city.id, "category": "physical_space"}
            asset_id = create_item(db, settings, principal, "assets", fields)
        else:
            asset_id = data["asset_id"]
        asset = db.scalar(
            select(Asset)
            .where(Asset.id == asset_id, queries.visible(Asset, principal, "all"))
            .with_for_update()
        )
        if asset is None or asset.city_id != city.id:
            raise NotFound(f"no asset {asset_id} in {city.name}", field="asset_id")
        if asset.category == "individual":
            raise InvalidInput(
                "a case is on land, a building or a service, not on a person: choose the place or the association",
                field="asset_id",
            )
        access.check_open(principal, asset.neighbourhood_id)
        kind = data["kind"]
        opened_on = data.get("opened_on") or today_in(regime)
        check_next(kind, regime, [], Event(OPENING_EVENT[kind], opened_on), today_in(regime))
        body = data["community_body"]
        case = CommunityCase(
            city_id=city.id,
            asset_id=asset.id,
            kind=kind,
            reference=data.get("reference"),
            community_body_name=body["name"],
            community_body_kind=body["kind"],
            community_body_contact=body.get("contact"),
            description=data.get("description"),
            version=1,
            created_by=principal.user_id,
        )
        db.add(case)
        _flush(db)
        db.add(
            _new_event(
                case, principal, {"kind": OPENING_EVENT[kind], "on": opened_on, "note": data.get("note")}
            )
        )
        _flush(db)
        _record_change(
            db, principal, case, "create", None, f"{kind} case opened ({OPENING_EVENT[kind]} on {opened_on})"
        )
    return case.id


def add_event(
    db: Session, settings: Settings, principal: Principal, case_id: int, data: dict[str, Any]
) -> None:
    """Record one dated event if the process allows it at the case's stage (else a 409 saying why). A completed
    transfer makes the asset community-owned, in the asset's own history too."""
    with single_commit(db):
        record = load_for_change(db, settings, principal, case_id)
        case = record.case
        access.check_event(principal, data["kind"], record.neighbourhood_id)
        new = Event(data["kind"], data["on"], bool(data.get("to_community_interest_group", False)))
        state = check_next(case.kind, record.regime, as_rule_events(record.events), new, record.today)
        before = _snapshot_now(db, case)
        db.add(_new_event(case, principal, data))
        _bump(case)
        _flush(db)
        _record_change(db, principal, case, "update", before, f"{new.kind} on {new.on.isoformat()}")
        if state.ownership_to_community:
            _make_community_owned(db, principal, case)


def _make_community_owned(db: Session, principal: Principal, case: CommunityCase) -> None:
    asset = db.scalar(select(Asset).where(Asset.id == case.asset_id).with_for_update())
    if asset is None or asset.ownership == "community":
        return
    before = history.snapshot(asset)
    asset.ownership = "community"
    asset.version = asset.version + 1
    asset.updated_at = func.now()
    _flush(db)
    db.refresh(asset)
    history.record(
        db, asset, "update", principal, before=before, message=f"transfer completed (case {case.id})"
    )


UPDATABLE = ("reference", "description")


def update_case(
    db: Session,
    settings: Settings,
    principal: Principal,
    case_id: int,
    data: dict[str, Any],
    *,
    expected_version: int,
) -> None:
    """Change a case's reference, description or community body, if the caller's version is current (else 412)."""
    with single_commit(db):
        record = load_for_change(db, settings, principal, case_id)
        case = record.case
        access.check_update(principal, record.neighbourhood_id)
        if case.version != expected_version:
            raise StaleVersion(
                f"this case changed since you read it (you sent version {expected_version}, it is now "
                f"{case.version}): reload it and reapply your change",
                extra={"current_version": case.version},
            )
        before = _snapshot_now(db, case)
        for key in UPDATABLE:
            if key in data:
                setattr(case, key, data[key])
        body = data.get("community_body") or {}
        for key in ("name", "kind"):
            if key in body and body[key] is None:
                raise InvalidInput(
                    f"a community body always has a {key}: send one, or leave it out", field=key
                )
        for key in ("name", "kind", "contact"):
            if key in body:
                setattr(case, f"community_body_{key}", body[key])
        _bump(case)
        _flush(db)
        _record_change(db, principal, case, "update", before, "details changed")


def add_document(
    db: Session, settings: Settings, principal: Principal, case_id: int, data: dict[str, Any]
) -> int:
    """Add what is known about a document of the case (its title, kind, date, where it is); returns its id."""
    with single_commit(db):
        record = load_for_change(db, settings, principal, case_id)
        case = record.case
        access.check_update(principal, record.neighbourhood_id)
        before = _snapshot_now(db, case)
        doc = CaseDocument(case_id=case.id, added_by=principal.user_id, **data)
        db.add(doc)
        _bump(case)
        _flush(db)
        _record_change(db, principal, case, "update", before, f"document added: {doc.title}")
    return doc.id


def set_regime(db: Session, principal: Principal, city_ref: str, config: dict[str, Any]) -> dict[str, Any]:
    """Set a city's own regime (periods it leaves out keep England's); `reset` goes back to England's."""
    city = resolve_city(db, city_ref)
    row = db.get(CaseRegime, city.id)
    if config.get("reset"):
        if row is not None:
            db.delete(row)
        db.commit()
        return regime_answer(city, regime_for(db, city), own=False)
    current = regime_for(db, city)
    regime = regime_from_config(config, base=current)
    stored = regime_config(regime)
    if row is None:
        row = CaseRegime(city_id=city.id)
        db.add(row)
    row.name, row.time_zone, row.periods = stored["name"], stored["time_zone"], stored["periods"]
    row.updated_at = dt.datetime.now(dt.UTC)
    db.commit()
    return regime_answer(city, regime, own=True)


def get_regime(db: Session, city_ref: str) -> dict[str, Any]:
    """A city's regime: its own, or England's periods in its time zone."""
    city = resolve_city(db, city_ref)
    return regime_answer(city, regime_for(db, city), own=db.get(CaseRegime, city.id) is not None)
