"""A neighbourhood's profile page: its summary table, its map of assets, needs and links, the population notes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import shapely
from sqlalchemy import Integer, and_, func, literal, or_, select
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.orm import Session, aliased

from app.db.models import Asset, AssetServiceType, City, Link, Need, Neighbourhood, Resource, ServiceType
from app.db.queries import asset_shown_geom, asset_suppressed
from app.errors import NotFound
from app.policy import Principal
from app.services.areas import AreaTree, area_tree, includes_sentence
from app.services.summary import neighbourhood_summary
from app.settings import Settings
from geo.render import inline_script_hashes, neighbourhood_map, render_html
from geo.vocab import ASSET_CATEGORIES, POPULATION_BANDS

_GROUP_LABELS = {
    "under_6": "Under 6",
    "6_15": "6 to 14",
    "15_18": "15 to 17",
    "18_27": "18 to 26",
    "27_45": "27 to 44",
    "45_55": "45 to 54",
    "55_65": "55 to 64",
    "over_65": "65 and over",
    "female": "Women and girls",
    "foreigners": "Foreign nationals",
}


def label(word: str) -> str:
    """A vocabulary word as a readable label ('physical_space' -> 'Physical space')."""
    return word.replace("_", " ").capitalize()


def _number(value: float | int | None) -> str:
    if value is None:
        return "\u2013"
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.1f}"


@dataclass(frozen=True)
class SummaryRow:
    """One line of a summary table: a label and its numbers, already formatted."""

    label: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class NeighbourhoodProfile:
    """A neighbourhood's map (a full HTML document), the CSP hashes of its scripts, and its summary tables."""

    id: int
    code: str
    name: str
    level: str
    city_name: str
    population: str
    population_note: str | None
    includes: str | None  # "Figures include the 5 neighbourhoods inside Reinickendorf."
    population_by_group: list[SummaryRow]
    assets_total: str
    assets_by_category: list[SummaryRow]
    assets_by_service: list[SummaryRow]
    needs: list[SummaryRow]
    resources: list[SummaryRow]
    links_inside: str
    links_crossing: str
    small_count_threshold: int
    map_html: str
    script_hashes: list[str] = field(default_factory=list)
    parts: list[tuple[int, str, str]] = field(default_factory=list)  # id, code, name of the areas inside


def _frame(rows: Sequence[Any], columns: list[str]) -> gpd.GeoDataFrame:
    """A GeoDataFrame (EPSG:4326) from rows whose last value is WKB."""
    geometries = shapely.from_wkb([row[-1] for row in rows]) if rows else []
    return gpd.GeoDataFrame(
        [dict(zip(columns, row[:-1], strict=True)) for row in rows],
        columns=columns,
        geometry=gpd.GeoSeries(geometries, crs=4326),
    )


def _shown_assets(principal: Principal, settings: Settings, city_id: int) -> Any:
    """A city's published assets at the location the caller may see (blurred people and sensitive assets),
    without those small-count suppression hides from this reader (markers would count them)."""
    return (
        select(
            Asset.id,
            Asset.neighbourhood_id,
            asset_shown_geom(principal, settings).label("geom"),
        )
        .where(Asset.city_id == city_id, Asset.status == "approved", ~asset_suppressed(principal, settings))
        .cte("shown_asset")
    )


def _service_names() -> Any:
    return (
        select(func.string_agg(ServiceType.name, aggregate_order_by(literal(", "), ServiceType.name)))
        .join(AssetServiceType, AssetServiceType.service_type_id == ServiceType.id)
        .where(AssetServiceType.asset_id == Asset.id)
        .scalar_subquery()
    )


def _map_frames(
    db: Session,
    settings: Settings,
    principal: Principal,
    nb: Neighbourhood,
    area: list[int],
    population: int | None,
) -> dict[str, gpd.GeoDataFrame]:
    """The published features of one neighbourhood and the areas inside it (`area`: their ids), as the caller
    may see them, ready for the profile map; the outline carries the population the summary uses."""
    shown = _shown_assets(principal, settings, nb.city_id)
    outline = _frame(
        db.execute(
            select(
                Neighbourhood.code,
                Neighbourhood.name,
                literal(population, Integer),
                func.ST_AsBinary(Neighbourhood.geom),
            ).where(Neighbourhood.id == nb.id)
        ).all(),
        ["code", "name", "population"],
    )
    assets = _frame(
        db.execute(
            select(
                Asset.name, Asset.category, _service_names(), Asset.capacity, func.ST_AsBinary(shown.c.geom)
            )
            .join(shown, shown.c.id == Asset.id)
            .where(Asset.neighbourhood_id.in_(area))
            .order_by(Asset.id)
        ).all(),
        ["name", "category", "service_types", "capacity"],
    )
    needs = _frame(
        db.execute(
            select(ServiceType.slug, Need.people_affected, Need.description, func.ST_AsBinary(Need.geom))
            .join(ServiceType, ServiceType.id == Need.service_type_id)
            .where(Need.neighbourhood_id.in_(area), Need.status == "approved")
            .order_by(Need.id)
        ).all(),
        ["service_type", "people_affected", "description"],
    )
    # A resource is drawn where its asset is shown; a neighbourhood's own resource at a point inside it.
    owner = aliased(shown)
    place = func.coalesce(owner.c.geom, func.ST_PointOnSurface(Neighbourhood.geom))
    availability = func.concat_ws(
        literal(" "),
        literal("from ").op("||")(func.to_char(Resource.available_from, "YYYY-MM-DD")),
        literal("until ").op("||")(func.to_char(Resource.available_until, "YYYY-MM-DD")),
    )
    resources = _frame(
        db.execute(
            select(
                Resource.kind,
                Resource.description,
                Resource.quantity,
                Resource.unit,
                func.nullif(availability, ""),
                func.ST_AsBinary(place),
            )
            .outerjoin(owner, owner.c.id == Resource.asset_id)
            .join(
                Neighbourhood,
                Neighbourhood.id == func.coalesce(Resource.neighbourhood_id, owner.c.neighbourhood_id),
            )
            .where(
                Neighbourhood.id.in_(area),
                Resource.status == "approved",
                or_(Resource.asset_id.is_(None), owner.c.id.is_not(None)),
            )
            .order_by(Resource.id)
        ).all(),
        ["kind", "name", "quantity", "unit", "availability"],
    )
    source, target = aliased(shown), aliased(shown)
    links = _frame(
        db.execute(
            select(
                Link.kind,
                ~func.coalesce(
                    and_(source.c.neighbourhood_id.in_(area), target.c.neighbourhood_id.in_(area)), False
                ),
                func.ST_AsBinary(func.ST_MakeLine(source.c.geom, target.c.geom)),
            )
            .join(source, source.c.id == Link.source_asset_id)
            .join(target, target.c.id == Link.target_asset_id)
            .where(
                Link.status == "approved",
                or_(source.c.neighbourhood_id.in_(area), target.c.neighbourhood_id.in_(area)),
            )
            .order_by(Link.id)
        ).all(),
        ["kind", "crosses_border"],
    )
    return {"outline": outline, "assets": assets, "needs": needs, "resources": resources, "links": links}


