"""Routes for GIS files out: GET /api/exports/{layer} (anyone who may read)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask

from app.deps import ReadPublic, SessionDep, SettingsDep
from app.routers.responses import FEATURE_COLLECTION, RESTRICTED, errors
from app.services import exports as export_service
from app.services.exports import EXPORT_FORMATS

router = APIRouter(prefix="/api/exports", tags=["exports"])


@router.get(
    "/{layer}",
    summary="Download a city's layer as a GIS file",
    name="export_layer",
    response_class=FileResponse,
    responses=errors(
        RESTRICTED,
        404,
        extra={
            200: {
                "description": "The layer as a file of the format asked for",
                "content": {
                    # GeoJSON is a FeatureCollection (RFC 7946); the other formats are files.
                    media_type.split(";")[0]: {
                        "schema": FEATURE_COLLECTION
                        if fmt == "geojson"
                        else {"type": "string", "format": "binary"}
                    }
                    for fmt, (media_type, _) in export_service.MEDIA_TYPES.items()
                },
            }
        },
    ),
)
def export_layer(
    db: SessionDep,
    settings: SettingsDep,
    principal: ReadPublic,
    city: Annotated[str, Query(max_length=200, description="city id or name")],
    layer: Annotated[str, Path(max_length=40, description="neighbourhoods, assets, needs or resources")],
    format: Annotated[str, Query(max_length=20, description=" | ".join(EXPORT_FORMATS))] = "geojson",
    neighbourhood: Annotated[
        str | None, Query(max_length=64, description="only this neighbourhood (code) and the ones inside it")
    ] = None,
    status: Annotated[
        str, Query(max_length=20, description="approved (default); staff: pending, rejected, all")
    ] = ("approved"),
) -> FileResponse:
    export = export_service.export_layer(
        db,
        settings,
        principal,
        city=city,
        layer=layer,
        fmt=format,
        neighbourhood=neighbourhood,
        status=status,
    )
    return FileResponse(
        export.path,
        media_type=export.media_type,
        filename=export.filename,
        background=BackgroundTask(export.cleanup),
    )
