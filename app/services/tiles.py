"""Mapbox Vector Tiles of a collection, each built by one SQL statement (ST_TileEnvelope, ST_AsMVTGeom, ST_AsMVT)
with bound z/x/y, under the same visibility rules as the list endpoints (app.db.visibility)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Float, Integer, Select, Text, and_, bindparam, func, literal_column, or_, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session, aliased

from app.db import visibility
from app.db.models import AnalysisCell, Asset, Link, Need, Neighbourhood, ServiceType
from app.db.queries import REVIEWED_STATUSES
from app.errors import AssetmapError, Forbidden, InvalidInput, NotFound
from app.policy import Principal
from app.services.analysis.compute import CELL_VALUES
from app.services.analysis.inputs import last_change_id
from app.services.analysis.outputs import view_results
from app.services.analysis.records import finished_run
from app.services.ogc.naming import Collection
from app.settings import Settings

EXTENT = 4096  # tile coordinate units per side
BUFFER = 64  # units beyond the edge, so lines and symbols at the edge are not cut
MAX_ZOOM = 22
WORLD_M = 40075016.685578488  # the width of the WebMercatorQuad world in metres
# (lowest zoom, most features per tile): fewer features in far-out tiles, all of them from zoom 12 on
FEATURE_LIMITS = ((0, 5_000), (8, 20_000), (12, 100_000))
MEDIA_TYPE = "application/vnd.mapbox-vector-tile"
MERCATOR = 3857


@dataclass(frozen=True)
class TileRequest:
    """A checked tile address."""

    z: int
    x: int
    y: int


class BadTile(AssetmapError):
    """A tile address that is not one (a 400)."""


def _number(text: str, name: str, field: str) -> int:
    if not (text.isascii() and text.isdigit()) or len(text) > 7:
        raise BadTile(f"{name} must be a whole number, not {text[:20]!r}", field=field)
    return int(text)


def check_tile(z: str, x: str, y: str) -> TileRequest:
    """z/x/y as typed, within the WebMercatorQuad pyramid: not a number is a 400, outside it a 404 saying the
    valid range."""
    zoom = _number(z, "the zoom (tile matrix)", "z")
    column = _number(x, "the column", "x")
    row = _number(y, "the row", "y")
    if zoom > MAX_ZOOM:
        raise NotFound(f"no zoom {zoom}: WebMercatorQuad tiles go from 0 to {MAX_ZOOM}", field="z")
    top = 2**zoom - 1
    if column > top:
        raise NotFound(f"no column {column} at zoom {zoom}: columns go from 0 to {top}", field="x")
    if row > top:
        raise NotFound(f"no row {row} at zoom {zoom}: rows go from 0 to {top}", field="y")
    return TileRequest(zoom, column, row)


def check_status(status: str, principal: Principal) -> str:
    """The review status a tile shows, as in the list endpoints (`approved` unless asked)."""
    if status not in REVIEWED_STATUSES:
        raise InvalidInput(f"status must be one of {', '.join(REVIEWED_STATUSES)}", field="status")
    if status != "approved" and not (principal.is_staff or principal.user_id):
        raise Forbidden("sign in to see entries that are not published")
    return status


def feature_limit(z: int) -> int:
    """How many features one tile at zoom `z` carries at most."""
    return max(limit for lowest, limit in FEATURE_LIMITS if z >= lowest)


def tolerance_m(z: int) -> float:
    """Simplification tolerance at zoom `z`: half a tile unit, in metres."""
    return WORLD_M / 2**z / EXTENT / 2


def data_version(db: Session, collection: Collection) -> str:
    """A cheap version of what the collection's tiles show: the city's last recorded change (imports and edits
    record one each), and the run for analysis results (a run's results never change)."""
    change = last_change_id(db, collection.city.id)
    return f"c{change}" if collection.run_id is None else f"r{collection.run_id}-c{change}"


def view_key(principal: Principal, status: str) -> str:
    """What part of the tile depends on the reader: planners, each organiser's areas, each author's own entries."""
    parts = [principal.role or "anon", status]
    if principal.user_id is not None and (status != "approved" or not principal.sees_exact_locations):
        parts.append(str(principal.user_id))
    if principal.neighbourhood_ids:
        parts.append(",".join(str(n) for n in sorted(principal.neighbourhood_ids)))
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:12]