def _population_note(tree: AreaTree) -> str | None:
    """Where a parent's residents come from: its own figure, or the sum over the areas inside it."""
    if not tree.inside:
        return None
    if tree.population_source == "own":
        return f"Residents: the figure recorded for {tree.root.name} itself."
    if tree.population_source == "children":
        return f"Residents: the sum over the areas inside {tree.root.name}."
    return "Residents: unknown (some areas inside have no figure)."


def _count_text(value: int | None, threshold: int) -> str:
    return f"fewer than {threshold} (hidden)" if value is None else _number(value)


def neighbourhood_profile(
    db: Session, settings: Settings, principal: Principal, neighbourhood_id: int
) -> NeighbourhoodProfile:
    """The profile of one neighbourhood: its summary (as GET .../summary gives it) and its map, drawn for the caller."""
    nb = db.get(Neighbourhood, neighbourhood_id)
    if nb is None:
        raise NotFound(f"no neighbourhood {neighbourhood_id}: the start page lists them")
    summary = neighbourhood_summary(db, settings, principal, neighbourhood_id)
    city = db.get(City, nb.city_id)
    service_names = {
        slug: name for slug, name in db.execute(select(ServiceType.slug, ServiceType.name)).all()
    }
    threshold = summary["small_count_threshold"]

    groups = summary["population_by_group"] or {}
    order = [*POPULATION_BANDS, *sorted(set(groups) - set(POPULATION_BANDS))]
    population_by_group = [
        SummaryRow(_GROUP_LABELS.get(key, label(key)), (_number(groups[key]),))
        for key in order
        if key in groups
    ]
    assets = summary["assets"]
    by_category = [
        SummaryRow(label(category), (_count_text(assets["by_category"][category], threshold),))
        for category in [*ASSET_CATEGORIES, *sorted(set(assets["by_category"]) - set(ASSET_CATEGORIES))]
        if category in assets["by_category"]
    ]
    by_service = [
        SummaryRow(service_names.get(slug, slug), (_count_text(n, threshold),))
        for slug, n in assets["by_service_type"].items()
    ]
    needs = [
        SummaryRow(service_names.get(slug, slug), (_number(v["needs"]), _number(v["people_affected"])))
        for slug, v in summary["needs"].items()
    ]
    resources = [
        SummaryRow(label(kind), (_number(v["resources"]), _number(v["quantity"])))
        for kind, v in summary["resources"].items()
    ]

    tree = area_tree(db, nb.id)
    frames = _map_frames(db, settings, principal, nb, tree.ids, summary["population"])
    m = neighbourhood_map(
        frames["outline"],
        frames["assets"],
        frames["needs"],
        frames["resources"],
        frames["links"],
        title=f"{nb.name} ({nb.code})",
        tiles_url=settings.tiles_url or None,
        tiles_attribution=settings.tiles_attribution,
    )
    html = render_html(m)
    parts = db.execute(
        select(Neighbourhood.id, Neighbourhood.code, Neighbourhood.name)
        .where(Neighbourhood.parent_id == nb.id)
        .order_by(Neighbourhood.code)
    ).all()
    return NeighbourhoodProfile(
        id=nb.id,
        code=nb.code,
        name=nb.name,
        level=nb.level,
        city_name=city.name if city else "",
        population=_number(summary["population"]),
        population_note=_population_note(tree),
        includes=includes_sentence(tree),
        population_by_group=population_by_group,
        assets_total=_count_text(assets["total"], threshold),
        assets_by_category=by_category,
        assets_by_service=by_service,
        needs=needs,
        resources=resources,
        links_inside=_number(summary["links"]["inside"]),
        links_crossing=_number(summary["links"]["crossing_border"]),
        small_count_threshold=threshold,
        map_html=html,
        script_hashes=inline_script_hashes(html),
        parts=[(nid, code, name) for nid, code, name in parts],
    )
