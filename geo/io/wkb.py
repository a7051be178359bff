"""The WKB point codec: 2D points to and from (E)WKB with numpy, without a shapely object per point."""

from __future__ import annotations

import binascii
from typing import Any

import numpy as np
import pandas as pd
import shapely

# Little-endian 2D point WKB, as GDAL reads it: byte order, type 1, x, y.
_WKB_POINT = np.dtype(
    {
        "names": ["order", "kind", "x", "y"],
        "formats": ["u1", "<u4", "<f8", "<f8"],
        "offsets": [0, 1, 5, 13],
        "itemsize": 21,
    }
)
# Little-endian 2D point EWKB, as PostGIS reads it: byte order, type 1 with the SRID flag, SRID, x, y.
_EWKB_POINT = np.dtype(
    {
        "names": ["order", "kind", "srid", "x", "y"],
        "formats": ["u1", "<u4", "<u4", "<f8", "<f8"],
        "offsets": [0, 1, 5, 9, 17],
        "itemsize": 25,
    }
)
_EWKB_POINT_WITH_SRID = 0x20000001
_SRID_FLAG = 0x20000000
_SRID_4326_HEX = (4326).to_bytes(4, "little").hex()


def points_from_wkb(raw: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Decode little-endian 2D point WKB with numpy to (x, y, missing); None when anything else is present.

    Coordinates are as stored (any CRS); missing rows get NaN coordinates.
    """
    missing = pd.isna(raw)
    present = raw[~missing]
    if not len(present):
        return None
    lengths = np.fromiter((len(b) for b in present), dtype=np.int64, count=len(present))
    if not (lengths == _WKB_POINT.itemsize).all():
        return None
    records = np.frombuffer(b"".join(present), dtype=_WKB_POINT)
    if not ((records["order"] == 1).all() and (records["kind"] == 1).all()):
        return None
    x = np.full(len(raw), np.nan)
    y = np.full(len(raw), np.nan)
    x[~missing], y[~missing] = records["x"], records["y"]
    return x, y, missing


def points_from_arrow(column: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """points_from_wkb for an Arrow column of WKB, read from its buffers (no Python bytes object per row)."""
    import pyarrow as pa

    array = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if isinstance(array.type, pa.ExtensionType):
        array = array.storage
    if pa.types.is_large_binary(array.type):
        offset_type: Any = np.int64
    elif pa.types.is_binary(array.type):
        offset_type = np.int32
    else:
        return None
    n = len(array)
    missing = array.is_null().to_numpy(zero_copy_only=False) if array.null_count else np.zeros(n, dtype=bool)
    if not n or missing.all():
        return None
    _validity, offsets_buffer, data_buffer = array.buffers()
    offsets = np.frombuffer(offsets_buffer, dtype=offset_type)[array.offset : array.offset + n + 1]
    lengths = np.diff(offsets)
    if not (lengths[~missing] == _WKB_POINT.itemsize).all() or (lengths[missing] != 0).any():
        return None
    records = np.frombuffer(data_buffer, dtype=np.uint8)[offsets[0] : offsets[-1]].view(_WKB_POINT)
    if not ((records["order"] == 1).all() and (records["kind"] == 1).all()):
        return None
    x = np.full(n, np.nan)
    y = np.full(n, np.nan)
    x[~missing], y[~missing] = records["x"], records["y"]
    return x, y, missing


def points_ewkb(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """EWKB (SRID 4326) of 2D points from coordinate arrays as 25-byte records, built with numpy."""
    records = np.zeros(len(x), dtype=_EWKB_POINT)
    records["order"] = 1
    records["kind"] = _EWKB_POINT_WITH_SRID
    records["srid"] = 4326
    records["x"] = x
    records["y"] = y
    return records


def points_ewkb_hex(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Hex EWKB (SRID 4326) of 2D points from coordinate arrays, built with numpy (no per-point objects)."""
    records = points_ewkb(x, y)
    hexed = binascii.hexlify(records.tobytes())
    return np.frombuffer(hexed, dtype=f"S{2 * _EWKB_POINT.itemsize}").astype(str).astype(object)


def geometries_ewkb_hex(geometries: np.ndarray) -> np.ndarray:
    """Hex EWKB (SRID 4326) of any geometries; points take the numpy path; missing stays None."""
    kinds = shapely.get_type_id(geometries)
    if len(geometries) and (kinds == 0).all():
        return points_ewkb_hex(shapely.get_x(geometries), shapely.get_y(geometries))
    # Plain little-endian WKB with the SRID spliced into each header: setting the SRID on every geometry first
    # copies them all, and GEOS's hex writer is slower than binascii (together 3x the time for polygons).
    missing = shapely.is_missing(geometries)
    raw = shapely.to_wkb(geometries, byte_order=1)
    out = np.full(len(geometries), None, dtype=object)
    headers: dict[str, str] = {}
    for index in np.flatnonzero(~missing).tolist():
        hexed = binascii.hexlify(raw[index]).decode()
        kind = hexed[2:10]
        if kind not in headers:
            flagged = int.from_bytes(bytes.fromhex(kind), "little") | _SRID_FLAG
            headers[kind] = "01" + flagged.to_bytes(4, "little").hex() + _SRID_4326_HEX
        out[index] = headers[kind] + hexed[10:]
    return out


def geometries_ewkb(geometries: np.ndarray) -> np.ndarray:
    """EWKB (SRID 4326) bytes of any geometries, missing as None: plain little-endian WKB with the SRID spliced
    into each header (cheaper than setting the SRID on a copy of every geometry)."""
    missing = shapely.is_missing(geometries)
    raw = shapely.to_wkb(geometries, byte_order=1)
    out = np.full(len(geometries), None, dtype=object)
    headers: dict[bytes, bytes] = {}
    srid = (4326).to_bytes(4, "little")
    for index in np.flatnonzero(~missing).tolist():
        wkb = raw[index]
        kind = wkb[1:5]
        if kind not in headers:
            headers[kind] = (
                b"\x01" + (int.from_bytes(kind, "little") | _SRID_FLAG).to_bytes(4, "little") + srid
            )
        out[index] = headers[kind] + wkb[5:]
    return out
