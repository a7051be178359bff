"""What the five history-tracked kinds' routers share: documented answers, item responses and the list page.

Each kind declares its own routes (app/routers/assets.py, needs.py, neighbourhoods.py, resources.py, links.py);
the behaviour is the same for all and lives here and in app/services/features/.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from pydantic import BaseModel
from sqlalchemy.orm import Session

from app.geometry import check_geometry_size
from app.policy import Principal
from app.routers.common import GEOJSON, GeoJSONResponse, etag, feature_collection, item_list, version_from
from app.routers.responses import ETAG_HEADER, FEATURE, FEATURE_COLLECTION, media, openapi_links
from app.schemas.features import RevertRequest, ReviewDecision
from app.services import features as service
from app.services.listing import ListFilters
from app.settings import Settings


class ItemDocs:
    """The documented answers of one kind's routes: Features and FeatureCollections for the geographic kinds,
    the kind's own models for the others (`item_model`, `list_model`); an answer with an item links to what can
    be done with it next."""

    def __init__(
        self,
        kind: str,
        *,
        item_model: type[BaseModel] | None = None,
        list_model: type[BaseModel] | None = None,
    ) -> None:
        singular = service.describe(kind).singular
        geo = service.describe(kind).geographic
        if not geo and (item_model is None or list_model is None):
            raise TypeError(f"{kind} answers JSON: name its item_model and list_model")
        self.item_type = GEOJSON if geo else "application/json"
        self.item_model, self.list_model = item_model, list_model
        item_path = f"/api/{kind}/{{item_id}}"
        self.item_links = openapi_links(
            {
                f"get_{singular}": (item_path, "get"),
                f"update_{singular}": (item_path, "patch"),
                f"delete_{singular}": (item_path, "delete"),
                f"history_{singular}": (f"{item_path}/history", "get"),
            },
            "item_id",
            etag=True,
        )

    def _declared(
        self, description: str, schema: dict[str, Any], model: type[BaseModel] | None
    ) -> dict[str, Any]:
        if model is None:
            return media(description, self.item_type, schema=schema)
        # FastAPI puts the model's schema (a reference to components) under application/json.
        return {"description": description, "model": model}

    def answer(self, status: int, description: str) -> dict[int, Any]:
        """One documented answer: the item, with its ETag and links."""
        declared = self._declared(description, FEATURE, self.item_model)
        declared["links"] = self.item_links
        declared["headers"] = {"ETag": ETAG_HEADER}
        return {status: declared}

    def page(self, description: str) -> dict[int, Any]:
        """The documented answer of a list."""
        return {200: self._declared(description, FEATURE_COLLECTION, self.list_model)}


def changes(body: BaseModel, settings: Settings) -> dict[str, Any]:
    """The fields a body sets, once its geometry (if any) is within the instance's size limits."""
    data = body.model_dump(exclude_unset=True)
    check_geometry_size(
        data.get("geometry"),
        max_vertices=settings.geometry_max_vertices,
        max_parts=settings.geometry_max_parts,
    )
    return data


def item_response(text: str, version: int, kind: str, status_code: int = 200) -> Response:
    """An item as the database serialised it, with its version as ETag."""
    cls = GeoJSONResponse if service.describe(kind).geographic else Response
    response = cls(text, status_code=status_code, headers={"ETag": etag(version)})
    if cls is Response:
        response.media_type = "application/json"
        response.headers["content-type"] = "application/json"
    return response


def created(text: str, version: int, kind: str, item_id: int) -> Response:
    """A 201 with the new item and where it lives."""
    response = item_response(text, version, kind, status_code=201)
    response.headers["Location"] = f"/api/{kind}/{item_id}"
    return response


def list_page(
    request: Request, db: Session, settings: Settings, principal: Principal, kind: str, filters: ListFilters
) -> Response:
    """A page of one kind, the items serialised by the database and wrapped without parsing."""
    page = service.list_items(db, settings, principal, kind, filters)
    if service.describe(kind).geographic:
        return feature_collection(request, page)
    return item_list(request, page)


def create_answer(
    db: Session, settings: Settings, principal: Principal, kind: str, body: BaseModel
) -> Response:
    """Create an item of `kind` from `body` and answer 201 with it, in one commit."""
    data = changes(body, settings)
    item_id, text, version = service.write_then_read(
        db, settings, principal, kind, lambda: service.create_item(db, settings, principal, kind, data)
    )
    return created(text, version, kind, item_id)


def update_answer(
    db: Session,
    settings: Settings,
    principal: Principal,
    kind: str,
    item_id: int,
    body: BaseModel,
    if_match: str | None,
) -> Response:
    """Change an item (the version from If-Match or the body) and answer with it, in one commit."""
    data = changes(body, settings)
    body_version = data.pop("version", None)
    message = data.pop("message", None)
    expected_version = version_from(if_match, body_version)

    def update() -> int:
        service.update_item(
            db, settings, principal, kind, item_id, data, expected_version=expected_version, message=message
        )
        return item_id

    _, text, version = service.write_then_read(db, settings, principal, kind, update)
    return item_response(text, version, kind)


def _act_then_answer(
    db: Session,
    settings: Settings,
    principal: Principal,
    kind: str,
    item_id: int,
    act: Callable[[], object],
    status_code: int = 200,
) -> Response:
    def write() -> int:
        act()
        return item_id

    _, text, version = service.write_then_read(db, settings, principal, kind, write)
    return item_response(text, version, kind, status_code=status_code)


def revert_answer(
    db: Session, settings: Settings, principal: Principal, kind: str, item_id: int, body: RevertRequest
) -> Response:
    """Revert an item to a version and answer with it as it is now."""
    return _act_then_answer(
        db,
        settings,
        principal,
        kind,
        item_id,
        lambda: service.revert_item(db, settings, principal, kind, item_id, body.version, body.message),
    )


def restore_answer(
    db: Session, settings: Settings, principal: Principal, kind: str, item_id: int, message: str | None
) -> Response:
    """Restore a deleted item and answer 201 with it."""
    return _act_then_answer(
        db,
        settings,
        principal,
        kind,
        item_id,
        lambda: service.restore_item(db, settings, principal, kind, item_id, message),
        status_code=201,
    )


def review_answer(
    db: Session, settings: Settings, principal: Principal, kind: str, item_id: int, body: ReviewDecision
) -> Response:
    """Approve or reject a pending item and answer with it."""
    return _act_then_answer(
        db,
        settings,
        principal,
        kind,
        item_id,
        lambda: service.review_item(db, principal, kind, item_id, body.decision, body.reason),
    )
