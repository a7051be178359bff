"""Walking-time catchments (isochrones) of an asset on its city's street network, as GeoJSON."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from app.deps import ReadPublic, SessionDep, SettingsDep
from app.routers.common import GEOJSON, CityPath
from app.routers.responses import FEATURE_COLLECTION, READ, errors, media
from app.schemas.features import INT4_MAX
from app.services.analysis import walking

router = APIRouter(prefix="/api", tags=["streets"])


@router.get(
    "/cities/{city}/isochrones",
    summary="Walking-time catchments of an asset",
    response_class=Response,
    responses=errors(
        READ,
        403,
        404,
        extra={
            200: media(
                "One polygon per walking time (EPSG:4326), each with its minutes, the street network's id and "
                "the asset's distance to its street (snap_m); null geometry when the asset is not on the network",
                GEOJSON,
                schema=FEATURE_COLLECTION,
            )
        },
    ),
)
def get_isochrones(
    db: SessionDep,
    settings: SettingsDep,
    principal: ReadPublic,
    city: CityPath,
    asset: Annotated[int, Query(ge=1, le=INT4_MAX, description="the asset's id")],
    minutes: Annotated[
        str | None,
        Query(
            max_length=100,
            description=f"walking times in minutes, comma-separated (default 5,10,15; at most "
            f"{walking.MAX_ISOCHRONES}, each at most {walking.MAX_MINUTES:g}); walking at "
            f"{walking.WALKING_SPEED_M_PER_MIN:g} m a minute",
        ),
    ] = None,
) -> Response:
    """The streets an asset reaches on foot within each time, drawn as polygons. People and sensitive places are
    refused (403: a catchment shows where they are); a city without a street network is a 422 naming the fix."""
    times = walking.parse_minutes(minutes)
    document = walking.city_asset_isochrones(db, settings, principal, city, asset, times)
    return Response(json.dumps(document), media_type=GEOJSON)
