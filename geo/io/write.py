"""write_layer: a GeoDataFrame in EPSG:4326 written as RFC 7946 GeoJSON, GeoPackage, zipped shapefile or CSV."""

from __future__ import annotations

import datetime as dt
import re
import shutil
import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.io.errors import ExportProblem
from geo.io.gdal_safety import configure_gdal_safely
from geo.io.source_crs import WGS84

ExportFormat = Literal["geojson", "gpkg", "shp", "csv"]
EXPORT_FORMATS: tuple[str, ...] = ("geojson", "gpkg", "shp", "csv")
COORDINATE_DECIMALS = 6  # about 0.1 m; the project's display precision (ARCHITECTURE.md)
SHAPEFILE_NAME_BYTES = 10
LIST_SEPARATOR = "; "
_LAYER_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
_DBF_TEXT_BYTES = 254

SHAPEFILE_FIELD_RULE = """\
Shapefile (DBF) field names hold at most 10 bytes. Columns are renamed in column order:
1. a name of at most 10 bytes that is still free (compared case-insensitively) is kept;
2. otherwise its first 10 bytes are used if they are still free;
3. otherwise its first 8 bytes plus a two-digit counter (01, 02, ... 99), the first that is free.
Bytes are counted in UTF-8 and a character is never cut in half. Example: available_from -> available_,
available_until -> availabl01. The zip holds fields.txt with every 'short<TAB>full' pair; importing with the
same layer maps the short names back to the full ones.
"""


def _cut(name: str, max_bytes: int) -> str:
    return name.encode("utf-8")[:max_bytes].decode("utf-8", errors="ignore")


def shapefile_field_names(columns: Sequence[str]) -> dict[str, str]:
    """Return {column: shapefile field name} following SHAPEFILE_FIELD_RULE (deterministic, collision-free)."""
    taken: set[str] = set()
    names: dict[str, str] = {}
    for column in columns:
        short = None
        candidates = [column] if len(column.encode("utf-8")) <= SHAPEFILE_NAME_BYTES else []
        candidates.append(_cut(column, SHAPEFILE_NAME_BYTES))
        for candidate in candidates:
            if candidate and candidate.lower() not in taken:
                short = candidate
                break
        counter = 1
        while short is None:
            if counter > 99:
                raise ExportProblem(
                    f"too many columns start with {column[:8]!r} to give each a shapefile name"
                )
            candidate = f"{_cut(column, SHAPEFILE_NAME_BYTES - 2)}{counter:02d}"
            if candidate.lower() not in taken:
                short = candidate
            counter += 1
        taken.add(short.lower())
        names[column] = short
    return names


