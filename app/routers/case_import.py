"""POST /api/cases/import: a council's published register of assets of community value (CSV or XLSX) imported
into a city's cases, or tried with dry_run (docs/CASES_REGISTER_IMPORT.md)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse
from starlette.datastructures import FormData, UploadFile

from app.deps import EditFeatures, SessionDep, SettingsDep
from app.errors import InvalidInput
from app.routers.imports import _flag, _json_object, _read_form
from app.routers.pages import _page
from app.routers.responses import RESTRICTED, errors
from app.schemas.case_import import RegisterImportOut
from app.services.cases.register_import import RegisterImport, import_page, import_register_upload
from app.services.imports.options import text_encoding

router = APIRouter(prefix="/api/cases", tags=["cases"])

_TEXT_FIELDS = ("city", "mapping", "crs", "encoding", "sheet")
_TEXT_LIMIT = 4000

_UPLOAD_SCHEMA: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file", "city"],
                    "properties": {
                        "file": {
                            "type": "string",
                            "format": "binary",
                            "description": "the register, CSV or XLSX",
                        },
                        "city": {"type": "string", "description": "city id or name"},
                        "mapping": {
                            "type": "string",
                            "description": 'register field -> column as a JSON object, e.g. {"name": "Asset", '
                            '"listed_on": "Date added"}; fields: name, address, postcode, body, reference, '
                            "nominated_on, listed_on, unsuccessful_on, decided_on, outcome, removed_on, note",
                        },
                        "crs": {
                            "type": "string",
                            "description": "coordinates' CRS (default EPSG:27700 for "
                            "easting/northing, EPSG:4326 for longitude/latitude)",
                        },
                        "encoding": {
                            "type": "string",
                            "description": "a CSV's text encoding (default: UTF-8, else cp1252)",
                        },
                        "sheet": {
                            "type": "string",
                            "description": "the sheet of a workbook (default: the first)",
                        },
                        "dry_run": {"type": "boolean", "default": False},
                    },
                }
            }
        },
    }
}


def _register_request(form: FormData) -> tuple[RegisterImport, UploadFile]:
    unknown = sorted(set(form.keys()) - {"file", "dry_run", *_TEXT_FIELDS})
    if unknown:
        raise InvalidInput(
            f"unknown field {unknown[0][:40]!r}: send file, {', '.join(_TEXT_FIELDS)} and dry_run",
            field=unknown[0][:40],
        )
    files = form.getlist("file")
    if len(files) != 1 or not isinstance(files[0], UploadFile):
        raise InvalidInput("send the register as one file part named 'file' (CSV or XLSX)", field="file")
    texts: dict[str, str | None] = {}
    for name in _TEXT_FIELDS:
        values = form.getlist(name)
        if len(values) > 1 or not all(isinstance(v, str) for v in values):
            raise InvalidInput(f"send {name} once, as text", field=name)
        value = str(values[0]).strip() if values else None
        if value is not None and len(value) > _TEXT_LIMIT:
            raise InvalidInput(f"{name} is longer than {_TEXT_LIMIT:,} characters", field=name)
        texts[name] = value or None
    if texts["city"] is None:
        raise InvalidInput("city is required: the city's id or name", field="city")
    mapping = _json_object(texts["mapping"], "mapping")
    if mapping is not None and not all(isinstance(v, str) for v in mapping.values()):
        raise InvalidInput(
            'mapping values must be column names, e.g. {"name": "Asset name"}', field="mapping"
        )
    request = RegisterImport(
        city=texts["city"],
        mapping=mapping,
        crs=texts["crs"],
        encoding=text_encoding(texts["encoding"]),
        sheet=texts["sheet"],
        dry_run=_flag(form, "dry_run"),
    )
    return request, files[0]


@router.post(
    "/import",
    summary="Import a council's register of assets of community value (or try it with dry_run)",
    name="import_case_register",
    openapi_extra=_UPLOAD_SCHEMA,
    response_model=RegisterImportOut,
    responses=errors(400, RESTRICTED, 404, 413),
)
async def import_register(
    request: Request, db: SessionDep, settings: SettingsDep, principal: EditFeatures
) -> dict[str, Any]:
    """Each row matched to an asset of the city by name (and address), or placed as a new physical space by its
    coordinates, its case opened and its dates recorded as events; the rows that could not be placed are listed
    with the reason. One transaction; a dry run writes nothing."""
    form = await _read_form(request, settings.upload_max_bytes)
    try:
        options, upload = _register_request(form)
        return await run_in_threadpool(
            import_register_upload, db, settings, principal, options, upload.filename, upload.file
        )
    finally:
        await form.close()


# The page sits under /cases and is registered before the case pages, or /cases/{case_id} would take its path.
page_router = APIRouter(include_in_schema=False)


@page_router.get("/cases/import", response_class=HTMLResponse, name="cases_import_page")
def show_import_page(
    request: Request,
    db: SessionDep,
    settings: SettingsDep,
    principal: EditFeatures,
    city: Annotated[str | None, Query(max_length=200, description="city id or name")] = None,
) -> HTMLResponse:
    """Organisers upload a council's register, try it (a dry run), import it, and see the rows left to place."""
    page = import_page(db, city)
    return _page(
        request,
        "case_import.html",
        principal,
        page=page,
        upload_max_mb=settings.upload_max_bytes // (1024 * 1024),
        tiles_url=settings.tiles_url or "",
        tiles_attribution=settings.tiles_attribution,
    )
