""" "What can this budget buy here?": the services within reach of a place whose eligibility fits a person, with
their cost per month, ranked by distance and cost (docs/DIRECTORY.md "The budget question").

Within reach is each service type's catchment (its default radius) unless the question gives a radius. People
(`individual` assets), sensitive and unpublished assets are never in the answer: it is for anyone to ask.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Float, cast, func, select
from sqlalchemy.orm import Session

from app.db.models import Asset, ServiceOffer, ServiceType
from app.errors import InvalidInput
from app.services.catalogue import resolve_city, resolve_service_type
from app.services.directory.offers import cost_of, eligibility_of
from geo import directory as rules

MAX_RADIUS_M = 50_000.0
MAX_BUDGET = 1_000_000.0


@dataclass(frozen=True)
class BudgetQuestion:
    """A budget holder's question: where, how much a month, who, and which service types."""

    city: str
    lat: float
    lon: float
    budget: float
    currency: str = "EUR"
    age: int | None = None
    service_types: tuple[str, ...] = ()
    groups: frozenset[str] = field(default_factory=frozenset)
    resident: bool = True
    has_referral: bool = False
    radius_m: float | None = None
    sessions_per_month: float | None = None
    at: dt.datetime | None = None
    limit: int = 50


def _check(q: BudgetQuestion) -> None:
    if not (math.isfinite(q.lat) and -90 <= q.lat <= 90):
        raise InvalidInput("lat must be a latitude from -90 to 90 (WGS 84 degrees)", field="lat")
    if not (math.isfinite(q.lon) and -180 <= q.lon <= 180):
        raise InvalidInput("lon must be a longitude from -180 to 180 (WGS 84 degrees)", field="lon")
    if not (math.isfinite(q.budget) and 0 <= q.budget <= MAX_BUDGET):
        raise InvalidInput(f"budget must be an amount per month from 0 to {MAX_BUDGET:,.0f}", field="budget")
    if q.age is not None and not 0 <= q.age <= 130:
        raise InvalidInput("age must be a whole number of years from 0 to 130", field="age")
    if q.radius_m is not None and not (math.isfinite(q.radius_m) and 0 < q.radius_m <= MAX_RADIUS_M):
        raise InvalidInput(f"radius_m must be > 0 and at most {MAX_RADIUS_M:,.0f} metres", field="radius_m")
    if q.sessions_per_month is not None and not (0 < q.sessions_per_month <= rules.MAX_SESSIONS_PER_MONTH):
        raise InvalidInput("sessions_per_month must be > 0 and at most 100", field="sessions_per_month")
    if len(q.currency) != 3 or not q.currency.isalpha():
        raise InvalidInput("currency must be an ISO 4217 code such as EUR", field="currency")
    unknown = sorted(set(q.groups) - set(rules.GROUPS_DECLARED))
    if unknown:
        raise InvalidInput(
            f"unknown group {unknown[0]!r}: groups a person declares are {', '.join(rules.GROUPS_DECLARED)}"
            " (age groups follow from age)",
            field="groups",
        )


def what_budget_buys(db: Session, q: BudgetQuestion, now: dt.datetime | None = None) -> dict[str, Any]:
    """The answer: fitting services within reach, by distance band then cost per month, and what was left out."""
    _check(q)
    city = resolve_city(db, q.city)
    zone = rules.city_zone(city.time_zone)
    country = rules.country_code(city.country)
    types = [resolve_service_type(db, slug, field="service_types") for slug in q.service_types]
    here = func.ST_SetSRID(func.ST_MakePoint(q.lon, q.lat), 4326)
    distance = cast(func.ST_Distance(func.geography(Asset.geom), func.geography(here)), Float)
    reach = ServiceType.default_radius_m if q.radius_m is None else q.radius_m
    stmt = (
        select(ServiceOffer, Asset.name, Asset.id, ServiceType.slug, distance.label("distance"))
        .join(Asset, Asset.id == ServiceOffer.asset_id)
        .join(ServiceType, ServiceType.id == ServiceOffer.service_type_id)
        .where(
            ServiceOffer.city_id == city.id,
            Asset.status == "approved",
            Asset.category != "individual",
            ~Asset.sensitive,
            func.ST_DWithin(func.geography(Asset.geom), func.geography(here), reach),
        )
    )
    if types:
        stmt = stmt.where(ServiceOffer.service_type_id.in_([t.id for t in types]))
    person = rules.Person(age=q.age, groups=q.groups, resident=q.resident, has_referral=q.has_referral)
    when = q.at or now or dt.datetime.now(dt.UTC)
    left_out = {"not eligible": 0, "over budget": 0, "other currency": 0}
    found = []
    for offer, asset_name, asset_id, slug, metres in db.execute(stmt).all():
        problems = rules.eligibility_problems(eligibility_of(offer), person)
        if problems:
            left_out["not eligible"] += 1
            continue
        cost = cost_of(offer)
        if cost.kind != "free" and cost.currency != q.currency.upper():
            left_out["other currency"] += 1
            continue
        monthly = rules.monthly_cost(cost, q.sessions_per_month)
        if monthly.low > q.budget:
            left_out["over budget"] += 1
            continue
        state = (
            rules.open_at(offer.opening_hours, when, zone, country).state
            if offer.opening_hours
            else "unknown"
        )
        found.append(
            {
                "offer_id": offer.id,
                "name": offer.name,
                "asset_id": asset_id,
                "asset_name": asset_name,
                "service_type": slug,
                "distance_m": round(metres, 1),
                "cost_per_month": {
                    "min": monthly.low,
                    "max": monthly.high,
                    "currency": q.currency.upper() if cost.kind == "free" else cost.currency,
                    "basis": monthly.basis,
                    "within_budget": monthly.high <= q.budget,
                },
                "cost_note": offer.cost_note,
                "eligibility_note": offer.eligibility_note,
                "languages": list(offer.languages or []),
                "accessibility": offer.accessibility,
                "opening_hours": offer.opening_hours,
                "open_at_asked_time": state,
                "booking": offer.booking,
                "booking_url": offer.booking_url,
            }
        )
    found.sort(key=lambda r: rules.rank_key(r["distance_m"], r["cost_per_month"]["min"], r["name"]))
    items = found[: q.limit]
    for rank, row in enumerate(items, start=1):
        row["rank"] = rank
    notes = [
        f"ranked by distance in bands of {rules.DISTANCE_BAND_M:g} m, then by cost per month",
        "within_budget is false where only the lower end of a cost range fits the budget",
        f"opening times read in {zone.key}"
        + (
            ""
            if city.time_zone
            else " (the city has no time zone set: set one with `assetmap directory zone`)"
        ),
    ]
    return {
        "question": {
            "city": city.name,
            "lat": q.lat,
            "lon": q.lon,
            "budget": q.budget,
            "currency": q.currency.upper(),
            "age": q.age,
            "service_types": [t.slug for t in types],
            "groups": sorted(q.groups),
            "resident": q.resident,
            "has_referral": q.has_referral,
            "radius_m": q.radius_m,
            "at": when.astimezone(zone).isoformat(),
        },
        "items": items,
        "left_out": left_out,
        "notes": notes,
    }
