"""What the organiser's matching page and the dashboard page show (app/templates/matches.html, dashboard.html)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.db.models import Asset, Commitment, Need, Neighbourhood, ServiceType
from app.errors import NotFound
from app.policy import Principal
from app.services.catalogue import list_cities, resolve_city
from app.services.matching.candidates import MatchQuery, match_need
from app.services.matching.commitments import list_commitments
from app.services.matching.dashboard import dashboard
from app.settings import Settings

MAX_NEEDS_LISTED = 500


@dataclass
class MatchPage:
    """The city, its needs to choose from, and for a chosen need its candidates and commitments."""

    cities: list[tuple[int, str]]
    city_id: int
    city_name: str
    needs: list[dict[str, Any]]
    need_id: int | None = None
    result: dict[str, Any] | None = None
    commitments: list[dict[str, Any]] = field(default_factory=list)
    may_commit: bool = False
    # the need and the candidates that are not people: [lat, lon, label] for the map (people are never on it)
    points_json: str = "[]"


def _city(db: Session, city: str | None) -> Any:
    cities = list_cities(db)
    if not cities:
        raise NotFound("there is no city yet: load one (assetmap load-sample) or import neighbourhoods")
    return cities, resolve_city(db, city) if city else cities[0]


def _needs(db: Session, city_id: int) -> list[dict[str, Any]]:
    """The city's published needs, open ones (no commitment done) first."""
    met = select(Commitment.id).where(Commitment.need_id == Need.id, Commitment.stage == "done").exists()
    rows = db.execute(
        select(
            Need.id,
            ServiceType.slug,
            Neighbourhood.name,
            Need.description,
            Need.people_affected,
            met.label("met"),
        )
        .join(ServiceType, ServiceType.id == Need.service_type_id)
        .outerjoin(Neighbourhood, Neighbourhood.id == Need.neighbourhood_id)
        .where(Need.city_id == city_id, Need.status == "approved")
        .order_by(met, Need.id.desc())
        .limit(MAX_NEEDS_LISTED)
    ).all()
    return [
        {
            "id": r.id,
            "service_type": r.slug,
            "neighbourhood": r.name or "",
            "description": (r.description or "")[:80],
            "people_affected": r.people_affected,
            "met": bool(r.met),
        }
        for r in rows
    ]


def match_page(
    db: Session,
    settings: Settings,
    principal: Principal,
    city: str | None,
    need_id: int | None,
    query: MatchQuery,
) -> MatchPage:
    """The matching page; with a need, its ranked candidates as this reader may see them."""
    cities, chosen = _city(db, city)
    if need_id is not None:
        need = db.get(Need, need_id)
        if need is not None:
            chosen = resolve_city(db, need.city_id)
    page = MatchPage([(c.id, c.name) for c in cities], chosen.id, chosen.name, _needs(db, chosen.id))
    if need_id is None:
        return page
    page.need_id = need_id
    page.result = match_need(db, settings, principal, need_id, query)
    page.commitments = (
        list_commitments(db, settings, principal, need_id=need_id) if not principal.is_anonymous else []
    )
    page.may_commit = principal.can_edit_in(page.result["need"]["neighbourhood_id"])
    where = db.execute(
        select(
            func.ST_Y(func.ST_PointOnSurface(Need.geom)), func.ST_X(func.ST_PointOnSurface(Need.geom))
        ).where(Need.id == need_id)
    ).one()
    points: list[list[Any]] = [[float(where[0]), float(where[1]), "need", f"Need {need_id}"]]
    public_ids = [
        c["owner"]["id"]
        for c in page.result["candidates"]
        if c["owner"]["type"] == "asset" and not c["owner"]["private"]
    ]
    if public_ids:
        for lat, lon, name in db.execute(
            select(func.ST_Y(Asset.geom), func.ST_X(Asset.geom), Asset.name).where(
                Asset.id.in_(public_ids), Asset.category != "individual", ~Asset.sensitive
            )
        ):
            points.append([float(lat), float(lon), "asset", name])
    page.points_json = json.dumps(points)
    return page


@dataclass
class DashboardPage:
    """The dashboard's figures and the choices of its form."""

    cities: list[tuple[int, str]]
    neighbourhoods: list[tuple[int, str, str]]
    period: str
    figures: dict[str, Any]


def dashboard_page(
    db: Session, city: str | None, neighbourhood_id: int | None, period: str | None
) -> DashboardPage:
    """The dashboard of a city (default: the first) or one of its neighbourhoods."""
    cities, chosen = _city(db, city)
    areas = [
        (r.id, r.code, r.name)
        for r in db.execute(
            select(Neighbourhood.id, Neighbourhood.code, Neighbourhood.name)
            .where(Neighbourhood.city_id == chosen.id)
            .order_by(Neighbourhood.code)
        )
    ]
    figures = dashboard(db, chosen.id, neighbourhood_id, period)
    return DashboardPage([(c.id, c.name) for c in cities], areas, period or "", figures)
