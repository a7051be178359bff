"""Whether data lands where the city is: the check that catches a wrong CRS or swapped axes after reading.

It runs on the rows an import keeps (after --clip and --where), so a register wider than the city is told to clip
rather than refused for a CRS that is right.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import shapely

from geo.io.errors import SourceCRSError

if TYPE_CHECKING:
    from geo.io.source_crs import SourceCRS

Bounds = tuple[float, float, float, float]
# More than this share of the rows outside the expected area refuses the source.
MAX_OUTSIDE_SHARE = 0.5
DEFAULT_MARGIN_DEG = 0.5


def expanded(box: Bounds, minimum_deg: float) -> Bounds:
    """The box grown by half its size on each side, and by at least minimum_deg degrees."""
    west, south, east, north = box
    margin_x = max(minimum_deg, (east - west) * 0.5)
    margin_y = max(minimum_deg, (north - south) * 0.5)
    return (west - margin_x, south - margin_y, east + margin_x, north + margin_y)


def _within(x: np.ndarray, y: np.ndarray, box: Bounds) -> np.ndarray:
    return (box[0] <= x) & (x <= box[2]) & (box[1] <= y) & (y <= box[3])


def _centres(geometries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    bounds = shapely.bounds(np.asarray(geometries, dtype=object))
    usable = np.isfinite(bounds).all(axis=1)
    usable &= (bounds[:, 0] >= -180) & (bounds[:, 2] <= 180) & (bounds[:, 1] >= -90) & (bounds[:, 3] <= 90)
    bounds = bounds[usable]
    return (bounds[:, 0] + bounds[:, 2]) / 2, (bounds[:, 1] + bounds[:, 3]) / 2


def _crs_fits(source: SourceCRS | None, x: np.ndarray, y: np.ndarray) -> bool:
    """Whether most points lie where the CRS is used (a geographic CRS fits anywhere on the globe)."""
    if source is None or source.crs.is_geographic:
        return True
    area = source.crs.area_of_use
    if area is None or area.west > area.east:
        return True
    box = expanded((area.west, area.south, area.east, area.north), 1.0)
    return bool(_within(x, y, box).mean() > MAX_OUTSIDE_SHARE)


def check_expected_area(
    geometries: np.ndarray,
    source: SourceCRS | None,
    label: str,
    expected_bounds: Bounds,
    *,
    margin_deg: float = DEFAULT_MARGIN_DEG,
) -> None:
    """Refuse lon/lat geometries (EPSG:4326) of which most lie outside expected_bounds grown by a margin.

    The message says which share fell outside; when the CRS fits the coordinates and some rows lie inside, it
    suggests --clip city, otherwise the right --crs (or swapping the axes when they look swapped).
    """
    x, y = _centres(geometries)
    if len(x) == 0:
        return
    area = expanded(expected_bounds, margin_deg)
    inside = _within(x, y, area)
    outside = int((~inside).sum())
    if outside <= MAX_OUTSIDE_SHARE * len(x):
        return
    centre_x, centre_y = float(np.median(x)), float(np.median(y))
    west, south, east, north = expected_bounds
    aim = f"lon {(west + east) / 2:.4f}, lat {(south + north) / 2:.4f}"
    where = f"around lon {centre_x:.4f}, lat {centre_y:.4f}"
    share = f"{outside / len(x):.0%} of the rows ({outside:,} of {len(x):,})"
    surroundings = f"lon {area[0]:.3f} to {area[2]:.3f}, lat {area[1]:.3f} to {area[3]:.3f}"
    crs = f"{source.label}, from the {source.source}" if source is not None else "lon/lat"
    if (
        not _within(np.array([centre_x]), np.array([centre_y]), area)[0]
        and _within(np.array([centre_y]), np.array([centre_x]), area)[0]
    ):
        raise SourceCRSError(
            f"{label}: the data lies {where}, but the expected area is around {aim}: longitude and latitude look "
            "swapped; swap the coordinate columns or fix the axis order of the CRS"
        )
    if inside.any() and _crs_fits(source, x, y):
        raise SourceCRSError(
            f"{label}: {share} lie outside the city and its surroundings ({surroundings}); the CRS ({crs}) fits "
            "the coordinates, so the file probably covers more than the city: import with --clip city (or "
            "--clip bbox=W,S,E,N) to keep the rows inside it"
        )
    raise SourceCRSError(
        f"{label}: the data lies {where}, far from the expected area around {aim} ({share} fall outside "
        f"{surroundings}): the CRS ({crs}) probably does not match the coordinates; pass the right --crs EPSG:xxxx"
    )
