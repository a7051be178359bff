"""List parameters of the five history-tracked kinds, checked against the allow-lists and bounds."""

from __future__ import annotations

from app.db.queries import REVIEWED_STATUSES, ListFilters, parse_bbox
from app.errors import InvalidInput
from app.settings import Settings
from geo.vocab import ASSET_CATEGORIES

__all__ = ["ASSET_CATEGORIES", "REVIEWED_STATUSES", "ListFilters", "check_list_filters"]


def check_list_filters(
    settings: Settings,
    *,
    city_id: int | None,
    neighbourhood: int | None,
    bbox: str | None,
    category: str | None,
    service_type: str | None,
    q: str | None,
    status: str,
    after: int | None,
    limit: int | None,
) -> ListFilters:
    """Validate list parameters against the allow-lists and bounds."""
    if category is not None and category not in ASSET_CATEGORIES:
        raise InvalidInput(
            f"unknown category {category!r}: use one of {', '.join(ASSET_CATEGORIES)}", field="category"
        )
    if status not in REVIEWED_STATUSES:
        raise InvalidInput(f"status must be one of {', '.join(REVIEWED_STATUSES)}", field="status")
    size = settings.page_size_default if limit is None else limit
    if not 1 <= size <= settings.page_size_max:
        raise InvalidInput(f"limit must be between 1 and {settings.page_size_max}", field="limit")
    if q is not None and len(q) > 200:
        raise InvalidInput("q is limited to 200 characters", field="q")
    return ListFilters(
        city_id=city_id,
        neighbourhood_id=neighbourhood,
        bbox=parse_bbox(bbox) if bbox else None,
        category=category,
        service_type=service_type,
        q=q or None,
        status=status,
        after=after,
        limit=size,
    )
