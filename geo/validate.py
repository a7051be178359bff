"""Geometry checks and repair before storage: valid, 2D, the layer's geometry type, RFC 7946 orientation.

Decisions, applied per row and always reported:
- null geometry: an error where the layer needs one; empty geometry: always an error ("empty geometry").
- Z and M values are dropped (one info problem for the layer); storage is 2D.
- invalid geometry (bow-tie, self-intersection, ring with fewer than 4 points) is repaired with
  make_valid(method="structure") and reported as a warning; if nothing is left the row is an error.
- polygonal layers store MultiPolygon: a Polygon is promoted. A GeometryCollection whose parts are all
  polygons is what a multipolygon means, so it is merged into one MultiPolygon (warning); a collection that
  mixes polygons with points or lines is refused, because which part was meant cannot be known.
- point layers store Point: a MultiPoint with one point becomes that point; more points, lines or polygons
  are refused.
- polygon exteriors end counter-clockwise and holes clockwise (RFC 7946).
Rows with an error keep their place in the frame with a null geometry; the problems say why.
"""

from __future__ import annotations

from typing import Literal

import geopandas as gpd
import numpy as np
import shapely

from geo.io.errors import Problem
from geo.problems import RowProblems

GeometryKind = Literal["point", "polygon", "point_or_polygon"]
GEOMETRY_KINDS: tuple[str, ...] = ("point", "polygon", "point_or_polygon")

_POINT, _LINESTRING, _LINEARRING, _POLYGON = 0, 1, 2, 3
_MULTIPOINT, _MULTILINESTRING, _MULTIPOLYGON, _COLLECTION = 4, 5, 6, 7
_TYPE_WORDS = {
    _POINT: "a point",
    _LINESTRING: "a line",
    _LINEARRING: "a line",
    _POLYGON: "a polygon",
    _MULTIPOINT: "a multipoint",
    _MULTILINESTRING: "lines",
    _MULTIPOLYGON: "a multipolygon",
    _COLLECTION: "a geometry collection",
}


def prepare_geometries(
    frame: gpd.GeoDataFrame, expected: GeometryKind | None, *, geometry_optional: bool = False
) -> tuple[gpd.GeoDataFrame, list[Problem]]:
    """Repair, force 2D, check and convert geometries to the layer's type (see module doc); CRS is kept as is.

    expected: "point" (Point), "polygon" (MultiPolygon), "point_or_polygon" (Point or MultiPolygon) or None
    (any type). geometry_optional: rows without geometry are fine (resources).
    """
    if not isinstance(frame, gpd.GeoDataFrame):
        raise TypeError(f"'frame' should be a GeoDataFrame, got {type(frame).__name__}")
    if expected is not None and expected not in GEOMETRY_KINDS:
        raise ValueError(
            f"unknown geometry kind {expected!r}: use one of {', '.join(GEOMETRY_KINDS)} or None"
        )
    report = RowProblems.for_frame(frame)
    geometries = np.array(frame.geometry.to_numpy(), dtype=object, copy=True)

    missing = shapely.is_missing(geometries)
    if expected is not None and not geometry_optional:
        report.add(missing, "geometry", "no geometry")
    empty = ~missing & shapely.is_empty(geometries)
    report.add(empty, "geometry", "empty geometry")
    present = ~missing & ~empty

    with_z_or_m = present & (shapely.has_z(geometries) | _has_m(geometries))
    if with_z_or_m.any():
        geometries[with_z_or_m] = shapely.force_2d(geometries[with_z_or_m])
        report.add_for_layer(
            "geometry",
            f"Z/M values dropped from {int(with_z_or_m.sum()):,} features (geometries are stored in 2D)",
            "info",
        )

    invalid = np.flatnonzero(present & ~shapely.is_valid(geometries))
    if len(invalid):
        reasons = shapely.is_valid_reason(geometries[invalid])
        repaired = shapely.make_valid(geometries[invalid], method="structure", keep_collapsed=False)
        collapsed = shapely.is_empty(repaired) | shapely.is_missing(repaired)
        report.add_at(
            invalid[collapsed],
            "geometry",
            [f"invalid geometry ({r}) has nothing left once repaired" for r in reasons[collapsed]],
        )
        report.add_at(
            invalid[~collapsed],
            "geometry",
            [f"invalid geometry repaired ({r})" for r in reasons[~collapsed]],
            "warning",
        )
        geometries[invalid] = repaired

    if expected is not None:
        geometries = _convert_types(geometries, present & ~report.refused, expected, report)

    polygonal = np.isin(shapely.get_type_id(geometries), (_POLYGON, _MULTIPOLYGON))
    geometries[polygonal] = shapely.orient_polygons(geometries[polygonal], exterior_cw=False)
    geometries[report.refused] = None
    out = frame.copy()
    out = out.set_geometry(gpd.GeoSeries(geometries, index=frame.index, crs=frame.crs))
    return out, report.problems


