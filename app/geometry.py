"""GeoJSON geometry input: parse, check ranges and validity, and say exactly what is wrong (422)."""

from __future__ import annotations

import math
from typing import Any

import shapely
from shapely.geometry import MultiPolygon, Polygon, shape
from shapely.geometry.base import BaseGeometry

from app.errors import InvalidInput


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
