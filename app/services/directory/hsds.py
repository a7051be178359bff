"""The directory published in Open Referral HSDS 3.0 (docs/DIRECTORY.md "HSDS"): services, organizations,
locations and service-at-locations, as the standard's API answers them and as its tabular data package.

Each published asset is an organization (the provider) and a physical location; each service offer is a service
at that location. Only published assets that are neither people (`individual`) nor sensitive are published, so
exact coordinates given here are never a person's. Identifiers are UUID 5 of a fixed namespace and the city,
item kind and database id: the same item has the same identifier in every answer and export.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from geoalchemy2.shape import to_shape
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from app.db.models import Asset, City, ServiceOffer, ServiceType
from app.errors import InvalidInput, NotFound

HSDS_VERSION = "3.0"
# the namespace of every identifier this app publishes: never change it, or every published identifier changes
NAMESPACE = uuid.UUID("5f0b1c0e-7a43-5d8e-9b52-3c6f2a9d41e7")
MAX_PER_PAGE = 500
DEFAULT_PER_PAGE = 50
LANGUAGE_NAMES = {
    "de": "German",
    "en": "English",
    "tr": "Turkish",
    "ar": "Arabic",
    "ru": "Russian",
    "pl": "Polish",
    "uk": "Ukrainian",
    "fr": "French",
    "es": "Spanish",
    "vi": "Vietnamese",
    "it": "Italian",
    "fa": "Persian",
    "ku": "Kurdish",
}
DAYS = ("Mo", "Tu", "We", "Th", "Fr", "Sa", "Su")
_SIMPLE_RULE = re.compile(
    r"^(?P<days>(?:Mo|Tu|We|Th|Fr|Sa|Su)(?:-(?:Mo|Tu|We|Th|Fr|Sa|Su))?(?:,(?:Mo|Tu|We|Th|Fr|Sa|Su)(?:-(?:Mo|Tu|We|Th|Fr|Sa|Su))?)*)"
    r" (?P<times>\d\d:\d\d-\d\d:\d\d(?:,\d\d:\d\d-\d\d:\d\d)*)$"
)


def identifier(city_id: int, kind: str, item_id: int | str) -> str:
    """The stable UUID of one published item."""
    return str(uuid.uuid5(NAMESPACE, f"assetmap/city/{city_id}/{kind}/{item_id}"))


def _clean(data: dict[str, Any]) -> dict[str, Any]:
    """HSDS fields are typed (a string is never null): fields without a value are left out."""
    return {k: v for k, v in data.items() if v is not None and v != [] and v != ""}


def _iso(value: dt.datetime | None) -> str | None:
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z") if value is not None else None


def _money(value: Any) -> float | None:
    return float(value) if isinstance(value, Decimal | int | float) else None


def _public_assets() -> Any:
    return (Asset.status == "approved") & (Asset.category != "individual") & ~Asset.sensitive


def _days(spec: str) -> list[str]:
    out: list[str] = []
    for part in spec.split(","):
        first, _, last = part.partition("-")
        i, j = DAYS.index(first), DAYS.index(last or first)
        span = range(i, j + 1) if i <= j else [*range(i, 7), *range(0, j + 1)]
        out += [DAYS[k] for k in span if DAYS[k] not in out]
    return out


def schedules_of(offer: ServiceOffer, service_id: str, zone: str) -> list[dict[str, Any]]:
    """The offer's schedule as HSDS schedules: one weekly schedule per simple rule and time span ("Mo-Fr
    09:00-17:00"); anything richer (holidays, months, comments) is one schedule carrying the expression."""
    text = (offer.opening_hours or "").strip()
    if not text:
        return []
    note = f"OpenStreetMap opening_hours: {text} (local time, {zone})"
    rules = [r.strip() for r in text.split(";") if r.strip()]
    spans: list[tuple[list[str], str, str]] = []
    simple = True
    for rule in rules:
        if rule in {"PH off", "PH closed"}:
            continue
        match = _SIMPLE_RULE.match(rule)
        if match is None:
            simple = False
            break
        for span in match["times"].split(","):
            opens, closes = span.split("-")
            spans.append((_days(match["days"]), opens, closes))
    base = {"service_id": service_id, "attending_type": "in_person", "notes": note}
    if not simple or not spans:
        return [
            _clean(
                {**base, "id": identifier(offer.city_id, "schedule", f"{offer.id}/0"), "description": text}
            )
        ]
    out = []
    for index, (days, opens, closes) in enumerate(spans):
        out.append(
            _clean(
                {
                    **base,
                    "id": identifier(offer.city_id, "schedule", f"{offer.id}/{index}"),
                    "freq": "WEEKLY",
                    "wkst": "MO",
                    "byday": ",".join(d.upper() for d in days),
                    "opens_at": f"{opens}:00",
                    "closes_at": f"{closes}:00" if closes != "24:00" else "23:59:59",
                    "description": f"{','.join(days)} {opens}-{closes}",
                }
            )
        )
    return out


