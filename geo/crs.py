"""Choosing and checking the projected CRS in which assetmap measures distances (metres)."""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import pyproj
from pyproj.exceptions import CRSError

# Mercator variants that are not local (transverse/oblique ones are fine): their scale grows as
# 1/cos(latitude), so at 52 N a "500 m" radius is really about 310 m on the ground.
_WORLD_MERCATOR_METHODS = (
    "popular visualisation pseudo mercator",
    "mercator (variant a)",
    "mercator (variant b)",
)
_METRE_UNITS = ("metre", "meter", "m")


class AnalysisInputError(ValueError):
    """Input the analysis cannot use; the message says what was wrong and what to do."""


class GeographicCRSError(AnalysisInputError):
    """A CRS in degrees (or otherwise unfit for measuring) was given where metres are needed."""


def _as_crs(crs_or_gdf: Any) -> pyproj.CRS:
    if isinstance(crs_or_gdf, gpd.GeoDataFrame | gpd.GeoSeries):
        crs = crs_or_gdf.crs
        if crs is None:
            raise AnalysisInputError(
                "the frame has no CRS: set it first, e.g. gdf.set_crs('EPSG:4326') for longitude/latitude"
            )
        return pyproj.CRS.from_user_input(crs)
    if crs_or_gdf is None:
        raise AnalysisInputError("no CRS given: pass a projected CRS in metres, e.g. 'EPSG:25833'")
    try:
        return pyproj.CRS.from_user_input(crs_or_gdf)
    except CRSError as exc:
        raise AnalysisInputError(
            f"{crs_or_gdf!r} is not a CRS pyproj understands: pass an EPSG code such as 'EPSG:25833'"
        ) from exc


def _unfit_reason(crs: pyproj.CRS) -> str | None:
    """Why `crs` cannot measure metres, or None when it can."""
    if not crs.is_projected:
        return "is geographic (degrees, not metres)"
    operation = crs.coordinate_operation
    method = operation.method_name if operation is not None else ""
    if method.lower() in _WORLD_MERCATOR_METHODS:
        return f"is a world Mercator ({method}) that inflates lengths away from the equator"
    units = {axis.unit_name.lower() for axis in crs.axis_info}
    if not units or not units <= set(_METRE_UNITS):
        return f"measures in {', '.join(sorted(units)) or 'unknown units'}, not metres"
    return None


def require_projected(crs_or_gdf: Any) -> pyproj.CRS:
    """Return the CRS of a frame or CRS-like value if it measures in metres; else raise GeographicCRSError."""
    crs = _as_crs(crs_or_gdf)
    reason = _unfit_reason(crs)
    if reason is not None:
        name = crs.to_string()
        raise GeographicCRSError(
            f"CRS {name} {reason}: pass a projected CRS in metres for measuring, such as the local UTM zone "
            "(geopandas: gdf.estimate_utm_crs()) or the city's own CRS (e.g. EPSG:25833 for Berlin)"
        )
    return crs


def measuring_crs(gdf: gpd.GeoDataFrame, city_crs: str | None = None) -> pyproj.CRS:
    """Return the CRS to measure `gdf` in metres: `city_crs` if local and projected, else the UTM zone."""
    if city_crs is not None:
        crs = _as_crs(city_crs)
        # A city stored with EPSG:4326 as "its" CRS is common; the UTM zone is the documented fallback.
        if _unfit_reason(crs) is None:
            return crs
    if gdf.crs is None:
        raise AnalysisInputError("the frame has no CRS: set it first, e.g. gdf.set_crs('EPSG:4326')")
    bounds = gdf.geometry.dropna().total_bounds
    if len(gdf) == 0 or not all(abs(v) < float("inf") for v in bounds):
        raise AnalysisInputError("cannot choose a measuring CRS for an empty frame: pass crs='EPSG:xxxx'")
    return pyproj.CRS.from_user_input(gdf.estimate_utm_crs())


def to_measuring(gdf: gpd.GeoDataFrame, crs: Any) -> gpd.GeoDataFrame:
    """Return a copy of `gdf` projected to `crs`, which must be projected in metres."""
    target = require_projected(crs)
    if gdf.crs is None:
        raise AnalysisInputError("the frame has no CRS: set it first, e.g. gdf.set_crs('EPSG:4326')")
    return gdf.to_crs(target)
