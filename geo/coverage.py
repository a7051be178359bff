"""Distance coverage (ANALYSIS.md (a)): nearest-asset distance, pairs within a radius, summaries.

All coordinates here are x/y in metres of one projected CRS (see geo.crs); callers project first.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray
from scipy.spatial import cKDTree

from geo.crs import AnalysisInputError, require_projected
from geo.reach_grid import grid_pairs

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

# Demand units per KD-tree chunk in pairs_within: bounds the temporary (i, j, d) records scipy materialises.
_PAIR_CHUNK_UNITS = 200_000
# Trees are rebuilt on every run: sliding-midpoint splits without node compaction build about twice as fast
# as scipy's defaults and answer radius queries as quickly (measured on clustered synthetic cities).
_TREE_OPTIONS: dict[str, Any] = {"balanced_tree": False, "compact_nodes": False}


class AnalysisStopped(RuntimeError):
    """Work stopped before it finished: it took longer than its time limit, or whoever asked for it left."""

    def __init__(self, message: str, *, limit_s: float | None = None, cancelled: bool = False) -> None:
        super().__init__(message)
        self.limit_s = limit_s
        self.cancelled = cancelled


@dataclass(frozen=True)
class Deadline:
    """When work must stop (time.monotonic() seconds) and, optionally, an event set when its caller has left.

    Checked between stages and iterations (cooperatively): a single numpy or scipy call is not interrupted.
    """

    limit_s: float
    at: float
    cancel: threading.Event | None = None

    @classmethod
    def after(cls, seconds: float, *, cancel: threading.Event | None = None) -> Deadline:
        """A deadline `seconds` from now."""
        return cls(limit_s=float(seconds), at=time.monotonic() + float(seconds), cancel=cancel)

    def remaining_s(self) -> float:
        """Seconds left (0 when the time is up)."""
        return max(0.0, self.at - time.monotonic())

    def check(self) -> None:
        """Raise AnalysisStopped when the caller has left or the time is up."""
        if self.cancel is not None and self.cancel.is_set():
            raise AnalysisStopped("stopped: whoever asked for this no longer waits for it", cancelled=True)
        if time.monotonic() >= self.at:
            raise AnalysisStopped(f"took longer than {self.limit_s:g} s", limit_s=self.limit_s)


def check_deadline(deadline: Deadline | None) -> None:
    """Deadline.check, for optional deadlines."""
    if deadline is not None:
        deadline.check()


@dataclass(frozen=True)
class ReachPairs:
    """Demand-asset pairs within a radius: arrays of unit index, asset index and distance in metres."""

    unit_index: NDArray[np.int32]
    asset_index: NDArray[np.int32]
    distance_m: FloatArray

    def __len__(self) -> int:
        return int(self.unit_index.size)

    def subset(self, keep: BoolArray) -> ReachPairs:
        """Return the pairs where `keep` is true."""
        return ReachPairs(self.unit_index[keep], self.asset_index[keep], self.distance_m[keep])


def points_xy(points: gpd.GeoDataFrame | gpd.GeoSeries, crs: object, *, what: str = "points") -> FloatArray:
    """Return an (n, 2) array of x/y in metres of point geometries projected to the projected `crs`."""
    target = require_projected(crs)
    geoms = points.geometry if isinstance(points, gpd.GeoDataFrame) else points
    if geoms.crs is None:
        raise AnalysisInputError(f"{what} have no CRS: set it first, e.g. .set_crs('EPSG:4326')")
    values = geoms.values
    bad = np.flatnonzero(shapely.is_missing(values) | shapely.is_empty(values))
    if bad.size:
        raise AnalysisInputError(
            f"{bad.size} of the {what} have no location (rows {bad[:5].tolist()}): "
            "give them a point or leave them out"
        )
    not_points = np.flatnonzero(shapely.get_type_id(values) != shapely.GeometryType.POINT)
    if not_points.size:
        raise AnalysisInputError(
            f"{not_points.size} of the {what} are not points (rows {not_points[:5].tolist()}): "
            "use their representative point, e.g. gdf.geometry.representative_point()"
        )
    projected = geoms.to_crs(target).values
    xy = shapely.get_coordinates(projected).astype(np.float64)
    if not np.isfinite(xy).all():
        raise AnalysisInputError(f"some {what} fall outside the area where {target.to_string()} is defined")
    return xy


def distances_m(a_xy: FloatArray, b_xy: FloatArray) -> FloatArray:
    """Euclidean distance in metres between matching rows of two (n, 2) arrays of projected x/y."""
    # One formula for every distance in the analysis, so a tie at exactly the radius is decided the same way
    # by the nearest-asset query, the reach pairs and the site-suggestion coverage.
    return np.hypot(a_xy[:, 0] - b_xy[:, 0], a_xy[:, 1] - b_xy[:, 1])


def nearest_distance_m(units_xy: FloatArray, assets_xy: FloatArray) -> tuple[FloatArray, IntArray]:
    """Distance in metres from each unit to its nearest asset (projected x/y) and its index (-1 if none)."""
    n_units = len(units_xy)
    if len(assets_xy) == 0:
        return np.full(n_units, np.nan), np.full(n_units, -1, dtype=np.int64)
    if n_units == 0:
        return np.empty(0), np.empty(0, dtype=np.int64)
    _, nearest = cKDTree(assets_xy).query(units_xy, k=1)
    nearest = np.asarray(nearest, dtype=np.int64)
    return distances_m(units_xy, assets_xy[nearest]), nearest


def pairs_within(units_xy: FloatArray, assets_xy: FloatArray, radius_m: float) -> ReachPairs:
    """All (unit, asset) pairs at most `radius_m` metres apart (ties included), from projected x/y arrays.

    Found by a grid over the smaller of the two sets (geo.reach_grid): pairs come sorted by unit, then asset
    (by asset, then unit, when there are more assets than units). Inputs a grid does not suit (non-finite
    coordinates, extreme extents) go to a KD-tree search, whose pairs come grouped by chunk of units. The
    order is always the same for the same input.
    """
    radius_m = check_radius_m(radius_m)
    empty = ReachPairs(np.empty(0, np.int32), np.empty(0, np.int32), np.empty(0))
    if len(units_xy) == 0 or len(assets_xy) == 0:
        return empty
    units_xy = np.asarray(units_xy, dtype=np.float64)
    assets_xy = np.asarray(assets_xy, dtype=np.float64)
    reach_m = radius_m + search_band_m(radius_m)
    if len(assets_xy) <= len(units_xy):
        found = grid_pairs(units_xy, assets_xy, reach_m)
        if found is not None:
            unit_i, asset_j, dist = found
    else:
        found = grid_pairs(assets_xy, units_xy, reach_m)
        if found is not None:
            asset_j, unit_i, dist = found
    if found is None:
        return _kdtree_pairs(units_xy, assets_xy, radius_m)
    np.sqrt(dist, out=dist)
    return _settle_edge(units_xy, assets_xy, radius_m, unit_i, asset_j, dist)


def search_band_m(radius_m: float) -> float:
    # Searches run a hair wider than the radius; pairs that close to the radius get their distance from
    # distances_m, so a tie is decided exactly as the nearest-asset query decides it.
    return radius_m * 1e-9 + 1e-6


def _settle_edge(
    units_xy: FloatArray,
    assets_xy: FloatArray,
    radius_m: float,
    unit_i: NDArray[np.int32],
    asset_j: NDArray[np.int32],
    dist: FloatArray,
) -> ReachPairs:
    """Pairs found within the radius plus the search band: recompute the distance of those near the radius
    with distances_m (in place) and drop the ones it puts beyond."""
    band_m = search_band_m(radius_m)
    near_edge = np.flatnonzero(dist >= radius_m - band_m)
    if near_edge.size:
        dist[near_edge] = distances_m(units_xy[unit_i[near_edge]], assets_xy[asset_j[near_edge]])
        if (dist[near_edge] > radius_m).any():
            keep = dist <= radius_m
            unit_i, asset_j, dist = unit_i[keep], asset_j[keep], dist[keep]
    return ReachPairs(unit_i, asset_j, dist)


def _kdtree_pairs(units_xy: FloatArray, assets_xy: FloatArray, radius_m: float) -> ReachPairs:
    """pairs_within by two KD-trees (assets, then units chunk by chunk) and scipy's sparse distance matrix."""
    asset_tree = cKDTree(assets_xy, **_TREE_OPTIONS)
    band_m = search_band_m(radius_m)
    parts_i, parts_j, parts_d = [], [], []
    for start in range(0, len(units_xy), _PAIR_CHUNK_UNITS):
        chunk = units_xy[start : start + _PAIR_CHUNK_UNITS]
        unit_tree = cKDTree(chunk, **_TREE_OPTIONS)
        found = unit_tree.sparse_distance_matrix(asset_tree, radius_m + band_m, output_type="ndarray")
        unit_i = found["i"].astype(np.int32) + np.int32(start)
        asset_j = found["j"].astype(np.int32)
        dist = found["v"].copy()
        del found
        part = _settle_edge(units_xy, assets_xy, radius_m, unit_i, asset_j, dist)
        parts_i.append(part.unit_index)
        parts_j.append(part.asset_index)
        parts_d.append(part.distance_m)
    # Grouped by unit chunk; the order within a chunk is the KD-tree's (deterministic for the same input).
    if len(parts_i) == 1:
        return ReachPairs(parts_i[0], parts_j[0], parts_d[0])
    return ReachPairs(np.concatenate(parts_i), np.concatenate(parts_j), np.concatenate(parts_d))


