"""OGC API Features under /ogc (Part 1 core, GeoJSON, HTML, OpenAPI 3.0; Part 2 CRS; Part 3 filters with CQL2).

The features are built as JSON by the database with the same visibility, suppression and blurring rules as
/api; a filter is parsed into an allow-listed tree and compiled with bound parameters (app/services/ogc/cql2.py).
"""

from __future__ import annotations

import datetime as dt
import html
import json
import math
import re
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlalchemy import Text, func, literal
from sqlalchemy.dialects.postgresql import ARRAY

from app.deps import ReadPublic, SessionDep, SettingsDep
from app.policy import Principal
from app.services.ogc import collections as oc
from app.services.ogc import runs
from app.services.ogc.cql2 import BadQuery, compile_filter, parse_filter
from app.settings import Settings

router = APIRouter(prefix="/ogc", include_in_schema=False)

GEOJSON = "application/geo+json"
OPENAPI = "application/vnd.oai.openapi+json;version=3.0"
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG = "http://www.opengis.net/def/crs/EPSG/0/"
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables-query-parameters",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
    "http://www.opengis.net/spec/cql2/1.0/conf/advanced-comparison-operators",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions-plus",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json",
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/create-replace-delete",
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/update",
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/features",
]
ITEM_PARAMS = {
    "f",
    "bbox",
    "bbox-crs",
    "limit",
    "after",
    "datetime",
    "crs",
    "filter",
    "filter-lang",
    "filter-crs",
    "status",
}


# ------------------------------------------------------------------------------------------- formats and links


def _base(request: Request) -> str:
    settings: Settings = request.app.state.settings
    if settings.public_url:
        return settings.public_url.rstrip("/") + "/ogc"
    return str(request.base_url).rstrip("/") + "/ogc"


def _wants_html(request: Request) -> bool:
    f = request.query_params.get("f")
    if f is not None:
        if f not in ("json", "html"):
            raise BadQuery("f must be json or html", field="f")
        return f == "html"
    accept = request.headers.get("accept", "")
    return "text/html" in accept and "json" not in accept


def _links(href: str, json_type: str, rel_json: bool) -> list[dict[str, str]]:
    """self and alternate for a resource in JSON (json_type) and HTML."""
    me, other = ("self", "alternate") if rel_json else ("alternate", "self")
    return [
        {"href": f"{href}?f=json", "rel": me, "type": json_type, "title": "this document as JSON"},
        {"href": f"{href}?f=html", "rel": other, "type": "text/html", "title": "this document as HTML"},
    ]


def _page(title: str, body: str) -> HTMLResponse:
    return HTMLResponse(
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(title)}</title></head>"
        f"<body><h1>{html.escape(title)}</h1>{body}</body></html>"
    )


def _link_list(links: list[dict[str, str]]) -> str:
    items = "".join(
        f"<li><a href='{html.escape(x['href'])}'>{html.escape(x.get('title') or x['rel'])}</a>"
        f" ({html.escape(x['rel'])}, {html.escape(x.get('type', ''))})</li>"
        for x in links
    )
    return f"<ul>{items}</ul>"


def _answer(request: Request, document: dict[str, Any], title: str, extra_html: str = "") -> Response:
    if _wants_html(request):
        return _page(title, extra_html + _link_list(document.get("links", [])))
    return JSONResponse(document)


# ------------------------------------------------------------------------------------------- resources


@router.api_route("", methods=["GET", "HEAD"], name="ogc_landing")
@router.api_route("/", methods=["GET", "HEAD"], name="ogc_landing_slash")
def landing(request: Request, principal: ReadPublic) -> Response:
    base = _base(request)
    document = {
        "title": "assetmap",
        "description": "Community assets, needs, neighbourhoods and links per city, as OGC API Features.",
        "links": [
            *_links(base, "application/json", not _wants_html(request)),
            {"href": f"{base}/api", "rel": "service-desc", "type": OPENAPI, "title": "the API definition"},
            {
                "href": f"{base}/api?f=html",
                "rel": "service-doc",
                "type": "text/html",
                "title": "the API documentation",
            },
            {
                "href": f"{base}/conformance",
                "rel": "conformance",
                "type": "application/json",
                "title": "conformance classes",
            },
            {
                "href": f"{base}/collections",
                "rel": "data",
                "type": "application/json",
                "title": "the collections",
            },
        ],
    }
    return _answer(request, document, "assetmap: OGC API Features")