def _fees(offer: ServiceOffer) -> str:
    low, high = _money(offer.cost_min), _money(offer.cost_max)
    period = "a session" if offer.cost_period == "session" else "a month"
    if offer.cost_kind == "free":
        text = "Free"
    elif offer.cost_kind == "fixed":
        text = f"{low:.2f} {offer.currency} {period}"
    else:
        text = f"{low:.2f} to {high:.2f} {offer.currency} {period}"
    return f"{text}. {offer.cost_note}" if offer.cost_note else text


def cost_options_of(offer: ServiceOffer, service_id: str) -> list[dict[str, Any]]:
    if offer.cost_kind == "free":
        return []
    period = "per session" if offer.cost_period == "session" else "per month"
    low, high = _money(offer.cost_min), _money(offer.cost_max)
    option = {
        "id": identifier(offer.city_id, "cost_option", offer.id),
        "service_id": service_id,
        "option": period,
        "currency": offer.currency,
        "amount": low if offer.cost_kind == "fixed" else None,
        "amount_description": _fees(offer),
    }
    if offer.cost_kind == "range":
        option["amount_description"] = f"from {low:.2f} to {high:.2f} {offer.currency} {period}"
    return [_clean(option)]


def _eligibility(offer: ServiceOffer, group_name: str | None) -> str | None:
    parts = []
    if offer.min_age is not None or offer.max_age is not None:
        if offer.max_age is None:
            parts.append(f"Aged {offer.min_age} or over")
        elif offer.min_age is None:
            parts.append(f"Aged up to {offer.max_age}")
        else:
            parts.append(f"Aged {offer.min_age} to {offer.max_age}")
    if offer.population_group and offer.population_group != "all":
        parts.append(f"for the group {group_name or offer.population_group}")
    if offer.residency_required:
        parts.append("residents only")
    if offer.referral_required:
        parts.append("referral required")
    if offer.eligibility_note:
        parts.append(offer.eligibility_note)
    return "; ".join(parts) if parts else None


@dataclass(frozen=True)
class Row:
    offer: ServiceOffer
    asset: Asset
    city: City
    service_type: ServiceType


def organization_of(asset: Asset, city: City) -> dict[str, Any]:
    return _clean(
        {
            "id": identifier(city.id, "organization", asset.id),
            "name": asset.name,
            "description": asset.description or f"{asset.name}, {city.name}",
        }
    )


def location_of(
    asset: Asset, city: City, offers: Iterable[ServiceOffer] = (), *, full: bool = False
) -> dict[str, Any]:
    point = to_shape(asset.geom)
    location_id = identifier(city.id, "location", asset.id)
    data: dict[str, Any] = {
        "id": location_id,
        "location_type": "physical",
        "organization_id": identifier(city.id, "organization", asset.id),
        "name": asset.name,
        "description": asset.description,
        "latitude": round(point.y, 7),
        "longitude": round(point.x, 7),
        "external_identifier": f"{asset.source}:{asset.source_id}"
        if asset.source and asset.source_id
        else None,
        "external_identifier_type": "source" if asset.source and asset.source_id else None,
    }
    if full:
        seen: set[str] = set()
        access = []
        for offer in offers:
            if offer.accessibility and offer.accessibility not in seen:
                seen.add(offer.accessibility)
                access.append(
                    {
                        "id": identifier(city.id, "accessibility", offer.id),
                        "location_id": location_id,
                        "description": offer.accessibility,
                    }
                )
        data["accessibility"] = access
    return _clean(data)