def etag(version: str, principal: Principal, status: str, settings: Settings, tile: TileRequest) -> str:
    """The weak ETag of a tile as this reader sees it."""
    blur = f"{settings.privacy_blur}{settings.privacy_h3_resolution}-{settings.small_count_threshold}"
    return f'W/"{version}-{view_key(principal, status)}-{blur}-{tile.z}-{tile.x}-{tile.y}"'


def _envelope(tile: TileRequest) -> Any:
    return func.ST_TileEnvelope(
        bindparam("tz", tile.z, type_=Integer),
        bindparam("tx", tile.x, type_=Integer),
        bindparam("ty", tile.y, type_=Integer),
    )


def _mvt_geom(geom_4326: Any, tile: TileRequest, *, simplify: bool = False) -> Any:
    projected = func.ST_Transform(geom_4326, MERCATOR)
    if simplify:
        projected = func.ST_SimplifyPreserveTopology(
            projected, bindparam("tolerance", tolerance_m(tile.z), type_=Float)
        )
    return func.ST_AsMVTGeom(projected, _envelope(tile), EXTENT, BUFFER, True)


def _tile_envelope_4326(tile: TileRequest) -> Any:
    margin = bindparam("margin", BUFFER / EXTENT, type_=Float)
    envelope = func.ST_TileEnvelope(
        bindparam("tz", tile.z, type_=Integer),
        bindparam("tx", tile.x, type_=Integer),
        bindparam("ty", tile.y, type_=Integer),
        literal_column(
            "ST_MakeEnvelope(-20037508.342789244, -20037508.342789244, 20037508.342789244, "
            "20037508.342789244, 3857)"
        ),
        margin,
    )
    return func.ST_Transform(envelope, 4326)


def _neighbourhoods(collection: Collection, tile: TileRequest) -> Select[Any]:
    env = _tile_envelope_4326(tile)
    return select(
        Neighbourhood.id.label("id"),
        Neighbourhood.id.label(
            "item_id"
        ),  # the id again as a property, for clients that cannot read feature ids
        Neighbourhood.code,
        Neighbourhood.name,
        Neighbourhood.level,
        Neighbourhood.population,
        _mvt_geom(Neighbourhood.geom, tile, simplify=True).label("geom"),
    ).where(Neighbourhood.city_id == collection.city.id, Neighbourhood.geom.op("&&")(env))


def _asset_in(principal: Principal, settings: Settings, env: Any) -> Any:
    """Assets whose shown location lies in `env`, each column's index usable."""
    if principal.sees_exact_locations:
        return Asset.geom.op("&&")(env)
    private = visibility.asset_is_private()
    shown = visibility.asset_shown_geom(principal, settings)
    return or_(and_(~private, Asset.geom.op("&&")(env)), and_(private, shown.op("&&")(env)))


def _assets(
    collection: Collection, tile: TileRequest, principal: Principal, settings: Settings, status: str
) -> Select[Any]:
    env = _tile_envelope_4326(tile)
    exact = principal.sees_exact_locations
    private = visibility.asset_is_private()
    return select(  # type: ignore[return-value]
        Asset.id.label("id"),
        Asset.id.label("item_id"),  # the id again as a property, for clients that cannot read feature ids
        Asset.name,
        Asset.category,
        Asset.kind,
        Asset.status,
        Asset.capacity,
        Asset.verified,
        Asset.neighbourhood_id,
        (private if not exact else literal_column("false")).label("location_blurred"),
        _mvt_geom(visibility.asset_shown_geom(principal, settings), tile).label("geom"),
    ).where(
        Asset.city_id == collection.city.id,
        visibility.visible(Asset, principal, status),
        ~visibility.asset_suppressed(principal, settings),
        _asset_in(principal, settings, env),
    )


