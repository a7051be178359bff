"""The walking layers of a gap map: units the straight line calls covered but a walk does not reach, and an
asset's walking-time catchments (isochrones), both in the reader's view."""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import h3
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import mapping
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.db.models import AnalysisCell, AnalysisRun, Asset, AssetServiceType, City
from app.db.queries import asset_shown_geom, asset_suppressed
from app.db.visibility import asset_is_private, visible
from app.errors import Forbidden, InvalidInput, NotFound
from app.policy import Principal
from app.services.analysis import inputs as reading
from app.services.analysis.compute import CELL_VALUES
from app.services.analysis.outputs import view_results
from app.services.streets import require_street_network
from app.settings import Settings
from geo.crs import require_projected
from geo.streets import WALKING_SPEED_M_PER_MIN, isochrones
from geo.streets.isochrone import DEFAULT_MINUTES
from geo.streets.snap import snap_points

WGS84 = reading.WGS84
# The walking times an isochrone request may ask for: at most this many, each at most MAX_MINUTES.
MAX_ISOCHRONES = 6
MAX_MINUTES = 60.0
PRIVATE_REFUSED = (
    "isochrones are not drawn for people (individual assets) or sensitive places: the catchment would show "
    "where they are; ask for a community space, a service or an institution"
)
# Parameters two runs must share to be the same analysis measured two ways.
COMPARED_PARAMS = (
    "group",
    "radius_m",
    "decay",
    "step_zones_m",
    "step_weights",
    "resolution",
    "vulnerable_weights",
    "needs_weight",
    "needs_radius_m",
    "desert_min_people",
    "desert_min_share",
    "default_capacity",
)


def straight_twin(db: Session, run: AnalysisRun) -> AnalysisRun | None:
    """The latest succeeded straight-line run with the same parameters on the same data as a run on foot."""
    record = {key: run.params[key] for key in COMPARED_PARAMS if key in run.params}
    return db.scalar(
        select(AnalysisRun)
        .where(
            AnalysisRun.city_id == run.city_id,
            AnalysisRun.service_type_id == run.service_type_id,
            AnalysisRun.include_pending.is_(run.include_pending),
            AnalysisRun.status == "succeeded",
            AnalysisRun.data_version == run.data_version,
            AnalysisRun.params.contains({**record, "distance": "straight"}),
        )
        .order_by(AnalysisRun.id.desc())
        .limit(1)
    )


def _cells(db: Session, principal: Principal, run: AnalysisRun) -> pd.DataFrame:
    """unit_id, need, distance_m, covered, lon, lat of a run's units, in the reader's view."""
    overrides = view_results(run, principal)["cells"]
    rows = db.execute(
        select(
            AnalysisCell.unit_id,
            AnalysisCell.need,
            AnalysisCell.distance_m,
            AnalysisCell.covered,
            func.ST_X(AnalysisCell.geom),
            func.ST_Y(AnalysisCell.geom),
        ).where(AnalysisCell.run_id == run.id)
    ).all()
    frame = pd.DataFrame(rows, columns=["unit_id", "need", "distance_m", "covered", "lon", "lat"])
    if overrides and len(frame):
        at = {name: CELL_VALUES.index(name) for name in ("distance_m", "covered")}
        changed = frame["unit_id"].isin(list(overrides))
        for name, index in at.items():
            frame.loc[changed, name] = [overrides[u][index] for u in frame.loc[changed, "unit_id"]]
    return frame.set_index("unit_id")


def _cell_shape(unit_id: str, lon: float, lat: float) -> Any:
    if h3.is_valid_cell(unit_id):
        return shapely.Polygon([(lng, la) for la, lng in h3.cell_to_boundary(unit_id)])
    return shapely.Point(lon, lat)


def straight_not_walking(
    db: Session, principal: Principal, run: AnalysisRun
) -> tuple[gpd.GeoDataFrame | None, str]:
    """Units of a run on foot that the straight-line twin covers but no walk reaches, and a note saying so."""
    twin = straight_twin(db, run)
    radius = float(run.params["radius_m"])
    if twin is None:
        return None, (
            "To see where the straight line misleads, run the same analysis with distance=straight on the same "
            "data: the map then shows the units it covers that are beyond reach on foot"
        )
    on_foot, straight = _cells(db, principal, run), _cells(db, principal, twin)
    both = on_foot.join(straight[["covered"]].rename(columns={"covered": "covered_straight"}), how="inner")
    misled = both[both["covered_straight"].astype(bool) & ~both["covered"].astype(bool)]
    people = float(misled["need"].sum())
    frame = gpd.GeoDataFrame(
        {
            "need": misled["need"].to_numpy(dtype=np.float64),
            "walk_m": misled["distance_m"].to_numpy(dtype=float),
        },
        geometry=gpd.GeoSeries(
            [
                _cell_shape(u, lon, lat)
                for u, lon, lat in zip(misled.index, misled["lon"], misled["lat"], strict=True)
            ],
            crs=WGS84,
        ),
    )
    note = (
        f"{people:,.0f} people of need within {radius:,.0f} m as the crow flies (run {twin.id}) are farther "
        f"on foot, in {len(frame):,} demand units"
    )
    return frame, note


