"""Walking-time catchments (isochrones): the streets reachable within t minutes, drawn as a polygon.

Walking speed 80 m per minute (4.8 km/h). From the asset's point, the walk goes straight to its street and
along the streets; every edge is reached from whichever end is nearer, in part when the time runs out on it.
The reached pieces of street are buffered by `buffer_m` (default 50 m: the houses along a street) and merged,
so the polygon follows the streets and stops at a river without a bridge.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import shapely
from scipy.sparse import csgraph
from shapely.geometry.base import BaseGeometry
from shapely.ops import substring

from geo.crs import AnalysisInputError
from geo.streets.distance import _virtual_graph
from geo.streets.graph import FloatArray, StreetGraph
from geo.streets.snap import snap_points

WALKING_SPEED_M_PER_MIN = 80.0
DEFAULT_MINUTES = (5, 10, 15)
DEFAULT_BUFFER_M = 50.0


def isochrones(
    graph: StreetGraph,
    xy: FloatArray,
    minutes: Sequence[float] = DEFAULT_MINUTES,
    *,
    speed_m_per_min: float = WALKING_SPEED_M_PER_MIN,
    buffer_m: float = DEFAULT_BUFFER_M,
    max_snap_m: float | None = None,
) -> list[tuple[float, BaseGeometry]]:
    """(minutes, polygon in the graph's CRS) for one point (x, y); an empty polygon when it is off the network."""
    times = sorted(float(m) for m in minutes)
    if not times or times[0] <= 0 or not np.isfinite(times).all():
        raise AnalysisInputError(f"isochrone minutes must be positive numbers, got {list(minutes)}")
    if not (np.isfinite(speed_m_per_min) and speed_m_per_min > 0):
        raise AnalysisInputError(
            f"walking speed must be a positive number of metres a minute, got {speed_m_per_min!r}"
        )
    snapped = snap_points(graph, np.asarray(xy, dtype=np.float64).reshape(1, 2), max_snap_m=max_snap_m)
    if not snapped.on_network[0]:
        return [(t, shapely.Polygon()) for t in times]
    matrix, (own,) = _virtual_graph(graph, snapped)
    budget = times[-1] * speed_m_per_min
    dist = csgraph.dijkstra(matrix, directed=True, indices=int(own[0]), limit=budget)
    d_source, d_target = dist[graph.edge_source], dist[graph.edge_target]
    length = graph.edge_length_m
    out: list[tuple[float, BaseGeometry]] = []
    origin = tuple(np.asarray(xy, dtype=np.float64).reshape(2))
    start = tuple(snapped.snapped_xy[0])
    step = float(snapped.snap_m[0])
    own_edge = int(snapped.edge[0])
    along = float(snapped.along_m[0])
    for t in times:
        reach = t * speed_m_per_min
        pieces: list[BaseGeometry] = []
        touched = np.flatnonzero((d_source <= reach) | (d_target <= reach))
        for e in touched:
            line = graph.edge_geometry[e]
            from_source = max(0.0, min(length[e], reach - d_source[e])) if np.isfinite(d_source[e]) else 0.0
            from_target = max(0.0, min(length[e], reach - d_target[e])) if np.isfinite(d_target[e]) else 0.0
            if from_source + from_target >= length[e]:
                pieces.append(line)
                continue
            if from_source > 0:
                pieces.append(substring(line, 0.0, from_source))
            if from_target > 0:
                pieces.append(substring(line, length[e] - from_target, length[e]))
        left = reach - step
        if left > 0:  # the point's own edge, walked both ways from where the point meets it
            line = graph.edge_geometry[own_edge]
            pieces.append(substring(line, max(0.0, along - left), min(length[own_edge], along + left)))
            pieces.append(shapely.LineString([origin, start]) if step > 0 else shapely.Point(start))
        if not pieces:
            out.append((t, shapely.Polygon()))
            continue
        merged = shapely.union_all(shapely.buffer(np.asarray(pieces, dtype=object), buffer_m, quad_segs=4))
        out.append((t, merged))
    return out