@router.api_route("/conformance", methods=["GET", "HEAD"], name="ogc_conformance")
def conformance(request: Request, principal: ReadPublic) -> Response:
    document = {
        "conformsTo": CONFORMANCE,
        "links": _links(f"{_base(request)}/conformance", "application/json", True),
    }
    items = "".join(f"<li>{html.escape(c)}</li>" for c in CONFORMANCE)
    return _answer(request, document, "Conformance", f"<ul>{items}</ul>")


def _collection_document(
    request: Request, db: Any, settings: Settings, principal: Principal, c: oc.Collection
) -> dict[str, Any]:
    base = f"{_base(request)}/collections/{c.id}"
    interval: list[str | None]
    if c.run_id is not None:
        crs, bbox, interval = [CRS84], runs.run_extent(db, principal, c), [None, None]
    else:
        crs = [CRS84, f"{EPSG}4326"] + ([f"{EPSG}{c.srid}"] if c.srid else [])
        bbox, interval = oc.extent(db, c, principal, settings), oc.temporal_extent(db, c)
    document: dict[str, Any] = {
        "id": c.id,
        "title": c.title,
        "description": oc.DESCRIPTIONS.get(c.layer, oc.RUN_DESCRIPTION),
        "itemType": "feature",
        "crs": crs,
        "storageCrs": CRS84,
        "extent": {
            "spatial": {"bbox": [bbox or [-180, -90, 180, 90]], "crs": CRS84},
            "temporal": {
                "interval": [interval],
                "trs": "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian",
            },
        },
        "links": [
            *_links(base, "application/json", not _wants_html(request)),
            {
                "href": f"{base}/items?f=json",
                "rel": "items",
                "type": GEOJSON,
                "title": f"{c.title} as GeoJSON",
            },
            {
                "href": f"{base}/items?f=html",
                "rel": "items",
                "type": "text/html",
                "title": f"{c.title} as HTML",
            },
            {
                "href": f"{base}/queryables",
                "rel": "http://www.opengis.net/def/rel/ogc/1.0/queryables",
                "type": "application/schema+json",
                "title": "the properties a filter may use",
            },
        ],
    }
    return document


@router.api_route("/collections", methods=["GET", "HEAD"], name="ogc_collections")
def collections(request: Request, db: SessionDep, settings: SettingsDep, principal: ReadPublic) -> Response:
    found = [
        _collection_document(request, db, settings, principal, c) for c in oc.all_collections(db, principal)
    ]
    document = {
        "collections": found,
        "links": _links(f"{_base(request)}/collections", "application/json", not _wants_html(request)),
    }
    rows = "".join(
        f"<li><a href='{html.escape(c['links'][2]['href'])}'>{html.escape(c['title'])}</a> ({html.escape(c['id'])})</li>"
        for c in found
    )
    return _answer(request, document, "Collections", f"<ul>{rows}</ul>")


@router.api_route("/collections/{collection_id}", methods=["GET", "HEAD"], name="ogc_collection")
def collection(
    collection_id: str, request: Request, db: SessionDep, settings: SettingsDep, principal: ReadPublic
) -> Response:
    c = oc.find_collection(db, collection_id, principal)
    document = _collection_document(request, db, settings, principal, c)
    return _answer(request, document, c.title, f"<p>{html.escape(document['description'])}</p>")


