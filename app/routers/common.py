"""Shared pieces of the HTTP layer: GeoJSON responses, keyset-page links, ETags, and the validating dependencies
for recurring path and query values (item ids, cities, neighbourhoods, list parameters)."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import Depends, Header, Path, Query, Request
from fastapi.responses import Response

from app.deps import SessionDep, SettingsDep
from app.errors import InvalidInput
from app.schemas.features import INT4_MAX
from app.services.catalogue import City, resolve_city
from app.services.features import Page
from app.services.listing import ASSET_CATEGORIES, ListFilters, check_list_filters
from app.settings import Settings

GEOJSON = "application/geo+json"
# ASCII digits only: str.isdigit() and int() also take '²' and Arabic-Indic digits.
_VERSION_TAG = re.compile(r"[0-9]{1,10}")


class GeoJSONResponse(Response):
    """RFC 7946 media type."""

    media_type = GEOJSON


def etag(version: int) -> str:
    """The ETag of an item version."""
    return f'"{version}"'


def version_from(if_match: str | None, body_version: int | None) -> int | None:
    """The version an update is based on: If-Match (an ETag from GET) or the body's `version` field."""
    if if_match:
        value = if_match.strip().removeprefix("W/").strip('"')
        if not _VERSION_TAG.fullmatch(value) or int(value) > INT4_MAX:
            raise InvalidInput('If-Match must be an ETag from GET, such as "3"', field="If-Match")
        return int(value)
    return body_version


IfMatch = Annotated[str | None, Header(description="The ETag from GET; a stale one gets 412")]


def link_after(request: Request, after: int | str) -> str:
    """This request's URL continuing after `after`: on ASSETMAP_PUBLIC_URL when set, else on the request's Host
    (which the TrustedHosts guard has checked)."""
    url = request.url.include_query_params(after=after)
    settings: Settings = request.app.state.settings
    if settings.public_url:
        return f"{settings.public_url}{url.path}?{url.query}"
    return str(url)


def next_url(request: Request, page: Page) -> str | None:
    """The URL of the next page, or None on the last page."""
    if page.next_after is None:
        return None
    return link_after(request, page.next_after)


def feature_collection(request: Request, page: Page) -> GeoJSONResponse:
    """A FeatureCollection from features already serialised by the database."""
    nxt = next_url(request, page)
    links = f',"links":[{{"rel":"next","type":"{GEOJSON}","href":{_quote(nxt)}}}]' if nxt else ',"links":[]'
    body = (
        '{"type":"FeatureCollection","features":['
        + ",".join(page.items)
        + f'],"numberReturned":{len(page.items)},"next":{_quote(nxt)}{links}}}'
    )
    return GeoJSONResponse(body)


def item_list(request: Request, page: Page) -> Response:
    """A JSON list of items already serialised by the database."""
    nxt = next_url(request, page)
    body = (
        '{"items":[' + ",".join(page.items) + f'],"numberReturned":{len(page.items)},"next":{_quote(nxt)}}}'
    )
    return Response(body, media_type="application/json")


def _quote(value: str | None) -> str:
    import json

    return json.dumps(value)


CityQuery = Annotated[str | None, Query(description="city id or name")]
NeighbourhoodQuery = Annotated[int | None, Query(ge=1, le=INT4_MAX, description="neighbourhood id")]
BboxQuery = Annotated[str | None, Query(description="west,south,east,north in degrees (EPSG:4326)")]
CategoryQuery = Annotated[str | None, Query(description=f"ABCD category: {', '.join(ASSET_CATEGORIES)}")]
ServiceTypeQuery = Annotated[str | None, Query(description="service type slug")]
TextQuery = Annotated[str | None, Query(description="text search in names")]
StatusQuery = Annotated[str, Query(description="approved (default), pending, rejected or all")]
AfterQuery = Annotated[
    int | None, Query(ge=0, le=INT4_MAX, description="continue after this id (from the 'next' link)")
]
LimitQuery = Annotated[int | None, Query(description="page size")]

# Ids are PostgreSQL integers: a larger one is a 422 naming the parameter, never a database error.
ItemIdPath = Annotated[int, Path(ge=1, le=INT4_MAX)]
NeighbourhoodIdPath = Annotated[int, Path(ge=1, le=INT4_MAX)]


def city_from_path(city: str, db: SessionDep) -> City:
    """The city a path names by id or name; an unknown one is a 404."""
    return resolve_city(db, city)


CityPath = Annotated[City, Depends(city_from_path)]


def list_params(
    db: SessionDep,
    settings: SettingsDep,
    city: CityQuery = None,
    neighbourhood: NeighbourhoodQuery = None,
    bbox: BboxQuery = None,
    category: CategoryQuery = None,
    service_type: ServiceTypeQuery = None,
    q: TextQuery = None,
    status: StatusQuery = "approved",
    after: AfterQuery = None,
    limit: LimitQuery = None,
) -> ListFilters:
    """The list parameters of the five kinds: the city (by id or name, unknown: 404), then each value checked."""
    city_id = resolve_city(db, city).id if city else None
    return check_list_filters(
        settings,
        city_id=city_id,
        neighbourhood=neighbourhood,
        bbox=bbox,
        category=category,
        service_type=service_type,
        q=q,
        status=status,
        after=after,
        limit=limit,
    )


ListParams = Annotated[ListFilters, Depends(list_params)]
