"""Routes for the history-tracked kinds: /api/neighbourhoods, /api/assets, /api/needs, /api/resources, /api/links."""

# No `from __future__ import annotations` here: the route factory annotates handlers with models chosen at runtime.
from typing import Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

from app import deps
from app.db.session import single_commit
from app.deps import ReadHistory, ReadPublic, Review, SessionDep, SettingsDep
from app.geometry import check_geometry_size
from app.policy import Principal
from app.routers.common import (
    GEOJSON,
    AfterQuery,
    BboxQuery,
    CategoryQuery,
    CityQuery,
    GeoJSONResponse,
    IfMatch,
    LimitQuery,
    NeighbourhoodQuery,
    ServiceTypeQuery,
    StatusQuery,
    TextQuery,
    etag,
    feature_collection,
    item_list,
    list_filters,
    version_from,
)
from app.routers.responses import (
    ETAG_HEADER,
    FEATURE,
    FEATURE_COLLECTION,
    RESTRICTED,
    errors,
    media,
    openapi_links,
)
from app.schemas import features as schemas
from app.services import features as service
from app.services.catalogue import resolve_city

ItemId = Path(ge=1, le=2_147_483_647)


def _bounded(data: dict[str, Any], settings: Any) -> dict[str, Any]:
    """The body, once its geometry (if any) is within the instance's size limits."""
    check_geometry_size(
        data.get("geometry"),
        max_vertices=settings.geometry_max_vertices,
        max_parts=settings.geometry_max_parts,
    )
    return data


def _item_response(text: str, version: int, kind: str, status_code: int = 200) -> Response:
    cls = GeoJSONResponse if kind in service.GEO_KINDS else Response
    response = cls(text, status_code=status_code, headers={"ETag": etag(version)})
    if cls is Response:
        response.media_type = "application/json"
        response.headers["content-type"] = "application/json"
    return response