@router.api_route("/collections/{collection_id}/queryables", methods=["GET", "HEAD"], name="ogc_queryables")
def queryables(collection_id: str, request: Request, db: SessionDep, principal: ReadPublic) -> Response:
    c = oc.find_collection(db, collection_id, principal)
    types = {"date-time": {"type": "string", "format": "date-time"}}
    geometry_type = oc.GEOMETRY_TYPES.get(c.layer, "Geometry")
    props: dict[str, Any] = {"geometry": {"$ref": f"https://geojson.org/schema/{geometry_type}.json"}}
    for name, q in ({} if c.run_id is not None else oc.queryables(c.layer)).items():
        props[name] = {"title": name, **types.get(q.type, {"type": q.type})}
    document = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"{_base(request)}/collections/{c.id}/queryables",
        "type": "object",
        "title": c.title,
        "properties": props,
        "additionalProperties": False,
    }
    if _wants_html(request):
        rows = "".join(f"<li>{html.escape(k)}: {html.escape(json.dumps(v))}</li>" for k, v in props.items())
        return _page(f"{c.title}: queryables", f"<ul>{rows}</ul>")
    return JSONResponse(document, media_type="application/schema+json")


# ------------------------------------------------------------------------------------------- items


def _crs_srid(value: str | None, c: oc.Collection, field: str) -> tuple[int, bool]:
    """(srid, lat/lon axis order) of a crs / bbox-crs / filter-crs parameter; CRS84 when not given."""
    if value is None or value in (CRS84, "CRS84"):
        return 4326, False
    if value == f"{EPSG}4326":
        return 4326, True
    if c.srid and value == f"{EPSG}{c.srid}":
        return c.srid, False
    offered = [CRS84, f"{EPSG}4326"] + ([f"{EPSG}{c.srid}"] if c.srid else [])
    raise BadQuery(f"{field} {value!r} is not offered: use one of {', '.join(offered)}", field=field)


def _bbox(text: str, srid: int, flip: bool) -> Any:
    parts = text.split(",")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        values = []
    if len(values) not in (4, 6) or not all(math.isfinite(v) for v in values):
        raise BadQuery("bbox must be four numbers: minx,miny,maxx,maxy", field="bbox")
    if len(values) == 6:
        values = [values[0], values[1], values[3], values[4]]
    x1, y1, x2, y2 = values
    if flip:
        x1, y1, x2, y2 = y1, x1, y2, x2
    if srid == 4326 and not (-180 <= x1 <= 180 and -180 <= x2 <= 180 and -90 <= y1 <= 90 and -90 <= y2 <= 90):
        raise BadQuery(
            "bbox out of range: longitudes within -180..180, latitudes within -90..90", field="bbox"
        )
    if x1 > x2 or y1 > y2:
        raise BadQuery("bbox must have minx <= maxx and miny <= maxy", field="bbox")
    envelope = func.ST_MakeEnvelope(x1, y1, x2, y2, srid)
    return envelope if srid == 4326 else func.ST_Transform(envelope, 4326)


def _instant(text: str) -> dt.datetime | None:
    if text in ("", ".."):
        return None
    try:
        value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise BadQuery(
            "datetime must be an RFC 3339 time or an interval such as 2024-01-01T00:00:00Z/..",
            field="datetime",
        ) from None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _conditions(request: Request, c: oc.Collection, principal: Principal, settings: Settings) -> list[Any]:
    params = request.query_params
    table = oc.queryables(c.layer)
    geom = oc.geometry_of(c.layer, principal, settings)
    where: list[Any] = []
    if params.get("bbox"):
        srid, flip = _crs_srid(params.get("bbox-crs"), c, "bbox-crs")
        where.append(func.ST_Intersects(geom, _bbox(params["bbox"], srid, flip)))
    if params.get("datetime"):
        column = table["updated_at"].column
        text = params["datetime"]
        if "/" in text:
            start, _, end = text.partition("/")
            low, high = _instant(start), _instant(end)
            if low is not None:
                where.append(column >= low)
            if high is not None:
                where.append(column <= high)
        else:
            where.append(column == _instant(text))
    for name, value in params.items():
        if name in ITEM_PARAMS:
            continue
        if name not in table:
            raise BadQuery(
                f"unknown parameter {name!r}: use one of {', '.join(sorted(ITEM_PARAMS | set(table)))}",
                field=name,
            )
        q = table[name]
        typed: Any = value
        try:
            if q.type == "integer":
                typed = int(value)
            elif q.type == "number":
                typed = float(value)
            elif q.type == "boolean":
                if value not in ("true", "false"):
                    raise ValueError(value)
                typed = value == "true"
            elif q.type == "date-time":
                typed = _instant(value)
        except ValueError:
            raise BadQuery(f"{name} is of type {q.type}; {value!r} is not", field=name) from None
        where.append(q.column == typed)
    if params.get("filter"):
        srid, flip = _crs_srid(params.get("filter-crs"), c, "filter-crs")
        tree = parse_filter(params["filter"], params.get("filter-lang"))
        shape_geom = func.ST_FlipCoordinates(geom) if flip else geom
        where.append(compile_filter(tree, table, shape_geom, srid))
    return where


