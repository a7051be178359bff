"""Routes for needs: what a neighbourhood lacks, proposed by contributors and reviewed."""

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
from app.schemas.features import NeedCreate, NeedUpdate, RevertRequest, ReviewDecision
from app.schemas.items import HistoryList
from app.services import features as service

KIND = "needs"
router = APIRouter(prefix="/api/needs", tags=["needs"])
docs = ItemDocs(KIND)


@router.get(
    "",
    summary="List needs",
    name="list_needs",
    response_class=Response,
    responses=errors(RESTRICTED, 404, extra=docs.page("A page of needs")),
)
def list_needs(
    request: Request, db: SessionDep, settings: SettingsDep, principal: ReadPublic, filters: ListParams
) -> Response:
    return list_page(request, db, settings, principal, KIND, filters)


@router.post(
    "",
    status_code=201,
    summary="Create a need",
    name="create_need",
    response_class=Response,
    responses=errors(400, RESTRICTED, 404, 409, extra=docs.answer(201, "The new need")),
)
def create_need(body: NeedCreate, db: SessionDep, settings: SettingsDep, principal: Contribute) -> Response:
    return create_answer(db, settings, principal, KIND, body)


@router.get(
    "/{item_id}",
    summary="Get a need",
    name="get_need",
    response_class=Response,
    responses=errors(RESTRICTED, 404, extra=docs.answer(200, "The need, with its version as ETag")),
)
def get_need(db: SessionDep, settings: SettingsDep, principal: ReadPublic, item_id: ItemIdPath) -> Response:
    text, version = service.get_item(db, settings, principal, KIND, item_id)
    return item_response(text, version, KIND)


@router.patch(
    "/{item_id}",
    summary="Update a need",
    name="update_need",
    response_class=Response,
    responses=errors(400, RESTRICTED, 404, 409, 412, 428, extra=docs.answer(200, "The changed need")),
)
def update_need(
    body: NeedUpdate,
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
    summary="Delete a need",
    name="delete_need",
    responses=errors(RESTRICTED, 404, 409, 412, 428),
)
def delete_need(
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
    summary="History of a need",
    name="history_need",
    response_model=HistoryList,
    responses=errors(RESTRICTED, 404),
)
def need_history(
    db: SessionDep, settings: SettingsDep, principal: ReadHistory, item_id: ItemIdPath
) -> JSONResponse:
    return JSONResponse({"items": service.item_history(db, settings, principal, KIND, item_id)})


@router.post(
    "/{item_id}/revert",
    summary="Revert a need to a version",
    name="revert_need",
    response_class=Response,
    responses=errors(400, RESTRICTED, 404, 409, extra=docs.answer(200, "The need as it is now")),
)
def revert_need(
    body: RevertRequest, db: SessionDep, settings: SettingsDep, principal: Review, item_id: ItemIdPath
) -> Response:
    return revert_answer(db, settings, principal, KIND, item_id, body)


@router.post(
    "/{item_id}/restore",
    status_code=201,
    summary="Restore a deleted need",
    name="restore_need",
    response_class=Response,
    responses=errors(RESTRICTED, 404, 409, extra=docs.answer(201, "The restored need")),
)
def restore_need(
    db: SessionDep,
    settings: SettingsDep,
    principal: Review,
    item_id: ItemIdPath,
    message: str | None = None,
) -> Response:
    return restore_answer(db, settings, principal, KIND, item_id, message)


@router.post(
    "/{item_id}/review",
    summary="Approve or reject a pending need",
    name="review_need",
    response_class=Response,
    responses=errors(400, RESTRICTED, 404, 409, extra=docs.answer(200, "The reviewed need")),
)
def review_need(
    body: ReviewDecision, db: SessionDep, settings: SettingsDep, principal: Review, item_id: ItemIdPath
) -> Response:
    return review_answer(db, settings, principal, KIND, item_id, body)
