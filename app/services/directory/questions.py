"""The budget question for the API and for its page (docs/DIRECTORY.md "The budget question")."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import City, ServiceType
from app.errors import AssetmapError
from app.services.directory.budget import BudgetQuestion, what_budget_buys

# A place the page offers as an example: Alexanderplatz, Berlin (WGS 84, the square's centre in OpenStreetMap).
EXAMPLES = {"Berlin": ("Alexanderplatz", 52.5219, 13.4132)}


def budget(
    db: Session,
    city: str,
    lat: float,
    lon: float,
    amount: float,
    currency: str,
    age: int | None,
    service_types: list[str],
    groups: list[str],
    resident: bool,
    referral: bool,
    radius_m: float | None,
    sessions_per_month: float | None,
    at: dt.datetime | None,
) -> dict[str, Any]:
    question = BudgetQuestion(
        city=city,
        lat=lat,
        lon=lon,
        budget=amount,
        currency=currency.upper(),
        age=age,
        service_types=tuple(dict.fromkeys(service_types)),
        groups=frozenset(groups),
        resident=resident,
        has_referral=referral,
        radius_m=radius_m,
        sessions_per_month=sessions_per_month,
        at=at,
    )
    return what_budget_buys(db, question)


@dataclass
class BudgetPage:
    """What the page shows: the form's values, the city's service types, and the answer or what to fix."""

    cities: list[str]
    service_types: list[tuple[str, str]]
    form: dict[str, Any]
    chosen_types: list[str]
    example: dict[str, Any] | None
    answer: dict[str, Any] | None = None
    error: str | None = None
    notes: list[str] = field(default_factory=list)


def _number(text: str | None, name: str) -> float | None:
    if text is None or not text.strip():
        return None
    try:
        value = float(text.strip().replace(",", "."))
    except ValueError:
        raise ValueError(f"{name} must be a number, got {text!r}") from None
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a number, got {text!r}")
    return value


def budget_page(
    db: Session,
    city: str | None,
    lat: str | None,
    lon: str | None,
    amount: str | None,
    age: str | None,
    service_types: list[str],
) -> BudgetPage:
    cities = list(db.scalars(select(City.name).order_by(City.name)))
    types = [
        (slug, name)
        for slug, name in db.execute(select(ServiceType.slug, ServiceType.name).order_by(ServiceType.name))
    ]
    city_name = city or (cities[0] if cities else "")
    example = None
    if city_name in EXAMPLES:
        place, e_lat, e_lon = EXAMPLES[city_name]
        example = {"place": place, "lat": e_lat, "lon": e_lon, "budget": 200, "age": 70}
    form = {"city": city_name, "lat": lat or "", "lon": lon or "", "budget": amount or "", "age": age or ""}
    page = BudgetPage(cities, types, form, service_types, example)
    if not (lat or lon or amount):
        return page
    try:
        lat_v, lon_v, budget_v, age_v = (
            _number(lat, "latitude"),
            _number(lon, "longitude"),
            _number(amount, "budget"),
            _number(age, "age"),
        )
        if lat_v is None or lon_v is None:
            raise ValueError("give a place: latitude and longitude (or use the example)")
        if budget_v is None:
            raise ValueError("give a budget: an amount a month")
        if age_v is not None and age_v != int(age_v):
            raise ValueError("age must be a whole number of years")
    except ValueError as exc:
        page.error = str(exc)
        return page
    try:
        page.answer = budget(
            db,
            city_name,
            lat_v,
            lon_v,
            budget_v,
            "EUR",
            None if age_v is None else int(age_v),
            service_types,
            [],
            True,
            False,
            None,
            None,
            None,
        )
    except AssetmapError as exc:
        page.error = exc.detail
    return page