def _limit(request: Request, settings: Settings) -> int:
    text = request.query_params.get("limit")
    if text is None:
        return settings.page_size_default
    if not text.isdigit():
        raise BadQuery(f"limit must be a whole number between 1 and {settings.page_size_max}", field="limit")
    # a larger limit is served as the largest page (OGC API Features: the server may cap it)
    return max(1, min(int(text), settings.page_size_max))


def _reprojected(text_col: Any, srid: int, flip: bool) -> Any:
    """A feature's JSON text with its geometry in another CRS (and axis order), by the database."""
    shape = func.ST_SetSRID(func.ST_GeomFromGeoJSON(func.cast(text_col, _JSONB()).op("->")("geometry")), 4326)
    if srid != 4326:
        shape = func.ST_Transform(shape, srid)
    if flip:
        shape = func.ST_FlipCoordinates(shape)
    decimals = 6 if srid == 4326 else 2
    return func.jsonb_set(
        func.cast(text_col, _JSONB()),
        literal(["geometry"], ARRAY(Text())),
        func.cast(func.ST_AsGeoJSON(shape, decimals), _JSONB()),
    )


def _JSONB() -> Any:
    from sqlalchemy.dialects.postgresql import JSONB

    return JSONB()


def _crs_header(srid: int, flip: bool) -> str:
    return f"<{EPSG}{srid}>" if (srid != 4326 or flip) else f"<{CRS84}>"


@router.api_route("/collections/{collection_id}/items", methods=["GET", "HEAD"], name="ogc_items")
def items(
    collection_id: str, request: Request, db: SessionDep, settings: SettingsDep, principal: ReadPublic
) -> Response:
    c = oc.find_collection(db, collection_id, principal)
    as_html = _wants_html(request)
    limit = _limit(request, settings)
    after_text = request.query_params.get("after")
    if c.run_id is not None:
        rows, more, srid, flip = _run_page(request, db, principal, c, limit, after_text)
    else:
        rows, more, srid, flip = _feature_page(request, db, settings, principal, c, limit, after_text)
    base = f"{_base(request)}/collections/{c.id}/items"
    return _page_answer(request, c, rows, more, srid, flip, base, as_html)


