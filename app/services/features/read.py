"""Reading items: keyset-paged lists and single items as JSON text built by the database, shaped for the reader."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.db import queries
from app.db.models import Asset, Neighbourhood
from app.errors import Forbidden, NotFound
from app.policy import Principal
from app.services import history
from app.services.features.kinds import _model, _select, describe
from app.settings import Settings
from geo.privacy import blur_points


@dataclass(frozen=True)
class Page:
    """One page of a list: items as JSON text, and the id to continue after (None on the last page)."""

    items: list[str]
    next_after: int | None


def list_items(
    db: Session, settings: Settings, principal: Principal, kind: str, filters: queries.ListFilters
) -> Page:
    """A keyset-paged list of items the caller may see, in id order, as JSON text built by the database."""
    described = describe(kind)
    model = described.model
    if filters.status != "approved" and described.reviewed and not (principal.is_staff or principal.user_id):
        raise Forbidden("sign in to see entries that are not published")
    stmt = described.select(principal, settings)
    if described.reviewed:
        stmt = stmt.where(queries.visible(model, principal, filters.status))
    if described.filter is not None:
        stmt = described.filter(stmt, filters, principal, settings)
    else:
        stmt = stmt.where(~queries.refers_to_suppressed_asset(model, principal, settings))
    rows = db.execute(queries.apply_common_filters(stmt, model, filters)).all()
    more = len(rows) > filters.limit
    rows = rows[: filters.limit]
    return Page([r[1] for r in rows], rows[-1][0] if more and rows else None)


def _is_private(data: dict[str, Any]) -> bool:
    return data.get("category") == "individual" or bool(data.get("sensitive"))


def _blurred_geometry(db: Session, settings: Settings, data: dict[str, Any]) -> dict[str, Any]:
    """Where a private asset is shown to readers without planner rights (as queries.asset_shown_geom)."""
    if settings.privacy_blur == "neighbourhood" and data.get("neighbourhood_id") is not None:
        text = db.scalar(
            select(
                func.ST_AsGeoJSON(func.ST_PointOnSurface(Neighbourhood.geom), queries.COORD_DECIMALS)
            ).where(Neighbourhood.id == data["neighbourhood_id"])
        )
        if text is not None:
            return json.loads(text)
    if data.get("blurred_location") is not None:
        return data["blurred_location"]
    x, y = data["geom"]["coordinates"][:2]
    lon, lat = blur_points([x], [y], settings.privacy_h3_resolution)
    return {"type": "Point", "coordinates": [float(lon[0]), float(lat[0])]}


def shape_item(
    db: Session,
    settings: Settings,
    principal: Principal,
    kind: str,
    data: dict[str, Any] | None,
    *,
    blur: bool = False,
    check_count: bool = True,
) -> dict[str, Any] | None:
    """An item's column values (the current row's or a history snapshot) as this reader may see them, or None if
    the reader may not see it: review visibility, small-count suppression of people and sensitive assets, and
    their blurred location without contact details for readers without planner rights (`blur`: blur anyway,
    because the item is private now)."""
    if data is None:
        return None
    if describe(kind).reviewed and not principal.may_see_entry(data.get("status"), data.get("created_by")):
        return None
    if describe(kind).neighbourhoods == "assets" and check_count:
        ends = [data.get(key) for key in ("asset_id", "source_asset_id", "target_asset_id")]
        for asset in db.scalars(select(Asset).where(Asset.id.in_([e for e in ends if e is not None]))):
            if shape_item(db, settings, principal, "assets", history.snapshot(asset)) is None:
                return None  # a resource or link of a person the reader may not see would give them away
    if kind != "assets" or principal.sees_exact_locations or not (blur or _is_private(data)):
        return data
    own = principal.user_id is not None and data.get("created_by") == principal.user_id
    if (
        check_count
        and _is_private(data)
        and data.get("status") == "approved"
        and not (own or principal.counts_people_in(data.get("neighbourhood_id")))
    ):
        peers = db.scalar(
            select(
                queries.private_peers(data.get("city_id"), data.get("neighbourhood_id"), data.get("category"))
            )
        )
        if (peers or 0) < settings.small_count_threshold:
            return None
    shaped = dict(data)
    if data.get("geom") is not None:
        shaped["geom"] = shaped["blurred_location"] = _blurred_geometry(db, settings, data)
    shaped["contact"] = None
    shaped["location_blurred"] = True
    return shaped


# The view the database builds an item's JSON in before shape_item decides what of it the reader gets.
_FULL_VIEW = Principal(role="admin")


def _rounded(geometry: dict[str, Any]) -> dict[str, Any]:
    x, y = geometry["coordinates"][:2]
    return {
        "type": geometry["type"],
        "coordinates": [round(x, queries.COORD_DECIMALS), round(y, queries.COORD_DECIMALS)],
    }


def get_item(
    db: Session, settings: Settings, principal: Principal, kind: str, item_id: int
) -> tuple[str, int]:
    """One item as JSON text with its version, as shape_item gives it to the reader; hidden and missing items are
    both a 404."""
    model = _model(kind)
    current = db.scalar(select(model).where(model.id == item_id))
    shaped = None if current is None else shape_item(db, settings, principal, kind, history.snapshot(current))
    if shaped is None:
        raise NotFound(f"no {describe(kind).singular} {item_id}")
    stmt = _select(kind, _FULL_VIEW, settings).add_columns(model.version).where(model.id == item_id)
    text, version = db.execute(stmt).one()[1:]
    if kind == "assets":
        feature = json.loads(text)
        feature["geometry"] = (
            _rounded(shaped["geom"]) if shaped.get("location_blurred") else feature["geometry"]
        )
        feature["properties"]["contact"] = shaped["contact"]
        feature["properties"]["location_blurred"] = bool(shaped.get("location_blurred"))
        text = json.dumps(feature, ensure_ascii=False)
    return text, version
