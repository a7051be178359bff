"""OGC API Features Part 4 (create, replace, update, delete) on /ogc collections, through the JSON API's own
services: the same authentication, per-neighbourhood rights, review of contributors' entries, history and
If-Match/ETag rules. OPTIONS tells each caller the methods it may use."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response
from pydantic import BaseModel, ValidationError
from sqlalchemy import select

from app.deps import Contribute, EditFeatures, PrincipalDep, SessionDep, SettingsDep
from app.errors import InvalidInput, NotFound
from app.policy import EDIT_ANYWHERE_ROLES, Principal
from app.routers.common import IfMatch, version_from
from app.routers.items import create_answer, update_answer
from app.schemas import features as schemas
from app.services import features as service
from app.services.ogc import collections as oc

router = APIRouter(prefix="/ogc", include_in_schema=False)

CONTRIBUTORS = frozenset({"admin", "gis", "organiser", "contributor"})
EDITORS = frozenset({"admin", "gis", "organiser"})
# what the database derives or the review decides: sent back by desktop clients, never taken from them
READ_ONLY = {
    "id",
    "city_id",
    "neighbourhood_id",
    "status",
    "version",
    "created_at",
    "updated_at",
    "location_blurred",
    "source_asset_id",
    "target_asset_id",
}
MODELS: dict[str, tuple[type[BaseModel], type[BaseModel]]] = {
    "neighbourhoods": (schemas.NeighbourhoodCreate, schemas.NeighbourhoodUpdate),
    "assets": (schemas.AssetCreate, schemas.AssetUpdate),
    "needs": (schemas.NeedCreate, schemas.NeedUpdate),
    "links": (schemas.LinkCreate, schemas.LinkUpdate),
}


async def _feature_body(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.body())
    except ValueError:
        raise InvalidInput("the body must be a GeoJSON Feature") from None
    if not isinstance(body, dict) or body.get("type") != "Feature":
        raise InvalidInput('the body must be a GeoJSON Feature ({"type": "Feature", ...})')
    return body


def _data(collection: oc.Collection, feature: dict[str, Any], *, create: bool) -> dict[str, Any]:
    props = feature.get("properties") or {}
    if not isinstance(props, dict):
        raise InvalidInput("properties must be an object", field="properties")
    data = {
        k: v
        for k, v in props.items()
        if k not in READ_ONLY
        or (create and collection.layer == "links" and k in ("source_asset_id", "target_asset_id"))
    }
    if collection.layer != "links" and feature.get("geometry") is not None:
        data["geometry"] = feature["geometry"]
    if create and collection.layer != "links":
        data["city"] = collection.city_id
    if not create:
        data = {k: v for k, v in data.items() if k != "city"}
    return data


def _model(layer: str, data: dict[str, Any], create: bool) -> BaseModel:
    create_model, update_model = MODELS[layer]
    try:
        return (create_model if create else update_model).model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first.get("loc", ()))
        raise InvalidInput(f"{field}: {first.get('msg', 'invalid value')}", field=field) from None


def _relocated(response: Response, request: Request, collection: oc.Collection) -> Response:
    """The JSON API's answer with the OGC item's address."""
    if "location" in response.headers:
        item_id = response.headers["location"].rsplit("/", 1)[1]
        base = str(request.base_url).rstrip("/")
        response.headers["Location"] = f"{base}/ogc/collections/{collection.id}/items/{item_id}"
    return response


def _editable(c: oc.Collection) -> oc.Collection:
    if c.run_id is not None:
        raise HTTPException(405, "analysis results are read-only", headers={"Allow": "GET, HEAD, OPTIONS"})
    return c


def _item_id(feature_id: str) -> int:
    if not feature_id.isdigit() or int(feature_id) > 2**31 - 1:
        raise NotFound(f"no feature {feature_id!r}")
    return int(feature_id)


@router.post("/collections/{collection_id}/items", status_code=201, name="ogc_create")
async def create(
    collection_id: str, request: Request, db: SessionDep, settings: SettingsDep, principal: Contribute
) -> Response:
    c = _editable(oc.find_collection(db, collection_id))
    body = _model(c.layer, _data(c, await _feature_body(request), create=True), create=True)
    return _relocated(create_answer(db, settings, principal, c.layer, body), request, c)


async def _change(
    collection_id: str,
    feature_id: str,
    request: Request,
    db: Any,
    settings: Any,
    principal: Principal,
    if_match: str | None,
) -> Response:
    c = _editable(oc.find_collection(db, collection_id))
    item_id = _item_id(feature_id)
    _check_city(db, c, item_id)
    body = _model(c.layer, _data(c, await _feature_body(request), create=False), create=False)
    return update_answer(db, settings, principal, c.layer, item_id, body, if_match)


@router.put("/collections/{collection_id}/items/{feature_id}", name="ogc_replace")
async def replace(
    collection_id: str,
    feature_id: str,
    request: Request,
    db: SessionDep,
    settings: SettingsDep,
    principal: EditFeatures,
    if_match: IfMatch = None,
) -> Response:
    return await _change(collection_id, feature_id, request, db, settings, principal, if_match)


@router.patch("/collections/{collection_id}/items/{feature_id}", name="ogc_update")
async def update(
    collection_id: str,
    feature_id: str,
    request: Request,
    db: SessionDep,
    settings: SettingsDep,
    principal: EditFeatures,
    if_match: IfMatch = None,
) -> Response:
    return await _change(collection_id, feature_id, request, db, settings, principal, if_match)


@router.delete("/collections/{collection_id}/items/{feature_id}", status_code=204, name="ogc_delete")
def delete(
    collection_id: str, feature_id: str, db: SessionDep, principal: EditFeatures, if_match: IfMatch = None
) -> Response:
    c = _editable(oc.find_collection(db, collection_id))
    item_id = _item_id(feature_id)
    _check_city(db, c, item_id)
    service.delete_item(
        db, principal, c.layer, item_id, expected_version=version_from(if_match, None), message=None
    )
    return Response(status_code=204)


def _check_city(db: Any, c: oc.Collection, item_id: int) -> None:
    model = oc._model(c.layer)
    if db.scalar(select(model.city_id).where(model.id == item_id)) != c.city_id:
        raise NotFound(f"no feature {item_id} in {c.id}")


def _place_of(db: Any, c: oc.Collection, item_id: int) -> tuple[bool, int | None]:
    """(exists in this collection, its neighbourhood) for the rights check of OPTIONS."""
    model = oc._model(c.layer)
    if c.layer == "links":
        row = db.execute(select(model.city_id).where(model.id == item_id)).first()
        return (row is not None and row[0] == c.city_id), None
    place = model.id if c.layer == "neighbourhoods" else model.neighbourhood_id
    row = db.execute(select(model.city_id, place).where(model.id == item_id)).first()
    return (row is not None and row[0] == c.city_id), (row[1] if row else None)


@router.options("/collections/{collection_id}/items", name="ogc_items_options")
def items_options(
    collection_id: str, db: SessionDep, settings: SettingsDep, principal: PrincipalDep
) -> Response:
    c = oc.find_collection(db, collection_id, principal)
    methods = ["GET", "HEAD", "OPTIONS"]
    if principal.role in CONTRIBUTORS and c.run_id is None:
        methods.append("POST")
    return Response(status_code=204, headers={"Allow": ", ".join(methods)})


@router.options("/collections/{collection_id}/items/{feature_id}", name="ogc_item_options")
def item_options(
    collection_id: str, feature_id: str, db: SessionDep, settings: SettingsDep, principal: PrincipalDep
) -> Response:
    c = oc.find_collection(db, collection_id, principal)
    if c.run_id is not None:
        return Response(status_code=204, headers={"Allow": "GET, HEAD, OPTIONS"})
    found, place = _place_of(db, c, _item_id(feature_id))
    if not found:
        raise NotFound(f"no feature {feature_id!r} in {c.id}")
    methods = ["GET", "HEAD", "OPTIONS"]
    # the rights of the JSON API: editors anywhere, organisers in their neighbourhoods; links by their assets'
    # neighbourhoods, decided when the change is made (the Allow header then promises what the role may try)
    if principal.role in EDIT_ANYWHERE_ROLES or (
        principal.role in EDITORS and (c.layer == "links" or principal.can_edit_in(place))
    ):
        methods += ["PUT", "PATCH", "DELETE"]
    return Response(status_code=204, headers={"Allow": ", ".join(methods)})