def _run_page(
    request: Request, db: Any, principal: Principal, c: oc.Collection, limit: int, after_text: str | None
) -> tuple[list[Any], bool, int, bool]:
    """A page of analysis results: limit, after, bbox (CRS84) and crs=CRS84 are offered on them."""
    offered = {"f", "limit", "after", "bbox", "bbox-crs", "crs"}
    for name in request.query_params:
        if name not in offered:
            raise BadQuery(
                f"{name} is not offered on analysis results: use {', '.join(sorted(offered))}", field=name
            )
    for name in ("crs", "bbox-crs"):
        if request.query_params.get(name) not in (None, CRS84):
            raise BadQuery(f"analysis results are offered in {CRS84} only", field=name)
    box = None
    if request.query_params.get("bbox"):
        parts = request.query_params["bbox"].split(",")
        try:
            values = [float(p) for p in parts]
        except ValueError:
            values = []
        if len(values) != 4 or not all(math.isfinite(v) for v in values):
            raise BadQuery("bbox must be four numbers: minx,miny,maxx,maxy", field="bbox")
        box = (values[0], values[1], values[2], values[3])
    if after_text is not None and not re.fullmatch(r"[0-9a-z:]{1,32}", after_text):
        raise BadQuery("after must be a key from a next link", field="after")
    texts, next_after = runs.run_items(db, principal, c, limit=limit, after=after_text, bbox=box)
    keyed = [(json.loads(t)["id"], t) for t in texts]
    if next_after is not None and keyed:
        keyed[-1] = (next_after, keyed[-1][1])
    return keyed, next_after is not None, 4326, False


def _feature_page(
    request: Request,
    db: Any,
    settings: Settings,
    principal: Principal,
    c: oc.Collection,
    limit: int,
    after_text: str | None,
) -> tuple[list[Any], bool, int, bool]:
    if after_text is not None and not after_text.isdigit():
        raise BadQuery("after must be an id from a next link", field="after")
    status = request.query_params.get("status", "approved")
    if status not in ("approved", "pending", "rejected", "all"):
        raise BadQuery("status must be one of approved, pending, rejected, all", field="status")
    srid, flip = _crs_srid(request.query_params.get("crs"), c, "crs")
    stmt = oc.items_select(
        c,
        principal,
        settings,
        status=status,
        after=int(after_text) if after_text else None,
        limit=limit,
        where=_conditions(request, c, principal, settings),
    )
    if srid != 4326 or flip:
        inner = stmt.subquery()
        from sqlalchemy import Text, select

        columns = list(inner.c)
        stmt = select(columns[0], func.cast(_reprojected(columns[1], srid, flip), Text()))
    rows = db.execute(stmt).all()
    more = len(rows) > limit
    return rows[:limit], more, srid, flip


def _page_answer(
    request: Request,
    c: oc.Collection,
    rows: list[Any],
    more: bool,
    srid: int,
    flip: bool,
    base: str,
    as_html: bool,
) -> Response:
    links: list[dict[str, str]] = []
    query = {k: v for k, v in request.query_params.items() if k not in ("f", "after")}
    from urllib.parse import urlencode

    for fmt, mime in (("json", GEOJSON), ("html", "text/html")):
        rel = "self" if (fmt == "html") == as_html else "alternate"
        links.append({"href": f"{base}?{urlencode({**query, 'f': fmt})}", "rel": rel, "type": mime})
    if more and rows:
        links.append(
            {
                "href": f"{base}?{urlencode({**query, 'f': 'json', 'after': rows[-1][0]})}",
                "rel": "next",
                "type": GEOJSON,
                "title": "the next page",
            }
        )
    links.append(
        {"href": f"{_base(request)}/collections/{c.id}", "rel": "collection", "type": "application/json"}
    )
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if as_html:
        features = [json.loads(r[1]) for r in rows]
        table = "".join(
            f"<tr><td>{html.escape(str(f['id']))}</td><td>{html.escape(str(f['properties'].get('name') or f['properties'].get('kind') or ''))}</td></tr>"
            for f in features
        )
        return _page(
            f"{c.title}: features",
            f"<table><tr><th>id</th><th>name</th></tr>{table}</table>" + _link_list(links),
        )
    body = (
        '{"type":"FeatureCollection","features":['
        + ",".join(r[1] for r in rows)
        + f'],"numberReturned":{len(rows)},"timeStamp":"{stamp}","links":{json.dumps(links)}}}'
    )
    return Response(body, media_type=GEOJSON, headers={"Content-Crs": _crs_header(srid, flip)})


