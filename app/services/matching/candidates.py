"""The resources that fit an open need, ranked by the rule of docs/MATCHING.md, as each reader may see them."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import networkx as nx
from geoalchemy2 import Geography
from sqlalchemy import and_, cast, func, or_, select
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.elements import ColumnElement

from app.db.hierarchy import subtree_ids
from app.db.models import (
    Asset,
    AssetServiceType,
    Commitment,
    Link,
    Need,
    Neighbourhood,
    Resource,
    ServiceType,
)
from app.db.visibility import refers_to_suppressed_asset
from app.errors import Conflict, InvalidInput, NotFound
from app.policy import Principal
from app.services.matching import scoring
from app.settings import Settings
from geo.vocab import RESOURCE_KINDS

MAX_CANDIDATES = 100


@dataclass(frozen=True)
class MatchQuery:
    """What an organiser asks: the need's dates (default: four weeks from today), the kinds of resource, how
    much is wanted and how many candidates to list."""

    starts_on: dt.date | None = None
    ends_on: dt.date | None = None
    kinds: tuple[str, ...] = field(default_factory=tuple)
    wanted: float = 1.0
    limit: int = 20


def load_need(db: Session, principal: Principal, need_id: int) -> Need:
    """The need, if the caller may see it; a need not yet published is not matched (409)."""
    need = db.get(Need, need_id)
    if need is None or not principal.may_see_entry(need.status, need.created_by):
        raise NotFound(f"no need {need_id}: list needs at /api/needs", field="need")
    if need.status != "approved":
        raise Conflict(
            f"need {need_id} is {need.status}: only published needs are matched; an organiser reviews it first",
            field="need",
        )
    return need


def committed_quantity(resource_id: Any) -> Any:
    """SQL: what the commitments of a resource that are not cancelled hold."""
    return (
        select(func.coalesce(func.sum(Commitment.quantity), 0.0))
        .where(Commitment.resource_id == resource_id, Commitment.stage != "cancelled")
        .scalar_subquery()
    )


def is_private_asset(asset: Any = Asset) -> ColumnElement[bool]:
    """People (individual assets) and sensitive assets: their distance is shown as a band only."""
    return and_(asset.id.is_not(None), or_(asset.category == "individual", asset.sensitive))


def _window(query: MatchQuery) -> tuple[dt.date, dt.date]:
    starts_on = query.starts_on or dt.date.today()
    ends_on = query.ends_on or starts_on + dt.timedelta(days=scoring.DEFAULT_WINDOW_DAYS - 1)
    if ends_on < starts_on:
        raise InvalidInput(
            f"ends_on ({ends_on}) is before starts_on ({starts_on}): give the need's first day, then its last",
            field="ends_on",
            location="query",
        )
    unknown = [k for k in query.kinds if k not in RESOURCE_KINDS]
    if unknown:
        raise InvalidInput(
            f"unknown resource kind {unknown[0]!r}: use {', '.join(RESOURCE_KINDS)}",
            field="kind",
            location="query",
        )
    if not 0 < query.wanted <= 1e9:
        raise InvalidInput("wanted must be a positive quantity", field="wanted", location="query")
    return starts_on, ends_on


def _network(
    db: Session, settings: Settings, principal: Principal, city_id: int, neighbourhood_id: int | None
) -> tuple[Any, set[int]]:
    """The city's published links as a graph (links to assets this reader may not list left out), and the
    assets of the need's neighbourhood (and the areas inside it)."""
    if neighbourhood_id is None:
        return nx.Graph(), set()
    links = db.execute(
        select(Link.source_asset_id, Link.target_asset_id).where(
            Link.city_id == city_id,
            Link.status == "approved",
            ~refers_to_suppressed_asset(Link, principal, settings),
        )
    ).all()
    graph = nx.Graph()
    graph.add_edges_from((source, target) for source, target in links)
    local = set(
        db.scalars(
            select(Asset.id).where(
                Asset.status == "approved", Asset.neighbourhood_id.in_(subtree_ids(neighbourhood_id))
            )
        )
    )
    return graph, local


def _hops(graph: Any, asset_id: int | None, local: set[int]) -> int | None:
    """Link steps from the asset to the nearest other asset of the need's neighbourhood (None: none within reach)."""
    if asset_id is None or asset_id not in graph:
        return None
    lengths = nx.single_source_shortest_path_length(graph, asset_id, cutoff=scoring.MAX_HOPS)
    steps = [n for node, n in lengths.items() if node != asset_id and node in local]
    return min(steps) if steps else None


def _distance_text(distance_m: float) -> str:
    return f"{distance_m:.0f} m" if distance_m < 1000 else f"{distance_m / 1000:.1f} km"