def asset_isochrones(
    db: Session, settings: Settings, principal: Principal, city: City, run: AnalysisRun, asset_id: int
) -> gpd.GeoDataFrame:
    """Walking-time catchments (5, 10 and 15 minutes) of one of the run's assets, from where the reader sees it."""
    shown = asset_shown_geom(principal, settings)
    row = db.execute(
        select(Asset.name, func.ST_X(shown), func.ST_Y(shown))
        .join(AssetServiceType, AssetServiceType.asset_id == Asset.id)
        .where(
            Asset.id == asset_id,
            Asset.city_id == run.city_id,
            AssetServiceType.service_type_id == run.service_type_id,
            Asset.status.in_(reading.statuses(run.include_pending)),
            ~asset_suppressed(principal, settings),
        )
    ).first()
    if row is None:
        raise NotFound(f"no asset {asset_id} of this run's service type in {city.name}")
    name, lon, lat = row
    point = gpd.GeoSeries([shapely.Point(lon, lat)], crs=WGS84)
    crs = require_projected(city.crs or point.estimate_utm_crs())
    network = require_street_network(db, city, crs)
    xy = shapely.get_coordinates(point.to_crs(crs).values)[0]
    found = isochrones(network.graph, xy, DEFAULT_MINUTES, speed_m_per_min=WALKING_SPEED_M_PER_MIN)
    return gpd.GeoDataFrame(
        {"minutes": [m for m, _ in found], "name": name},
        geometry=gpd.GeoSeries([p for _, p in found], crs=crs),
    ).to_crs(WGS84)


def parse_minutes(text: str | None) -> list[float]:
    """'5,10,15' as sorted distinct positive minutes (default 5, 10, 15), or a 422 saying what is allowed."""
    if text is None or not text.strip():
        return [float(m) for m in DEFAULT_MINUTES]
    values = []
    for part in text.split(","):
        try:
            value = float(part.strip())
        except ValueError:
            value = float("nan")
        if not (np.isfinite(value) and 0 < value <= MAX_MINUTES):
            raise InvalidInput(
                f"minutes takes numbers above 0 and at most {MAX_MINUTES:g} separated by commas, e.g. 5,10,15; "
                f"got {part.strip()[:40]!r}",
                field="minutes",
                location="query",
            )
        values.append(value)
    found = sorted(set(values))
    if len(found) > MAX_ISOCHRONES:
        raise InvalidInput(
            f"ask for at most {MAX_ISOCHRONES} walking times at once, got {len(found)}",
            field="minutes",
            location="query",
        )
    return found


def city_asset_isochrones(
    db: Session, settings: Settings, principal: Principal, city: City, asset_id: int, minutes: list[float]
) -> dict[str, Any]:
    """Walking-time catchments of one asset of `city` on its street network, as a GeoJSON FeatureCollection:
    one polygon per walking time (minutes, network id, how far the asset is from its street).

    People and sensitive places are refused (403): a catchment drawn around one shows where it is. An asset
    the caller may not see is not found (404); a city without a street network is a 422 naming the fix.
    """
    row = db.execute(
        select(Asset.name, asset_is_private(), func.ST_X(Asset.geom), func.ST_Y(Asset.geom)).where(
            Asset.id == asset_id,
            Asset.city_id == city.id,
            visible(Asset, principal, "all"),
            ~asset_suppressed(principal, settings),
        )
    ).first()
    if row is None:
        raise NotFound(f"no asset {asset_id} in {city.name} that you may see: check the id (GET /api/assets)")
    name, private, lon, lat = row
    if private:
        raise Forbidden(PRIVATE_REFUSED)
    point = gpd.GeoSeries([shapely.Point(lon, lat)], crs=WGS84)
    crs = require_projected(city.crs or point.estimate_utm_crs())
    network = require_street_network(db, city, crs)
    xy = shapely.get_coordinates(point.to_crs(crs).values)[0]
    snapped = snap_points(network.graph, xy.reshape(1, 2))
    on_network = bool(snapped.on_network[0])
    snap_m = round(float(snapped.snap_m[0]), 1) if on_network else None
    found = isochrones(network.graph, xy, minutes, speed_m_per_min=WALKING_SPEED_M_PER_MIN)
    shapes = gpd.GeoSeries([polygon for _, polygon in found], crs=crs).to_crs(WGS84)
    network_id = network.about.get("network_id")
    features = [
        {
            "type": "Feature",
            "geometry": mapping(shape) if not shape.is_empty else None,
            "properties": {
                "asset_id": asset_id,
                "name": name,
                "minutes": minutes_,
                "walk_m": minutes_ * WALKING_SPEED_M_PER_MIN,
                "network_id": network_id,
                "snap_m": snap_m,
                "on_network": on_network,
            },
        }
        for (minutes_, _), shape in zip(found, shapes, strict=True)
    ]
    return {
        "type": "FeatureCollection",
        "features": features,
        "asset_id": asset_id,
        "name": name,
        "city": city.name,
        "speed_m_per_min": WALKING_SPEED_M_PER_MIN,
        "network": {key: value for key, value in network.about.items()},
        "snap_m": snap_m,
        "on_network": on_network,
    }
