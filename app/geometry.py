"""GeoJSON geometry input: parse, check ranges and validity, and say exactly what is wrong (422)."""

from __future__ import annotations

import math
from typing import Any

import shapely
from shapely.geometry import MultiPolygon, Polygon, shape
from shapely.geometry.base import BaseGeometry

from app.errors import InvalidInput


def _size(value: Any) -> tuple[int, int, int]:
    """(parts, rings, vertices) of a GeoJSON geometry's coordinate arrays, counted before anything is built;
    malformed nesting counts as what it holds, and parse_geometry names the mistake."""
    gtype = value.get("type")
    coords = value.get("coordinates")
    if not isinstance(coords, list):
        return 0, 0, 0
    if gtype == "Point":
        return 1, 0, 1
    if gtype in ("LineString", "MultiPoint"):
        return 1, 0, len(coords)
    if gtype in ("Polygon", "MultiLineString"):
        polygons = [coords]
    elif gtype == "MultiPolygon":
        polygons = [p for p in coords if isinstance(p, list)]
    else:
        return 0, 0, 0
    rings = [r for p in polygons for r in p if isinstance(r, list)]
    return len(polygons), len(rings), sum(len(r) for r in rings)


def check_geometry_size(value: Any, *, max_vertices: int, max_parts: int, field: str = "geometry") -> None:
    """Refuse a geometry with more vertices, parts or rings than the instance allows (ASSETMAP_GEOMETRY_MAX_*)."""
    if not isinstance(value, dict):
        return  # not a geometry at all: parse_geometry says so
    parts, rings, vertices = _size(value)
    if vertices > max_vertices:
        raise InvalidInput(
            f"the geometry has {vertices:,} vertices, more than the limit of {max_vertices:,} vertices: simplify it "
            "(e.g. ST_Simplify or QGIS Simplify) or import it as a file",
            field=field,
        )
    if parts > max_parts:
        raise InvalidInput(
            f"the geometry has {parts:,} parts, more than the limit of {max_parts:,} parts: merge or split it",
            field=field,
        )
    if rings > max_parts:
        raise InvalidInput(
            f"the geometry has {rings:,} rings (outlines and holes), more than the limit of {max_parts:,} rings: "
            "fill small holes or split it",
            field=field,
        )


def parse_geometry(value: Any, allowed: tuple[str, ...], field: str = "geometry") -> BaseGeometry:
    """Turn a GeoJSON geometry (lon, lat in EPSG:4326) into shapely, refusing wrong types and invalid shapes."""
    if not isinstance(value, dict) or "type" not in value:
        raise InvalidInput("expected a GeoJSON geometry object with 'type' and 'coordinates'", field=field)
    gtype = value.get("type")
    if gtype not in allowed:
        raise InvalidInput(
            f"geometry type {gtype!r} is not accepted here: use {' or '.join(allowed)}", field=field
        )
    try:
        geom = shape(value)
    except Exception as exc:  # shapely raises several types for malformed coordinate arrays
        raise InvalidInput(f"malformed {gtype} coordinates: {exc}", field=field) from None
    if geom.is_empty:
        raise InvalidInput("the geometry is empty", field=field)
    coords = shapely.get_coordinates(geom, include_z=False)
    if not all(math.isfinite(c) for c in coords.ravel()):
        raise InvalidInput("coordinates must be finite numbers", field=field)
    lon, lat = coords[:, 0], coords[:, 1]
    if (abs(lon) > 180).any() or (abs(lat) > 90).any():
        raise InvalidInput(
            "coordinates out of range: longitude must be within -180..180 and latitude within -90..90 "
            "(GeoJSON order is [longitude, latitude])",
            field=field,
        )
    if shapely.has_z(geom):
        geom = shapely.force_2d(geom)
    if not geom.is_valid:
        raise InvalidInput(f"invalid geometry: {shapely.is_valid_reason(geom)}", field=field)
    return geom


def as_multipolygon(geom: BaseGeometry) -> MultiPolygon:
    """Promote a Polygon to a one-part MultiPolygon (neighbourhoods are stored as MultiPolygon)."""
    if isinstance(geom, Polygon):
        return MultiPolygon([geom])
    assert isinstance(geom, MultiPolygon)
    return geom
