"""The coverage-gap browser map: neighbourhoods shaded by unmet need, deserts outlined, the service's layers."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from typing import Any

import folium
import geopandas as gpd

from geo.crs import AnalysisInputError
from geo.escape import is_missing
from geo.render.classify import NO_RESIDENTS_COLOUR, NO_RESIDENTS_LABEL, GapClasses, gap_classes
from geo.render.elements import (
    DEFAULT_TILES_ATTRIBUTION,
    DEFAULT_TILES_URL,
    NEIGHBOURHOOD_CLASS,
    NO_RESIDENTS_CLASS,
    LegendRow,
    add_asset_layers,
    add_catchment_layer,
    add_legend,
    add_links_layer,
    add_needs_layer,
    add_suggested_layer,
    add_title,
    base_map,
    finish,
    optional_frame,
    swatch,
)
from geo.render.prepare import (
    DISPLAY_TOLERANCE_M,
    drop_empty,
    feature_collection,
    format_count,
    format_decimal,
    format_flag,
    format_share,
    require_frame,
    simplify_for_display,
    text_column,
)
from geo.render.proposals import PROPOSAL_COLUMNS, add_proposals_layer
from geo.render.text import TitleLine, add_layer_text, plain
from geo.render.walking import add_isochrone_layer, add_straight_not_walking_layer

GAP_MAP_COLUMNS = ("name", "population", "covered_share", "mean_distance_m", "unmet_need", "gap_share")
GAP_LEGEND_HEADING = "Share of need unmet, %"
REACH_LEGEND_HEADING = "Share of need beyond reach, % (unmet need not computed)"
NOT_COMPUTABLE_TEXT = "not computable (capacity unknown)"
CAPACITY_NOTE_CLASS = "assetmap-capacity-note"
DESERT_OUTLINE = "#08306b"


def _radius(radius_m: Any) -> float:
    try:
        radius = float(radius_m)
    except (TypeError, ValueError):
        radius = math.nan
    if not math.isfinite(radius) or radius <= 0:
        raise AnalysisInputError(f"radius_m must be a positive number of metres, got {radius_m!r}")
    return radius


def _date_text(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, dt.date):
        return value.isoformat()
    return plain(value)


def _gap_style(classes: GapClasses, deserts: list[bool]) -> Any:
    def style(feature: dict[str, Any]) -> dict[str, Any]:
        row = feature["id"]
        category = int(classes.class_of[row])
        desert = deserts[row]
        if category < 0:
            fill, css = NO_RESIDENTS_COLOUR, f"{NEIGHBOURHOOD_CLASS} {NO_RESIDENTS_CLASS}"
        else:
            fill, css = classes.colours[category], f"{NEIGHBOURHOOD_CLASS} assetmap-gap-class-{category}"
        return {
            "fillColor": fill,
            "fillOpacity": 0.72 if category >= 0 else 0.5,
            "color": DESERT_OUTLINE if desert else "#555555",
            "weight": 2.5 if desert else 0.6,
            "className": f"{css} assetmap-desert" if desert else css,
        }

    return style


def _gap_legend_rows(classes: GapClasses) -> list[LegendRow]:
    rows: list[LegendRow] = [
        (swatch(colour), text, f"assetmap-gap-class-{index}")
        for index, (colour, text) in enumerate(zip(classes.colours, classes.labels, strict=True))
    ]
    rows.append((swatch(NO_RESIDENTS_COLOUR), NO_RESIDENTS_LABEL, NO_RESIDENTS_CLASS))
    return rows


def gap_map(
    neighbourhoods: gpd.GeoDataFrame,
    assets: gpd.GeoDataFrame | None,
    needs: gpd.GeoDataFrame | None,
    catchment_assets: gpd.GeoDataFrame | None,
    radius_m: float,
    suggested_sites: gpd.GeoDataFrame | None = None,
    links: gpd.GeoDataFrame | None = None,
    title: str = "Coverage gaps",
    service_name: str = "",
    data_date: str | dt.date | None = None,
    tiles_url: str | None = DEFAULT_TILES_URL,
    tiles_attribution: str = DEFAULT_TILES_ATTRIBUTION,
    simplify_tolerance_m: float = DISPLAY_TOLERANCE_M,
    capacity_notes: Sequence[str] = (),
    unmet_computable: bool = True,
    distance: str = "straight",
    straight_not_walking: gpd.GeoDataFrame | None = None,
    isochrones: gpd.GeoDataFrame | None = None,
    walking_speed_m_per_min: float = 80.0,
    distance_notes: Sequence[str] = (),
    proposals: gpd.GeoDataFrame | None = None,
) -> folium.Map:
    """Return the coverage-gap map: gap-share choropleth, assets, needs, catchments, suggested sites, links.

    `capacity_notes` (plain text, e.g. "capacity unknown for 12 of 40 assets") go in the title and legend boxes.
    With `unmet_computable` False the choropleth shows the share of need beyond reach (1 - covered_share) and
    popups say unmet need, gap share and access score are not computable.

    All frames are GeoDataFrames with a CRS (drawn in EPSG:4326); distances are metres. neighbourhoods:
    name, population, covered_share and gap_share (shares in [0, 1], gap_share null = no residents),
    mean_distance_m, unmet_need (people); optional code, access_score, desert, nearest_assets.
    assets: name, category; optional service_types, capacity. needs: service_type, people_affected; optional
    description. catchment_assets: the service's assets (optional name). suggested_sites: gain (people);
    optional name. links: LineStrings; optional kind, crosses_border.
    `distance` says how distances were measured ("straight" or "network": walks on the street network);
    straight_not_walking: demand units covered by the straight line but not on foot (need, walk_m: the walk to
    the nearest asset, NaN if none is reachable); isochrones: walking-time polygons (minutes, name), drawn
    with `walking_speed_m_per_min`; `distance_notes` (plain text) go under the title.
    proposals: citizen-budget proposals (title; geo.render.proposals) drawn next to the gaps.
    """
    radius = _radius(radius_m)
    hoods = drop_empty(require_frame(neighbourhoods, "neighbourhoods", GAP_MAP_COLUMNS))
    if hoods.empty:
        raise AnalysisInputError(
            "'neighbourhoods' has no geometry to draw: import neighbourhood boundaries first"
        )
    asset_frame = optional_frame(assets, "assets", ("name", "category"))
    need_frame = optional_frame(needs, "needs", ("service_type", "people_affected"))
    catchment_frame = optional_frame(catchment_assets, "catchment_assets", ())
    site_frame = optional_frame(suggested_sites, "suggested_sites", ("gain",))
    link_frame = optional_frame(links, "links", ())

    shapes = simplify_for_display(hoods, simplify_tolerance_m)
    shaded = shapes["gap_share"] if unmet_computable else 1.0 - shapes["covered_share"]
    classes = gap_classes(shaded)
    deserts = (
        [False if is_missing(value) else bool(value) for value in shapes["desert"]]
        if "desert" in shapes.columns
        else [False] * len(shapes)
    )

    m = base_map([shapes], title, tiles_url, tiles_attribution)
    service_text = plain(service_name)
    lines: list[TitleLine] = []
    if service_text:
        lines.append([("Service: ", False), (service_text, True)])
    lines.append(f"Catchment radius: {format_count(radius, 'm')}")
    lines.append(
        f"Distances: on foot along the streets ({walking_speed_m_per_min:g} m a minute)"
        if distance == "network"
        else "Distances: straight line"
    )
    lines.extend(plain(note) for note in distance_notes if plain(note))
    date_text = _date_text(data_date)
    if date_text:
        lines.append(f"Data of {date_text}")
    notes = [plain(note) for note in capacity_notes if plain(note)]
    lines.extend([(note, True)] for note in notes)
    add_title(m, title, lines)

    names = text_column(shapes, "name", "(unnamed)")
    if "code" in shapes.columns:
        codes = text_column(shapes, "code", "")
        names = [f"{name} ({code})" if code else name for name, code in zip(names, codes, strict=True)]
    blank = [NOT_COMPUTABLE_TEXT] * len(shapes)
    properties: dict[str, list[Any]] = {
        "name": names,
        "gap": [format_share(value, NO_RESIDENTS_LABEL) for value in shapes["gap_share"]]
        if unmet_computable
        else blank,
        "population": [format_count(value) for value in shapes["population"]],
        "covered": [format_share(value) for value in shapes["covered_share"]],
        "unmet": [format_count(value, "people") for value in shapes["unmet_need"]]
        if unmet_computable
        else blank,
        "distance": [format_count(value, "m") for value in shapes["mean_distance_m"]],
    }
    aliases = {
        "name": "Neighbourhood",
        "gap": "Share of need unmet",
        "population": "Population of served group",
        "covered": "Covered share",
        "unmet": "Unmet need",
        "distance": "Mean distance to nearest asset",
    }
    if "access_score" in shapes.columns:
        properties["access"] = (
            [format_decimal(value) for value in shapes["access_score"]] if unmet_computable else blank
        )
        aliases["access"] = "Access score (1 = city average)"
    if "desert" in shapes.columns:
        properties["desert"] = [format_flag(value) for value in shapes["desert"]]
        aliases["desert"] = "Service desert"
    if "nearest_assets" in shapes.columns:
        properties["nearest"] = text_column(shapes, "nearest_assets")
        aliases["nearest"] = "Nearest assets"

    layer = folium.GeoJson(
        feature_collection(shapes, {}),
        name=f"{'Share of need unmet' if unmet_computable else 'Share of need beyond reach'} "
        f"({len(shapes):,} neighbourhood{'' if len(shapes) == 1 else 's'})",
        style_function=_gap_style(classes, deserts),
        highlight_function=lambda _feature: {"weight": 3, "color": "#000000"},
    ).add_to(m)
    add_layer_text(
        m,
        layer,
        properties,
        popup=[(heading, column) for column, heading in aliases.items()],
        tooltip=["name", "gap"] if unmet_computable else ["name", "covered"],
        popup_max_width=360,
    )

    heading = GAP_LEGEND_HEADING if unmet_computable else REACH_LEGEND_HEADING
    sections: list[tuple[str, list[LegendRow]]] = [(heading, _gap_legend_rows(classes))]
    if any(deserts):
        desert_symbol = swatch(None, outline=DESERT_OUTLINE)
        sections[0][1].append((desert_symbol, "Service desert (thick outline)", "assetmap-desert"))
    walk_cells = optional_frame(straight_not_walking, "straight_not_walking", ("need", "walk_m"))
    walk_times = optional_frame(isochrones, "isochrones", ("minutes",))
    walking_rows = add_straight_not_walking_layer(m, walk_cells)
    walking_rows += add_isochrone_layer(m, walk_times, walking_speed_m_per_min)
    if walking_rows:
        sections.append(("Walking", walking_rows))
    # A straight-line circle would mislead on a map of walks: the catchment layer then starts hidden.
    other_rows = add_catchment_layer(m, catchment_frame, radius, service_text, show=distance != "network")
    other_rows += add_links_layer(m, link_frame)
    other_rows += add_needs_layer(m, need_frame)
    other_rows += add_suggested_layer(m, site_frame)
    other_rows += add_proposals_layer(m, optional_frame(proposals, "proposals", PROPOSAL_COLUMNS))
    sections.append(("Assets by ABCD category", add_asset_layers(m, asset_frame)))
    sections.append(("Other layers", other_rows))
    if notes:
        sections.insert(
            1, ("Capacity", [(swatch(None, icon="info"), note, CAPACITY_NOTE_CLASS) for note in notes])
        )
    add_legend(m, sections)
    return finish(m)