def _portable(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Turn lists into 'a; b' text and dates into ISO text, which every format can hold and the reader parses."""
    out = frame.copy()
    for column in out.columns:
        if column == out.geometry.name:
            continue
        series = out[column]
        if pd.api.types.is_datetime64_any_dtype(series):
            values = series.dt.tz_localize(None) if getattr(series.dt, "tz", None) else series
            midnight = (values.dropna() == values.dropna().dt.normalize()).all()
            out[column] = values.dt.strftime("%Y-%m-%d" if midnight else "%Y-%m-%dT%H:%M:%S").astype(object)
        elif series.dtype == object:
            out[column] = series.map(_portable_value).astype(object)
    return out


def _portable_value(value: object) -> object:
    if isinstance(value, (list, tuple, np.ndarray)):
        return LIST_SEPARATOR.join(str(v) for v in value)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return value


def write_layer(frame: gpd.GeoDataFrame, out_path: Path, fmt: ExportFormat, layer_name: str) -> Path:
    """Write a layer in EPSG:4326 (lon/lat) as geojson (RFC 7946), gpkg, shp (zipped) or csv (WKT); return out_path."""
    if not isinstance(frame, gpd.GeoDataFrame):
        raise ExportProblem(f"'frame' should be a GeoDataFrame, got {type(frame).__name__}")
    if fmt not in EXPORT_FORMATS:
        raise ExportProblem(
            f"unknown export format {str(fmt)[:20]!r}: use one of {', '.join(EXPORT_FORMATS)}"
        )
    if not _LAYER_NAME.match(layer_name):
        raise ExportProblem(
            f"layer name {layer_name[:80]!r} is not allowed: use letters, digits and underscores (at most 63)"
        )
    if frame.crs is None or not frame.crs.equals(WGS84, ignore_axis_order=True):
        raise ExportProblem(
            f"the frame must be in EPSG:4326 to be exported, got {frame.crs}: call to_crs(4326)"
        )
    out_path = Path(out_path)
    geometries = shapely.orient_polygons(frame.geometry.to_numpy(), exterior_cw=False)
    oriented = frame.set_geometry(gpd.GeoSeries(geometries, index=frame.index, crs=frame.crs))
    prepared = _portable(oriented)
    configure_gdal_safely()
    # Written under a generated name in a private folder, then moved, so GDAL never sees the caller's path.
    with tempfile.TemporaryDirectory(prefix="assetmap-export-") as tmp:
        folder = Path(tmp)
        if fmt == "csv":
            written = _write_csv(prepared, folder / "layer.csv")
        elif fmt == "shp":
            written = _write_shapefile(prepared, folder, layer_name)
        else:
            written = _write_gdal(prepared, folder, fmt, layer_name)
        shutil.move(written, out_path)
    return out_path


def _write_gdal(frame: gpd.GeoDataFrame, folder: Path, fmt: str, layer_name: str) -> Path:
    import pyogrio

    if fmt == "geojson":
        target = folder / "layer.geojson"
        options = {"RFC7946": "YES", "COORDINATE_PRECISION": str(COORDINATE_DECIMALS), "WRITE_NAME": "NO"}
        pyogrio.write_dataframe(frame, target, driver="GeoJSON", layer_options=options)
    else:
        target = folder / "layer.gpkg"
        pyogrio.write_dataframe(frame, target, driver="GPKG", layer=layer_name)
    return target


def _geometry_families(frame: gpd.GeoDataFrame) -> set[str]:
    kinds = shapely.get_type_id(frame.geometry.to_numpy())
    families = {
        "point" if k in (0, 4) else "line" if k in (1, 2, 5) else "polygon" if k in (3, 6) else "other"
        for k in np.unique(kinds[kinds >= 0])
    }
    return families


def _write_shapefile(frame: gpd.GeoDataFrame, folder: Path, layer_name: str) -> Path:
    import pyogrio

    families = _geometry_families(frame)
    if len(families) > 1 or "other" in families:
        raise ExportProblem(
            f"a shapefile holds one kind of geometry, this layer has {', '.join(sorted(families))}: "
            "export it as GeoPackage or GeoJSON"
        )
    columns = [c for c in frame.columns if c != frame.geometry.name]
    names = shapefile_field_names(columns)
    cut_fields = []
    for column in columns:
        if frame[column].dtype == object:
            lengths = frame[column].map(lambda v: len(v.encode("utf-8")) if isinstance(v, str) else 0)
            if len(lengths) and lengths.max() > _DBF_TEXT_BYTES:
                cut_fields.append(f"{column} ({int((lengths > _DBF_TEXT_BYTES).sum())} values)")
    renamed = frame.rename(columns=names)
    shape_dir = folder / "shape"
    shape_dir.mkdir()
    pyogrio.write_dataframe(
        renamed, shape_dir / f"{layer_name}.shp", driver="ESRI Shapefile", encoding="UTF-8"
    )
    lines = ["# shapefile field name\tfull name", *(f"{short}\t{full}" for full, short in names.items())]
    if cut_fields:
        lines.append(
            f"# text longer than {_DBF_TEXT_BYTES} bytes was cut (a DBF limit) in: {', '.join(cut_fields)}"
        )
    target = folder / "layer.zip"
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for part in sorted(shape_dir.iterdir()):
            archive.write(part, part.name)
        archive.writestr("fields.txt", "\n".join(lines) + "\n")
    return target


def _write_csv(frame: gpd.GeoDataFrame, target: Path) -> Path:
    geometries = frame.geometry.to_numpy()
    table = pd.DataFrame(frame.drop(columns=frame.geometry.name))
    extra = ["wkt"]
    kinds = shapely.get_type_id(geometries)
    points = bool(len(kinds)) and bool(np.all((kinds == 0) | (kinds == -1)))
    if points:
        extra = ["lon", "lat", "wkt"]
    clashes = [name for name in extra if name in table.columns]
    if clashes:
        raise ExportProblem(
            f"the layer already has columns named {', '.join(clashes)}: rename them before export"
        )
    if points:
        table["lon"] = np.round(shapely.get_x(geometries), COORDINATE_DECIMALS)
        table["lat"] = np.round(shapely.get_y(geometries), COORDINATE_DECIMALS)
    wkt = shapely.to_wkt(geometries, rounding_precision=COORDINATE_DECIMALS, trim=True)
    table["wkt"] = np.where(shapely.is_missing(geometries), None, wkt)
    table.to_csv(target, index=False, encoding="utf-8", lineterminator="\n")
    return target
