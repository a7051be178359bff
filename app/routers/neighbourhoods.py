"""Routes for neighbourhoods: the boundaries features are placed in, edited by GIS staff."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from app.deps import ManageGeography, ReadHistory, ReadPublic, Review, SessionDep, SettingsDep
from app.routers.common import IfMatch, ItemIdPath, ListParams, version_from
from app.routers.items import (
    ItemDocs,
    create_answer,
    item_response,
    list_page,
    restore_answer,
    revert_answer,
    update_answer,
)
from app.routers.responses import RESTRICTED, errors
from app.schemas.features import NeighbourhoodCreate, NeighbourhoodUpdate, RevertRequest
from app.schemas.items import HistoryList
from app.services import features as service

KIND = "neighbourhoods"
router = APIRouter(prefix="/api/neighbourhoods", tags=["neighbourhoods"])
docs = ItemDocs(KIND)


@router.get(
    "",
    summary="List neighbourhoods",
    name="list_neighbourhoods",
    response_class=Response,
    responses=errors(RESTRICTED, 404, extra=docs.page("A page of neighbourhoods")),
)
def list_neighbourhoods(
    request: Request, db: SessionDep, settings: SettingsDep, principal: ReadPublic, filters: ListParams
) -> Response:
    return list_page(request, db, settings, principal, KIND, filters)


@router.post(
    "",
    status_code=201,
    summary="Create a neighbourhood",
    name="create_neighbourhood",
    response_class=Response,
    responses=errors(400, RESTRICTED, 404, 409, extra=docs.answer(201, "The new neighbourhood")),
)
def create_neighbourhood(
    body: NeighbourhoodCreate, db: SessionDep, settings: SettingsDep, principal: ManageGeography
) -> Response:
    return create_answer(db, settings, principal, KIND, body)


@router.get(
    "/{item_id}",
    summary="Get a neighbourhood",
    name="get_neighbourhood",
    response_class=Response,
    responses=errors(RESTRICTED, 404, extra=docs.answer(200, "The neighbourhood, with its version as ETag")),
)
def get_neighbourhood(
    db: SessionDep, settings: SettingsDep, principal: ReadPublic, item_id: ItemIdPath
) -> Response:
    text, version = service.get_item(db, settings, principal, KIND, item_id)
    return item_response(text, version, KIND)


@router.patch(
    "/{item_id}",
    summary="Update a neighbourhood",
    name="update_neighbourhood",
    response_class=Response,
    responses=errors(
        400, RESTRICTED, 404, 409, 412, 428, extra=docs.answer(200, "The changed neighbourhood")
    ),
)
def update_neighbourhood(
    body: NeighbourhoodUpdate,
    db: SessionDep,
    settings: SettingsDep,
    principal: ManageGeography,
    item_id: ItemIdPath,
    if_match: IfMatch = None,
) -> Response:
    return update_answer(db, settings, principal, KIND, item_id, body, if_match)


@router.delete(
    "/{item_id}",
    status_code=204,
    summary="Delete a neighbourhood",
    name="delete_neighbourhood",
    responses=errors(RESTRICTED, 404, 409, 412, 428),
)
def delete_neighbourhood(
    db: SessionDep,
    principal: ManageGeography,
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
    summary="History of a neighbourhood",
    name="history_neighbourhood",
    response_model=HistoryList,
    responses=errors(RESTRICTED, 404),
)
def neighbourhood_history(
    db: SessionDep, settings: SettingsDep, principal: ReadHistory, item_id: ItemIdPath
) -> JSONResponse:
    return JSONResponse({"items": service.item_history(db, settings, principal, KIND, item_id)})


@router.post(
    "/{item_id}/revert",
    summary="Revert a neighbourhood to a version",
    name="revert_neighbourhood",
    response_class=Response,
    responses=errors(400, RESTRICTED, 404, 409, extra=docs.answer(200, "The neighbourhood as it is now")),
)
def revert_neighbourhood(
    body: RevertRequest, db: SessionDep, settings: SettingsDep, principal: Review, item_id: ItemIdPath
) -> Response:
    return revert_answer(db, settings, principal, KIND, item_id, body)


@router.post(
    "/{item_id}/restore",
    status_code=201,
    summary="Restore a deleted neighbourhood",
    name="restore_neighbourhood",
    response_class=Response,
    responses=errors(RESTRICTED, 404, 409, extra=docs.answer(201, "The restored neighbourhood")),
)
def restore_neighbourhood(
    db: SessionDep,
    settings: SettingsDep,
    principal: Review,
    item_id: ItemIdPath,
    message: str | None = None,
) -> Response:
    return restore_answer(db, settings, principal, KIND, item_id, message)