def check_radius_m(radius_m: float) -> float:
    """Return `radius_m` (metres) as a float, or raise if it is not a positive finite number."""
    value = float(radius_m)
    if not np.isfinite(value) or value <= 0:
        raise AnalysisInputError(f"radius_m must be a positive number of metres, got {radius_m!r}")
    return value


def coverage_by_neighbourhood(
    neighbourhood_index: IntArray,
    n_neighbourhoods: int,
    need: FloatArray,
    distance_m: FloatArray,
    radius_m: float,
    pairs: ReachPairs,
    *,
    desert_min_people: float,
    desert_min_share: float,
) -> pd.DataFrame:
    """Per-neighbourhood distance coverage (rows 0..n-1) from unit need, nearest distance (m) and reach pairs.

    Columns: need, covered_need, covered_share, mean_distance_m, uncovered_need, assets_within_radius, desert.
    `assets_within_radius` counts distinct assets within `radius_m` of at least one demand unit of the
    neighbourhood (so an asset across the border counts). A desert has need > 0 and an uncovered need of at
    least `desert_min_people` people or at least `desert_min_share` of its need. Shares and means are NaN
    without need.
    """
    covered = distance_m <= radius_m  # NaN distance (no asset at all) compares False: not covered
    total_need = np.bincount(neighbourhood_index, weights=need, minlength=n_neighbourhoods)
    covered_need = np.bincount(neighbourhood_index, weights=need * covered, minlength=n_neighbourhoods)
    weighted_distance = np.bincount(
        neighbourhood_index, weights=need * distance_m, minlength=n_neighbourhoods
    )
    has_need = total_need > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        covered_share = np.where(has_need, covered_need / total_need, np.nan)
        mean_distance_m = np.where(has_need, weighted_distance / total_need, np.nan)
    uncovered_need = total_need - covered_need
    with np.errstate(invalid="ignore", divide="ignore"):
        uncovered_share = np.where(has_need, uncovered_need / total_need, np.nan)
    desert = has_need & ((uncovered_need >= desert_min_people) | (uncovered_share >= desert_min_share))

    n_assets = int(pairs.asset_index.max()) + 1 if len(pairs) else 1
    pair_nb = neighbourhood_index[pairs.unit_index].astype(np.int64)
    distinct = np.unique(pair_nb * n_assets + pairs.asset_index)
    assets_within = np.bincount(distinct // n_assets, minlength=n_neighbourhoods)
    return pd.DataFrame(
        {
            "need": total_need,
            "covered_need": covered_need,
            "covered_share": covered_share,
            "mean_distance_m": mean_distance_m,
            "uncovered_need": uncovered_need,
            "assets_within_radius": assets_within.astype(np.int64),
            "desert": desert,
        }
    )
