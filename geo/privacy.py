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
    out_lon = np.empty_like(lons)
    out_lat = np.empty_like(lats)
    # h3 has no array API; cell ids repeat a lot, so centres are looked up once per distinct cell.
    cells = [h3.latlng_to_cell(y, x, resolution) for x, y in zip(lons.tolist(), lats.tolist(), strict=True)]
    centres = {c: h3.cell_to_latlng(c) for c in set(cells)}
    for i, cell in enumerate(cells):
        out_lat[i], out_lon[i] = centres[cell]
    return out_lon, out_lat
