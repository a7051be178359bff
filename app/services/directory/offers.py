"""Service offers: what an asset's services cost, who may use them, when and how to book; versioned, with history.

An offer is read by whoever may read its asset: published assets that are neither people nor sensitive are
public; the rest only for planners and those who may edit where the asset is. Writing needs edit rights where
the asset is. Every change is a `change` row of kind 'service_offers' with the offer before and after.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.db.models import Asset, Change, City, ServiceOffer, ServiceType
from app.errors import Forbidden, InvalidInput, NotFound, StaleVersion
from app.policy import Principal
from app.services import history
from app.services.catalogue import resolve_service_type
from geo import directory as rules
from geo.vocab import POPULATION_GROUPS

KIND = "service_offers"
FIELDS = (
    "name",
    "description",
    "cost_kind",
    "cost_period",
    "cost_min",
    "cost_max",
    "currency",
    "sessions_per_month",
    "cost_note",
    "min_age",
    "max_age",
    "population_group",
    "residency_required",
    "referral_required",
    "eligibility_note",
    "languages",
    "accessibility",
    "opening_hours",
    "booking",
    "booking_url",
)


def _num(value: Any) -> float | None:
    return float(value) if isinstance(value, Decimal | int | float) else None


def cost_of(offer: ServiceOffer) -> rules.Cost:
    return rules.Cost(
        kind=offer.cost_kind,
        period=offer.cost_period,
        low=_num(offer.cost_min),
        high=_num(offer.cost_max),
        currency=offer.currency,
        sessions_per_month=offer.sessions_per_month,
    )


def eligibility_of(offer: ServiceOffer) -> rules.Eligibility:
    return rules.Eligibility(
        min_age=offer.min_age,
        max_age=offer.max_age,
        population_group=offer.population_group,
        residency_required=offer.residency_required,
        referral_required=offer.referral_required,
    )


def _refused(exc: rules.DirectoryInputError) -> InvalidInput:
    return InvalidInput(str(exc), field=exc.field)


def _check(db: Session, offer: ServiceOffer, city: City) -> None:
    """The offer's values agree with each other and its schedule parses (a 422 naming the field otherwise)."""
    try:
        rules.check_cost(cost_of(offer))
        rules.check_eligibility(eligibility_of(offer), tuple(POPULATION_GROUPS))
        if offer.opening_hours is not None:
            rules.parse_schedule(
                offer.opening_hours, rules.city_zone(city.time_zone), rules.country_code(city.country)
            )
    except rules.DirectoryInputError as exc:
        raise _refused(exc) from None
    for tag in offer.languages or []:
        if not (2 <= len(tag) <= 35) or not all(part.isalnum() for part in tag.split("-")):
            raise InvalidInput(
                f"language {tag!r} is not a BCP 47 tag such as de, en or pt-BR", field="languages"
            )


def snapshot(db: Session, offer: ServiceOffer) -> dict[str, Any]:
    """The offer as history keeps it."""
    data: dict[str, Any] = {"id": offer.id, "asset_id": offer.asset_id, "city_id": offer.city_id}
    data["service_type"] = db.scalar(select(ServiceType.slug).where(ServiceType.id == offer.service_type_id))
    for name in FIELDS:
        value = getattr(offer, name)
        data[name] = (
            float(value) if isinstance(value, Decimal) else (list(value) if name == "languages" else value)
        )
    data["version"] = offer.version
    return data


def _record(
    db: Session,
    offer: ServiceOffer,
    action: str,
    principal: Principal,
    before: dict[str, Any] | None,
    message: str | None,
) -> None:
    db.flush()
    db.add(
        Change(
            kind=KIND,
            item_id=offer.id,
            city_id=offer.city_id,
            action=action,
            version=offer.version,
            before=before,
            after=None if action == "delete" else snapshot(db, offer),
            user_id=principal.user_id,
            message=message,
        )
    )


def _asset(db: Session, asset_id: int) -> Asset:
    asset = db.get(Asset, asset_id)
    if asset is None:
        raise NotFound(f"no asset {asset_id}")
    return asset


def _may_read(principal: Principal, asset: Asset) -> bool:
    if principal.sees_exact_locations or principal.can_edit_in(asset.neighbourhood_id):
        return True
    return asset.status == "approved" and asset.category != "individual" and not asset.sensitive


def _check_edit(principal: Principal, asset: Asset) -> None:
    if not principal.can_edit_in(asset.neighbourhood_id):
        where = (
            f"neighbourhood {asset.neighbourhood_id}"
            if asset.neighbourhood_id
            else "outside every neighbourhood"
        )
        raise Forbidden(f"you may not edit services of assets in {where}: ask an admin to assign you it")


def shape(db: Session, offer: ServiceOffer, city: City, now: dt.datetime | None = None) -> dict[str, Any]:
    """An offer as the API answers it: cost with its amount per month, eligibility, and whether it is open now."""
    cost = cost_of(offer)
    monthly = rules.monthly_cost(cost)
    open_now = None
    if offer.opening_hours:
        state = rules.open_at(
            offer.opening_hours,
            now or dt.datetime.now(dt.UTC),
            rules.city_zone(city.time_zone),
            rules.country_code(city.country),
        )
        open_now = state.state
    return {
        "id": offer.id,
        "asset_id": offer.asset_id,
        "city_id": offer.city_id,
        "service_type": db.scalar(select(ServiceType.slug).where(ServiceType.id == offer.service_type_id)),
        "name": offer.name,
        "description": offer.description,
        "version": offer.version,
        "cost": {
            "kind": cost.kind,
            "period": cost.period,
            "min": cost.low,
            "max": cost.high,
            "currency": cost.currency,
            "sessions_per_month": cost.sessions_per_month,
            "note": offer.cost_note,
            "per_month": {"min": monthly.low, "max": monthly.high, "basis": monthly.basis},
        },
        "eligibility": {
            "min_age": offer.min_age,
            "max_age": offer.max_age,
            "population_group": offer.population_group,
            "residency_required": offer.residency_required,
            "referral_required": offer.referral_required,
            "note": offer.eligibility_note,
        },
        "languages": list(offer.languages or []),
        "accessibility": offer.accessibility,
        "opening_hours": offer.opening_hours,
        "open_now": open_now,
        "booking": offer.booking,
        "booking_url": offer.booking_url,
    }


