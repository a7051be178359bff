"""Reading street lines from a file: GeoPackage, shapefile or GeoJSON (pyogrio), OpenStreetMap through pyosmium.

Only walkable ways are kept when the source says which: OSM ways by their tags (geo.streets.walkable), and a
layer with a `highway` column (an OSM export) by that column and `foot`/`access`/`area` where present. Other
layers (Berlin's Detailnetz, a council's own network) are taken whole. Geometries that are not lines are left
out and counted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from geo.crs import AnalysisInputError
from geo.streets.walkable import is_walkable

OSM_SUFFIXES = (".osm.pbf", ".pbf", ".osm", ".osm.bz2", ".osm.gz")
_TAG_COLUMNS = ("highway", "foot", "access", "area")
_HIGHWAY_MAX = 40


@dataclass(frozen=True)
class StreetLines:
    """Walkable street lines read from a file (CRS as the file gives it) and what reading them left out."""

    lines: gpd.GeoDataFrame  # geometry (LineString), highway (text or None)
    source_format: str  # "osm" or the GDAL driver name
    counts: dict[str, int] = field(default_factory=dict)  # features_read, not_lines, not_walkable, kept


def is_osm(path: Path) -> bool:
    """Whether the file is an OpenStreetMap extract (by its name)."""
    name = path.name.lower()
    return any(name.endswith(suffix) for suffix in OSM_SUFFIXES)


def read_street_lines(path: str | Path, *, layer: str | None = None) -> StreetLines:
    """Read the walkable street lines of a file; see the module doc for what is kept."""
    path = Path(path)
    if not path.is_file():
        raise AnalysisInputError(f"no street file at {path}")
    if is_osm(path):
        return _read_osm(path)
    return _read_layer(path, layer)


def _read_layer(path: Path, layer: str | None) -> StreetLines:
    try:
        info = pyogrio.read_info(path, layer=layer)
        frame = pyogrio.read_dataframe(path, layer=layer)
    except Exception as exc:  # pyogrio raises several DataSource/Field errors; all mean "cannot read this"
        raise AnalysisInputError(f"cannot read street lines from {path.name}: {exc}") from None
    if frame.crs is None:
        raise AnalysisInputError(f"{path.name} has no CRS: the lines' coordinates cannot be placed")
    n_read = len(frame)
    geoms = frame.geometry.values
    lines = shapely.get_type_id(geoms)
    line_like = np.isin(lines, [shapely.GeometryType.LINESTRING, shapely.GeometryType.MULTILINESTRING])
    line_like &= ~shapely.is_empty(geoms)
    frame = frame[line_like]
    columns = {c.lower(): c for c in frame.columns if c != frame.geometry.name}
    not_walkable = 0
    highway = pd.Series([None] * len(frame), index=frame.index, dtype=object)
    if "highway" in columns:
        tags = pd.DataFrame({t: frame[columns[t]] for t in _TAG_COLUMNS if t in columns}).astype(object)
        tags = tags.where(tags.notna(), None)
        keep = np.array(
            [
                is_walkable({k: str(v) for k, v in row.items() if v is not None})
                for row in tags.to_dict("records")
            ],
            dtype=bool,
        )
        not_walkable = int((~keep).sum())
        frame, highway = frame[keep], tags["highway"][keep]
    out = gpd.GeoDataFrame(
        {"highway": [None if v is None else str(v)[:_HIGHWAY_MAX] for v in highway]},
        geometry=frame.geometry.values,
        crs=frame.crs,
    )
    out = out.explode(index_parts=False).reset_index(drop=True)
    counts = {
        "features_read": n_read,
        "not_lines": int((~line_like).sum()),
        "not_walkable": not_walkable,
        "kept": len(frame),
    }
    return StreetLines(out, str(info.get("driver") or "GDAL"), counts)


def _read_osm(path: Path) -> StreetLines:
    try:
        import osmium
    except ImportError as exc:  # pragma: no cover - a dependency of the project
        raise AnalysisInputError("reading OpenStreetMap files needs pyosmium (the osmium package)") from exc

    coords: list[list[tuple[float, float]]] = []
    highways: list[str] = []
    counts = {"features_read": 0, "not_lines": 0, "not_walkable": 0, "kept": 0}

    class Ways(osmium.SimpleHandler):
        def way(self, way: Any) -> None:
            tags = {tag.k: tag.v for tag in way.tags}
            if "highway" not in tags:
                return
            counts["features_read"] += 1
            if not is_walkable(tags):
                counts["not_walkable"] += 1
                return
            points = [(node.lon, node.lat) for node in way.nodes if node.location.valid()]
            if len(points) < 2:
                counts["not_lines"] += 1
                return
            coords.append(points)
            highways.append(tags["highway"][:_HIGHWAY_MAX])
            counts["kept"] += 1

    try:
        Ways().apply_file(str(path), locations=True)
    except RuntimeError as exc:
        raise AnalysisInputError(f"cannot read {path.name} as OpenStreetMap data: {exc}") from None
    if coords:
        sizes = np.fromiter((len(c) for c in coords), dtype=np.int64, count=len(coords))
        flat = np.array([xy for way in coords for xy in way], dtype=np.float64)
        geometry = shapely.linestrings(flat, indices=np.repeat(np.arange(len(coords)), sizes))
    else:
        geometry = np.empty(0, dtype=object)
    lines = gpd.GeoDataFrame({"highway": highways}, geometry=geometry, crs="EPSG:4326")
    return StreetLines(lines, "osm", counts)
