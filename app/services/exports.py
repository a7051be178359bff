"""Exports for GIS staff and the public: a city's layer as GeoJSON, GeoPackage, zipped shapefile or CSV.

Columns are the layer's import fields first (so an export imports back with the suggested mapping), then a few
read-only extras. What the caller may see follows the API: published entries unless staff ask for more, and
people's and sensitive assets at their blurred location, without contact details, for anyone without planner rights.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from sqlalchemy import Integer, Select, and_, case, false, func, or_, select
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.orm import Session, aliased

from app.db import queries
from app.db.hierarchy import subtree_ids
from app.db.models import Asset, AssetServiceType, City, Need, Neighbourhood, Resource, ServiceType
from app.db.session import session_scope
from app.errors import Forbidden, InvalidInput, NotFound
from app.policy import Principal
from app.services.catalogue import resolve_city
from app.settings import Settings
from geo.io import ExportProblem, write_layer
from geo.io.write import COORDINATE_DECIMALS, EXPORT_FORMATS
from geo.layers import LAYERS
from geo.vocab import POPULATION_BANDS, POPULATION_EXTRA

EXPORT_LAYERS: tuple[str, ...] = ("neighbourhoods", "assets", "needs", "resources")
# format -> (media type, file extension)
MEDIA_TYPES: dict[str, tuple[str, str]] = {
    "geojson": ("application/geo+json", "geojson"),
    "gpkg": ("application/geopackage+sqlite3", "gpkg"),
    "shp": ("application/zip", "zip"),
    "csv": ("text/csv; charset=utf-8", "csv"),
}
# Formats that write coordinates rounded to 6 decimals (about 0.1 m): GeoJSON (RFC 7946) and CSV (WKT).
ROUNDED_FORMATS = ("geojson", "csv")
_POPULATION_GROUPS = (*POPULATION_BANDS, *POPULATION_EXTRA)
_NULLABLE_INTS = ("population", "people_affected", "severity", *(f"pop_{g}" for g in _POPULATION_GROUPS))


@dataclass(frozen=True)
class ExportFile:
    """A written export in its own temporary folder; call cleanup() once it has been sent or moved."""

    path: Path
    filename: str
    media_type: str
    rows: int
    folder: Path

    def cleanup(self) -> None:
        """Remove the export's temporary folder."""
        shutil.rmtree(self.folder, ignore_errors=True)