def _apply(db: Session, offer: ServiceOffer, values: dict[str, Any]) -> None:
    if "service_type" in values and values["service_type"] is not None:
        offer.service_type_id = resolve_service_type(db, values.pop("service_type")).id
    values.pop("service_type", None)
    if values.get("cost_kind") == "free":
        for name in ("cost_period", "cost_min", "cost_max"):
            values.setdefault(name, None)
    for name, value in values.items():
        if name in FIELDS:
            if name in {"residency_required", "referral_required"} and value is None:
                value = False
            if name == "languages" and value is None:
                value = []
            setattr(offer, name, value)


def _flush(db: Session) -> None:
    try:
        db.flush()
    except IntegrityError as exc:
        db.rollback()
        raise InvalidInput(f"the offer's values do not fit together: {exc.orig}", field="cost_kind") from None


def create_offer(db: Session, principal: Principal, asset_id: int, values: dict[str, Any]) -> dict[str, Any]:
    """Add a service offer to an asset (edit rights where the asset is)."""
    asset = _asset(db, asset_id)
    _check_edit(principal, asset)
    city = db.get(City, asset.city_id)
    assert city is not None
    offer = ServiceOffer(city_id=asset.city_id, asset_id=asset.id, created_by=principal.user_id, version=1)
    offer.cost_kind = "free"
    offer.residency_required = False
    offer.referral_required = False
    offer.languages = []
    _apply(db, offer, dict(values))
    _check(db, offer, city)
    db.add(offer)
    _flush(db)
    _record(db, offer, "create", principal, None, None)
    db.commit()
    return shape(db, offer, city)


def _load(db: Session, offer_id: int, *, lock: bool = False) -> ServiceOffer:
    stmt = select(ServiceOffer).where(ServiceOffer.id == offer_id)
    offer = db.scalar(stmt.with_for_update() if lock else stmt)
    if offer is None:
        raise NotFound(f"no service offer {offer_id}")
    return offer


def get_offer(db: Session, principal: Principal, offer_id: int) -> dict[str, Any]:
    offer = _load(db, offer_id)
    asset = _asset(db, offer.asset_id)
    if not _may_read(principal, asset):
        raise NotFound(f"no service offer {offer_id}")
    city = db.get(City, offer.city_id)
    assert city is not None
    return shape(db, offer, city)


def list_offers(db: Session, principal: Principal, asset_id: int) -> list[dict[str, Any]]:
    asset = _asset(db, asset_id)
    if not _may_read(principal, asset):
        raise NotFound(f"no asset {asset_id}")
    city = db.get(City, asset.city_id)
    assert city is not None
    offers = db.scalars(
        select(ServiceOffer).where(ServiceOffer.asset_id == asset_id).order_by(ServiceOffer.id)
    )
    return [shape(db, offer, city) for offer in offers]


def update_offer(
    db: Session, principal: Principal, offer_id: int, values: dict[str, Any], expected_version: int | None
) -> dict[str, Any]:
    """Change an offer; a stale `expected_version` is refused (412), so two editors never overwrite each other."""
    offer = _load(db, offer_id, lock=True)
    asset = _asset(db, offer.asset_id)
    _check_edit(principal, asset)
    if expected_version is not None and expected_version != offer.version:
        raise StaleVersion(
            f"service offer {offer_id} is at version {offer.version}, not {expected_version}: reload it"
        )
    city = db.get(City, offer.city_id)
    assert city is not None
    before = snapshot(db, offer)
    message = values.pop("message", None)
    values.pop("version", None)
    _apply(db, offer, values)
    _check(db, offer, city)
    offer.version += 1
    offer.updated_at = func.now()
    _flush(db)
    _record(db, offer, "update", principal, before, message)
    db.commit()
    db.refresh(offer)
    return shape(db, offer, city)


def delete_offer(db: Session, principal: Principal, offer_id: int, message: str | None = None) -> None:
    offer = _load(db, offer_id, lock=True)
    _check_edit(principal, _asset(db, offer.asset_id))
    before = snapshot(db, offer)
    _record(db, offer, "delete", principal, before, message)
    db.delete(offer)
    db.commit()


def offer_history(db: Session, principal: Principal, offer_id: int) -> list[dict[str, Any]]:
    """Every recorded change of an offer, oldest first (staff: readers of history)."""
    entries = history.list_changes(db, KIND, offer_id)
    if not entries:
        raise NotFound(f"no service offer {offer_id} and no history of one")
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
        for e in entries
    ]


def set_time_zone(db: Session, city: City, zone: str) -> None:
    """Set the IANA zone a city's schedules are read in."""
    try:
        city.time_zone = rules.check_time_zone(zone)
    except rules.DirectoryInputError as exc:
        raise _refused(exc) from None