def match_need(
    db: Session, settings: Settings, principal: Principal, need_id: int, query: MatchQuery
) -> dict[str, Any]:
    """The candidates for an open need, best first, each with its score's parts and the reasons for them."""
    need = load_need(db, principal, need_id)
    starts_on, ends_on = _window(query)
    service_type = db.get(ServiceType, need.service_type_id)
    assert service_type is not None  # a foreign key with RESTRICT
    reach_m = service_type.default_radius_m
    # aliases: the privacy rules' own subqueries name Asset and Neighbourhood, which must not correlate with these
    owner = aliased(Asset)
    owner_area = aliased(Neighbourhood)
    where_it_is = func.coalesce(owner.geom, owner_area.geom)
    need_geom = select(Need.geom).where(Need.id == need.id).scalar_subquery()
    distance_m = func.ST_Distance(cast(need_geom, Geography), cast(where_it_is, Geography))
    remaining = Resource.quantity - committed_quantity(Resource.id)
    offers = (
        select(AssetServiceType.asset_id)
        .where(
            AssetServiceType.asset_id == Resource.asset_id,
            AssetServiceType.service_type_id == need.service_type_id,
        )
        .exists()
    )
    stmt = (
        select(
            Resource,
            owner.id.label("asset_id"),
            owner.name.label("asset_name"),
            owner.category.label("asset_category"),
            is_private_asset(owner).label("private"),
            owner_area.name.label("owner_area_name"),
            distance_m.label("distance_m"),
            remaining.label("remaining"),
        )
        .outerjoin(owner, owner.id == Resource.asset_id)
        .outerjoin(owner_area, owner_area.id == Resource.neighbourhood_id)
        .where(
            Resource.city_id == need.city_id,
            Resource.status == "approved",
            or_(owner.id.is_(None), owner.status == "approved"),
            # an asset's resource fits when the asset offers the need's service; a neighbourhood's fits any
            or_(and_(Resource.asset_id.is_(None), Resource.neighbourhood_id.is_not(None)), offers),
            or_(Resource.available_from.is_(None), Resource.available_from <= ends_on),
            or_(Resource.available_until.is_(None), Resource.available_until >= starts_on),
            or_(Resource.quantity.is_(None), remaining > 0),
            ~refers_to_suppressed_asset(Resource, principal, settings),
        )
    )
    if query.kinds:
        stmt = stmt.where(Resource.kind.in_(query.kinds))
    rows = db.execute(stmt).all()
    graph, local = _network(db, settings, principal, need.city_id, need.neighbourhood_id)
    area_name = (
        db.scalar(select(Neighbourhood.name).where(Neighbourhood.id == need.neighbourhood_id))
        if need.neighbourhood_id is not None
        else None
    )
    candidates = []
    for row in rows:
        candidates.append(
            _candidate(
                row,
                principal,
                reach_m,
                starts_on,
                ends_on,
                query.wanted,
                _hops(graph, row.asset_id, local),
                area_name,
            )
        )
    candidates.sort(key=lambda c: (-c["score"], c["resource"]["id"]))
    for rank, candidate in enumerate(candidates, start=1):
        candidate["rank"] = rank
    return {
        "need": {
            "id": need.id,
            "city_id": need.city_id,
            "neighbourhood_id": need.neighbourhood_id,
            "neighbourhood_name": area_name,
            "service_type": service_type.slug,
            "description": need.description,
            "people_affected": need.people_affected,
            "severity": need.severity,
        },
        "window": {"starts_on": starts_on.isoformat(), "ends_on": ends_on.isoformat()},
        "wanted": query.wanted,
        "reach_m": reach_m,
        "weights": scoring.WEIGHTS,
        "rule": "/docs/MATCHING.md",
        "total": len(candidates),
        "candidates": candidates[: min(query.limit, MAX_CANDIDATES)],
    }


def _candidate(
    row: Any,
    principal: Principal,
    reach_m: float,
    starts_on: dt.date,
    ends_on: dt.date,
    wanted: float,
    hops: int | None,
    area_name: str | None,
) -> dict[str, Any]:
    """One candidate as this reader may see it: a person's distance only as a band (docs/MATCHING.md)."""
    resource: Resource = row.Resource
    exact_m = float(row.distance_m)
    band = scoring.distance_band(exact_m)
    # A person's distance is scored by its band, so the score gives away no more than the band does.
    scored_m = scoring.BAND_SCORED_M[band] if row.private else exact_m
    remaining = None if resource.quantity is None else max(float(row.remaining), 0.0)
    score = scoring.Score(
        distance=scoring.distance_part(scored_m, reach_m),
        network=scoring.network_part(hops),
        dates=scoring.dates_part(starts_on, ends_on, resource.available_from, resource.available_until),
        quantity=scoring.quantity_part(remaining, wanted),
    )
    shows_exact = principal.sees_exact_locations or not row.private
    via = " (through its neighbourhood)" if row.asset_id is None else ""
    where = _distance_text(exact_m) if shows_exact else scoring.BAND_LABELS[band]
    window_days = (ends_on - starts_on).days + 1
    available_days = round(score.dates * window_days)
    unit = f" {resource.unit}" if resource.unit else ""
    if remaining is None:
        quantity_why = "its quantity is not recorded: counted as half"
    else:
        quantity_why = f"{remaining:g}{unit} left of {resource.quantity:g}, {wanted:g} wanted"
    place = area_name or "the need's neighbourhood"
    if hops is None:
        network_why = f"no link within {scoring.MAX_HOPS} steps to an asset in {place}"
    elif hops == 1:
        network_why = f"linked directly to an asset in {place}"
    else:
        network_why = f"{hops} link steps from an asset in {place}"
    owner: dict[str, Any]
    if row.asset_id is not None:
        owner = {"type": "asset", "id": row.asset_id, "name": row.asset_name, "category": row.asset_category}
    else:
        owner = {"type": "neighbourhood", "id": resource.neighbourhood_id, "name": row.owner_area_name}
    owner["private"] = bool(row.private)
    return {
        "rank": 0,
        "score": round(score.total, 3),
        "parts": score.parts(),
        "why": [
            f"{where} from the need{via}",
            f"available on {available_days} of the {window_days} days asked for",
            quantity_why,
            network_why,
        ],
        "distance_m": round(exact_m) if shows_exact else None,
        "distance_band": scoring.BAND_LABELS[band],
        "network_hops": hops,
        "resource": {
            "id": resource.id,
            "kind": resource.kind,
            "quantity": resource.quantity,
            "remaining": remaining,
            "unit": resource.unit,
            "available_from": resource.available_from.isoformat() if resource.available_from else None,
            "available_until": resource.available_until.isoformat() if resource.available_until else None,
            "description": resource.description,
        },
        "owner": owner,
    }
