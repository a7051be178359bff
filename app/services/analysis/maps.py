"""The analysis map pages: what goes on the gap map and the network map, in the reader's view, and their HTML."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, BinaryIO

import geopandas as gpd
import pandas as pd
import shapely
from branca.element import Element, Figure
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.orm import Session

from app.db.models import AnalysisRun, Asset, AssetServiceType, City, Need, Neighbourhood, ServiceType
from app.db.queries import asset_shown_geom, asset_suppressed
from app.errors import InvalidInput, NotFound
from app.policy import Principal
from app.services import budget
from app.services.analysis import inputs as reading
from app.services.analysis import walking
from app.services.analysis.network import NetworkView, network_view
from app.services.analysis.outputs import view_results, visible_suggestions
from app.services.analysis.records import finished_run
from app.services.analysis.scenarios import suggestion_summary
from app.services.analysis.warnings import map_notes, unmet_need_computable
from app.settings import Settings
from geo.crs import AnalysisInputError
from geo.render import gap_map, gap_map_png, network_map, render_html
from geo.streets import WALKING_SPEED_M_PER_MIN

WGS84 = reading.WGS84


@dataclass(frozen=True)
class GapMapFrames:
    """Everything geo.render.gap_map draws for one run, privacy applied for the reader (EPSG:4326)."""

    run_id: int
    neighbourhoods: gpd.GeoDataFrame
    assets: gpd.GeoDataFrame
    needs: gpd.GeoDataFrame
    catchment_assets: gpd.GeoDataFrame
    suggested_sites: gpd.GeoDataFrame | None
    links: gpd.GeoDataFrame | None
    title: str
    service_name: str
    radius_m: float
    data_date: str | None
    capacity_notes: list[str]  # unknown capacity, said plainly (app.services.analysis.warnings)
    unmet_computable: bool
    distance: str = "straight"  # how the run measured distances: straight line or on foot (network)
    straight_not_walking: gpd.GeoDataFrame | None = None  # units covered by the straight line, not on foot
    isochrones: gpd.GeoDataFrame | None = None  # walking-time catchments of one asset (minutes, name)
    distance_notes: tuple[str, ...] = ()
    proposals: gpd.GeoDataFrame | None = None  # a citizen-budget round's proposals of this service


def _slugs_text() -> Any:
    return (
        select(
            func.array_to_string(func.array_agg(aggregate_order_by(ServiceType.slug, ServiceType.slug)), ", ")
        )
        .join(AssetServiceType, AssetServiceType.service_type_id == ServiceType.id)
        .where(AssetServiceType.asset_id == Asset.id)
        .scalar_subquery()
    )


def _points(rows: list[Any], columns: list[str]) -> gpd.GeoDataFrame:
    """A point frame from rows whose last two values are lon and lat."""
    return gpd.GeoDataFrame(
        {name: [r[i] for r in rows] for i, name in enumerate(columns)},
        geometry=gpd.points_from_xy([r[-2] for r in rows], [r[-1] for r in rows], crs=WGS84),
    )


def _links_between(network: NetworkView) -> gpd.GeoDataFrame | None:
    """Ties of the network as lines between the (shown) locations of their assets."""
    if network.links.empty:
        return None
    where = dict(zip(network.assets["id"], network.assets.geometry, strict=True))
    lines = [
        shapely.LineString([where[s], where[t]])
        for s, t in zip(network.links["source_id"], network.links["target_id"], strict=True)
    ]
    return gpd.GeoDataFrame(
        {
            "kind": network.links["kind"].to_numpy(),
            "crosses_border": network.metrics.links["crosses_border"].to_numpy(),
        },
        geometry=gpd.GeoSeries(lines, crs=WGS84),
    )


def gap_map_frames(
    db: Session,
    settings: Settings,
    principal: Principal,
    run: AnalysisRun | int,
    *,
    walk_from: int | None = None,
    with_links: bool = True,
    budget_round: int | None = None,
) -> GapMapFrames:
    """The frames of a run's gap map: neighbourhood results, published assets, needs, catchments, sites, links;
    for a run on foot, the units the straight line would have called covered; with `walk_from` (an asset id of
    the service), that asset's walking-time catchments; `with_links=False` leaves the network's ties out."""
    run = finished_run(db, principal, run if isinstance(run, int) else run.id)
    city = db.get(City, run.city_id)
    service_type = db.get(ServiceType, run.service_type_id)
    if city is None or service_type is None:
        raise NotFound(f"the city or service type of analysis run {run.id} was deleted")
    view = view_results(run, principal)
    rows = view["neighbourhoods"]
    shapes: dict[int, Any] = dict(
        db.execute(
            select(Neighbourhood.id, func.ST_AsBinary(Neighbourhood.geom)).where(
                Neighbourhood.id.in_([r["id"] for r in rows])
            )
        ).all()
    )
    kept = [r for r in rows if r["id"] in shapes]
    neighbourhoods = gpd.GeoDataFrame(
        {
            "id": [r["id"] for r in kept],
            "code": [r["code"] for r in kept],
            "name": [r["name"] for r in kept],
            **{
                key: pd.to_numeric(pd.Series([r[key] for r in kept], dtype=object), errors="coerce")
                for key in (
                    "population",
                    "covered_share",
                    "mean_distance_m",
                    "unmet_need",
                    "gap_share",
                    "access_score",
                )
            },
            "desert": [bool(r["desert"]) for r in kept],
            "nearest_assets": [", ".join(a["name"] for a in r["nearest_assets"]) or None for r in kept],
        },
        geometry=gpd.GeoSeries(shapely.from_wkb([bytes(shapes[r["id"]]) for r in kept]), crs=WGS84),
    )

    shown = asset_shown_geom(principal, settings)
    # Markers would count people that small-count suppression hides from this reader: they are left off.
    hidden_from_reader = ~asset_suppressed(principal, settings)
    asset_rows = db.execute(
        select(Asset.name, Asset.category, _slugs_text(), Asset.capacity, func.ST_X(shown), func.ST_Y(shown))
        .where(Asset.city_id == run.city_id, Asset.status == "approved", hidden_from_reader)
        .order_by(Asset.id)
    ).all()
    assets = _points(list(asset_rows), ["name", "category", "service_types", "capacity"])

    catchment_rows = db.execute(
        select(Asset.name, func.ST_X(shown), func.ST_Y(shown))
        .join(AssetServiceType, AssetServiceType.asset_id == Asset.id)
        .where(
            Asset.city_id == run.city_id,
            AssetServiceType.service_type_id == run.service_type_id,
            Asset.status.in_(reading.statuses(run.include_pending)),
            hidden_from_reader,
        )
        .order_by(Asset.id)
    ).all()
    catchment = _points(list(catchment_rows), ["name"])

    need_rows = db.execute(
        select(Need.people_affected, Need.description, func.ST_AsBinary(Need.geom))
        .where(
            Need.city_id == run.city_id,
            Need.service_type_id == run.service_type_id,
            Need.status.in_(reading.statuses(run.include_pending)),
        )
        .order_by(Need.id)
    ).all()
    needs = gpd.GeoDataFrame(
        {
            "service_type": [service_type.slug] * len(need_rows),
            "people_affected": [r[0] for r in need_rows],
            "description": [r[1] for r in need_rows],
        },
        geometry=gpd.GeoSeries(
            shapely.from_wkb([bytes(r[2]) for r in need_rows]) if need_rows else [], crs=WGS84
        ),
    )

    suggestions = visible_suggestions(run, principal)
    sites = None
    if suggestions:
        latest = suggestions[-1]
        summary = suggestion_summary(latest)
        sites = _points(
            [
                (
                    s["name"],
                    s["shortfall_covered"],
                    (s.get("kind") or "").replace("_", " ") or None,
                    "; ".join(s.get("reasons") or []) or None,
                    summary,
                    s["lon"],
                    s["lat"],
                )
                for s in latest["sites"]
            ],
            ["name", "gain", "kind", "reasons", "suggestion"],
        )
    # the network's ties (its betweenness is the costly part); the evidence packs' static maps draw none
    links = _links_between(network_view(db, settings, principal, run.city_id)) if with_links else None
    radius_m = float(run.params["radius_m"])
    distance = str(run.params.get("distance", "straight"))
    notes: list[str] = []
    misled = None
    if distance == "network":
        misled, note = walking.straight_not_walking(db, principal, run)
        notes += [note] if note else []
    isochrones = None
    if walk_from is not None:
        isochrones = walking.asset_isochrones(db, settings, principal, city, run, walk_from)
    return GapMapFrames(
        run_id=run.id,
        neighbourhoods=neighbourhoods,
        assets=assets,
        needs=needs,
        catchment_assets=catchment,
        suggested_sites=sites,
        links=links,
        title=f"Coverage gaps: {service_type.name} in {city.name}",
        service_name=service_type.name,
        radius_m=radius_m,
        data_date=city.data_date,
        capacity_notes=map_notes(view.get("totals")),
        unmet_computable=unmet_need_computable(view.get("totals") or {}),
        distance=distance,
        straight_not_walking=misled,
        isochrones=isochrones,
        distance_notes=tuple(notes),
        proposals=None
        if budget_round is None
        else budget.proposal_map_frame(db, principal, budget_round, run.service_type_id),
    )


def gap_map_html(
    db: Session,
    settings: Settings,
    principal: Principal,
    run: AnalysisRun | int,
    *,
    walk_from: int | None = None,
    budget_round: int | None = None,
) -> str:
    """The gap map page of a run (a standalone HTML document) as the reader may see it; with `budget_round`, that
    round's proposals of the run's service next to the gaps."""
    frames = gap_map_frames(db, settings, principal, run, walk_from=walk_from, budget_round=budget_round)
    try:
        m = gap_map(
            frames.neighbourhoods,
            frames.assets,
            frames.needs,
            frames.catchment_assets,
            frames.radius_m,
            suggested_sites=frames.suggested_sites,
            links=frames.links,
            title=frames.title,
            service_name=frames.service_name,
            data_date=frames.data_date,
            tiles_url=settings.tiles_url or None,
            tiles_attribution=settings.tiles_attribution,
            capacity_notes=frames.capacity_notes,
            unmet_computable=frames.unmet_computable,
            distance=frames.distance,
            straight_not_walking=frames.straight_not_walking,
            isochrones=frames.isochrones,
            walking_speed_m_per_min=WALKING_SPEED_M_PER_MIN,
            distance_notes=frames.distance_notes,
            proposals=frames.proposals,
        )
    except AnalysisInputError as exc:
        raise InvalidInput(str(exc)) from None
    # Which run the page shows, and where its numbers are: a reader can cite them, a script can fetch them.
    run_link = (
        f'<p class="assetmap-run" data-run-id="{frames.run_id:d}" style="position:fixed;left:50%;transform:translateX(-50%);bottom:8px;'
        'z-index:1000;margin:0;padding:2px 6px;background:rgba(255,255,255,0.9);font:12px system-ui,sans-serif">'
        f'Analysis run {frames.run_id:d}: <a href="/api/analysis/runs/{frames.run_id:d}">parameters and totals</a>'
        f' · <a href="/api/analysis/runs/{frames.run_id:d}/neighbourhoods">results (GeoJSON)</a></p>'
    )
    page = m.get_root()
    if isinstance(page, Figure):
        page.html.add_child(Element(run_link), name="assetmap_run")
    return render_html(m)


def write_gap_map_png(
    db: Session,
    settings: Settings,
    principal: Principal,
    run: AnalysisRun | int,
    out: str | os.PathLike[str] | BinaryIO,
) -> None:
    """A static PNG of a run's gap shares (for reports)."""
    frames = gap_map_frames(db, settings, principal, run)
    shapes, title = frames.neighbourhoods, f"{frames.title} (radius {frames.radius_m:,.0f} m)"
    legend = "Share of need unmet, %"
    if not frames.unmet_computable:
        # the PNG shades gap share; without it, the share beyond reach (as the browser map does)
        shapes = shapes.assign(gap_share=1.0 - shapes["covered_share"])
        title = f"{title}: share beyond reach, {frames.capacity_notes[0]}"
        legend = "Share beyond reach, %"
    gap_map_png(shapes, out, title, legend_title=legend)


def network_map_html(db: Session, settings: Settings, principal: Principal, city: str | int) -> str:
    """The relationship-network map of a city's published assets and links, as the reader may see them."""
    network = network_view(db, settings, principal, city)
    metrics = network.metrics.assets
    nodes = network.assets.assign(
        degree=metrics["degree"].to_numpy(),
        betweenness=metrics["betweenness"].to_numpy(),
        broker=metrics["broker"].to_numpy(),
        isolated=metrics["isolated"].to_numpy(),
    )
    try:
        m = network_map(
            nodes,
            _links_between(network),
            title=f"Relationship network of {network.city.name}",
            tiles_url=settings.tiles_url or None,
            tiles_attribution=settings.tiles_attribution,
        )
    except AnalysisInputError as exc:
        raise InvalidInput(str(exc), field="city") from None
    return render_html(m)
