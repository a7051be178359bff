"""Geometries of a read source: decoded from WKB (2D points kept as coordinates), reprojected to EPSG:4326 and
set in the frame with row_number and source_fid, their coordinates checked against the CRS."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from shapely.errors import GEOSException

from geo.io.errors import Problem
from geo.io.source_crs import WGS84, SourceCRS, check_coordinates
from geo.io.wkb import points_from_arrow, points_from_wkb

Bounds = tuple[float, float, float, float]
_TYPE_NAMES = {
    0: "Point",
    1: "LineString",
    2: "LinearRing",
    3: "Polygon",
    4: "MultiPoint",
    5: "MultiLineString",
    6: "MultiPolygon",
    7: "GeometryCollection",
}


def _geometry_types(geometries: np.ndarray) -> list[str]:
    present = ~shapely.is_missing(geometries)
    if not present.any():
        return []
    keys = shapely.get_type_id(geometries[present]) * 2 + shapely.has_z(geometries[present])
    return [_TYPE_NAMES.get(int(key) // 2, "Unknown") + (" Z" if key % 2 else "") for key in np.unique(keys)]


@dataclass(frozen=True, slots=True)
class _PointCoordinates:
    """2D points kept as coordinate arrays until reprojected, so shapely objects are built only once."""

    x: np.ndarray
    y: np.ndarray
    missing: np.ndarray

    def build(self, crs: pyproj.CRS | None) -> np.ndarray:
        """Return shapely points in EPSG:4326 (transformed from crs unless it is None or WGS 84)."""
        x, y = self.x, self.y
        usable = ~self.missing & np.isfinite(x) & np.isfinite(y)
        if crs is not None and not crs.equals(WGS84, ignore_axis_order=True):
            transformer = pyproj.Transformer.from_crs(crs, WGS84, always_xy=True)
            x, y = x.copy(), y.copy()
            x[usable], y[usable] = transformer.transform(x[usable], y[usable])
        out = np.full(len(x), None, dtype=object)
        out[usable] = shapely.points(x[usable], y[usable])
        out[~self.missing & ~usable] = shapely.Point()  # WKB writes an empty point as NaN, NaN
        return out


def _geometries_from_wkb(
    wkb: Any, n: int, fids: np.ndarray
) -> tuple[np.ndarray | _PointCoordinates, list[Problem]]:
    if wkb is None:
        return np.full(n, None, dtype=object), []
    if hasattr(wkb, "combine_chunks"):
        # An Arrow column: points are decoded from its buffers, anything else goes on as bytes objects.
        points = points_from_arrow(wkb)
        if points is not None:
            return _PointCoordinates(*points), []
        wkb = wkb.to_numpy(zero_copy_only=False)
    raw = np.asarray(wkb, dtype=object)
    points = points_from_wkb(raw)
    if points is not None:
        return _PointCoordinates(*points), []
    geometries = shapely.from_wkb(raw, on_invalid="ignore")
    broken = np.flatnonzero(pd.notna(raw) & shapely.is_missing(geometries))
    problems: list[Problem] = []
    # Only the few geometries GEOS refused to build are looked at one by one, to say why and to close rings.
    for index in broken:
        try:
            shapely.from_wkb(raw[index])
            reason = "cannot be built"
        except GEOSException as exc:
            reason = str(exc)[:160]
        fixed = shapely.from_wkb(raw[index], on_invalid="fix")
        if fixed is not None and "closed linestring" in reason:
            geometries[index] = fixed
            problems.append(
                Problem(
                    int(index) + 1,
                    str(fids[index]),
                    "geometry",
                    "a ring was not closed: closed it",
                    "warning",
                )
            )
        else:
            problems.append(
                Problem(int(index) + 1, str(fids[index]), "geometry", f"geometry cannot be built: {reason}")
            )
    return geometries, problems


def to_wgs84(geometries: np.ndarray, crs: pyproj.CRS) -> np.ndarray:
    """Return geometries transformed from crs to EPSG:4326 lon/lat, keeping Z values and missing entries."""
    transformer = pyproj.Transformer.from_crs(crs, WGS84, always_xy=True)
    kinds = shapely.get_type_id(geometries)
    if np.all(kinds <= 0) and not shapely.has_z(geometries).any():
        # Points only (-1 is missing): transforming x and y directly is several times faster.
        out = np.full(len(geometries), None, dtype=object)
        empty = (kinds == 0) & shapely.is_empty(geometries)
        present = (kinds == 0) & ~empty
        lon, lat = transformer.transform(
            shapely.get_x(geometries[present]), shapely.get_y(geometries[present])
        )
        out[present] = shapely.points(lon, lat)
        out[empty] = geometries[empty]
        return out

    def lon_lat(coords: np.ndarray) -> np.ndarray:
        out = coords.copy()
        out[:, 0], out[:, 1] = transformer.transform(coords[:, 0], coords[:, 1])
        return out

    return shapely.transform(geometries, lon_lat, include_z=None)


def _frame(
    attributes: pd.DataFrame,
    fids: np.ndarray,
    geometries: np.ndarray | _PointCoordinates,
    crs: SourceCRS | None,
    label: str,
    expected_bounds: Bounds | None,
) -> tuple[gpd.GeoDataFrame, list[Problem]]:
    n = len(attributes)
    if isinstance(geometries, _PointCoordinates):
        geometries = geometries.build(crs.crs if crs else None)
    elif crs is not None and not crs.crs.equals(WGS84, ignore_axis_order=True):
        geometries = to_wgs84(geometries, crs.crs)
    head = pd.DataFrame({"row_number": np.arange(1, n + 1, dtype=np.int64), "source_fid": fids})
    frame = gpd.GeoDataFrame(
        pd.concat([head, attributes.reset_index(drop=True)], axis=1),
        geometry=gpd.GeoSeries(geometries, crs=WGS84),
    )
    if crs is None:
        return frame, []
    return frame, _checked(frame, crs, label, expected_bounds)


def _checked(
    frame: gpd.GeoDataFrame, crs: SourceCRS, label: str, expected_bounds: Bounds | None
) -> list[Problem]:
    return check_coordinates(
        frame.geometry.to_numpy(),
        crs,
        label,
        frame["row_number"].to_numpy(),
        frame["source_fid"].to_numpy(),  # made text only for the rows a problem names
        expected_bounds,
    )