def service_of(row: Row, *, full: bool) -> dict[str, Any]:
    offer, asset, city = row.offer, row.asset, row.city
    service_id = identifier(city.id, "service", offer.id)
    zone = city.time_zone or "UTC"
    data: dict[str, Any] = {
        "id": service_id,
        "organization_id": identifier(city.id, "organization", asset.id),
        "name": offer.name,
        "description": offer.description,
        "url": offer.booking_url,
        "status": "active",
        "application_process": offer.booking,
        "fees_description": _fees(offer),
        "eligibility_description": _eligibility(offer, None),
        "minimum_age": offer.min_age,
        "maximum_age": offer.max_age,
        "last_modified": _iso(offer.updated_at),
        "organization": organization_of(asset, city),
    }
    if full:
        location_id = identifier(city.id, "location", asset.id)
        data["cost_options"] = cost_options_of(offer, service_id)
        data["schedules"] = schedules_of(offer, service_id, zone)
        data["languages"] = [
            _clean(
                {
                    "id": identifier(city.id, "language", f"{offer.id}/{code}"),
                    "service_id": service_id,
                    "code": code,
                    "name": LANGUAGE_NAMES.get(code.split("-")[0].lower()),
                }
            )
            for code in offer.languages or []
        ]
        data["service_at_locations"] = [
            _clean(
                {
                    "id": identifier(city.id, "service_at_location", offer.id),
                    "service_id": service_id,
                    "location_id": location_id,
                    "location": location_of(asset, city, [offer], full=True),
                }
            )
        ]
        data["attributes"] = []
    return _clean(data)


def _rows(db: Session, stmt: Select[Any]) -> list[Row]:
    return [Row(o, a, c, st) for o, a, c, st in db.execute(stmt).all()]


def _offers_stmt(city: City | None) -> Any:
    stmt = (
        select(ServiceOffer, Asset, City, ServiceType)
        .join(Asset, Asset.id == ServiceOffer.asset_id)
        .join(City, City.id == ServiceOffer.city_id)
        .join(ServiceType, ServiceType.id == ServiceOffer.service_type_id)
        .where(_public_assets())
    )
    return stmt.where(ServiceOffer.city_id == city.id) if city is not None else stmt


def check_paging(page: int, per_page: int) -> None:
    if page < 1:
        raise InvalidInput("page counts from 1", field="page")
    if not 1 <= per_page <= MAX_PER_PAGE:
        raise InvalidInput(f"per_page must be from 1 to {MAX_PER_PAGE}", field="per_page")


def page_of(contents: list[dict[str, Any]], total: int, page: int, per_page: int) -> dict[str, Any]:
    """A page as the HSDS 3.0 API specification's Page: totals, this page's number and size, and its contents."""
    total_pages = max(1, math.ceil(total / per_page))
    return {
        "total_items": total,
        "total_pages": total_pages,
        "page_number": page,
        "size": len(contents),
        "first_page": page == 1,
        "last_page": page >= total_pages,
        "empty": len(contents) == 0,
        "contents": contents,
    }


def _count(db: Session, stmt: Select[Any]) -> int:
    return int(db.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0)


def list_services(
    db: Session,
    city: City | None,
    page: int,
    per_page: int,
    *,
    full: bool = False,
    search: str | None = None,
    organization_id: str | None = None,
) -> dict[str, Any]:
    check_paging(page, per_page)
    stmt = _offers_stmt(city)
    if search:
        escaped = search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        like = f"%{escaped}%"
        stmt = stmt.where(ServiceOffer.name.ilike(like) | ServiceOffer.description.ilike(like))
    rows = _rows(db, stmt.order_by(ServiceOffer.id))
    if organization_id:
        rows = [r for r in rows if identifier(r.city.id, "organization", r.asset.id) == organization_id]
    total = len(rows)
    chosen = rows[(page - 1) * per_page : page * per_page]
    return page_of([service_of(r, full=full) for r in chosen], total, page, per_page)


