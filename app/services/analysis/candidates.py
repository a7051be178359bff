"""The candidate sites of a suggestion (ANALYSIS.md (d)) and why each one qualifies.

venues           (the default) places that could host the service: assets whose kind suits the service type
                 (app.services.venues: the city's list, else the service type's) or that offer a space resource
                 still available (not ended, quantity not 0). Never people (individual assets) or sensitive
                 places, and never an asset that offers the service already.
physical_spaces  every community space (physical_space asset) that does not offer the service yet
h3               the run's H3 cell centres
points           points the user gives
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, aliased

from app.db.models import AnalysisRun, Asset, AssetServiceType, Resource, ServiceType
from app.db.queries import asset_is_private, asset_shown_geom
from app.errors import InvalidInput
from app.policy import Principal
from app.schemas.analysis import CandidatePoint
from app.services.analysis import inputs as reading
from app.services.analysis.compute import Analysis
from app.services.venues import venue_kinds_for
from app.settings import Settings
from geo.vocab import VENUE_KINDS, venue_kind_label

CANDIDATE_KINDS = ("venues", "physical_spaces", "h3", "points")
DEFAULT_CANDIDATES = "venues"


@dataclass(frozen=True)
class Candidates:
    """The candidates of one suggestion: how they were chosen, the frame (EPSG:4326), and the rule in words.

    frame: id, name, neighbourhood_id, private, kind (None where not known), reasons (list of text), capacity
    (the place's own, asset.capacity; None where not known, and for H3 cells and points), geometry.
    """

    kind: str
    frame: gpd.GeoDataFrame
    rule: str
    venue_kinds: list[str] | None = None  # the kinds that qualified a venue (candidates "venues")
    venue_kinds_source: str | None = None  # whose list: "city" or "service_type"


def check_candidate_count(
    settings: Settings,
    count: int,
    what: str,
    advice: str = "use venues, or give at most that many points",
) -> None:
    """Refuse more candidates than a suggestion may weigh (ASSETMAP_ANALYSIS_MAX_CANDIDATES), with advice."""
    limit = settings.analysis_max_candidates
    if count > limit:
        raise InvalidInput(
            f"{count:,} {what} are more candidates than a suggestion may weigh ({limit:,}, "
            f"ASSETMAP_ANALYSIS_MAX_CANDIDATES): {advice}",
            field="candidates",
        )


def _frame(rows: list[dict[str, Any]], xs: list[float], ys: list[float]) -> gpd.GeoDataFrame:
    columns = ("id", "name", "neighbourhood_id", "private", "kind", "reasons", "capacity")
    return gpd.GeoDataFrame(
        {column: [row.get(column) for row in rows] for column in columns},
        geometry=gpd.points_from_xy(xs, ys, crs=reading.WGS84),
    )


def _not_offering(run: AnalysisRun) -> Any:
    offers = aliased(AssetServiceType)
    return ~(
        select(offers.asset_id)
        .where(offers.asset_id == Asset.id, offers.service_type_id == run.service_type_id)
        .exists()
    )


def _space_text(quantity: float | None, unit: str | None, start: dt.date | None, end: dt.date | None) -> str:
    amount = "" if quantity is None else f" {quantity:g}" + (f" {unit}" if unit else "")
    when = (f" from {start.isoformat()}" if start else "") + (f" until {end.isoformat()}" if end else "")
    return f"offers space{amount}{when}" if amount or when else "offers space (amount and dates not given)"


def _venues(db: Session, run: AnalysisRun, service_type: ServiceType) -> Candidates:
    """Places whose kind suits the service, or that offer space still available; never people or sensitive
    places (their location is not to be published), never an asset that offers the service already."""
    kinds, source = venue_kinds_for(db, run.city_id, service_type)
    today = dt.date.today()
    statuses = reading.statuses(run.include_pending)
    space = (
        select(
            Resource.asset_id,
            Resource.quantity,
            Resource.unit,
            Resource.available_from,
            Resource.available_until,
        )
        .where(
            Resource.city_id == run.city_id,
            Resource.kind == "space",
            Resource.asset_id.is_not(None),
            Resource.status.in_(statuses),
            or_(Resource.available_until.is_(None), Resource.available_until >= today),
            or_(Resource.quantity.is_(None), Resource.quantity > 0),
        )
        .order_by(Resource.asset_id, Resource.id)
    )
    offered: dict[int, list[str]] = {}
    for asset_id, quantity, unit, start, end in db.execute(space).all():
        if asset_id is not None:
            offered.setdefault(int(asset_id), []).append(_space_text(quantity, unit, start, end))
    suits = Asset.kind.in_(kinds) if kinds else None
    has_space = Asset.id.in_(list(offered)) if offered else None
    qualifies = [c for c in (suits, has_space) if c is not None]
    rows: list[dict[str, Any]] = []
    xs: list[float] = []
    ys: list[float] = []
    if qualifies:
        found = db.execute(
            select(
                Asset.id,
                Asset.name,
                Asset.neighbourhood_id,
                Asset.kind,
                Asset.capacity,
                func.ST_X(Asset.geom),
                func.ST_Y(Asset.geom),
            )
            .where(
                Asset.city_id == run.city_id,
                Asset.status.in_(statuses),
                Asset.category != "individual",
                Asset.sensitive.is_(False),
                _not_offering(run),
                or_(*qualifies),
            )
            .order_by(Asset.id)
        ).all()
        where = " in this city" if source == "city" else ""
        for asset_id, name, nb_id, kind, capacity, x, y in found:
            reasons = []
            if kind is not None and kind in kinds:
                reasons.append(
                    f"{venue_kind_label(kind)}: {'a room indoors' if VENUE_KINDS[kind] == 'indoor' else 'an open space'}"
                    f", a kind of place that suits {service_type.slug}{where}"
                )
            reasons += offered.get(int(asset_id), [])
            rows.append(
                {
                    "id": int(asset_id),
                    "name": name,
                    "neighbourhood_id": nb_id,
                    "private": False,
                    "kind": kind,
                    "reasons": reasons,
                    "capacity": capacity,
                }
            )
            xs.append(float(x))
            ys.append(float(y))
    listed = ", ".join(kinds) if kinds else "none"
    rule = (
        f"places whose kind suits {service_type.slug} ({listed}; "
        f"{'the city' if source == 'city' else 'the service type'}'s list, `assetmap venues`) or that offer "
        "space still available; not people, sensitive places or assets offering the service already"
    )
    return Candidates("venues", _frame(rows, xs, ys), rule, kinds, source)


def _physical_spaces(
    db: Session, settings: Settings, principal: Principal, run: AnalysisRun, slug: str
) -> Candidates:
    """Community spaces (physical_space assets) of the run's city that do not offer its service yet."""
    shown = asset_shown_geom(principal, settings)
    found = db.execute(
        select(
            Asset.id,
            Asset.name,
            Asset.neighbourhood_id,
            asset_is_private(),
            Asset.kind,
            func.ST_X(shown),
            func.ST_Y(shown),
            Asset.capacity,
        )
        .where(
            Asset.city_id == run.city_id,
            Asset.category == "physical_space",
            Asset.status.in_(reading.statuses(run.include_pending)),
            _not_offering(run),
        )
        .order_by(Asset.id)
    ).all()
    reason = f"a community space (physical_space) that does not offer {slug} yet"
    rows = [
        {
            "id": r[0],
            "name": r[1],
            "neighbourhood_id": r[2],
            "private": bool(r[3]),
            "kind": r[4],
            "reasons": [reason],
            "capacity": r[7],
        }
        for r in found
    ]
    return Candidates(
        "physical_spaces",
        _frame(rows, [r[5] for r in found], [r[6] for r in found]),
        f"every community space (physical_space asset) that does not offer {slug} yet, whatever its kind",
    )


def choose_candidates(
    db: Session,
    settings: Settings,
    principal: Principal,
    run: AnalysisRun,
    analysis: Analysis,
    candidates: str | list[CandidatePoint],
) -> Candidates:
    """The candidate sites of a suggestion on `run`, each with the reasons it qualifies."""
    service_type = analysis.inputs.service_type
    if isinstance(candidates, list):
        rows = [
            {
                "id": f"point:{i}",
                "name": c.name or f"Proposed site {i}",
                "neighbourhood_id": None,
                "private": False,
                "kind": None,
                "reasons": ["a point you gave"],
            }
            for i, c in enumerate(candidates, 1)
        ]
        frame = _frame(rows, [c.lon for c in candidates], [c.lat for c in candidates])
        return Candidates("points", frame, "the points given")
    if candidates == "h3":
        units = analysis.result.units
        frame = gpd.GeoDataFrame(
            {
                "id": units["unit_id"].to_numpy(),
                "name": [f"H3 cell {u}" for u in units["unit_id"]],
                "neighbourhood_id": units["neighbourhood_id"].to_numpy(),
                "private": False,
                "kind": None,
                "reasons": [["the centre of an H3 cell of the run"]] * len(units),
                "capacity": None,
            },
            geometry=units.geometry.values,
            crs=units.crs,
        )
        return Candidates("h3", frame, "the centres of the run's H3 cells")
    if candidates == "physical_spaces":
        chosen = _physical_spaces(db, settings, principal, run, service_type.slug)
        what, empty = (
            "community spaces",
            "there is no community space (physical_space asset) without this service",
        )
    else:
        chosen = _venues(db, run, service_type)
        what = "venues"
        empty = (
            f"no place could host {service_type.slug}: none is of a kind that suits it "
            f"({', '.join(chosen.venue_kinds or []) or 'no kinds listed'}) or offers space still available. "
            f"List kinds with `assetmap venues set --service {service_type.slug} --kinds ...`, give places a kind, "
            "or use candidates 'physical_spaces', 'h3' or points"
        )
    check_candidate_count(settings, len(chosen.frame), what, "give at most that many points instead")
    if chosen.frame.empty:
        raise InvalidInput(
            empty
            if chosen.kind == "venues"
            else f"{empty} to suggest: use candidates 'venues' or 'h3', or give points",
            field="candidates",
        )
    return chosen
