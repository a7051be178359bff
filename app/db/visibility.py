"""Who sees what: reviewed items by status, private assets, small-count suppression, blurred locations."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, case, false, func, or_, select, true
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement

from app.db.models import Asset, Link, Neighbourhood, Resource
from app.policy import EDIT_ANYWHERE_ROLES, Principal
from app.settings import Settings


def visible(model: Any, principal: Principal, status: str) -> ColumnElement[bool]:
    """Which reviewed items the caller may see: published ones, plus unpublished for staff and their authors."""
    if status == "approved":
        return model.status == "approved"
    if principal.is_staff:
        return true() if status == "all" else model.status == status
    own = model.created_by == principal.user_id if principal.user_id is not None else false()
    wanted = true() if status == "all" else model.status == status
    return and_(wanted, or_(model.status == "approved", own))


def asset_is_private() -> ColumnElement[bool]:
    """People (category individual) and assets marked sensitive."""
    return or_(Asset.category == "individual", Asset.sensitive)


def private_peers(city_id: Any, neighbourhood_id: Any, category: Any) -> Any:
    """How many published people or sensitive assets of this category a neighbourhood (None: outside every
    neighbourhood of the city) has: the group whose size decides whether they may be listed and counted."""
    peer = aliased(Asset)
    return (
        select(func.count())
        .select_from(peer)
        .where(
            peer.city_id == city_id,
            peer.neighbourhood_id.is_not_distinct_from(neighbourhood_id),
            peer.category == category,
            peer.status == "approved",
            or_(peer.category == "individual", peer.sensitive),
        )
        .scalar_subquery()
    )


def _counts_people_here(principal: Principal) -> ColumnElement[bool]:
    """SQL form of Principal.counts_people_in for the asset's own neighbourhood, or the asset's author."""
    if principal.sees_exact_locations or principal.role in EDIT_ANYWHERE_ROLES:
        return true()
    # an asset without an author (imported) is nobody's own: without the coalesce its NULL would turn the NOT in
    # asset_suppressed into NULL, and the CASE there would let the person through
    own = (
        func.coalesce(Asset.created_by == principal.user_id, false())
        if principal.user_id is not None
        else false()
    )
    if principal.role == "organiser" and principal.neighbourhood_ids:
        return or_(own, Asset.neighbourhood_id.in_(sorted(principal.neighbourhood_ids)))
    return own


def asset_suppressed(principal: Principal, settings: Settings) -> ColumnElement[bool]:
    """A published person or sensitive asset that this reader may neither list nor count: its neighbourhood has
    fewer than `small_count_threshold` of its category (small-count suppression, as in the summary)."""
    if principal.sees_exact_locations or principal.role in EDIT_ANYWHERE_ROLES:
        return false()
    small = (
        private_peers(Asset.city_id, Asset.neighbourhood_id, Asset.category) < settings.small_count_threshold
    )
    # CASE keeps the group count from being computed for the many assets that are not private
    return case(
        (and_(asset_is_private(), Asset.status == "approved", ~_counts_people_here(principal)), small),
        else_=false(),
    )


def refers_to_suppressed_asset(model: Any, principal: Principal, settings: Settings) -> ColumnElement[bool]:
    """A resource of, or a link with an end at, an asset this reader may not list (asset_suppressed): left out
    with it, so its id and neighbourhood are not given away."""
    if principal.sees_exact_locations or principal.role in EDIT_ANYWHERE_ROLES:
        return false()
    ends = (
        Asset.id == Resource.asset_id
        if model is Resource
        else or_(Asset.id == Link.source_asset_id, Asset.id == Link.target_asset_id)
    )
    return select(Asset.id).where(ends, asset_suppressed(principal, settings)).exists()


def asset_shown_geom(principal: Principal, settings: Settings) -> Any:
    """The location the caller may see: exact for planner rights, otherwise blurred for private assets."""
    if principal.sees_exact_locations:
        return Asset.geom
    blurred: Any
    if settings.privacy_blur == "neighbourhood":
        blurred = func.coalesce(
            select(func.ST_PointOnSurface(Neighbourhood.geom))
            .where(Neighbourhood.id == Asset.neighbourhood_id)
            .scalar_subquery(),
            Asset.blurred_location,
        )
    else:
        blurred = Asset.blurred_location
    return case((asset_is_private(), blurred), else_=Asset.geom)


def _private_shown_geom(settings: Settings) -> Any:
    """Where a private asset is shown to non-planners; the plain column in the h3 case, so its index is used."""
    if settings.privacy_blur == "h3":
        return Asset.blurred_location
    return asset_shown_geom(Principal(), settings)