def _find(db: Session, stmt: Select[Any], kind: str, wanted: str, key: Any) -> list[Row]:
    try:
        uuid.UUID(wanted)
    except ValueError:
        raise InvalidInput(f"{kind} ids are UUIDs, got {wanted!r}", field="id") from None
    return [r for r in _rows(db, stmt) if identifier(r.city.id, kind, key(r)) == wanted]


def get_service(db: Session, city: City | None, wanted: str) -> dict[str, Any]:
    found = _find(db, _offers_stmt(city), "service", wanted, lambda r: r.offer.id)
    if not found:
        raise NotFound(f"no published service {wanted}: list them at /hsds/services")
    return service_of(found[0], full=True)


def _assets_with_offers(db: Session, city: City | None) -> list[tuple[Asset, City, list[ServiceOffer]]]:
    grouped: dict[int, tuple[Asset, City, list[ServiceOffer]]] = {}
    for row in _rows(db, _offers_stmt(city).order_by(Asset.id, ServiceOffer.id)):
        grouped.setdefault(row.asset.id, (row.asset, row.city, []))[2].append(row.offer)
    return list(grouped.values())


def list_organizations(db: Session, city: City | None, page: int, per_page: int) -> dict[str, Any]:
    check_paging(page, per_page)
    groups = _assets_with_offers(db, city)
    chosen = groups[(page - 1) * per_page : page * per_page]
    return page_of([organization_of(a, c) for a, c, _ in chosen], len(groups), page, per_page)


def _group(db: Session, city: City | None, kind: str, wanted: str) -> tuple[Asset, City, list[ServiceOffer]]:
    try:
        uuid.UUID(wanted)
    except ValueError:
        raise InvalidInput(f"{kind} ids are UUIDs, got {wanted!r}", field="id") from None
    for asset, c, offers in _assets_with_offers(db, city):
        if identifier(c.id, kind, asset.id) == wanted:
            return asset, c, offers
    raise NotFound(f"no published {kind} {wanted}: list them at /hsds/{kind}s")


def get_organization(db: Session, city: City | None, wanted: str) -> dict[str, Any]:
    asset, c, offers = _group(db, city, "organization", wanted)
    data = organization_of(asset, c)
    data["locations"] = [location_of(asset, c, offers, full=True)]
    return data


def list_locations(db: Session, city: City | None, page: int, per_page: int) -> dict[str, Any]:
    check_paging(page, per_page)
    groups = _assets_with_offers(db, city)
    chosen = groups[(page - 1) * per_page : page * per_page]
    return page_of([location_of(a, c, o, full=False) for a, c, o in chosen], len(groups), page, per_page)


def get_location(db: Session, city: City | None, wanted: str) -> dict[str, Any]:
    asset, c, offers = _group(db, city, "location", wanted)
    return location_of(asset, c, offers, full=True)


def list_service_at_locations(db: Session, city: City | None, page: int, per_page: int) -> dict[str, Any]:
    check_paging(page, per_page)
    rows = _rows(db, _offers_stmt(city).order_by(ServiceOffer.id))
    chosen = rows[(page - 1) * per_page : page * per_page]
    contents = [
        {
            "id": identifier(r.city.id, "service_at_location", r.offer.id),
            "service_id": identifier(r.city.id, "service", r.offer.id),
            "location_id": identifier(r.city.id, "location", r.asset.id),
        }
        for r in chosen
    ]
    return page_of(contents, len(rows), page, per_page)


def all_rows(db: Session, city: City | None) -> list[Row]:
    """Every published offer with its asset, city and service type (the tabular export)."""
    return _rows(db, _offers_stmt(city).order_by(ServiceOffer.id))


def root(base_url: str) -> dict[str, Any]:
    """The API root: the HSDS version it publishes and where its profile and OpenAPI description are."""
    return {
        "version": HSDS_VERSION,
        "profile": "https://docs.openreferral.org/en/latest/hsds/overview.html",
        "openapi_url": f"{base_url.rstrip('/')}/hsds/openapi.json",
    }