def build_router(
    kind: str,
    create_model: type[BaseModel],
    update_model: type[BaseModel],
    create_rule: Any,
    edit_rule: Any,
) -> APIRouter:
    """All routes of one kind; `create_rule`/`edit_rule` are access-rule dependencies from app.deps."""
    router = APIRouter(prefix=f"/api/{kind}", tags=[kind])
    singular = kind.removesuffix("s")
    geo = kind in service.GEO_KINDS
    # Items of the geographic kinds are GeoJSON Features, lists FeatureCollections; the others are JSON.
    item_type = GEOJSON if geo else "application/json"
    item_schema = FEATURE if geo else {"type": "object"}
    list_schema = FEATURE_COLLECTION if geo else {"type": "object", "required": ["items"]}

    item_path = f"/api/{kind}/{{item_id}}"
    # An answer with an item links to what can be done with it next (clients and stateful tests follow them).
    item_links = openapi_links(
        {
            f"get_{singular}": (item_path, "get"),
            f"update_{singular}": (item_path, "patch"),
            f"delete_{singular}": (item_path, "delete"),
            f"history_{singular}": (f"{item_path}/history", "get"),
        },
        "item_id",
        etag=True,
    )

    def answer(status: int, description: str, schema: dict[str, Any] = item_schema) -> dict[int, Any]:
        declared = media(description, item_type, schema=schema)
        if schema is item_schema:
            declared["links"] = item_links
            declared["headers"] = {"ETag": ETAG_HEADER}
        return {status: declared}

    @router.get(
        "",
        summary=f"List {kind}",
        name=f"list_{kind}",
        response_class=Response,
        responses=errors(RESTRICTED, 404, extra=answer(200, f"A page of {kind}", list_schema)),
    )
    def list_items(
        request: Request,
        db: SessionDep,
        settings: SettingsDep,
        principal: ReadPublic,
        city: CityQuery = None,
        neighbourhood: NeighbourhoodQuery = None,
        bbox: BboxQuery = None,
        category: CategoryQuery = None,
        service_type: ServiceTypeQuery = None,
        q: TextQuery = None,
        status: StatusQuery = "approved",
        after: AfterQuery = None,
        limit: LimitQuery = None,
    ) -> Response:
        city_id = resolve_city(db, city).id if city else None
        filters = list_filters(
            request,
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
        page = service.list_items(db, settings, principal, kind, filters)
        return feature_collection(request, page) if kind in service.GEO_KINDS else item_list(request, page)

    @router.post(
        "",
        status_code=201,
        summary=f"Create a {singular}",
        name=f"create_{singular}",
        response_class=Response,
        responses=errors(400, RESTRICTED, 404, 409, extra=answer(201, f"The new {singular}")),
    )
    def create_item(
        body: create_model,  # type: ignore[valid-type]
        db: SessionDep,
        settings: SettingsDep,
        principal: Principal = Depends(create_rule),
    ) -> Response:
        data = _bounded(body.model_dump(exclude_unset=True), settings)  # type: ignore[attr-defined]
        # The answer is read in the write's transaction, which commits before the response is built: a
        # success means committed, an error means nothing was.
        with single_commit(db):
            item_id = service.create_item(db, settings, principal, kind, data)
            text, version = service.get_item(db, settings, principal, kind, item_id)
        response = _item_response(text, version, kind, status_code=201)
        response.headers["Location"] = f"/api/{kind}/{item_id}"
        return response

    @router.get(
        "/{item_id}",
        summary=f"Get a {singular}",
        name=f"get_{singular}",
        response_class=Response,
        responses=errors(RESTRICTED, 404, extra=answer(200, f"The {singular}, with its version as ETag")),
    )
    def get_item(
        db: SessionDep, settings: SettingsDep, principal: ReadPublic, item_id: int = ItemId
    ) -> Response:
        text, version = service.get_item(db, settings, principal, kind, item_id)
        return _item_response(text, version, kind)

    @router.patch(
        "/{item_id}",
        summary=f"Update a {singular}",
        name=f"update_{singular}",
        response_class=Response,
        responses=errors(400, RESTRICTED, 404, 409, 412, 428, extra=answer(200, f"The changed {singular}")),
    )
    def update_item(
        body: update_model,  # type: ignore[valid-type]
        db: SessionDep,
        settings: SettingsDep,
        if_match: IfMatch = None,
        principal: Principal = Depends(edit_rule),
        item_id: int = ItemId,
    ) -> Response:
        data = _bounded(body.model_dump(exclude_unset=True), settings)  # type: ignore[attr-defined]
        body_version = data.pop("version", None)
        message = data.pop("message", None)
        expected_version = version_from(if_match, body_version)
        with single_commit(db):
            service.update_item(
                db,
                settings,
                principal,
                kind,
                item_id,
                data,
                expected_version=expected_version,
                message=message,
            )
            text, version = service.get_item(db, settings, principal, kind, item_id)
        return _item_response(text, version, kind)

    @router.delete(
        "/{item_id}",
        status_code=204,
        summary=f"Delete a {singular}",
        name=f"delete_{singular}",
        responses=errors(RESTRICTED, 404, 409, 412, 428),
    )
    def delete_item(
        db: SessionDep,
        if_match: IfMatch = None,
        message: str | None = None,
        principal: Principal = Depends(edit_rule),
        item_id: int = ItemId,
    ) -> Response:
        service.delete_item(
            db, principal, kind, item_id, expected_version=version_from(if_match, None), message=message
        )
        return Response(status_code=204)

    @router.get(
        "/{item_id}/history",
        summary=f"History of a {singular}",
        name=f"history_{singular}",
        responses=errors(RESTRICTED, 404),
    )
    def item_history(
        db: SessionDep, settings: SettingsDep, principal: ReadHistory, item_id: int = ItemId
    ) -> JSONResponse:
        return JSONResponse({"items": service.item_history(db, settings, principal, kind, item_id)})

    @router.post(
        "/{item_id}/revert",
        summary=f"Revert a {singular} to a version",
        name=f"revert_{singular}",
        response_class=Response,
        responses=errors(400, RESTRICTED, 404, 409, extra=answer(200, f"The {singular} as it is now")),
    )
    def revert_item(
        body: schemas.RevertRequest,
        db: SessionDep,
        settings: SettingsDep,
        principal: Review,
        item_id: int = ItemId,
    ) -> Response:
        with single_commit(db):
            service.revert_item(db, settings, principal, kind, item_id, body.version, body.message)
            text, version = service.get_item(db, settings, principal, kind, item_id)
        return _item_response(text, version, kind)

    @router.post(
        "/{item_id}/restore",
        status_code=201,
        summary=f"Restore a deleted {singular}",
        name=f"restore_{singular}",
        response_class=Response,
        responses=errors(RESTRICTED, 404, 409, extra=answer(201, f"The restored {singular}")),
    )
    def restore_item(
        db: SessionDep,
        settings: SettingsDep,
        principal: Review,
        message: str | None = None,
        item_id: int = ItemId,
    ) -> Response:
        with single_commit(db):
            service.restore_item(db, settings, principal, kind, item_id, message)
            text, version = service.get_item(db, settings, principal, kind, item_id)
        return _item_response(text, version, kind, status_code=201)

    if kind in service.REVIEWED:

        @router.post(
            "/{item_id}/review",
            summary=f"Approve or reject a pending {singular}",
            name=f"review_{singular}",
            response_class=Response,
            responses=errors(400, RESTRICTED, 404, 409, extra=answer(200, f"The reviewed {singular}")),
        )
        def review_item(
            body: schemas.ReviewDecision,
            db: SessionDep,
            settings: SettingsDep,
            principal: Review,
            item_id: int = ItemId,
        ) -> Response:
            with single_commit(db):
                service.review_item(db, principal, kind, item_id, body.decision, body.reason)
                text, version = service.get_item(db, settings, principal, kind, item_id)
            return _item_response(text, version, kind)

    return router


neighbourhoods = build_router(
    "neighbourhoods",
    schemas.NeighbourhoodCreate,
    schemas.NeighbourhoodUpdate,
    deps.manage_geography,
    deps.manage_geography,
)
assets = build_router("assets", schemas.AssetCreate, schemas.AssetUpdate, deps.contribute, deps.edit_features)
needs = build_router("needs", schemas.NeedCreate, schemas.NeedUpdate, deps.contribute, deps.edit_features)
resources = build_router(
    "resources", schemas.ResourceCreate, schemas.ResourceUpdate, deps.contribute, deps.edit_features
)
links = build_router("links", schemas.LinkCreate, schemas.LinkUpdate, deps.contribute, deps.edit_features)
