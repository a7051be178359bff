"""Vector tiles: OGC API Tiles under /ogc (tileset metadata, WebMercatorQuad, tiles by row before column) and a
plain {z}/{x}/{y} template with TileJSON 3.0.0 and a MapLibre style under /tiles, for QGIS and web maps."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import JSONResponse, Response

from app.deps import ReadPublic, SessionDep, SettingsDep
from app.policy import Principal
from app.routers.responses import READ, RESTRICTED, errors
from app.schemas.tiles import Style, TileJSON, TileMatrixSet, TileMatrixSets, Tileset, Tilesets
from app.services import tiles as service
from app.services.ogc.naming import Collection, resolve_collection
from app.settings import Settings

router = APIRouter(tags=["tiles"])
MATRIX_SET = "WebMercatorQuad"
MATRIX_SET_URI = "http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad"
ORIGIN_M = 20037508.3427892
CELL_SIZE_0 = 156543.03392804097
SCALE_0 = 559082264.0287178
LAYER_COLOURS = {
    "neighbourhoods": "#3b6ea8",
    "assets": "#1b7f3b",
    "needs": "#c0392b",
    "links": "#7d3c98",
    "cells": "#e67e22",
}
VersionQuery = Annotated[str | None, Query(max_length=80, description="data version from tilejson.json")]
StatusQuery = Annotated[str, Query(description="approved (default), pending, rejected or all")]


def _base(request: Request, settings: Settings) -> str:
    return settings.public_url or str(request.base_url).rstrip("/")


def _collection(db: Any, principal: Principal, ident: str) -> Collection:
    collection = resolve_collection(db, ident)
    if collection.run_id is not None:
        from app.services.analysis.records import finished_run

        run = finished_run(db, principal, collection.run_id)
        if run.city_id != collection.city.id:
            from app.errors import NotFound

            raise NotFound(f"no collection {ident!r}: list the collections at /ogc/collections")
    return collection


def _tile_answer(
    request: Request,
    db: Any,
    settings: Settings,
    principal: Principal,
    ident: str,
    z: str,
    x: str,
    y: str,
    v: str | None,
    status: str,
    if_none_match: str | None,
) -> Response:
    tile = service.check_tile(z, x, y)
    status = service.check_status(status, principal)
    collection = _collection(db, principal, ident)  # an unknown run is a 404 before any ETag is given
    version = service.data_version(db, collection)
    tag = service.etag(version, principal, status, settings, tile)
    shared = principal.is_anonymous and status == "approved"
    if v == version:  # a versioned URL never changes its content: keep it long
        cache = f"{'public' if shared else 'private'}, max-age=86400"
    else:  # no or an old version: check back each time (the ETag makes that cheap)
        cache = f"{'public' if shared else 'private'}, no-cache"
    headers = {"ETag": tag, "Cache-Control": cache, "Vary": "Authorization, Cookie, X-API-Key"}
    if if_none_match and tag in [t.strip() for t in if_none_match.split(",")]:
        return Response(status_code=304, headers=headers)
    body = service.render_tile(db, settings, principal, collection, tile, status)
    return Response(body, media_type=service.MEDIA_TYPE, headers=headers)


# the answers of both tile routes (OGC API Tiles and the XYZ template)
TILE_RESPONSES = errors(
    400,
    RESTRICTED,
    404,
    409,
    extra={
        200: {"content": {service.MEDIA_TYPE: {}}, "description": "The tile (empty when nothing is in it)"},
        304: {"description": "Not modified: the ETag in If-None-Match is current"},
    },
)


@router.get(
    "/ogc/collections/{collectionId}/tiles/WebMercatorQuad/{tileMatrix}/{tileRow}/{tileCol}",
    summary="A Mapbox Vector Tile of a collection (OGC API Tiles: row before column)",
    response_class=Response,
    responses=TILE_RESPONSES,
)
def ogc_tile(
    request: Request,
    db: SessionDep,
    settings: SettingsDep,
    principal: ReadPublic,
    collectionId: str,
    tileMatrix: str,
    tileRow: str,
    tileCol: str,
    v: VersionQuery = None,
    status: StatusQuery = "approved",
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    return _tile_answer(
        request, db, settings, principal, collectionId, tileMatrix, tileCol, tileRow, v, status, if_none_match
    )


@router.get(
    "/tiles/{collectionId}/{z}/{x}/{y}.mvt",
    summary="A Mapbox Vector Tile of a collection on the XYZ template (for QGIS and web maps)",
    response_class=Response,
    responses=TILE_RESPONSES,
)
def xyz_tile(
    request: Request,
    db: SessionDep,
    settings: SettingsDep,
    principal: ReadPublic,
    collectionId: str,
    z: str,
    x: str,
    y: str,
    v: VersionQuery = None,
    status: StatusQuery = "approved",
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    return _tile_answer(request, db, settings, principal, collectionId, z, x, y, v, status, if_none_match)


def _fields(collection: Collection) -> dict[str, str]:
    if collection.run_id is not None:
        if collection.layer == "cells":
            names = [
                "id",
                "neighbourhood_id",
                "population",
                "need",
                "distance_m",
                "covered",
                "access",
                "access_score",
                "shortfall",
            ]
        else:
            names = [
                "code",
                "name",
                "need",
                "covered_share",
                "unmet_need",
                "gap_share",
                "access_score",
                "mean_distance_m",
                "desert",
            ]
    else:
        names = {
            "neighbourhoods": ["item_id", "code", "name", "level", "population"],
            "assets": [
                "item_id",
                "name",
                "category",
                "kind",
                "status",
                "capacity",
                "verified",
                "neighbourhood_id",
                "location_blurred",
            ],
            "needs": ["item_id", "service_type", "severity", "people_affected", "status", "neighbourhood_id"],
            "links": [
                "item_id",
                "kind",
                "weight",
                "directed",
                "status",
                "source_asset_id",
                "target_asset_id",
            ],
        }[collection.layer]
    return {name: "" for name in names}


def tilejson_document(
    request: Request, db: Any, settings: Settings, principal: Principal, collection: Collection
) -> dict[str, Any]:
    """TileJSON 3.0.0 of a collection, its tile URL carrying the current data version."""
    base = _base(request, settings)
    version = service.data_version(db, collection)
    bounds = service.collection_bounds(db, collection)
    return {
        "tilejson": "3.0.0",
        "name": collection.id,
        "description": f"{collection.city.name}: {collection.layer}"
        + (f" of analysis run {collection.run_id}" if collection.run_id else ""),
        "version": "1.0.0",
        "attribution": collection.city.attribution or "",
        "scheme": "xyz",
        "tiles": [f"{base}/tiles/{collection.id}/{{z}}/{{x}}/{{y}}.mvt?v={version}"],
        "minzoom": 0,
        "maxzoom": service.MAX_ZOOM,
        "bounds": bounds,
        "center": [(bounds[0] + bounds[2]) / 2, (bounds[1] + bounds[3]) / 2, 11],
        "vector_layers": [
            {
                "id": service.layer_name(collection),
                "fields": _fields(collection),
                "minzoom": 0,
                "maxzoom": service.MAX_ZOOM,
            }
        ],
        "data_version": version,
    }


@router.get(
    "/tiles/{collectionId}/tilejson.json",
    summary="TileJSON 3.0.0 of a collection's vector tiles",
    responses=errors(READ, 404, 409, extra={200: {"model": TileJSON}}),
)
def tilejson(
    request: Request,
    db: SessionDep,
    settings: SettingsDep,
    principal: ReadPublic,
    collectionId: str,
) -> JSONResponse:
    collection = _collection(db, principal, collectionId)
    return JSONResponse(
        tilejson_document(request, db, settings, principal, collection), headers={"Cache-Control": "no-cache"}
    )


def style_layers(collection: Collection, source: str) -> list[dict[str, Any]]:
    """MapLibre style layers that draw a collection: fills and outlines, lines, or circles."""
    layer = service.layer_name(collection)
    colour = LAYER_COLOURS[collection.layer]
    name = f"{collection.id}"
    if collection.layer == "neighbourhoods":
        return [
            {
                "id": f"{name}-fill",
                "type": "fill",
                "source": source,
                "source-layer": layer,
                "paint": {"fill-color": colour, "fill-opacity": 0.15},
            },
            {
                "id": f"{name}-line",
                "type": "line",
                "source": source,
                "source-layer": layer,
                "paint": {"line-color": colour, "line-width": 1},
            },
        ]
    if collection.layer == "links":
        return [
            {
                "id": name,
                "type": "line",
                "source": source,
                "source-layer": layer,
                "paint": {"line-color": colour, "line-width": 1.5, "line-opacity": 0.7},
            }
        ]
    if collection.layer == "needs":
        return [
            {
                "id": f"{name}-fill",
                "type": "fill",
                "source": source,
                "source-layer": layer,
                "filter": ["==", ["geometry-type"], "Polygon"],
                "paint": {"fill-color": colour, "fill-opacity": 0.3},
            },
            {
                "id": name,
                "type": "circle",
                "source": source,
                "source-layer": layer,
                "filter": ["==", ["geometry-type"], "Point"],
                "paint": {"circle-color": colour, "circle-radius": 4},
            },
        ]
    return [
        {
            "id": name,
            "type": "circle",
            "source": source,
            "source-layer": layer,
            "paint": {
                "circle-color": colour,
                "circle-radius": 3,
                "circle-stroke-color": "#ffffff",
                "circle-stroke-width": 0.5,
            },
        }
    ]


@router.get(
    "/tiles/{collectionId}/style.json",
    summary="A MapLibre (Mapbox GL) style drawing a collection",
    responses=errors(READ, 404, 409, extra={200: {"model": Style}}),
)
def style(
    request: Request,
    db: SessionDep,
    settings: SettingsDep,
    principal: ReadPublic,
    collectionId: str,
) -> JSONResponse:
    collection = _collection(db, principal, collectionId)
    base = _base(request, settings)
    document = tilejson_document(request, db, settings, principal, collection)
    source = collection.id
    body = {
        "version": 8,
        "name": f"assetmap {collection.id}",
        "center": document["center"][:2],
        "zoom": 11,
        "sources": {
            source: {
                "type": "vector",
                "tiles": document["tiles"],
                "minzoom": 0,
                "maxzoom": service.MAX_ZOOM,
                "bounds": document["bounds"],
                "attribution": document["attribution"],
            }
        },
        "layers": [
            {"id": "background", "type": "background", "paint": {"background-color": "#f4f4f0"}},
            *style_layers(collection, source),
        ],
        "metadata": {"assetmap:tilejson": f"{base}/tiles/{collection.id}/tilejson.json"},
    }
    return JSONResponse(body, headers={"Cache-Control": "no-cache"})


def _matrix_set() -> dict[str, Any]:
    matrices = []
    for z in range(service.MAX_ZOOM + 1):
        n = 2**z
        matrices.append(
            {
                "id": str(z),
                "scaleDenominator": SCALE_0 / n,
                "cellSize": CELL_SIZE_0 / n,
                "cornerOfOrigin": "topLeft",
                "pointOfOrigin": [-ORIGIN_M, ORIGIN_M],
                "tileWidth": 256,
                "tileHeight": 256,
                "matrixWidth": n,
                "matrixHeight": n,
            }
        )
    return {
        "id": MATRIX_SET,
        "title": "Google Maps Compatible for the World",
        "uri": MATRIX_SET_URI,
        "crs": "http://www.opengis.net/def/crs/EPSG/0/3857",
        "orderedAxes": ["E", "N"],
        "wellKnownScaleSet": "http://www.opengis.net/def/wkss/OGC/1.0/GoogleMapsCompatible",
        "tileMatrices": matrices,
    }


@router.get(
    "/ogc/tileMatrixSets",
    summary="The tile matrix sets tiles are offered in",
    responses=errors(READ, extra={200: {"model": TileMatrixSets}}),
)
def tile_matrix_sets(request: Request, settings: SettingsDep, principal: ReadPublic) -> JSONResponse:
    base = _base(request, settings)
    return JSONResponse(
        {
            "tileMatrixSets": [
                {
                    "id": MATRIX_SET,
                    "title": "Google Maps Compatible for the World",
                    "uri": MATRIX_SET_URI,
                    "links": [
                        {
                            "rel": "self",
                            "type": "application/json",
                            "href": f"{base}/ogc/tileMatrixSets/{MATRIX_SET}",
                        }
                    ],
                }
            ]
        }
    )


@router.get(
    "/ogc/tileMatrixSets/{tileMatrixSetId}",
    summary="A tile matrix set (only WebMercatorQuad)",
    responses=errors(READ, 404, extra={200: {"model": TileMatrixSet}}),
)
def tile_matrix_set(tileMatrixSetId: str, principal: ReadPublic) -> JSONResponse:
    if tileMatrixSetId != MATRIX_SET:
        from app.errors import NotFound

        raise NotFound(f"no tile matrix set {tileMatrixSetId!r}: tiles are offered in {MATRIX_SET} only")
    return JSONResponse(_matrix_set())


def _tileset(request: Request, settings: Settings, collection: Collection, version: str) -> dict[str, Any]:
    base = _base(request, settings)
    here = f"{base}/ogc/collections/{collection.id}/tiles"
    return {
        "title": f"{collection.city.name}: {collection.layer}",
        "dataType": "vector",
        "crs": "http://www.opengis.net/def/crs/EPSG/0/3857",
        "tileMatrixSetURI": MATRIX_SET_URI,
        "links": [
            {"rel": "self", "type": "application/json", "href": f"{here}/{MATRIX_SET}"},
            {
                "rel": "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme",
                "type": "application/json",
                "href": f"{base}/ogc/tileMatrixSets/{MATRIX_SET}",
            },
            {
                "rel": "item",
                "type": service.MEDIA_TYPE,
                "templated": True,
                "href": f"{here}/{MATRIX_SET}/{{tileMatrix}}/{{tileRow}}/{{tileCol}}?v={version}",
            },
            {
                "rel": "describedby",
                "type": "application/json",
                "href": f"{base}/tiles/{collection.id}/tilejson.json",
            },
        ],
        "layers": [
            {
                "id": service.layer_name(collection),
                "dataType": "vector",
                "propertiesSchema": {
                    "type": "object",
                    "properties": {name: {} for name in _fields(collection)},
                },
            }
        ],
    }


@router.get(
    "/ogc/collections/{collectionId}/tiles",
    summary="The vector tilesets of a collection",
    responses=errors(READ, 404, 409, extra={200: {"model": Tilesets}}),
)
def collection_tilesets(
    request: Request,
    db: SessionDep,
    settings: SettingsDep,
    principal: ReadPublic,
    collectionId: str,
) -> JSONResponse:
    collection = _collection(db, principal, collectionId)
    version = service.data_version(db, collection)
    return JSONResponse({"tilesets": [_tileset(request, settings, collection, version)]})


@router.get(
    "/ogc/collections/{collectionId}/tiles/{tileMatrixSetId}",
    summary="A collection's vector tileset metadata",
    responses=errors(READ, 404, 409, extra={200: {"model": Tileset}}),
)
def collection_tileset(
    request: Request,
    db: SessionDep,
    settings: SettingsDep,
    principal: ReadPublic,
    collectionId: str,
    tileMatrixSetId: str,
) -> JSONResponse:
    collection = _collection(db, principal, collectionId)
    if tileMatrixSetId != MATRIX_SET:
        from app.errors import NotFound

        raise NotFound(f"no tile matrix set {tileMatrixSetId!r}: tiles are offered in {MATRIX_SET} only")
    version = service.data_version(db, collection)
    return JSONResponse(_tileset(request, settings, collection, version))
