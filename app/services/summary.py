"""A neighbourhood's summary: population by group, assets, needs, resources and links, with small counts hidden."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, false, func, or_, select
from sqlalchemy.orm import Session, aliased

from app.db import queries
from app.db.models import Asset, AssetServiceType, Link, Need, Neighbourhood, Resource, ServiceType
from app.errors import NotFound
from app.policy import Principal
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
    threshold = settings.small_count_threshold
    # The same rule as lists and exports (queries.asset_suppressed): a count that includes an asset left out of
    # them is hidden, so no difference between a count and a list gives a small group away.
    suppressed = (
        false() if principal.counts_people_in(nb.id) else queries.asset_suppressed(principal, settings)
    )
    # resources and links of such assets are left out of lists, so of these counts too
    counts_all = principal.counts_people_in(nb.id)
    hidden_resource = (
        false() if counts_all else queries.refers_to_suppressed_asset(Resource, principal, settings)
    )
    hidden_link = false() if counts_all else queries.refers_to_suppressed_asset(Link, principal, settings)
    published = Asset.status == "approved"
    in_nb = and_(Asset.neighbourhood_id == nb.id, published)
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
            .where(Need.neighbourhood_id == nb.id, Need.status == "approved")
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
            .where(owner_nb == nb.id, Resource.status == "approved", ~hidden_resource)
            .group_by(Resource.kind)
            .order_by(Resource.kind)
        ).all()
    }
    src, dst = aliased(Asset), aliased(Asset)
    touching = or_(src.neighbourhood_id == nb.id, dst.neighbourhood_id == nb.id)
    inside, crossing = db.execute(
        select(
            func.count().filter(and_(src.neighbourhood_id == nb.id, dst.neighbourhood_id == nb.id)),
            func.count().filter(
                or_(
                    src.neighbourhood_id.is_distinct_from(nb.id), dst.neighbourhood_id.is_distinct_from(nb.id)
                )
            ),
        )
        .select_from(Link)
        .join(src, src.id == Link.source_asset_id)
        .join(dst, dst.id == Link.target_asset_id)
        .where(touching, Link.status == "approved", ~hidden_link)
    ).one()
    return {
        "id": nb.id,
        "city_id": nb.city_id,
        "code": nb.code,
        "name": nb.name,
        "level": nb.level,
        "population": nb.population,
        "population_by_group": nb.population_by_group,
        "assets": {
            # a total would give away a suppressed count by subtraction
            "total": None if None in by_category.values() else sum(by_category.values()),
            "by_category": by_category,
            "by_service_type": by_service,
        },
        "needs": needs,
        "resources": resources,
        "links": {"inside": inside, "crossing_border": crossing},
        "small_count_threshold": threshold,
    }
