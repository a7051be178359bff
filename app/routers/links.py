"""Routes for links: relations between two assets, proposed by contributors and reviewed."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from app.deps import Contribute, EditFeatures, ReadHistory, ReadPublic, Review, SessionDep, SettingsDep
from app.routers.common import IfMatch, ItemIdPath, ListParams, version_from
from app.routers.items import (
    ItemDocs,
    create_answer,
    item_response,
    list_page,
    restore_answer,
    revert_answer,
    review_answer,
    update_answer,
)
from app.routers.responses import RESTRICTED, errors
from app.schemas.features import LinkCreate, LinkUpdate, RevertRequest, ReviewDecision
from app.schemas.items import HistoryList, LinkList, LinkOut
from app.services import features as service

KIND = "links"
router = APIRouter(prefix="/api/links", tags=["links"])
docs = ItemDocs(KIND, item_model=LinkOut, list_model=LinkList)


@router.get(
    "",
    summary="List links",
    name="list_links",
    response_class=Response,
    responses=errors(RESTRICTED, 404, extra=docs.page("A page of links")),
)
def list_links(
    request: Request, db: SessionDep, settings: SettingsDep, principal: ReadPublic, filters: ListParams
) -> Response:
    return list_page(request, db, settings, principal, KIND, filters)


@router.post(
    "",
    status_code=201,
    summary="Create a link",
    name="create_link",
    response_class=Response,
    responses=errors(400, RESTRICTED, 404, 409, extra=docs.answer(201, "The new link")),
)
def create_link(body: LinkCreate, db: SessionDep, settings: SettingsDep, principal: Contribute) -> Response:
    return create_answer(db, settings, principal, KIND, body)


@router.get(
    "/{item_id}",
    summary="Get a link",
    name="get_link",
    response_class=Response,
    responses=errors(RESTRICTED, 404, extra=docs.answer(200, "The link, with its version as ETag")),
)
def get_link(db: SessionDep, settings: SettingsDep, principal: ReadPublic, item_id: ItemIdPath) -> Response:
    text, version = service.get_item(db, settings, principal, KIND, item_id)
    return item_response(text, version, KIND)


@router.patch(
    "/{item_id}",
    summary="Update a link",
    name="update_link",
    response_class=Response,
    responses=errors(400, RESTRICTED, 404, 409, 412, 428, extra=docs.answer(200, "The changed link")),
)
def update_link(
    body: LinkUpdate,
    db: SessionDep,
    settings: SettingsDep,
    principal: EditFeatures,
    item_id: ItemIdPath,
    if_match: IfMatch = None,
) -> Response:
    return update_answer(db, settings, principal, KIND, item_id, body, if_match)


@router.delete(
    "/{item_id}",
    status_code=204,
    summary="Delete a link",
    name="delete_link",
    responses=errors(RESTRICTED, 404, 409, 412, 428),
)
def delete_link(
    db: SessionDep,
    principal: EditFeatures,
    item_id: ItemIdPath,
    if_match: IfMatch = None,
    message: str | None = None,
) -> Response:
    service.delete_item(
        db, principal, KIND, item_id, expected_version=version_from(if_match, None), message=message
    )
    return Response(status_code=204)


@router.get(
    "/{item_id}/history",
    summary="History of a link",
    name="history_link",
    response_model=HistoryList,
    responses=errors(RESTRICTED, 404),
)
def link_history(
    db: SessionDep, settings: SettingsDep, principal: ReadHistory, item_id: ItemIdPath
) -> JSONResponse:
    return JSONResponse({"items": service.item_history(db, settings, principal, KIND, item_id)})


@router.post(
    "/{item_id}/revert",
    summary="Revert a link to a version",
    name="revert_link",
    response_class=Response,
    responses=errors(400, RESTRICTED, 404, 409, extra=docs.answer(200, "The link as it is now")),
)
def revert_link(
    body: RevertRequest, db: SessionDep, settings: SettingsDep, principal: Review, item_id: ItemIdPath
) -> Response:
    return revert_answer(db, settings, principal, KIND, item_id, body)


@router.post(
    "/{item_id}/restore",
    status_code=201,
    summary="Restore a deleted link",
    name="restore_link",
    response_class=Response,
    responses=errors(RESTRICTED, 404, 409, extra=docs.answer(201, "The restored link")),
)
def restore_link(
    db: SessionDep,
    settings: SettingsDep,
    principal: Review,
    item_id: ItemIdPath,
    message: str | None = None,
) -> Response:
    return restore_answer(db, settings, principal, KIND, item_id, message)


@router.post(
    "/{item_id}/review",
    summary="Approve or reject a pending link",
    name="review_link",
    response_class=Response,
    responses=errors(400, RESTRICTED, 404, 409, extra=docs.answer(200, "The reviewed link")),
)
def review_link(
    body: ReviewDecision, db: SessionDep, settings: SettingsDep, principal: Review, item_id: ItemIdPath
) -> Response:
    return review_answer(db, settings, principal, KIND, item_id, body)