def _slug(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-") or "export"


def _neighbourhood_ids(db: Session, city_id: int, code: str | None) -> list[int] | None:
    """The neighbourhood with this code and every area inside it at any depth (a district's forecast areas),
    or None for all."""
    if code is None:
        return None
    found = db.scalar(
        select(Neighbourhood.id).where(Neighbourhood.city_id == city_id, Neighbourhood.code == code)
    )
    if found is None:
        raise NotFound(f"no neighbourhood with the code {code[:64]!r} in this city", field="neighbourhood")
    return sorted(set(db.scalars(subtree_ids(found))))


def _code_of(column: Any) -> Any:
    return select(Neighbourhood.code).where(Neighbourhood.id == column).scalar_subquery()


def _assets(principal: Principal, settings: Settings) -> Select[Any]:
    private = queries.asset_is_private()
    exact = principal.sees_exact_locations
    slugs = (
        select(func.array_agg(aggregate_order_by(ServiceType.slug, ServiceType.slug)))
        .join(AssetServiceType, AssetServiceType.service_type_id == ServiceType.id)
        .where(AssetServiceType.asset_id == Asset.id)
        .scalar_subquery()
    )
    return select(
        Asset.source_id,
        Asset.name,
        Asset.category,
        Asset.description,
        slugs.label("service_types"),
        Asset.capacity,
        Asset.capacity_unit,
        Asset.ownership,
        (Asset.contact if exact else case((private, None), else_=Asset.contact)).label("contact"),
        Asset.opening_hours,
        Asset.verified,
        Asset.sensitive,
        Asset.kind,
        Asset.id,
        Asset.source,
        _code_of(Asset.neighbourhood_id).label("neighbourhood_code"),
        Asset.status,
        (false() if exact else private).label("location_blurred"),
        func.ST_AsBinary(queries.asset_shown_geom(principal, settings)).label("wkb"),
    )


def _neighbourhoods() -> Select[Any]:
    parent = aliased(Neighbourhood)
    groups = [
        Neighbourhood.population_by_group[group].astext.cast(Integer).label(f"pop_{group}")
        for group in _POPULATION_GROUPS
    ]
    return select(
        Neighbourhood.code,
        Neighbourhood.name,
        Neighbourhood.level,
        select(parent.code)
        .where(parent.id == Neighbourhood.parent_id)
        .scalar_subquery()
        .label("parent_code"),
        Neighbourhood.population,
        *groups,
        Neighbourhood.id,
        func.ST_AsBinary(Neighbourhood.geom).label("wkb"),
    )


def _needs() -> Select[Any]:
    slug = select(ServiceType.slug).where(ServiceType.id == Need.service_type_id).scalar_subquery()
    return select(
        Need.source_ref.label("source_id"),
        slug.label("service_type"),
        Need.people_affected,
        Need.severity,
        Need.source,
        Need.description,
        Need.observed_on,
        Need.id,
        _code_of(Need.neighbourhood_id).label("neighbourhood_code"),
        Need.status,
        func.ST_AsBinary(Need.geom).label("wkb"),
    )


def _resources(principal: Principal, settings: Settings) -> Select[Any]:
    owner = (
        select(Asset.source_id)
        .where(Asset.id == Resource.asset_id, queries.visible(Asset, principal, "approved"))
        .scalar_subquery()
    )
    # A resource is shown where its owner is: the asset (as the caller may see it) or the neighbourhood.
    owner_place = (
        select(queries.asset_shown_geom(principal, settings))
        .where(Asset.id == Resource.asset_id, queries.visible(Asset, principal, "approved"))
        .scalar_subquery()
    )
    area_place = (
        select(func.ST_PointOnSurface(Neighbourhood.geom))
        .where(Neighbourhood.id == Resource.neighbourhood_id)
        .scalar_subquery()
    )
    return select(
        Resource.source_ref.label("source_id"),
        Resource.kind,
        Resource.quantity,
        Resource.unit,
        Resource.available_from,
        Resource.available_until,
        Resource.description,
        owner.label("asset_source_id"),
        _code_of(Resource.neighbourhood_id).label("neighbourhood_code"),
        Resource.id,
        Resource.status,
        func.ST_AsBinary(func.coalesce(owner_place, area_place)).label("wkb"),
    )


def _select(
    layer: str, principal: Principal, settings: Settings, city_id: int, status: str, area: list[int] | None
) -> Select[Any]:
    if layer == "assets":
        stmt = _assets(principal, settings).where(
            Asset.city_id == city_id,
            queries.visible(Asset, principal, status),
            ~queries.asset_suppressed(principal, settings),
        )
        if area is not None:
            stmt = stmt.where(Asset.neighbourhood_id.in_(area))
        return stmt.order_by(Asset.id)
    if layer == "neighbourhoods":
        stmt = _neighbourhoods().where(Neighbourhood.city_id == city_id)
        if area is not None:
            stmt = stmt.where(Neighbourhood.id.in_(area))
        return stmt.order_by(Neighbourhood.id)
    if layer == "needs":
        stmt = _needs().where(Need.city_id == city_id, queries.visible(Need, principal, status))
        if area is not None:
            stmt = stmt.where(Need.neighbourhood_id.in_(area))
        return stmt.order_by(Need.id)
    stmt = _resources(principal, settings).where(
        Resource.city_id == city_id,
        queries.visible(Resource, principal, status),
        ~queries.refers_to_suppressed_asset(Resource, principal, settings),
    )
    if area is not None:
        in_area = (
            select(Asset.id).where(Asset.id == Resource.asset_id, Asset.neighbourhood_id.in_(area)).exists()
        )
        stmt = stmt.where(
            or_(Resource.neighbourhood_id.in_(area), and_(Resource.asset_id.is_not(None), in_area))
        )
    return stmt.order_by(Resource.id)


def layer_frame(
    db: Session,
    settings: Settings,
    principal: Principal,
    *,
    city_id: int,
    layer: str,
    status: str = "approved",
    neighbourhood: str | None = None,
) -> gpd.GeoDataFrame:
    """A city's layer as the caller may see it, in EPSG:4326, with the layer's import fields first."""
    area = _neighbourhood_ids(db, city_id, neighbourhood)
    stmt = _select(layer, principal, settings, city_id, status, area)
    result = db.execute(stmt)
    columns = list(result.keys())
    records = result.all()
    frame = pd.DataFrame.from_records(records, columns=columns)
    wkb = frame.pop("wkb").to_numpy(dtype=object)
    geometries = shapely.from_wkb(np.where(pd.isna(wkb), None, wkb))
    for column in frame.columns:
        if column in _NULLABLE_INTS:
            frame[column] = frame[column].astype("Int64")
        elif column in ("capacity", "quantity"):
            frame[column] = frame[column].astype(float)
        elif column == "service_types":
            frame[column] = frame[column].map(lambda v: list(v) if v is not None else [])
    # Fields first in the layer's order, so shapefile names are cut as on import; extras after them.
    fields = [f for f in LAYERS[layer].field_names if f in frame.columns]
    frame = frame[fields + [c for c in frame.columns if c not in fields]]
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geometries, crs="EPSG:4326"))