@router.api_route("/collections/{collection_id}/items/{feature_id}", methods=["GET", "HEAD"], name="ogc_item")
def item(
    collection_id: str,
    feature_id: str,
    request: Request,
    db: SessionDep,
    settings: SettingsDep,
    principal: ReadPublic,
) -> Response:
    c = oc.find_collection(db, collection_id, principal)
    if c.run_id is not None:
        return _run_item(request, db, principal, c, feature_id)
    if not feature_id.isdigit() or int(feature_id) > 2**31 - 1:
        from app.errors import NotFound

        raise NotFound(f"no feature {feature_id!r} in {c.id}")
    srid, flip = _crs_srid(request.query_params.get("crs"), c, "crs")
    model = oc._model(c.layer)
    stmt = oc.items_select(
        c,
        principal,
        settings,
        status="all" if not principal.is_anonymous else "approved",
        after=None,
        limit=1,
        where=[model.id == int(feature_id)],
    )
    if srid != 4326 or flip:
        from sqlalchemy import Text, select

        inner = stmt.subquery()
        columns = list(inner.c)
        stmt = select(columns[0], func.cast(_reprojected(columns[1], srid, flip), Text()))
    row = db.execute(stmt).first()
    if row is None:
        from app.errors import NotFound

        raise NotFound(f"no feature {feature_id!r} in {c.id}")
    feature = json.loads(row[1])
    base = f"{_base(request)}/collections/{c.id}"
    feature["links"] = [
        *_links(f"{base}/items/{feature_id}", GEOJSON, not _wants_html(request)),
        {"href": base, "rel": "collection", "type": "application/json"},
    ]
    if _wants_html(request):
        rows = "".join(
            f"<tr><th>{html.escape(k)}</th><td>{html.escape(json.dumps(v))}</td></tr>"
            for k, v in feature["properties"].items()
        )
        return _page(f"{c.title}: {feature_id}", f"<table>{rows}</table>" + _link_list(feature["links"]))
    version = feature["properties"].get("version")
    headers = {"Content-Crs": _crs_header(srid, flip)}
    if version is not None:
        headers["ETag"] = f'"{version}"'
    return Response(json.dumps(feature), media_type=GEOJSON, headers=headers)