def _has_m(geometries: np.ndarray) -> np.ndarray:
    has_m = getattr(shapely, "has_m", None)  # shapely >= 2.1
    return has_m(geometries) if has_m is not None else np.zeros(len(geometries), dtype=bool)


def _convert_types(
    geometries: np.ndarray, usable: np.ndarray, expected: GeometryKind, report: RowProblems
) -> np.ndarray:
    kinds = np.where(usable, shapely.get_type_id(geometries), -1)
    wants_points = expected in ("point", "point_or_polygon")
    wants_polygons = expected in ("polygon", "point_or_polygon")
    wanted = {"point": "a point", "polygon": "a polygon", "point_or_polygon": "a point or a polygon"}[
        expected
    ]

    if wants_points:
        multi = np.flatnonzero(kinds == _MULTIPOINT)
        single = multi[shapely.get_num_geometries(geometries[multi]) == 1]
        geometries[single] = shapely.get_geometry(geometries[single], 0)
        kinds[single] = _POINT
        several = np.setdiff1d(multi, single)
        report.add_at(
            several,
            "geometry",
            [
                f"{shapely.get_num_geometries(geometries[i])} points in one row; one point is expected"
                for i in several
            ],
        )
        kinds[several] = -1
    if wants_polygons:
        single = np.flatnonzero(kinds == _POLYGON)
        geometries[single] = shapely.multipolygons(geometries[single], indices=np.arange(len(single)))
        kinds[single] = _MULTIPOLYGON
        for index in np.flatnonzero(kinds == _COLLECTION):
            parts = shapely.get_parts(geometries[index])
            part_kinds = shapely.get_type_id(parts)
            if len(parts) and np.isin(part_kinds, (_POLYGON, _MULTIPOLYGON)).all():
                merged = shapely.union_all(parts)
                if shapely.get_type_id(merged) == _POLYGON:
                    merged = shapely.multipolygons([merged])
                geometries[index] = merged
                kinds[index] = _MULTIPOLYGON
                report.add_at(
                    np.array([index]),
                    "geometry",
                    "a geometry collection of polygons merged into one multipolygon",
                    "warning",
                )
            else:
                report.add_at(
                    np.array([index]),
                    "geometry",
                    "a geometry collection that mixes polygons with points or lines; split it or keep only the "
                    "polygons",
                )
                kinds[index] = -1

    accepted = (
        {_POINT}
        if expected == "point"
        else {_MULTIPOLYGON}
        if expected == "polygon"
        else {
            _POINT,
            _MULTIPOLYGON,
        }
    )
    refused = np.flatnonzero((kinds >= 0) & ~np.isin(kinds, list(accepted)))
    report.add_at(
        refused,
        "geometry",
        [f"{_TYPE_WORDS.get(int(kinds[i]), 'a geometry')} where {wanted} is expected" for i in refused],
    )
    return geometries
