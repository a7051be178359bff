"""The OGC collections (four layers per city), their queryables, extents, and the items query built on the same
visibility, suppression and blurring rules as the JSON API (app/db/visibility.py, app/services/features)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import JSON, Select, Text, and_, func, select
from sqlalchemy.orm import Session

from app.db import queries
from app.db.features import COORD_DECIMALS, _feature
from app.db.models import AnalysisRun, Asset, City, Link, Need, Neighbourhood, ServiceType
from app.errors import Forbidden, NotFound
from app.policy import Principal
from app.services.features import describe
from app.services.ogc.cql2 import Queryable
from app.services.ogc.naming import BASE_LAYERS, collection_id, run_layer
from app.settings import Settings

TITLES = {
    "neighbourhoods": "neighbourhoods",
    "assets": "assets",
    "needs": "needs",
    "links": "links between assets",
}
DESCRIPTIONS = {
    "neighbourhoods": "Neighbourhood and district boundaries with population.",
    "assets": "Community assets (people and sensitive assets shown at a blurred location).",
    "needs": "Recorded needs by service type and severity.",
    "links": "Links between two assets, drawn as a line between them.",
}
RUN_DESCRIPTION = "Results of a finished gap analysis run, as /api/analysis serves them (units near people in the public view)."
GEOMETRY_TYPES = {
    "neighbourhoods": "MultiPolygon",
    "assets": "Point",
    "needs": "Geometry",
    "links": "LineString",
}


@dataclass(frozen=True)
class Collection:
    """One city's layer."""

    id: str
    city_id: int
    city_name: str
    city_crs: str | None
    layer: str
    run_id: int | None = None  # the analysis run of a results layer
    run_title: str = ""

    @property
    def title(self) -> str:
        if self.run_id is not None:
            return f"{self.city_name}: {self.run_title}"
        return f"{self.city_name}: {TITLES[self.layer]}"

    @property
    def srid(self) -> int | None:
        """The city's projected CRS as an EPSG code, when it has one."""
        if self.city_crs and self.city_crs.upper().startswith("EPSG:"):
            code = self.city_crs.split(":", 1)[1]
            return int(code) if code.isdigit() else None
        return None


def all_collections(db: Session, principal: Principal | None = None) -> list[Collection]:
    """Every city's four layers, then the results of its finished analysis runs the caller may read (runs that
    include unpublished entries are for staff only, as in /api/analysis), cities by name."""
    principal = principal or Principal()
    cities = db.execute(select(City.id, City.name, City.crs).order_by(City.name, City.id)).all()
    runs = (
        select(AnalysisRun.id, AnalysisRun.city_id, ServiceType.slug)
        .join(ServiceType, ServiceType.id == AnalysisRun.service_type_id)
        .where(AnalysisRun.status == "succeeded")
        .order_by(AnalysisRun.id)
    )
    if not principal.is_staff:
        runs = runs.where(AnalysisRun.include_pending.is_(False))
    by_city: dict[int, list[tuple[int, str]]] = {}
    for run_id, city_id, slug in db.execute(runs).all():
        by_city.setdefault(city_id, []).append((run_id, slug))
    found: list[Collection] = []
    for cid, name, crs in cities:
        found += [Collection(collection_id(name, layer), cid, name, crs, layer) for layer in BASE_LAYERS]
        for run_id, slug in by_city.get(cid, []):
            for part, what in (("neighbourhoods", "neighbourhoods"), ("cells", "cells")):
                found.append(
                    Collection(
                        collection_id(name, run_layer(run_id, part)),
                        cid,
                        name,
                        crs,
                        f"run-{part}",
                        run_id,
                        f"{slug} gap analysis, run {run_id}: {what}",
                    )
                )
    return found


def find_collection(db: Session, collection: str, principal: Principal | None = None) -> Collection:
    """A collection by id; an unknown one is a 404 naming the known ones."""
    known = all_collections(db, principal)
    for c in known:
        if c.id == collection:
            return c
    raise NotFound(
        f"no collection {collection!r}: see /ogc/collections ({', '.join(c.id for c in known[:12])})"
    )


def _scalar_shown(principal: Principal, settings: Settings, asset_id: Any) -> Any:
    return select(queries.asset_shown_geom(principal, settings)).where(Asset.id == asset_id).scalar_subquery()


def link_line(principal: Principal, settings: Settings) -> Any:
    """A link drawn between where the caller is shown its two assets."""
    return func.ST_MakeLine(
        _scalar_shown(principal, settings, Link.source_asset_id),
        _scalar_shown(principal, settings, Link.target_asset_id),
    )


def geometry_of(layer: str, principal: Principal, settings: Settings) -> Any:
    """The geometry a reader sees, which bbox and spatial filters test (never the exact place of a private asset
    for a reader who is shown it blurred)."""
    if layer == "assets":
        return queries.asset_shown_geom(principal, settings)
    if layer == "links":
        return link_line(principal, settings)
    return {"neighbourhoods": Neighbourhood.geom, "needs": Need.geom}[layer]