def _valid_at_written_precision(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Polygons snapped to the 6-decimal grid these formats write, keeping them valid (rounding alone may not)."""
    geometries = frame.geometry.to_numpy()
    polygonal = np.isin(shapely.get_type_id(geometries), (3, 6))
    if not polygonal.any():
        return frame
    grid = 10.0**-COORDINATE_DECIMALS
    snapped = geometries.copy()
    # Rounding each vertex is what the writer does anyway; only polygons it would break are snap-rounded by GEOS,
    # which keeps them valid. Data already on the grid comes out unchanged, so export -> import -> export is stable.
    rounded = shapely.set_precision(geometries[polygonal], grid, mode="pointwise")
    broken = ~shapely.is_valid(rounded)
    rounded[broken] = shapely.set_precision(geometries[polygonal][broken], grid)
    snapped[polygonal] = rounded
    return frame.set_geometry(gpd.GeoSeries(snapped, index=frame.index, crs=frame.crs))


def export_layer(
    db: Session,
    settings: Settings,
    principal: Principal,
    *,
    city: str | int,
    layer: str,
    fmt: str,
    neighbourhood: str | None = None,
    status: str = "approved",
) -> ExportFile:
    """Write a city's layer to a temporary file in the format asked for; the caller sends it and cleans up."""
    if layer not in EXPORT_LAYERS:
        raise NotFound(
            f"no layer {layer[:40]!r} to export: use one of {', '.join(EXPORT_LAYERS)}", field="layer"
        )
    if fmt not in EXPORT_FORMATS:
        raise InvalidInput(
            f"unknown format {fmt[:20]!r}: use one of {', '.join(EXPORT_FORMATS)}", field="format"
        )
    if status not in queries.REVIEWED_STATUSES:
        raise InvalidInput(f"status must be one of {', '.join(queries.REVIEWED_STATUSES)}", field="status")
    if status != "approved" and layer != "neighbourhoods" and principal.is_anonymous:
        raise Forbidden("sign in to export entries that are not published")
    if neighbourhood is not None and len(neighbourhood) > 64:
        raise InvalidInput("a neighbourhood code has at most 64 characters", field="neighbourhood")
    city_row: City = resolve_city(db, city)
    frame = layer_frame(
        db, settings, principal, city_id=city_row.id, layer=layer, status=status, neighbourhood=neighbourhood
    )
    if fmt in ROUNDED_FORMATS:
        frame = _valid_at_written_precision(frame)
    media_type, extension = MEDIA_TYPES[fmt]
    stem = "-".join(
        p for p in (_slug(city_row.name), layer, _slug(neighbourhood) if neighbourhood else "") if p
    )
    folder = Path(tempfile.mkdtemp(prefix="assetmap-export-"))
    try:
        path = write_layer(frame, folder / f"export.{extension}", fmt, layer)  # type: ignore[arg-type]
    except ExportProblem as exc:
        shutil.rmtree(folder, ignore_errors=True)
        raise InvalidInput(str(exc), field="format") from None
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return ExportFile(path, f"{stem}.{extension}", media_type, len(frame), folder)


def write_export(
    settings: Settings,
    principal: Principal,
    *,
    city: str | int,
    layer: str,
    fmt: str,
    neighbourhood: str | None = None,
    status: str = "approved",
) -> ExportFile:
    """`export_layer` in a session of its own (the command line); the caller moves the file and cleans up."""
    with session_scope(settings) as db:
        return export_layer(
            db,
            settings,
            principal,
            city=city,
            layer=layer,
            fmt=fmt,
            neighbourhood=neighbourhood,
            status=status,
        )