def _needs(collection: Collection, tile: TileRequest, principal: Principal, status: str) -> Select[Any]:
    env = _tile_envelope_4326(tile)
    slug = select(ServiceType.slug).where(ServiceType.id == Need.service_type_id).scalar_subquery()
    return select(
        Need.id.label("id"),
        Need.id.label("item_id"),  # the id again as a property, for clients that cannot read feature ids
        slug.label("service_type"),
        Need.severity,
        Need.people_affected,
        Need.status,
        Need.neighbourhood_id,
        _mvt_geom(Need.geom, tile, simplify=True).label("geom"),
    ).where(
        Need.city_id == collection.city.id,
        visibility.visible(Need, principal, status),
        Need.geom.op("&&")(env),
    )


def _links(
    collection: Collection, tile: TileRequest, principal: Principal, settings: Settings, status: str
) -> Select[Any]:
    """Links as lines between the shown locations of two assets the reader may both see."""
    env = _tile_envelope_4326(tile)
    shown = (
        select(Asset.id.label("id"), visibility.asset_shown_geom(principal, settings).label("g"))
        .where(
            Asset.city_id == collection.city.id,
            visibility.visible(Asset, principal, "all"),
            ~visibility.asset_suppressed(principal, settings),
        )
        .subquery("shown")
    )
    source = aliased(shown, name="src")
    target = aliased(shown, name="dst")
    line = func.ST_MakeLine(source.c.g, target.c.g)
    return (
        select(
            Link.id.label("id"),
            Link.id.label("item_id"),  # the id again as a property, for clients that cannot read feature ids
            Link.kind,
            Link.weight,
            Link.directed,
            Link.status,
            Link.source_asset_id,
            Link.target_asset_id,
            _mvt_geom(line, tile).label("geom"),
        )
        .join(source, source.c.id == Link.source_asset_id)
        .join(target, target.c.id == Link.target_asset_id)
        .where(
            Link.city_id == collection.city.id,
            visibility.visible(Link, principal, status),
            line.op("&&")(env),
        )
    )


def _run_neighbourhoods(
    db: Session, collection: Collection, tile: TileRequest, principal: Principal
) -> Select[Any]:
    run = finished_run(db, principal, int(collection.run_id or 0))
    _check_run_city(run.city_id, collection)
    keys = ("need", "covered_share", "unmet_need", "gap_share", "access_score", "mean_distance_m")
    rows = [
        {"id": row["id"], "desert": bool(row.get("desert")), **{k: row.get(k) for k in keys}}
        for row in view_results(run, principal)["neighbourhoods"]
    ]
    results = (
        func.jsonb_array_elements(bindparam("results", rows, type_=JSONB)).table_valued("value").alias("r")
    )
    value = results.c.value
    env = _tile_envelope_4326(tile)
    return (
        select(
            Neighbourhood.id.label("id"),
            Neighbourhood.code,
            Neighbourhood.name,
            *(value.op("->>")(k).cast(Float).label(k) for k in keys),
            value.op("->>")("desert").cast(Text).label("desert"),
            _mvt_geom(Neighbourhood.geom, tile, simplify=True).label("geom"),
        )
        .select_from(results)
        .join(Neighbourhood, Neighbourhood.id == value.op("->>")("id").cast(Integer))
        .where(Neighbourhood.city_id == collection.city.id, Neighbourhood.geom.op("&&")(env))
    )


def _run_cells(db: Session, collection: Collection, tile: TileRequest, principal: Principal) -> Select[Any]:
    run = finished_run(db, principal, int(collection.run_id or 0))
    _check_run_city(run.city_id, collection)
    overrides = view_results(run, principal)["cells"]  # the public view of units near people's assets
    public = bindparam("overrides", overrides or {}, type_=JSONB)
    columns = []
    for i, name in enumerate(CELL_VALUES):
        column = getattr(AnalysisCell, name)
        stored = public.op("->")(AnalysisCell.unit_id).op("->>")(i)
        kind: Any = Text if name == "covered" else Float
        own = column.cast(Text) if name == "covered" else column
        columns.append(func.coalesce(stored.cast(kind), own).label(name))
    env = _tile_envelope_4326(tile)
    stmt: Select[Any] = select(  # type: ignore[assignment]
        AnalysisCell.unit_id.label("id"),
        AnalysisCell.neighbourhood_id,
        AnalysisCell.population,
        AnalysisCell.need,
        *columns,
        _mvt_geom(AnalysisCell.geom, tile).label("geom"),
    ).where(AnalysisCell.run_id == run.id, AnalysisCell.geom.op("&&")(env))
    return stmt


