"""What differs between the five history-tracked kinds, described once per kind."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import Select

from app.db import queries
from app.db.models import Asset, Link, Need, Neighbourhood, Resource
from app.errors import NotFound
from app.policy import Principal
from app.services import history
from app.settings import Settings

KINDS: dict[str, type[Any]] = history.KIND_MODELS


@dataclass(frozen=True)
class Kind:
    """What differs between the five history-tracked kinds, looked up once by `describe`."""

    name: str
    model: type[Any]
    singular: str
    geographic: bool  # items are GeoJSON Features, lists FeatureCollections
    reviewed: bool  # entries are proposed, then approved or rejected
    # The neighbourhood rule: an item is one ("self"), lies in the one its location falls in ("location"), or
    # touches those of the assets it refers to, and a resource also its own if it names one ("assets").
    neighbourhoods: Literal["self", "location", "assets"]
    select: Callable[[Principal, Settings], Select[Any]]  # rows of (id, JSON text) built by the database
    # the kind's own list filters; None: those of resources and links (hide what refers to a suppressed asset)
    filter: Callable[[Select[Any], queries.ListFilters, Principal, Settings], Select[Any]] | None


def _asset_filters(
    stmt: Select[Any], filters: queries.ListFilters, principal: Principal, settings: Settings
) -> Select[Any]:
    stmt = stmt.where(~queries.asset_suppressed(principal, settings))
    return queries.apply_asset_filters(stmt, filters, principal, settings)


_KINDS: dict[str, Kind] = {
    kind.name: kind
    for kind in (
        Kind(
            "neighbourhoods",
            Neighbourhood,
            "neighbourhood",
            neighbourhoods="self",
            geographic=True,
            reviewed=False,
            select=lambda principal, settings: queries.neighbourhood_feature_select(),
            filter=lambda stmt, filters, principal, settings: queries.apply_neighbourhood_filters(
                stmt, filters
            ),
        ),
        Kind(
            "assets",
            Asset,
            "asset",
            neighbourhoods="location",
            geographic=True,
            reviewed=True,
            select=queries.asset_feature_select,
            filter=_asset_filters,
        ),
        Kind(
            "needs",
            Need,
            "need",
            neighbourhoods="location",
            geographic=True,
            reviewed=True,
            select=lambda principal, settings: queries.need_feature_select(),
            filter=lambda stmt, filters, principal, settings: queries.apply_need_filters(stmt, filters),
        ),
        Kind(
            "resources",
            Resource,
            "resource",
            neighbourhoods="assets",
            geographic=False,
            reviewed=True,
            select=lambda principal, settings: queries.resource_select(),
            filter=None,
        ),
        Kind(
            "links",
            Link,
            "link",
            neighbourhoods="assets",
            geographic=False,
            reviewed=True,
            select=lambda principal, settings: queries.link_select(),
            filter=None,
        ),
    )
}


def describe(kind: str) -> Kind:
    """The description of a kind; an unknown one is a 404."""
    try:
        return _KINDS[kind]
    except KeyError:
        raise NotFound(f"no such kind of item {kind!r}: use one of {', '.join(KINDS)}") from None


def _model(kind: str) -> Any:
    return describe(kind).model


def _select(kind: str, principal: Principal, settings: Settings) -> Select[Any]:
    return describe(kind).select(principal, settings)
