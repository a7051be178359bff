"""The directory in Open Referral HSDS 3.0 (docs/DIRECTORY.md "HSDS"): the API's root, services, organizations,
locations and service-at-locations, and the tabular export. Read without a key: only published assets that are
neither people nor sensitive are in it. Every answer under /hsds allows any origin (HsdsCors), as Open Referral
UK asks of a compliant API.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.deps import ReadPublic, SessionDep
from app.routers.responses import READ, errors
from app.schemas.hsds import HsdsDataPackage, HsdsItem, HsdsOpenApi, HsdsPage, HsdsRoot
from app.services.directory import hsds, publish

router = APIRouter(prefix="/hsds", tags=["HSDS 3.0"])

PREFIX = "/hsds"
CityQuery = Annotated[str | None, Query(max_length=200, description="city id or name (default: every city)")]
PageQuery = Annotated[int, Query(ge=1, le=1_000_000, description="page number, from 1")]
PerPageQuery = Annotated[int, Query(ge=1, le=hsds.MAX_PER_PAGE, description="items per page")]
IdPath = Annotated[str, Path(min_length=1, max_length=64, description="the item's UUID")]


class HsdsCors:
    """Access-Control-Allow-Origin: * on every answer under /hsds (and an answer to CORS preflight requests)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not (path == PREFIX or path.startswith(PREFIX + "/")):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        if scope["method"] == "OPTIONS" and b"access-control-request-method" in headers:
            response = Response(
                status_code=204,
                headers={
                    "Access-Control-Allow-Origin": "*",
                    "Access-Control-Allow-Methods": "GET, HEAD, OPTIONS",
                    "Access-Control-Allow-Headers": "Accept, Content-Type",
                    "Access-Control-Max-Age": "86400",
                },
            )
            await response(scope, receive, send)
            return

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [
                    (k, v) for k, v in message["headers"] if k.lower() != b"access-control-allow-origin"
                ] + [(b"access-control-allow-origin", b"*")]
            await send(message)

        await self.app(scope, receive, send_with_cors)


def _json(data: Any) -> JSONResponse:
    return JSONResponse(data, headers={"Cache-Control": "public, max-age=60"})


@router.get("/", summary="HSDS API root", name="hsds_root", response_model=HsdsRoot, responses=errors(READ))
def hsds_root(request: Request, principal: ReadPublic) -> JSONResponse:
    """The HSDS version this API publishes, its profile and its OpenAPI description."""
    return _json(hsds.root(str(request.base_url)))


@router.get(
    "/openapi.json",
    summary="HSDS OpenAPI description",
    name="hsds_openapi",
    response_model=HsdsOpenApi,
    responses=errors(READ),
)
def hsds_openapi(request: Request, principal: ReadPublic) -> JSONResponse:
    """The HSDS 3.0 API specification's OpenAPI document, with this API's title, version and licence."""
    return _json(publish.hsds_openapi(str(request.base_url)))


@router.get(
    "/services",
    summary="HSDS services",
    name="hsds_services",
    response_model=HsdsPage,
    responses=errors(400, READ, 404),
)
def hsds_services(
    db: SessionDep,
    principal: ReadPublic,
    city: CityQuery = None,
    page: PageQuery = 1,
    per_page: PerPageQuery = hsds.DEFAULT_PER_PAGE,
    search: Annotated[str | None, Query(max_length=200)] = None,
    organization_id: Annotated[str | None, Query(max_length=64)] = None,
    full: bool = False,
) -> JSONResponse:
    """A page of services (one-to-one fields and their organization; `full=true`: fully nested)."""
    return _json(
        publish.hsds_services(
            db, city, page, per_page, full=full, search=search, organization_id=organization_id
        )
    )


@router.get(
    "/services/{item_id}",
    summary="An HSDS service",
    name="hsds_service",
    response_model=HsdsItem,
    responses=errors(400, READ, 404),
)
def hsds_service(
    db: SessionDep, principal: ReadPublic, item_id: IdPath, city: CityQuery = None
) -> JSONResponse:
    """One service, fully nested: cost options, schedules, languages, its location with accessibility."""
    return _json(publish.hsds_item(db, city, "service", item_id))


@router.get(
    "/organizations",
    summary="HSDS organizations",
    name="hsds_organizations",
    response_model=HsdsPage,
    responses=errors(400, READ, 404),
)
def hsds_organizations(
    db: SessionDep,
    principal: ReadPublic,
    city: CityQuery = None,
    page: PageQuery = 1,
    per_page: PerPageQuery = hsds.DEFAULT_PER_PAGE,
) -> JSONResponse:
    """A page of organizations: the assets that offer published services."""
    return _json(publish.hsds_list(db, city, "organizations", page, per_page))


@router.get(
    "/organizations/{item_id}",
    summary="An HSDS organization",
    name="hsds_organization",
    response_model=HsdsItem,
    responses=errors(400, READ, 404),
)
def hsds_organization(
    db: SessionDep, principal: ReadPublic, item_id: IdPath, city: CityQuery = None
) -> JSONResponse:
    """One organization with its location."""
    return _json(publish.hsds_item(db, city, "organization", item_id))


@router.get(
    "/locations",
    summary="HSDS locations",
    name="hsds_locations",
    response_model=HsdsPage,
    responses=errors(400, READ, 404),
)
def hsds_locations(
    db: SessionDep,
    principal: ReadPublic,
    city: CityQuery = None,
    page: PageQuery = 1,
    per_page: PerPageQuery = hsds.DEFAULT_PER_PAGE,
) -> JSONResponse:
    """A page of locations: where published services are given."""
    return _json(publish.hsds_list(db, city, "locations", page, per_page))


@router.get(
    "/locations/{item_id}",
    summary="An HSDS location",
    name="hsds_location",
    response_model=HsdsItem,
    responses=errors(400, READ, 404),
)
def hsds_location(
    db: SessionDep, principal: ReadPublic, item_id: IdPath, city: CityQuery = None
) -> JSONResponse:
    """One location with its accessibility."""
    return _json(publish.hsds_item(db, city, "location", item_id))


@router.get(
    "/service_at_locations",
    summary="HSDS service at locations",
    name="hsds_service_at_locations",
    response_model=HsdsPage,
    responses=errors(400, READ, 404),
)
def hsds_service_at_locations(
    db: SessionDep,
    principal: ReadPublic,
    city: CityQuery = None,
    page: PageQuery = 1,
    per_page: PerPageQuery = hsds.DEFAULT_PER_PAGE,
) -> JSONResponse:
    """A page of links between services and their locations."""
    return _json(publish.hsds_list(db, city, "service_at_locations", page, per_page))


@router.get(
    "/export.zip",
    summary="HSDS tabular export",
    name="hsds_export",
    response_class=Response,
    responses={
        200: {"content": {"application/zip": {}}, "description": "CSV files and datapackage.json"},
        **errors(READ, 404),
    },
)
def hsds_export(db: SessionDep, principal: ReadPublic, city: CityQuery = None) -> Response:
    """The directory as HSDS 3.0 tabular data: one CSV per table and the specification's datapackage.json."""
    body = publish.hsds_zip(db, city)
    return Response(
        body,
        media_type="application/zip",
        headers={"Content-Disposition": 'attachment; filename="hsds-tabular.zip"'},
    )


@router.get(
    "/datapackage.json",
    summary="HSDS tabular descriptor",
    name="hsds_datapackage",
    response_model=HsdsDataPackage,
    responses=errors(READ),
)
def hsds_datapackage(principal: ReadPublic) -> JSONResponse:
    """The data package descriptor of the tabular export."""
    return _json(publish.hsds_descriptor())
