"""Routes for GIS imports: POST/GET /api/imports (GIS staff); exports are in app/routers/exports.py."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from starlette.datastructures import FormData, UploadFile
from starlette.types import Message

from app.deps import ImportData, SessionDep, SettingsDep
from app.errors import InvalidInput, PayloadTooLarge
from app.routers.common import INT4_MAX
from app.routers.responses import RESTRICTED, errors
from app.schemas.imports import ImportRunList, ImportRunOut
from app.services import imports as import_service
from app.services.imports.options import LAYER_NAMES, text_encoding

router = APIRouter(prefix="/api/imports", tags=["imports"])

MAX_FILE_PARTS = 16
MAX_TEXT_FIELDS = 16
_TEXT_FIELDS = (
    "city",
    "layer",
    "crs",
    "encoding",
    "gpkg_layer",
    "mapping",
    "defaults",
    "source",
    "where",
    "clip",
    "clip_buffer_m",
    "join",
    "sheet",
)
_FLAG_FIELDS = ("dry_run", "skip_invalid")
_TEXT_LIMIT = 10_000
_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off", ""})

_UPLOAD_SCHEMA: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file", "city", "layer"],
                    "properties": {
                        "file": {
                            "type": "array",
                            "items": {"type": "string", "format": "binary"},
                            "description": "a zip, a GeoPackage, a GeoJSON, a CSV, an XLSX workbook, or a "
                            "shapefile's .shp/.shx/.dbf/.prj/.cpg as several parts (a .dbf alone with join); the "
                            "file name is only a label",
                        },
                        "city": {"type": "string", "description": "city id or name"},
                        "layer": {"type": "string", "enum": list(LAYER_NAMES)},
                        "crs": {
                            "type": "string",
                            "description": "EPSG:nnnn when the file has no .prj or CRS",
                        },
                        "encoding": {
                            "type": "string",
                            "description": "text encoding of a DBF or CSV, e.g. cp1252",
                        },
                        "gpkg_layer": {"type": "string", "description": "which layer of a GeoPackage"},
                        "mapping": {
                            "type": "string",
                            "description": 'JSON object target field -> source column, e.g. {"name": "BEZ"}; '
                            "added to the suggested mapping (an empty source unmaps a target); with join, a "
                            'count may be a sum of columns, e.g. {"pop_under_6": "a0+a1+a2"}',
                        },
                        "defaults": {
                            "type": "string",
                            "description": "JSON object target field -> value for empty or unmapped fields, e.g. "
                            '{"category": "institution"}',
                        },
                        "source": {
                            "type": "string",
                            "description": "assets: the source label that with source_id identifies a row "
                            "(default: the file name without extension)",
                        },
                        "where": {
                            "type": "string",
                            "description": "keep only the rows that match, in CQL2 text over the file's columns "
                            "(matched ignoring case): = <> < <= > >=, in (...), like with % and _, is [not] null, "
                            "between, and/or/not, parentheses, 'text' and numbers; e.g. "
                            "status = 'open' and kind in ('library', 'centre'). Never passed to GDAL or SQL",
                        },
                        "clip": {
                            "type": "string",
                            "description": "keep only the rows whose geometry intersects an area: 'city' (the union "
                            "of the city's neighbourhoods) or 'bbox=W,S,E,N' (WGS84 degrees); not for resources",
                        },
                        "clip_buffer_m": {
                            "type": "number",
                            "minimum": 0,
                            "maximum": 100000,
                            "description": "grow the clip area by this many metres (needs clip)",
                        },
                        "join": {
                            "type": "string",
                            "description": "code=COLUMN: update the fields of existing neighbourhoods matched by "
                            "code from a table (layer neighbourhoods only); nothing is created or deleted and "
                            "geometry is left alone",
                        },
                        "sheet": {
                            "type": "string",
                            "description": "which sheet of an XLSX workbook (default: the first)",
                        },
                        "dry_run": {"type": "boolean", "default": False},
                        "skip_invalid": {"type": "boolean", "default": False},
                    },
                }
            }
        },
    }
}


async def _read_form(request: Request, limit: int) -> FormData:
    """The multipart body, read only after the caller passed the access rule, and never more than `limit` bytes."""
    too_large = PayloadTooLarge(
        f"the upload is larger than the limit of {limit:,} bytes: split the data or ask an administrator to raise "
        "ASSETMAP_UPLOAD_MAX_BYTES",
        field="file",
    )
    declared = request.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise too_large
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise InvalidInput(
            "send the import as multipart/form-data with a 'file' part and the fields city and layer",
            field="file",
        )
    received = 0

    async def bounded_receive() -> Message:
        nonlocal received
        message = await request.receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > limit:
                raise too_large
        return message

    bounded = Request(request.scope, bounded_receive)
    return await bounded.form(max_files=MAX_FILE_PARTS, max_fields=MAX_TEXT_FIELDS)


def _flag(form: FormData, name: str) -> bool:
    value = form.get(name)
    if value is None:
        return False
    if not isinstance(value, str) or value.strip().lower() not in _TRUE | _FALSE:
        raise InvalidInput(f"{name} must be true or false", field=name)
    return value.strip().lower() in _TRUE


def _json_object(text: str | None, name: str) -> dict[str, Any] | None:
    if text is None or not text.strip():
        return None
    try:
        value = json.loads(text)
    except ValueError:
        raise InvalidInput(
            f'{name} must be a JSON object such as {{"name": "BEZEICHNUNG"}}', field=name
        ) from None
    if not isinstance(value, dict):
        raise InvalidInput(f'{name} must be a JSON object such as {{"name": "BEZEICHNUNG"}}', field=name)
    return value


def _metres(text: str | None, name: str) -> float | None:
    if text is None:
        return None
    try:
        return float(text)
    except ValueError:
        raise InvalidInput(f"{name} must be a number of metres, e.g. 500", field=name) from None


def _import_request(form: FormData) -> tuple[import_service.ImportRequest, list[UploadFile]]:
    unknown = sorted(set(form.keys()) - {"file", *_TEXT_FIELDS, *_FLAG_FIELDS})
    if unknown:
        raise InvalidInput(
            f"unknown field {unknown[0][:40]!r}: send file, {', '.join(_TEXT_FIELDS)}, dry_run, skip_invalid",
            field=unknown[0][:40],
        )
    files = form.getlist("file")
    if not files or not all(isinstance(f, UploadFile) for f in files):
        raise InvalidInput(
            "send the data as a file part named 'file' (several parts for a loose shapefile)", field="file"
        )
    texts: dict[str, str | None] = {}
    for name in _TEXT_FIELDS:
        values = [v for v in form.getlist(name) if isinstance(v, str)]
        if len(values) != len(form.getlist(name)) or len(values) > 1:
            raise InvalidInput(f"send {name} once, as text", field=name)
        value = values[0].strip() if values else None
        if value is not None and len(value) > _TEXT_LIMIT:
            raise InvalidInput(f"{name} is longer than {_TEXT_LIMIT:,} characters", field=name)
        texts[name] = value or None
    for required in ("city", "layer"):
        if texts[required] is None:
            raise InvalidInput(f"{required} is required", field=required)
    request = import_service.ImportRequest(
        city=texts["city"] or "",
        layer=texts["layer"] or "",
        crs=texts["crs"],
        encoding=text_encoding(texts["encoding"]),
        gpkg_layer=texts["gpkg_layer"],
        mapping=_json_object(texts["mapping"], "mapping"),
        defaults=_json_object(texts["defaults"], "defaults"),
        source=texts["source"],
        dry_run=_flag(form, "dry_run"),
        skip_invalid=_flag(form, "skip_invalid"),
        where=texts["where"],
        clip=texts["clip"],
        clip_buffer_m=_metres(texts["clip_buffer_m"], "clip_buffer_m"),
        join=texts["join"],
        sheet=texts["sheet"],
    )
    return request, [f for f in files if isinstance(f, UploadFile)]


@router.post(
    "",
    status_code=201,
    summary="Import a GIS file into a city's layer (or check it with dry_run)",
    name="create_import",
    openapi_extra=_UPLOAD_SCHEMA,
    response_model=ImportRunOut,
    responses=errors(400, RESTRICTED, 404, 409, 413),
)
async def create_import(
    request: Request, db: SessionDep, settings: SettingsDep, principal: ImportData
) -> JSONResponse:
    form = await _read_form(request, settings.upload_max_bytes)
    try:
        options, files = _import_request(form)
        uploads = [(f.filename, f.file) for f in files]
        # Reading, checking and loading are blocking work: they run in the threadpool, not on the event loop.
        run = await run_in_threadpool(
            import_service.import_uploads, db, settings, options, uploads, user_id=principal.user_id
        )
        record = await run_in_threadpool(import_service.describe_import, db, run)
    finally:
        await form.close()
    return JSONResponse(record, status_code=201, headers={"Location": f"/api/imports/{record['id']}"})


ImportId = Path(ge=1, le=INT4_MAX)


@router.get(
    "",
    summary="List imports, newest first",
    name="list_imports",
    response_model=ImportRunList,
    responses=errors(RESTRICTED, 404),
)
def list_imports(
    db: SessionDep,
    principal: ImportData,
    city: Annotated[str | None, Query(max_length=200, description="city id or name")] = None,
    before: Annotated[
        int | None, Query(ge=1, description="continue before this id (from next_before)")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200, description="page size")] = 50,
) -> JSONResponse:
    return JSONResponse(import_service.list_imports(db, city=city, before=before, limit=limit))


@router.get(
    "/{import_id}",
    summary="One import with its status and report",
    name="get_import",
    response_model=ImportRunOut,
    responses=errors(RESTRICTED, 404),
)
def get_import(db: SessionDep, principal: ImportData, import_id: int = ImportId) -> JSONResponse:
    return JSONResponse(import_service.get_import(db, import_id))
