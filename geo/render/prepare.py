"""Turn analysis frames into small GeoJSON for display: checks, simplification, rounding, plain text."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.crs import AnalysisInputError, measuring_crs
from geo.escape import is_missing
from geo.render.text import plain

DISPLAY_DECIMALS = 5  # about 1 m: plenty for a map, and each coordinate is 3 characters shorter than at 8
DISPLAY_TOLERANCE_M = 5.0
MISSING_TEXT = "\u2013"  # an en dash


def require_frame(frame: Any, name: str, columns: Iterable[str] = ()) -> gpd.GeoDataFrame:
    """Return `frame` in EPSG:4326 after checking it is a GeoDataFrame with a CRS and the `columns` named."""
    if not isinstance(frame, gpd.GeoDataFrame):
        raise AnalysisInputError(f"'{name}' should be a GeoDataFrame, got {type(frame).__name__}")
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise AnalysisInputError(
            f"'{name}' lacks the column(s) {', '.join(missing)}; it has {', '.join(map(str, frame.columns))}"
        )
    if frame.crs is None:
        raise AnalysisInputError(f"'{name}' has no CRS: set it first, e.g. {name}.set_crs('EPSG:4326')")
    if frame.crs.to_epsg() != 4326:
        frame = frame.to_crs(4326)
    return frame


def drop_empty(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Return the rows of `frame` that have a non-empty geometry."""
    geometry = frame.geometry
    return frame[geometry.notna().to_numpy() & ~geometry.is_empty.to_numpy()]


def round_coordinates(frame: gpd.GeoDataFrame, decimals: int = DISPLAY_DECIMALS) -> gpd.GeoDataFrame:
    """Return a copy of `frame` with coordinates rounded to `decimals` and repeated vertices removed."""
    out = frame.copy()
    geometries = shapely.transform(out.geometry.to_numpy(), lambda xy: np.round(xy, decimals))
    out[out.geometry.name] = gpd.GeoSeries(
        shapely.remove_repeated_points(geometries), index=out.index, crs=out.crs
    )
    return out


def simplify_for_display(
    frame: gpd.GeoDataFrame,
    tolerance_m: float = DISPLAY_TOLERANCE_M,
    decimals: int = DISPLAY_DECIMALS,
) -> gpd.GeoDataFrame:
    """Return `frame` (any CRS) in EPSG:4326, simplified by `tolerance_m` metres (measured locally), rounded.

    Polygons that tile without overlaps are simplified as one coverage, so neighbours keep their shared edges.
    """
    frame = drop_empty(require_frame(frame, "frame"))
    if frame.empty or tolerance_m <= 0:
        return round_coordinates(frame, decimals)
    projected = frame.to_crs(measuring_crs(frame))
    geometries = projected.geometry.to_numpy()
    polygonal = bool(np.all(np.isin(shapely.get_type_id(geometries), (3, 6))))
    simplified = None
    if polygonal and len(geometries) > 1:
        try:
            if shapely.coverage_is_valid(geometries):
                simplified = shapely.coverage_simplify(geometries, tolerance_m, simplify_boundary=True)
        except shapely.errors.GEOSException:
            simplified = None  # an input GEOS cannot treat as a coverage: simplify each shape on its own
    if simplified is None:
        simplified = shapely.simplify(geometries, tolerance_m, preserve_topology=True)
    projected[projected.geometry.name] = gpd.GeoSeries(simplified, index=projected.index, crs=projected.crs)
    return round_coordinates(projected.to_crs(4326), decimals)


def as_points(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Return a copy whose non-point geometries are replaced by a point inside them (for markers)."""
    out = frame.copy()
    geometry = out.geometry
    is_point = (geometry.geom_type == "Point").to_numpy()
    if not is_point.all():
        out[geometry.name] = gpd.GeoSeries(
            np.where(is_point, geometry.to_numpy(), geometry.representative_point().to_numpy()),
            index=out.index,
            crs=out.crs,
        )
    return out


def _json_value(value: Any) -> Any:
    if is_missing(value):
        return None
    if isinstance(value, np.generic):
        return value.item()
    return value


def feature_collection(frame: gpd.GeoDataFrame, properties: Mapping[str, Sequence[Any]]) -> dict[str, Any]:
    """Return a GeoJSON FeatureCollection dict of `frame`'s geometries with exactly the `properties` given."""
    geometries = frame.geometry.to_numpy()
    columns = {name: list(values) for name, values in properties.items()}
    for name, values in columns.items():
        if len(values) != len(geometries):
            raise ValueError(f"property {name!r} has {len(values)} values for {len(geometries)} features")
    features = []
    for row, geometry in enumerate(geometries):
        features.append(
            {
                "type": "Feature",
                # Short integer ids keep folium's per-feature style switch small.
                "id": row,
                "geometry": None if geometry is None or geometry.is_empty else geometry.__geo_interface__,
                "properties": {name: _json_value(values[row]) for name, values in columns.items()},
            }
        )
    return {"type": "FeatureCollection", "features": features}


def text_column(frame: pd.DataFrame, column: str, default: str = MISSING_TEXT) -> list[str]:
    """Return the plain text of `column` (or `default` where it is missing or absent); shown as text only."""
    if column not in frame.columns:
        return [default] * len(frame)
    return [plain(value, default) for value in frame[column]]


def _number(value: Any) -> float | None:
    if is_missing(value):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def format_count(value: Any, unit: str = "") -> str:
    """Return a whole number with thousands separators ('12,345 people'), or an en dash when missing."""
    number = _number(value)
    if number is None:
        return MISSING_TEXT
    text = f"{round(number):,}"
    return f"{text} {unit}".strip()


def format_share(value: Any, missing: str = MISSING_TEXT) -> str:
    """Return a share in [0, 1] as a whole percent ('83 %'), or `missing`."""
    number = _number(value)
    if number is None:
        return missing
    return f"{100.0 * number:.0f} %"


def format_decimal(value: Any, places: int = 2) -> str:
    """Return a number with `places` decimals, or an en dash when missing."""
    number = _number(value)
    return MISSING_TEXT if number is None else f"{number:.{places}f}"


def format_flag(value: Any) -> str:
    """Return 'yes', 'no' or an en dash for a boolean-like value."""
    if is_missing(value):
        return MISSING_TEXT
    return "yes" if bool(value) else "no"


def label(word: Any) -> str:
    """Return a vocabulary word as a readable label ('physical_space' -> 'Physical space'); plain text."""
    return plain(word).replace("_", " ").capitalize()
