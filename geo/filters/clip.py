"""Clip areas for imports: the city (its neighbourhoods' union) or a WGS84 box, optionally buffered in metres."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import geopandas as gpd
import numpy as np
import shapely

from geo.crs import measuring_crs

MAX_BUFFER_M = 100_000.0
ClipKind = Literal["city", "bbox"]
_USAGE = "use --clip city (the city's neighbourhoods) or --clip bbox=W,S,E,N (longitude/latitude in degrees)"


class ClipError(ValueError):
    """A clip option that cannot be used; the message says what to pass instead."""


@dataclass(frozen=True, slots=True)
class ClipArea:
    """What to clip to: the city, or a box (west, south, east, north in degrees), grown by buffer_m metres."""

    kind: ClipKind
    bbox: tuple[float, float, float, float] | None = None
    buffer_m: float = 0.0

    def describe(self) -> str:
        """The option as a user would write it: 'city' or 'bbox=W,S,E,N'."""
        if self.bbox is None:
            return "city"
        return "bbox=" + ",".join(f"{v:g}" for v in self.bbox)


def parse_bbox(text: str) -> tuple[float, float, float, float]:
    """Parse 'W,S,E,N' in WGS84 degrees; refuses NaN, infinities, out-of-range values and empty boxes."""
    parts = [p.strip() for p in text.split(",")]
    try:
        values = [float(p) for p in parts]
    except ValueError:
        values = []
    if len(values) != 4 or len(parts) != 4 or not all(math.isfinite(v) for v in values):
        raise ClipError(
            f"--clip bbox= takes four numbers W,S,E,N in degrees, e.g. bbox=13.3,52.4,13.5,52.6 "
            f"(got {text[:60]!r})"
        )
    west, south, east, north = values
    if not (-180 <= west <= 180 and -180 <= east <= 180 and -90 <= south <= 90 and -90 <= north <= 90):
        raise ClipError("--clip bbox=W,S,E,N: longitudes lie within -180..180 and latitudes within -90..90")
    if west >= east or south >= north:
        raise ClipError(
            "--clip bbox=W,S,E,N: west must be less than east and south less than north (a box across the "
            "antimeridian is not supported)"
        )
    return west, south, east, north


def parse_clip(text: str | None, buffer_m: float | None = None) -> ClipArea | None:
    """Parse the --clip and --clip-buffer-m options (None when no clip is asked for)."""
    if text is None or not text.strip():
        if buffer_m:
            raise ClipError(f"--clip-buffer-m needs --clip: {_USAGE}")
        return None
    if buffer_m is not None and not (math.isfinite(buffer_m) and 0 <= buffer_m <= MAX_BUFFER_M):
        raise ClipError(f"--clip-buffer-m is a distance in metres from 0 to {MAX_BUFFER_M:,.0f}")
    value = text.strip()
    if value.lower() == "city":
        return ClipArea("city", None, float(buffer_m or 0.0))
    if value.lower().startswith("bbox="):
        return ClipArea("bbox", parse_bbox(value[5:]), float(buffer_m or 0.0))
    raise ClipError(f"--clip {value[:60]!r} is not known: {_USAGE}")


def clip_area(
    clip: ClipArea, city_shape: shapely.Geometry | None, city_crs: str | None = None
) -> shapely.Geometry:
    """The area to keep in EPSG:4326: the city's shape or the box, buffered by clip.buffer_m in a metric CRS."""
    if clip.bbox is not None:
        # Densified so that the box keeps its shape when projected for the buffer.
        shape = shapely.segmentize(shapely.box(*clip.bbox), 0.01)
    elif city_shape is None or city_shape.is_empty:
        raise ClipError(
            "--clip city: the city has no neighbourhoods yet: import them first, or clip to a bbox="
        )
    else:
        shape = city_shape
    if clip.buffer_m <= 0:
        return shape
    frame = gpd.GeoDataFrame(geometry=[shape], crs="EPSG:4326")
    metric = frame.to_crs(measuring_crs(frame, city_crs))
    grown = metric.buffer(clip.buffer_m).to_crs("EPSG:4326")
    return grown.iloc[0]


def inside_clip(geometries: np.ndarray, area: shapely.Geometry) -> np.ndarray:
    """Which geometries (EPSG:4326) intersect the area; missing and empty geometries are not inside."""
    geometries = np.asarray(geometries, dtype=object)
    shapely.prepare(area)
    present = ~shapely.is_missing(geometries)
    present[present] &= ~shapely.is_empty(geometries[present])
    inside = np.zeros(len(geometries), dtype=bool)
    inside[present] = shapely.intersects(area, geometries[present])
    return inside