def _openapi(base: str, settings: Settings) -> dict[str, Any]:
    """The OpenAPI 3.0 document of /ogc; `limit` under components.parameters (QGIS reads the page size there)."""

    def param(name: str, description: str, schema: dict[str, Any], where: str = "query") -> dict[str, Any]:
        return {
            "name": name,
            "in": where,
            "required": where == "path",
            "description": description,
            "schema": schema,
            **({"style": "form", "explode": False} if where == "query" else {}),
        }

    ref = {
        name: {"$ref": f"#/components/parameters/{name}"}
        for name in (
            "collectionId",
            "featureId",
            "limit",
            "bbox",
            "bbox-crs",
            "datetime",
            "crs",
            "filter",
            "filter-lang",
            "filter-crs",
            "f",
        )
    }
    ok = {
        "200": {"description": "OK"},
        "400": {"description": "bad request"},
        "404": {"description": "not found"},
    }
    return {
        "openapi": "3.0.3",
        "info": {"title": "assetmap OGC API Features", "version": "1.0"},
        "servers": [{"url": base}],
        "paths": {
            "/": {"get": {"operationId": "getLandingPage", "parameters": [ref["f"]], "responses": ok}},
            "/conformance": {
                "get": {"operationId": "getConformance", "parameters": [ref["f"]], "responses": ok}
            },
            "/collections": {
                "get": {"operationId": "getCollections", "parameters": [ref["f"]], "responses": ok}
            },
            "/collections/{collectionId}": {
                "get": {
                    "operationId": "describeCollection",
                    "parameters": [ref["collectionId"], ref["f"]],
                    "responses": ok,
                }
            },
            "/collections/{collectionId}/queryables": {
                "get": {"operationId": "getQueryables", "parameters": [ref["collectionId"]], "responses": ok}
            },
            "/collections/{collectionId}/items": {
                "get": {
                    "operationId": "getFeatures",
                    "parameters": [
                        ref[n]
                        for n in (
                            "collectionId",
                            "limit",
                            "bbox",
                            "bbox-crs",
                            "datetime",
                            "crs",
                            "filter",
                            "filter-lang",
                            "filter-crs",
                            "f",
                        )
                    ],
                    "responses": ok,
                }
            },
            "/collections/{collectionId}/items/{featureId}": {
                "get": {
                    "operationId": "getFeature",
                    "parameters": [ref["collectionId"], ref["featureId"], ref["crs"], ref["f"]],
                    "responses": ok,
                }
            },
        },
        "components": {
            "parameters": {
                "collectionId": param(
                    "collectionId", "a collection id such as berlin-assets", {"type": "string"}, "path"
                ),
                "featureId": param("featureId", "a feature id", {"type": "string"}, "path"),
                "limit": param(
                    "limit",
                    "features per page",
                    {
                        "type": "integer",
                        "minimum": 1,
                        "maximum": settings.page_size_max,
                        "default": settings.page_size_default,
                    },
                ),
                "bbox": param(
                    "bbox",
                    "minx,miny,maxx,maxy in bbox-crs",
                    {"type": "array", "minItems": 4, "maxItems": 6, "items": {"type": "number"}},
                ),
                "bbox-crs": param(
                    "bbox-crs", "the CRS of bbox (default CRS84)", {"type": "string", "format": "uri"}
                ),
                "datetime": param(
                    "datetime", "last-updated time or interval (RFC 3339, .. for open)", {"type": "string"}
                ),
                "crs": param(
                    "crs", "the CRS of the answer (default CRS84)", {"type": "string", "format": "uri"}
                ),
                "filter": param("filter", "a CQL2 filter", {"type": "string"}),
                "filter-lang": param(
                    "filter-lang",
                    "cql2-text (default) or cql2-json",
                    {"type": "string", "enum": ["cql2-text", "cql2-json"], "default": "cql2-text"},
                ),
                "filter-crs": param(
                    "filter-crs",
                    "the CRS of filter geometries (default CRS84)",
                    {"type": "string", "format": "uri"},
                ),
                "f": param("f", "json or html", {"type": "string", "enum": ["json", "html"]}),
            }
        },
    }


@router.api_route("/api", methods=["GET", "HEAD"], name="ogc_api")
def api_document(request: Request, settings: SettingsDep, principal: ReadPublic) -> Response:
    document = _openapi(_base(request), settings)
    if _wants_html(request):
        paths = "".join(f"<li>GET {html.escape(p)}</li>" for p in document["paths"])
        params = "".join(
            f"<li>{html.escape(n)}: {html.escape(p['description'])}</li>"
            for n, p in document["components"]["parameters"].items()
        )
        return _page(
            "assetmap OGC API Features: API",
            f"<h2>Paths</h2><ul>{paths}</ul><h2>Parameters</h2><ul>{params}</ul>",
        )
    return JSONResponse(document, media_type=OPENAPI)


def _run_item(request: Request, db: Any, principal: Principal, c: oc.Collection, feature_id: str) -> Response:
    """One result of a run, looked up page by page (results are read through the analysis outputs)."""
    after: str | None = None
    while True:
        texts, after = runs.run_items(db, principal, c, limit=1000, after=after, bbox=None)
        for text in texts:
            feature = json.loads(text)
            if str(feature["id"]) == feature_id:
                base = f"{_base(request)}/collections/{c.id}"
                feature["links"] = [
                    *_links(f"{base}/items/{feature_id}", GEOJSON, True),
                    {"href": base, "rel": "collection", "type": "application/json"},
                ]
                return Response(
                    json.dumps(feature), media_type=GEOJSON, headers={"Content-Crs": f"<{CRS84}>"}
                )
        if after is None:
            from app.errors import NotFound

            raise NotFound(f"no feature {feature_id!r} in {c.id}")
