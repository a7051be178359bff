"""A neighbourhood's summary: population by group, assets, needs, resources and links, with small counts hidden."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session, aliased

from app.db.models import Asset, AssetServiceType, Link, Need, Neighbourhood, Resource, ServiceType
from app.db.queries import asset_is_private
from app.errors import NotFound
from app.policy import Principal
from app.settings import Settings


def _count(n: int, private: bool, principal: Principal, threshold: int) -> int | None:
    """A count as the caller may see it: counts of people under the threshold are suppressed (None)."""
    if private and not principal.sees_exact_locations and 0 < n < threshold:
        return None
    return n


def neighbourhood_summary(
    db: Session, settings: Settings, principal: Principal, neighbourhood_id: int
) -> dict[str, Any]:
    """Population by group, assets by category and service type, needs, resources and links of one neighbourhood."""
    nb = db.get(Neighbourhood, neighbourhood_id)
    if nb is None:
        raise NotFound(f"no neighbourhood {neighbourhood_id}")
    threshold = settings.small_count_threshold
    published = Asset.status == "approved"
    in_nb = and_(Asset.neighbourhood_id == nb.id, published)
    by_category = {
        category: _count(n, private, principal, threshold)
        for category, n, private in db.execute(
            select(Asset.category, func.count(), func.bool_or(asset_is_private()))
            .where(in_nb)
            .group_by(Asset.category)
            .order_by(Asset.category)
        ).all()
    }
    by_service = {
        slug: _count(n, private, principal, threshold)
        for slug, n, private in db.execute(
            select(ServiceType.slug, func.count(), func.bool_or(asset_is_private()))
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
            .where(owner_nb == nb.id, Resource.status == "approved")
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
        .where(touching, Link.status == "approved")
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
