"""What commitments achieved in a city or a neighbourhood: needs met, open needs, volunteer hours and people
helped, by service type and by month (docs/MATCHING.md "Dashboard")."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from sqlalchemy import Date, and_, cast, func, select
from sqlalchemy.orm import Session

from app.db.hierarchy import subtree_ids
from app.db.models import Commitment, Need, Neighbourhood, ServiceType
from app.errors import InvalidInput, NotFound
from app.services.catalogue import resolve_city

_PERIOD = re.compile(r"^(\d{4})(?:-(\d{2}))?$")


def parse_period(period: str | None) -> tuple[dt.date, dt.date] | None:
    """'2026' or '2026-12' as its first and last day; None for all time."""
    if not period:
        return None
    match = _PERIOD.match(period.strip())
    if match is None or not 1 <= int(match.group(2) or "1") <= 12:
        raise InvalidInput(
            f"period {period!r} is not a year or a month: write it as YYYY or YYYY-MM",
            field="period",
            location="query",
        )
    year = int(match.group(1))
    if match.group(2) is None:
        return dt.date(year, 1, 1), dt.date(year, 12, 31)
    month = int(match.group(2))
    first = dt.date(year, month, 1)
    following = dt.date(year + month // 12, month % 12 + 1, 1)
    return first, following - dt.timedelta(days=1)


def dashboard(
    db: Session, city: str | int, neighbourhood_id: int | None, period: str | None
) -> dict[str, Any]:
    """Sums over the published needs of a city (or of a neighbourhood and the areas inside it) and their done
    commitments. A need is met on the day (UTC) its first commitment was done; open needs are those mapped
    and not met by the end of the period (or by now)."""
    city_row = resolve_city(db, city)
    bounds = parse_period(period)
    area_name = None
    if neighbourhood_id is not None:
        area = db.get(Neighbourhood, neighbourhood_id)
        if area is None or area.city_id != city_row.id:
            raise NotFound(f"no neighbourhood {neighbourhood_id} in {city_row.name}", field="neighbourhood")
        area_name = area.name
    done_on = cast(func.timezone("UTC", Commitment.done_at), Date)
    needs = select(Need.id, Need.service_type_id, Need.created_at).where(
        Need.city_id == city_row.id, Need.status == "approved"
    )
    if neighbourhood_id is not None:
        needs = needs.where(Need.neighbourhood_id.in_(subtree_ids(neighbourhood_id)))
    needs_sq = needs.subquery()
    first_done = (
        select(Commitment.need_id, func.min(done_on).label("met_on"))
        .where(Commitment.stage == "done")
        .group_by(Commitment.need_id)
        .subquery()
    )
    need_rows = db.execute(
        select(needs_sq.c.id, ServiceType.slug, first_done.c.met_on, needs_sq.c.created_at)
        .join(ServiceType, ServiceType.id == needs_sq.c.service_type_id)
        .outerjoin(first_done, first_done.c.need_id == needs_sq.c.id)
    ).all()
    in_period = (lambda day: bounds[0] <= day <= bounds[1]) if bounds else (lambda day: True)
    end = bounds[1] if bounds else None
    outcome_rows = db.execute(
        select(ServiceType.slug, done_on.label("done_on"), Commitment.hours_given, Commitment.people_helped)
        .join(needs_sq, needs_sq.c.id == Commitment.need_id)
        .join(ServiceType, ServiceType.id == needs_sq.c.service_type_id)
        .where(and_(Commitment.stage == "done"))
    ).all()
    by_type: dict[str, dict[str, float]] = {}
    by_month: dict[str, dict[str, float]] = {}

    def bucket(table: dict[str, dict[str, float]], key: str) -> dict[str, float]:
        return table.setdefault(
            key,
            {
                "needs_met": 0,
                "open_needs": 0,
                "volunteer_hours": 0.0,
                "people_helped": 0,
                "commitments_done": 0,
            },
        )

    for _need_id, slug, met_on, created_at in need_rows:
        if met_on is not None and in_period(met_on):
            bucket(by_type, slug)["needs_met"] += 1
            bucket(by_month, met_on.strftime("%Y-%m"))["needs_met"] += 1
        if end is not None and created_at.astimezone(dt.UTC).date() > end:
            continue  # not mapped yet at the end of the period
        if met_on is None or (end is not None and met_on > end):
            bucket(by_type, slug)["open_needs"] += 1
    for slug, day, hours, people in outcome_rows:
        if not in_period(day):
            continue
        for row in (bucket(by_type, slug), bucket(by_month, day.strftime("%Y-%m"))):
            row["volunteer_hours"] += hours or 0.0
            row["people_helped"] += people or 0
            row["commitments_done"] += 1
    totals = {
        key: sum(row[key] for row in by_type.values())
        for key in ("needs_met", "open_needs", "volunteer_hours", "people_helped", "commitments_done")
    }
    for row in by_month.values():
        del row["open_needs"]  # open needs are a count at one moment, not per month
    return {
        "city": city_row.name,
        "city_id": city_row.id,
        "neighbourhood_id": neighbourhood_id,
        "neighbourhood_name": area_name,
        "period": {"from": bounds[0].isoformat(), "until": bounds[1].isoformat()} if bounds else None,
        "totals": totals,
        "by_service_type": [{"service_type": slug, **by_type[slug]} for slug in sorted(by_type)],
        "by_month": [{"month": month, **by_month[month]} for month in sorted(by_month)],
    }
