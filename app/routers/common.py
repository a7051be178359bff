"""Shared pieces of the HTTP layer: GeoJSON responses, keyset-page links, ETags and list parameters."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import Header, Path, Query, Request
from fastapi.responses import Response

from app.db.queries import REVIEWED_STATUSES, ListFilters, parse_bbox
from app.errors import InvalidInput
from app.services.features import Page
from app.settings import Settings
from geo.vocab import ASSET_CATEGORIES

GEOJSON = "application/geo+json"
INT4_MAX = 2_147_483_647
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


def list_filters(
    request: Request,
    settings: Settings,
    *,
    city_id: int | None,
    neighbourhood: int | None,
    bbox: str | None,
    category: str | None,
    service_type: str | None,
    q: str | None,
    status: str,
    after: int | None,
    limit: int | None,
) -> ListFilters:
    """Validate list parameters against the allow-lists and bounds."""
    if category is not None and category not in ASSET_CATEGORIES:
        raise InvalidInput(
            f"unknown category {category!r}: use one of {', '.join(ASSET_CATEGORIES)}", field="category"
        )
    if status not in REVIEWED_STATUSES:
        raise InvalidInput(f"status must be one of {', '.join(REVIEWED_STATUSES)}", field="status")
    size = settings.page_size_default if limit is None else limit
    if not 1 <= size <= settings.page_size_max:
        raise InvalidInput(f"limit must be between 1 and {settings.page_size_max}", field="limit")
    if q is not None and len(q) > 200:
        raise InvalidInput("q is limited to 200 characters", field="q")
    return ListFilters(
        city_id=city_id,
        neighbourhood_id=neighbourhood,
        bbox=parse_bbox(bbox) if bbox else None,
        category=category,
        service_type=service_type,
        q=q or None,
        status=status,
        after=after,
        limit=size,
    )


ItemIdPath = Annotated[int, Path(ge=1, le=INT4_MAX)]
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
