"""A neighbourhood's summary: population by group, assets, needs, resources and links, with small counts hidden.

A parent area's summary includes everything in the areas inside it at any depth (app.services.areas). Whether a
person or sensitive asset is hidden is decided by the size of its group in its own area, never by the area being
summarised, and a count that would include a hidden one is hidden: a parent's count is hidden as soon as one of its
children's is, so no difference between a parent's count and its children's can give a small group away.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session, aliased

from app.db import queries
from app.db.models import Asset, AssetServiceType, Link, Need, Neighbourhood, Resource, ServiceType
from app.errors import NotFound
from app.policy import Principal
from app.services.areas import area_tree
from app.settings import Settings


def _count(n: int, suppressed: bool) -> int | None:
    """A count as the caller may see it: None if it includes a person or sensitive asset the caller may not count."""
    return None if suppressed else n


def neighbourhood_summary(
    db: Session, settings: Settings, principal: Principal, neighbourhood_id: int
) -> dict[str, Any]:
    """Population by group, assets by category and service type, needs, resources and links of one neighbourhood."""
    nb = db.get(Neighbourhood, neighbourhood_id)
    if nb is None:
        raise NotFound(f"no neighbourhood {neighbourhood_id}")
    tree = area_tree(db, nb.id)
    area = tree.ids
    threshold = settings.small_count_threshold
    # The same rule as lists and exports (queries.asset_suppressed), decided per asset by its own area: a count
    # that includes an asset left out of them is hidden, so no difference between a count and a list gives a
    # small group away. Resources and links of such assets are left out of lists, so of these counts too.
    suppressed = queries.asset_suppressed(principal, settings)
    hidden_resource = queries.refers_to_suppressed_asset(Resource, principal, settings)
    hidden_link = queries.refers_to_suppressed_asset(Link, principal, settings)
    published = Asset.status == "approved"
    in_nb = and_(Asset.neighbourhood_id.in_(area), published)
    by_category = {
        category: _count(n, hidden)
        for category, n, hidden in db.execute(
            select(Asset.category, func.count(), func.bool_or(suppressed))
            .select_from(Asset)
            .where(in_nb)
            .group_by(Asset.category)
            .order_by(Asset.category)
        ).all()
    }
    by_service = {
        slug: _count(n, hidden)
        for slug, n, hidden in db.execute(
            select(ServiceType.slug, func.count(), func.bool_or(suppressed))
            .select_from(Asset)
            .join(AssetServiceType, AssetServiceType.asset_id == Asset.id)
            .join(ServiceType, ServiceType.id == AssetServiceType.service_type_id)
            .where(in_nb)
            .group_by(ServiceType.slug)
            .order_by(ServiceType.slug)
        ).all()
    }
    needs = {
        slug: {"needs": n, "people_affected": int(people or 0)}
        for slug, n, people in db.execute(
            select(ServiceType.slug, func.count(), func.sum(Need.people_affected))
            .join(ServiceType, ServiceType.id == Need.service_type_id)
            .where(Need.neighbourhood_id.in_(area), Need.status == "approved")
            .group_by(ServiceType.slug)
            .order_by(ServiceType.slug)
        ).all()
    }
    owner_nb = func.coalesce(
        Resource.neighbourhood_id,
        select(Asset.neighbourhood_id).where(Asset.id == Resource.asset_id).scalar_subquery(),
    )
    resources = {
        kind: {"resources": n, "quantity": qty}
        for kind, n, qty in db.execute(
            select(Resource.kind, func.count(), func.sum(Resource.quantity))
            .where(owner_nb.in_(area), Resource.status == "approved", ~hidden_resource)
            .group_by(Resource.kind)
            .order_by(Resource.kind)
        ).all()
    }
    src, dst = aliased(Asset), aliased(Asset)
    # inside: both ends in the area or the areas inside it; across the border: one end there, the other not
    inside, touching = db.execute(
        select(
            func.count().filter(and_(src.neighbourhood_id.in_(area), dst.neighbourhood_id.in_(area))),
            func.count(),
        )
        .select_from(Link)
        .join(src, src.id == Link.source_asset_id)
        .join(dst, dst.id == Link.target_asset_id)
        .where(
            or_(src.neighbourhood_id.in_(area), dst.neighbourhood_id.in_(area)),
            Link.status == "approved",
            ~hidden_link,
        )
    ).one()
    return {
        "id": nb.id,
        "city_id": nb.city_id,
        "code": nb.code,
        "name": nb.name,
        "level": nb.level,
        "parent_id": nb.parent_id,
        "population": tree.population,
        "population_source": tree.population_source,
        "population_by_group": tree.population_by_group,
        "population_by_group_source": tree.population_by_group_source,
        "includes_children": tree.includes_children(),
        "assets": {
            # a total would give away a suppressed count by subtraction
            "total": None if None in by_category.values() else sum(by_category.values()),
            "by_category": by_category,
            "by_service_type": by_service,
        },
        "needs": needs,
        "resources": resources,
        "links": {"inside": inside, "crossing_border": touching - inside},
        "small_count_threshold": threshold,
    }
