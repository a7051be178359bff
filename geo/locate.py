"""Which neighbourhood a location falls in: the smallest area that covers it (districts contain neighbourhoods)."""

from __future__ import annotations

import numpy as np
import shapely
from numpy.typing import NDArray

NO_AREA = -1


def anchor_points(geometries: NDArray[np.object_]) -> NDArray[np.object_]:
    """The point that places each geometry: a point itself, else a point on its surface (missing stays missing)."""
    kinds = shapely.get_type_id(geometries)
    out = np.asarray(geometries, dtype=object).copy()
    other = (kinds > 0) & ~shapely.is_empty(geometries)
    if other.any():
        out[other] = shapely.point_on_surface(geometries[other])
    return out


def smallest_covering(
    points: NDArray[np.object_], areas: NDArray[np.object_], area_ids: NDArray[np.integer]
) -> NDArray[np.int64]:
    """For each point, the id of the smallest of `areas` covering it (boundary included; equal sizes: the lower
    id), or NO_AREA. Sizes are planar, in the units of the coordinates, as PostGIS's ST_Area on the same geometry.

    One STRtree query over all points for the areas whose box holds each point, then one vectorised `covers` test
    with each area prepared once (a predicate query in the tree would prepare the points instead: 15x slower).
    """
    points = np.asarray(points, dtype=object)
    out = np.full(len(points), NO_AREA, dtype=np.int64)
    if len(points) == 0 or len(areas) == 0:
        return out
    areas = np.asarray(areas, dtype=object)
    ids = np.asarray(area_ids, dtype=np.int64)
    usable = ~shapely.is_missing(points) & ~shapely.is_empty(points)
    located = points[usable]
    point_at, area_at = shapely.STRtree(areas).query(located)
    if len(point_at) == 0:
        return out
    shapely.prepare(areas)
    inside = shapely.covers(areas[area_at], located[point_at])
    point_at, area_at = point_at[inside], area_at[inside]
    if len(point_at) == 0:
        return out
    sizes = shapely.area(areas)
    # Per point: candidates ordered by size, then id; the first is the one kept.
    order = np.lexsort((ids[area_at], sizes[area_at], point_at))
    point_at, area_at = point_at[order], area_at[order]
    first = np.flatnonzero(np.r_[True, point_at[1:] != point_at[:-1]])
    out[np.flatnonzero(usable)[point_at[first]]] = ids[area_at[first]]
    return out