def _check_run_city(city_id: int, collection: Collection) -> None:
    if city_id != collection.city.id:
        raise NotFound(
            f"no collection {collection.id!r}: the run belongs to another city", field="collectionId"
        )


def tile_rows(
    db: Session,
    settings: Settings,
    principal: Principal,
    collection: Collection,
    tile: TileRequest,
    status: str,
) -> Select[Any]:
    """The rows of one tile's single layer (an `id`, properties, and `geom` in tile coordinates)."""
    layer = collection.layer
    if collection.run_id is not None:
        rows = (_run_neighbourhoods if layer == "neighbourhoods" else _run_cells)(
            db, collection, tile, principal
        )
    elif layer == "neighbourhoods":
        rows = _neighbourhoods(collection, tile)
    elif layer == "assets":
        rows = _assets(collection, tile, principal, settings, status)
    elif layer == "needs":
        rows = _needs(collection, tile, principal, status)
    else:
        rows = _links(collection, tile, principal, settings, status)
    return rows.limit(bindparam("feature_limit", feature_limit(tile.z), type_=Integer))


def layer_name(collection: Collection) -> str:
    """The MVT layer name: the layer (`assets`, ..., `run_neighbourhoods`, `run_cells`)."""
    return collection.layer if collection.run_id is None else f"run_{collection.layer}"


def render_tile(
    db: Session,
    settings: Settings,
    principal: Principal,
    collection: Collection,
    tile: TileRequest,
    status: str,
) -> bytes:
    """The tile as MVT bytes (empty bytes when nothing is in it), in one statement."""
    rows = tile_rows(db, settings, principal, collection, tile, status).subquery("q")
    id_column = "id" if collection.layer != "cells" else None
    feature_id: list[Any] = [] if id_column is None else [literal_column("'id'")]
    stmt = (
        select(
            func.ST_AsMVT(
                literal_column("q"),
                bindparam("layer", layer_name(collection), type_=Text),
                EXTENT,
                literal_column("'geom'"),
                *feature_id,
            )
        )
        .select_from(rows)
        .where(rows.c.geom.is_not(None))
    )
    data = db.scalar(stmt)
    return bytes(data or b"")


def large_layers(
    db: Session, settings: Settings, city_id: int, city_name: str, layers: tuple[str, ...]
) -> dict[str, Any]:
    """The layers of a city with more features than `vector_tiles_threshold`, each with its tile URL template (the
    current data version in it): what a map page draws from vector tiles instead of GeoJSON."""
    from app.services.ogc.naming import collection_id

    models: dict[str, Any] = {"neighbourhoods": Neighbourhood, "assets": Asset, "needs": Need, "links": Link}
    chosen: dict[str, Any] = {}
    version: str | None = None
    for layer in layers:
        model = models[layer]
        # counting stops at the threshold: a large city costs no more than a small one
        capped = select(model.id).where(model.city_id == city_id).limit(settings.vector_tiles_threshold + 1)
        count = db.scalar(select(func.count()).select_from(capped.subquery())) or 0
        if count > settings.vector_tiles_threshold:
            if version is None:
                version = f"c{last_change_id(db, city_id)}"
            ident = collection_id(city_name, layer)
            chosen[layer] = {
                "collection": ident,
                "layer": layer,
                "url": f"/tiles/{ident}/{{z}}/{{x}}/{{y}}.mvt?v={version}",
            }
    return chosen


def collection_bounds(db: Any, collection: Collection) -> list[float]:
    """The extent of the city's neighbourhoods (west, south, east, north), or the whole WebMercatorQuad world."""
    box = db.execute(
        select(
            func.ST_XMin(func.ST_Extent(Neighbourhood.geom)),
            func.ST_YMin(func.ST_Extent(Neighbourhood.geom)),
            func.ST_XMax(func.ST_Extent(Neighbourhood.geom)),
            func.ST_YMax(func.ST_Extent(Neighbourhood.geom)),
        ).where(Neighbourhood.city_id == collection.city.id)
    ).one()
    if box[0] is None:
        return [-180.0, -85.0511287798066, 180.0, 85.0511287798066]
    return [round(float(b), 6) for b in box]
