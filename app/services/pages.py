"""What the browser pages show: the start page, the organiser and import pages (the profile is in profile_page)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import JSON, Select, Text, and_, func, literal, select
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.orm import Session, aliased

from app.db.models import Asset, Neighbourhood
from app.errors import NotFound
from app.policy import Principal
from app.services.catalogue import list_cities, list_service_types, resolve_city
from app.services.profile_page import NeighbourhoodProfile, SummaryRow, label, neighbourhood_profile
from geo.layers import LAYERS
from geo.render import CATEGORY_STYLES
from geo.render.elements import NEED_COLOUR
from geo.vocab import ASSET_CATEGORIES, NEED_SOURCES

__all__ = [
    "IMPORT_LAYERS",
    "OUTLINE_TOLERANCE_DEG",
    "SEVERITIES",
    "Bounds",
    "CityLinks",
    "EditorPage",
    "ImportPage",
    "NeighbourhoodProfile",
    "StartPage",
    "SummaryRow",
    "editor_page",
    "import_page",
    "label",
    "neighbourhood_outlines",
    "neighbourhood_profile",
    "start_page",
]


IMPORT_LAYERS = ("neighbourhoods", "assets", "needs", "resources")
SEVERITIES = (1, 2, 3, 4, 5)
Bounds = tuple[float, float, float, float]  # west, south, east, north in degrees (EPSG:4326)


@dataclass(frozen=True)
class CityLinks:
    """A city on the start page with its neighbourhoods (level, then code) for the profile links."""

    id: int
    name: str
    country: str | None
    data_date: str | None
    neighbourhoods: list[tuple[int, str, str, str]]  # id, code, name, level


@dataclass(frozen=True)
class StartPage:
    """Everything the start page lists."""

    cities: list[CityLinks]
    service_types: list[tuple[str, str]]  # slug, name


def start_page(db: Session) -> StartPage:
    """Cities with their neighbourhoods, and the service types a gap map can be drawn for."""
    rows = db.execute(
        select(
            Neighbourhood.city_id,
            Neighbourhood.id,
            Neighbourhood.code,
            Neighbourhood.name,
            Neighbourhood.level,
        ).order_by(Neighbourhood.city_id, Neighbourhood.level, Neighbourhood.code)
    ).all()
    by_city: dict[int, list[tuple[int, str, str, str]]] = {}
    for city_id, nid, code, name, level in rows:
        by_city.setdefault(city_id, []).append((nid, code, name, level))
    cities = [CityLinks(c.id, c.name, c.country, c.data_date, by_city.get(c.id, [])) for c in list_cities(db)]
    return StartPage(cities, [(s.slug, s.name) for s in list_service_types(db)])


@dataclass(frozen=True)
class EditorPage:
    """The organiser page's choices: cities, the chosen one and where the map opens."""

    cities: list[tuple[int, str]]
    city_id: int
    city_name: str
    bounds: Bounds | None
    categories: list[tuple[str, str]]
    need_sources: list[tuple[str, str]]
    colours: dict[str, str]  # ABCD category (and "need") -> the colour the folium maps use too
    severities: tuple[int, ...] = SEVERITIES


def _extent(db: Session, stmt: Select[Any]) -> Bounds | None:
    row = db.execute(stmt).one()
    return None if row[0] is None else (float(row[0]), float(row[1]), float(row[2]), float(row[3]))


def _extent_of(geom: Any) -> list[Any]:
    box = func.ST_Extent(geom)
    return [func.ST_XMin(box), func.ST_YMin(box), func.ST_XMax(box), func.ST_YMax(box)]


def editor_page(db: Session, principal: Principal, city: str | None) -> EditorPage:
    """The chosen city (default: the first by name) and the map's opening view: the caller's neighbourhoods there, else the city."""
    cities = list_cities(db)
    if not cities:
        raise NotFound("there is no city yet: load one (assetmap load-sample) or import neighbourhoods")
    chosen = resolve_city(db, city) if city else cities[0]
    bounds = None
    if principal.neighbourhood_ids:
        bounds = _extent(
            db,
            select(*_extent_of(Neighbourhood.geom)).where(
                Neighbourhood.city_id == chosen.id, Neighbourhood.id.in_(principal.neighbourhood_ids)
            ),
        )
    if bounds is None:
        bounds = _extent(
            db, select(*_extent_of(Neighbourhood.geom)).where(Neighbourhood.city_id == chosen.id)
        )
    if bounds is None:
        bounds = _extent(
            db,
            select(*_extent_of(Asset.geom)).where(
                and_(Asset.city_id == chosen.id, Asset.status == "approved")
            ),
        )
    return EditorPage(
        cities=[(c.id, c.name) for c in cities],
        city_id=chosen.id,
        city_name=chosen.name,
        bounds=bounds,
        categories=[(c, label(c)) for c in ASSET_CATEGORIES],
        need_sources=[(s, label(s)) for s in NEED_SOURCES],
        colours={**{c: style.hex_colour for c, style in CATEGORY_STYLES.items()}, "need": NEED_COLOUR},
    )


OUTLINE_TOLERANCE_DEG = 0.0001  # about 7-11 m: outlines for orientation, not for measuring


def neighbourhood_outlines(db: Session, city: str) -> str:
    """The finest neighbourhoods of a city (those no other lies in), simplified for display: GeoJSON text."""
    chosen = resolve_city(db, city)
    child = aliased(Neighbourhood)
    feature = func.json_build_object(
        "type",
        "Feature",
        "id",
        Neighbourhood.id,
        "geometry",
        func.ST_AsGeoJSON(
            func.ST_ForcePolygonCCW(
                func.ST_SimplifyPreserveTopology(Neighbourhood.geom, OUTLINE_TOLERANCE_DEG)
            ),
            5,
        ).cast(JSON),
        "properties",
        func.json_build_object(
            "code", Neighbourhood.code, "name", Neighbourhood.name, "level", Neighbourhood.level
        ),
    )
    features = db.scalar(
        select(
            func.coalesce(
                func.json_agg(aggregate_order_by(feature, Neighbourhood.code)), literal("[]").cast(JSON)
            ).cast(Text)
        ).where(
            Neighbourhood.city_id == chosen.id,
            ~select(child.id).where(child.parent_id == Neighbourhood.id).exists(),
        )
    )
    return '{"type":"FeatureCollection","features":' + (features or "[]") + "}"


@dataclass(frozen=True)
class ImportPage:
    """The import page's choices: cities, layers, and each layer's target fields (required ones marked)."""

    cities: list[tuple[int, str]]
    targets: dict[str, list[dict[str, Any]]]
    layers: tuple[str, ...] = IMPORT_LAYERS


def import_page(db: Session) -> ImportPage:
    """Cities an import can go into, the layers it can fill and the fields a file's columns can map to."""
    targets = {
        layer: [{"name": spec.name, "required": spec.required} for spec in LAYERS[layer].fields]
        for layer in IMPORT_LAYERS
        if layer in LAYERS
    }
    return ImportPage([(c.id, c.name) for c in list_cities(db)], targets)
