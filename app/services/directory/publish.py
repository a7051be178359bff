"""What the /hsds routes call: the city a request names (none: every city), then the HSDS answer."""

from __future__ import annotations

import copy
import json
from functools import cache
from typing import Any

from sqlalchemy.orm import Session

from app import __version__
from app.db.models import City
from app.services.catalogue import resolve_city
from app.services.directory import hsds, tabular


def _city(db: Session, ref: str | None) -> City | None:
    return resolve_city(db, ref) if ref else None


def hsds_services(
    db: Session,
    city: str | None,
    page: int,
    per_page: int,
    *,
    full: bool,
    search: str | None,
    organization_id: str | None,
) -> dict[str, Any]:
    return hsds.list_services(
        db, _city(db, city), page, per_page, full=full, search=search, organization_id=organization_id
    )


def hsds_list(db: Session, city: str | None, what: str, page: int, per_page: int) -> dict[str, Any]:
    lister = {
        "organizations": hsds.list_organizations,
        "locations": hsds.list_locations,
        "service_at_locations": hsds.list_service_at_locations,
    }[what]
    return lister(db, _city(db, city), page, per_page)


def hsds_item(db: Session, city: str | None, kind: str, item_id: str) -> dict[str, Any]:
    getter = {
        "service": hsds.get_service,
        "organization": hsds.get_organization,
        "location": hsds.get_location,
    }[kind]
    return getter(db, _city(db, city), item_id)


def hsds_zip(db: Session, city: str | None) -> bytes:
    return tabular.zipped(db, _city(db, city))


def hsds_descriptor() -> dict[str, Any]:
    return tabular.descriptor(None)


@cache
def _openapi() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((tabular.SCHEMA_DIR / "openapi.json").read_text(encoding="utf-8"))
    return data


def hsds_openapi(base_url: str) -> dict[str, Any]:
    """The specification's OpenAPI document with this API's own information filled in."""
    doc = copy.deepcopy(_openapi())
    doc["info"] = {
        "title": "assetmap service directory (HSDS 3.0)",
        "version": __version__,
        "description": "Services of community assets, published in Open Referral HSDS 3.0 (docs/DIRECTORY.md).",
        "license": {
            "name": "CC BY-SA 4.0 (the HSDS specification)",
            "url": "https://creativecommons.org/licenses/by-sa/4.0/",
        },
    }
    doc["servers"] = [{"url": base_url.rstrip("/") + "/hsds"}]
    return doc
