"""Snapping points to their nearest street edge, with the snapping distance kept."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from numpy.typing import NDArray

from geo.crs import AnalysisInputError
from geo.streets.graph import FloatArray, IntArray, StreetGraph


@dataclass(frozen=True)
class Snapped:
    """Where each point meets the network: its edge (-1: none), metres along it, and the straight step there.

    A walk from a point starts with `snap_m` metres straight to the street, then `along_m` metres to the
    edge's source node or `edge_length - along_m` to its target. Points farther than the snapping limit, or
    with no network at all, have edge -1 and reach nothing.
    """

    edge: IntArray
    along_m: FloatArray
    snap_m: FloatArray
    snapped_xy: FloatArray

    def __len__(self) -> int:
        return len(self.edge)

    @property
    def on_network(self) -> NDArray[np.bool_]:
        return self.edge >= 0


def snap_points(graph: StreetGraph, xy: FloatArray, *, max_snap_m: float | None = None) -> Snapped:
    """Snap (n, 2) x/y in metres to the nearest edge of `graph` (ties: the lowest edge index)."""
    xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
    n = len(xy)
    if max_snap_m is not None and not (np.isfinite(max_snap_m) and max_snap_m >= 0):
        raise AnalysisInputError(f"the snapping limit must be a number of metres >= 0, got {max_snap_m!r}")
    edge = np.full(n, -1, dtype=np.int64)
    along = np.full(n, np.nan)
    snap = np.full(n, np.nan)
    snapped = np.full((n, 2), np.nan)
    if n == 0 or graph.n_edges == 0:
        return Snapped(edge, along, snap, snapped)
    points = shapely.points(xy)
    tree = shapely.STRtree(graph.edge_geometry)
    found, distance = tree.query_nearest(
        points, max_distance=max_snap_m, return_distance=True, all_matches=True
    )
    point_i, edge_j = found
    # all_matches gives every edge at the same nearest distance: keep the lowest edge index per point.
    order = np.lexsort((edge_j, point_i))
    point_i, edge_j, distance = point_i[order], edge_j[order], distance[order]
    first = np.r_[True, point_i[1:] != point_i[:-1]] if len(point_i) else np.empty(0, dtype=bool)
    point_i, edge_j, distance = point_i[first], edge_j[first], distance[first]
    lines = graph.edge_geometry[edge_j]
    at = shapely.line_locate_point(lines, points[point_i])
    edge[point_i] = edge_j
    along[point_i] = np.clip(at, 0.0, graph.edge_length_m[edge_j])
    snap[point_i] = distance
    snapped[point_i] = shapely.get_coordinates(shapely.line_interpolate_point(lines, at))
    return Snapped(edge, along, snap, snapped)