def _strings(*cols: Any) -> dict[str, Queryable]:
    return {c.key: Queryable(c, "string") for c in cols}


def queryables(layer: str) -> dict[str, Queryable]:
    """The properties a filter or an equality parameter may name, per layer (`geometry` for spatial functions)."""
    common = {"updated_at": Queryable(_model(layer).updated_at, "date-time")}
    if layer == "neighbourhoods":
        found = _strings(Neighbourhood.code, Neighbourhood.name) | {
            "level": Queryable(Neighbourhood.level, "integer"),
            "parent_id": Queryable(Neighbourhood.parent_id, "integer"),
            "population": Queryable(Neighbourhood.population, "number"),
        }
    elif layer == "assets":
        found = _strings(
            Asset.category, Asset.kind, Asset.name, Asset.ownership, Asset.source, Asset.status
        ) | {
            "neighbourhood_id": Queryable(Asset.neighbourhood_id, "integer"),
            "capacity": Queryable(Asset.capacity, "number"),
            "verified": Queryable(Asset.verified, "boolean"),
        }
    elif layer == "needs":
        found = _strings(Need.source, Need.status) | {
            "neighbourhood_id": Queryable(Need.neighbourhood_id, "integer"),
            "people_affected": Queryable(Need.people_affected, "number"),
            "severity": Queryable(Need.severity, "integer"),
        }
    else:
        found = _strings(Link.kind, Link.status) | {
            "source_asset_id": Queryable(Link.source_asset_id, "integer"),
            "target_asset_id": Queryable(Link.target_asset_id, "integer"),
            "weight": Queryable(Link.weight, "number"),
            "directed": Queryable(Link.directed, "boolean"),
        }
    return found | common


def _model(layer: str) -> Any:
    return {"neighbourhoods": Neighbourhood, "assets": Asset, "needs": Need, "links": Link}[layer]


def _link_select(principal: Principal, settings: Settings) -> Select[Any]:
    feature = _feature(
        Link.id,
        # not geojson(): ST_ForcePolygonCCW reverses lines
        func.ST_AsGeoJSON(link_line(principal, settings), COORD_DECIMALS).cast(JSON),
        ("city_id", Link.city_id),
        ("source_asset_id", Link.source_asset_id),
        ("target_asset_id", Link.target_asset_id),
        ("kind", Link.kind),
        ("weight", Link.weight),
        ("directed", Link.directed),
        ("description", Link.description),
        ("status", Link.status),
        ("version", Link.version),
        ("created_at", Link.created_at),
        ("updated_at", Link.updated_at),
    )
    return select(Link.id, feature.cast(Text()))


def items_select(
    collection: Collection,
    principal: Principal,
    settings: Settings,
    *,
    status: str,
    after: int | None,
    limit: int,
    where: list[Any],
) -> Select[Any]:
    """SELECT id, feature text for one page, as the JSON API would list them for this caller."""
    layer = collection.layer
    model = _model(layer)
    filters = queries.ListFilters(city_id=collection.city_id, status=status, after=after, limit=limit)
    if layer == "links":
        described = describe("links")
        stmt = _link_select(principal, settings)
    else:
        described = describe(layer)
        stmt = described.select(principal, settings)
    if status != "approved" and described.reviewed and not (principal.is_staff or principal.user_id):
        raise Forbidden("sign in to see entries that are not published")
    if described.reviewed:
        stmt = stmt.where(queries.visible(model, principal, status))
    if layer == "assets":
        stmt = stmt.where(~queries.asset_suppressed(principal, settings))
    elif layer == "links":
        stmt = stmt.where(~queries.refers_to_suppressed_asset(model, principal, settings))
    if where:
        stmt = stmt.where(and_(*where))
    return queries.apply_common_filters(stmt, model, filters)


def extent(
    db: Session, collection: Collection, principal: Principal, settings: Settings
) -> list[float] | None:
    """The bounding box of what an anonymous reader sees of the layer (degrees), or None when it is empty."""
    layer = collection.layer
    model = _model(layer)
    geom = geometry_of(layer, principal, settings)
    stmt = select(
        func.ST_XMin(func.ST_Extent(geom)),
        func.ST_YMin(func.ST_Extent(geom)),
        func.ST_XMax(func.ST_Extent(geom)),
        func.ST_YMax(func.ST_Extent(geom)),
    ).where(model.city_id == collection.city_id)
    if layer != "neighbourhoods":
        stmt = stmt.where(model.status == "approved")
    row = db.execute(stmt).one()
    return None if row[0] is None else [round(float(v), 6) for v in row]


def temporal_extent(db: Session, collection: Collection) -> list[str | None]:
    """The first and last update time of the layer."""
    model = _model(collection.layer)
    row = db.execute(
        select(func.min(model.updated_at), func.max(model.updated_at)).where(
            model.city_id == collection.city_id
        )
    ).one()
    return [v.astimezone(dt.UTC).isoformat().replace("+00:00", "Z") if v else None for v in row]
