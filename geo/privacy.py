"""Location blurring for people and sensitive places: the centre of the point's H3 cell (EPSG:4326, degrees)."""

from __future__ import annotations

import h3
import numpy as np
import numpy.typing as npt


def blur_points(
    lon: npt.ArrayLike, lat: npt.ArrayLike, resolution: int = 8
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Snap lon/lat points (degrees, EPSG:4326) to the centres of their H3 cells at `resolution`."""
    lons = np.asarray(lon, dtype=float)
    lats = np.asarray(lat, dtype=float)
    if lons.shape != lats.shape:
        raise ValueError(f"lon and lat differ in shape: {lons.shape} and {lats.shape}")
    if not 0 <= resolution <= 15:
        raise ValueError(f"H3 resolution must be 0..15, got {resolution}")
    if lons.size == 0:
        return lons.copy(), lats.copy()
    # h3 has no array API: cells are found point by point (as integers, the cheapest form), and centres are
    # looked up once per distinct cell, since points share cells.
    to_cell = h3.api.basic_int.latlng_to_cell
    cells = np.fromiter(
        (
            to_cell(y, x, resolution)
            for x, y in zip(lons.ravel().tolist(), lats.ravel().tolist(), strict=True)
        ),
        dtype=np.uint64,
        count=lons.size,
    )
    distinct, which = np.unique(cells, return_inverse=True)
    centres = np.array([h3.api.basic_int.cell_to_latlng(int(c)) for c in distinct], dtype=float).reshape(
        -1, 2
    )
    out_lat = centres[which, 0].reshape(lons.shape)
    out_lon = centres[which, 1].reshape(lons.shape)
    return out_lon, out_lat
