"""The neighbourhood and relationship-network browser maps (the gap map, in gaps, is re-exported)."""

from __future__ import annotations

import math
from typing import Any

import folium
import geopandas as gpd
import numpy as np

from geo.crs import AnalysisInputError
from geo.escape import is_missing
from geo.render.elements import (
    CATEGORY_STYLES,
    DEFAULT_TILES_ATTRIBUTION,
    DEFAULT_TILES_URL,
    NEIGHBOURHOOD_CLASS,
    OTHER_CATEGORY_STYLE,
    LegendRow,
    add_asset_layers,
    add_legend,
    add_links_layer,
    add_needs_layer,
    add_title,
    base_map,
    category_style,
    dot,
    finish,
    optional_frame,
    swatch,
)
from geo.render.gaps import (
    CAPACITY_NOTE_CLASS,
    DESERT_OUTLINE,
    GAP_LEGEND_HEADING,
    GAP_MAP_COLUMNS,
    NOT_COMPUTABLE_TEXT,
    REACH_LEGEND_HEADING,
    gap_map,
)
from geo.render.prepare import (
    MISSING_TEXT,
    as_points,
    drop_empty,
    feature_collection,
    format_count,
    format_decimal,
    format_flag,
    label,
    require_frame,
    round_coordinates,
    simplify_for_display,
    text_column,
)
from geo.render.text import TitleLine, add_layer_text, plain

__all__ = [
    "CAPACITY_NOTE_CLASS",
    "DESERT_OUTLINE",
    "GAP_LEGEND_HEADING",
    "GAP_MAP_COLUMNS",
    "NOT_COMPUTABLE_TEXT",
    "REACH_LEGEND_HEADING",
    "RESOURCE_COLOUR",
    "gap_map",
    "neighbourhood_map",
    "network_map",
]


RESOURCE_COLOUR = "#6a51a3"


def _add_resources_layer(m: folium.Map, resources: gpd.GeoDataFrame | None) -> list[LegendRow]:
    if resources is None or resources.empty:
        return []
    points = round_coordinates(as_points(resources))
    quantities = [format_decimal(value, 0) for value in points.get("quantity", [None] * len(points))]
    units = text_column(points, "unit", "")
    text = {
        "kind": [MISSING_TEXT if is_missing(value) else label(value) for value in points["kind"]],
        "name": text_column(points, "name"),
        "quantity": [
            quantity if quantity == MISSING_TEXT else f"{quantity} {unit}".strip()
            for quantity, unit in zip(quantities, units, strict=True)
        ],
        "availability": text_column(points, "availability"),
    }
    layer = folium.GeoJson(
        feature_collection(points, {}),
        name=f"Resources ({len(points):,})",
        marker=folium.CircleMarker(
            radius=6, color="#3f007d", weight=1, fill=True, fill_color=RESOURCE_COLOUR, fill_opacity=0.8
        ),
    ).add_to(m)
    add_layer_text(
        m,
        layer,
        text,
        popup=[
            ("Resource", "kind"),
            ("What", "name"),
            ("Quantity", "quantity"),
            ("Availability", "availability"),
        ],
        tooltip=["kind", "name"],
    )
    return [(dot(RESOURCE_COLOUR, 12), "Resource (funding, volunteers, space, ...)", "")]


def neighbourhood_map(
    neighbourhood: gpd.GeoDataFrame,
    assets: gpd.GeoDataFrame | None,
    needs: gpd.GeoDataFrame | None,
    resources_points: gpd.GeoDataFrame | None = None,
    links: gpd.GeoDataFrame | None = None,
    title: str | None = None,
    tiles_url: str | None = DEFAULT_TILES_URL,
    tiles_attribution: str = DEFAULT_TILES_ATTRIBUTION,
) -> folium.Map:
    """Return the map of one neighbourhood: its outline, assets by category, needs, resources and links.

    neighbourhood: one row with name (optional code, population). assets: name, category (optional
    service_types, capacity). needs: service_type, people_affected (optional description). resources_points:
    kind (optional name, quantity, unit, availability). links: LineStrings (optional kind, crosses_border).
    """
    outline = drop_empty(require_frame(neighbourhood, "neighbourhood", ("name",)))
    if len(outline) != 1:
        raise AnalysisInputError(f"'neighbourhood' should hold exactly one drawable row, got {len(outline)}")
    asset_frame = optional_frame(assets, "assets", ("name", "category"))
    need_frame = optional_frame(needs, "needs", ("service_type", "people_affected"))
    resource_frame = optional_frame(resources_points, "resources_points", ("kind",))
    link_frame = optional_frame(links, "links", ())

    shape = simplify_for_display(outline)
    row = shape.iloc[0]
    name = plain(row["name"], "Neighbourhood")
    m = base_map(
        [shape, asset_frame, need_frame, resource_frame], title or name, tiles_url, tiles_attribution
    )
    lines: list[TitleLine] = []
    if "population" in shape.columns and not is_missing(row["population"]):
        lines.append(f"Residents: {format_count(row['population'])}")
    counts = [
        f"{format_count(0 if frame is None else len(frame))} {noun}"
        for frame, noun in ((asset_frame, "assets"), (need_frame, "needs"), (resource_frame, "resources"))
    ]
    lines.append(" · ".join(counts))
    add_title(m, title or name, lines)

    properties = {"name": text_column(shape, "name", "(unnamed)")}
    if "population" in shape.columns:
        properties["population"] = [format_count(value) for value in shape["population"]]
    boundary = folium.GeoJson(
        feature_collection(shape, {}),
        name="Neighbourhood boundary",
        style_function=lambda _feature: {
            "color": "#252525",
            "weight": 3,
            "fillColor": "#fdd49e",
            "fillOpacity": 0.12,
            "className": NEIGHBOURHOOD_CLASS,
        },
    ).add_to(m)
    add_layer_text(m, boundary, properties, tooltip=list(properties))

    other_rows = add_links_layer(m, link_frame)
    other_rows += add_needs_layer(m, need_frame)
    other_rows += _add_resources_layer(m, resource_frame)
    sections = [
        ("Assets by ABCD category", add_asset_layers(m, asset_frame)),
        ("Needs, resources and relationships", other_rows),
    ]
    add_legend(m, sections)
    return finish(m)


def _node_radius_px(degree: Any) -> float:
    try:
        number = float(degree)
    except (TypeError, ValueError):
        number = 0.0
    number = number if math.isfinite(number) and number > 0 else 0.0
    # Area, not radius, grows with the number of links, so a hub does not swamp the map.
    return round(min(22.0, 4.0 + 2.2 * math.sqrt(number)), 1)


def network_map(
    assets: gpd.GeoDataFrame,
    links: gpd.GeoDataFrame | None,
    title: str = "Relationship network",
    tiles_url: str | None = DEFAULT_TILES_URL,
    tiles_attribution: str = DEFAULT_TILES_ATTRIBUTION,
) -> folium.Map:
    """Return the relationship-network map: node size = degree, brokers outlined, isolated assets hollow.

    assets: name, degree, betweenness, broker (bool), isolated (bool); optional category. links: LineStrings
    with optional kind and crosses_border (bool).
    """
    nodes = drop_empty(
        require_frame(assets, "assets", ("name", "degree", "betweenness", "broker", "isolated"))
    )
    if nodes.empty:
        raise AnalysisInputError("'assets' has no located asset to draw")
    link_frame = optional_frame(links, "links", ())
    points = round_coordinates(as_points(nodes))

    degrees = [0.0 if is_missing(value) else float(value) for value in points["degree"]]
    brokers = [False if is_missing(value) else bool(value) for value in points["broker"]]
    isolated = [False if is_missing(value) else bool(value) for value in points["isolated"]]
    categories = points["category"].tolist() if "category" in points.columns else [None] * len(points)
    radii = [_node_radius_px(value) for value in degrees]

    def style(feature: dict[str, Any]) -> dict[str, Any]:
        row = feature["id"]
        look = {
            "radius": radii[row],
            "color": "#333333",
            "weight": 1,
            "dashArray": None,
            "fill": True,
            "fillColor": category_style(categories[row]).hex_colour,
            "fillOpacity": 0.85,
            "className": "assetmap-node",
        }
        if isolated[row]:
            look.update(color="#737373", weight=2, dashArray="3 2", fillColor="#ffffff", fillOpacity=0.9)
            look["className"] = "assetmap-node assetmap-isolated"
        elif brokers[row]:
            look.update(color="#000000", weight=4, fillOpacity=0.9, className="assetmap-node assetmap-broker")
        return look

    m = base_map([points, link_frame], title, tiles_url, tiles_attribution)
    link_count = 0 if link_frame is None else len(link_frame)
    add_title(
        m,
        title,
        [
            f"{format_count(len(points))} assets · {format_count(link_count)} links",
            f"{format_count(sum(brokers))} brokers · {format_count(sum(isolated))} isolated",
        ],
    )
    link_rows = add_links_layer(m, link_frame)
    properties = {
        "name": text_column(points, "name", "(unnamed)"),
        "category": [MISSING_TEXT if is_missing(value) else label(value) for value in categories],
        "degree": [format_count(value) for value in degrees],
        "betweenness": [format_decimal(value, 3) for value in points["betweenness"]],
        "broker": [format_flag(value) for value in brokers],
        "isolated": [format_flag(value) for value in isolated],
    }
    layer = folium.GeoJson(
        feature_collection(points, {}),
        name=f"Assets ({len(points):,})",
        marker=folium.CircleMarker(),
        style_function=style,
    ).add_to(m)
    headings = ["Asset", "Category", "Links (degree)", "Betweenness", "Broker", "Isolated"]
    add_layer_text(m, layer, properties, popup=list(zip(headings, properties, strict=True)), tooltip=["name"])

    positive = [value for value in degrees if value > 0]
    samples = sorted({round(value) for value in np.quantile(positive, [0.0, 0.5, 1.0])}) if positive else []
    size_rows: list[LegendRow] = [
        (
            dot("#bdbdbd", 2 * _node_radius_px(value)),
            f"{format_count(value)} link{'s' if value != 1 else ''}",
            "",
        )
        for value in samples
    ]
    role_rows: list[LegendRow] = [
        (dot("#bdbdbd", 14, outline="#000000", outline_px=3), "Broker (high betweenness)", "assetmap-broker"),
        (dot("#ffffff", 12, outline="#737373", outline_px=2), "Isolated (no links)", "assetmap-isolated"),
    ]
    present = {str(value) for value in categories if not is_missing(value)}
    category_rows: list[LegendRow] = [
        (swatch(style_.hex_colour), label(category), "")
        for category, style_ in CATEGORY_STYLES.items()
        if category in present
    ]
    if present - set(CATEGORY_STYLES):
        category_rows.append((swatch(OTHER_CATEGORY_STYLE.hex_colour), "Other", ""))
    add_legend(
        m,
        [
            ("Node size: number of links", size_rows),
            ("Roles in the network", role_rows),
            ("Asset category (fill)", category_rows),
            ("Relationships", link_rows),
        ],
    )
    return finish(m)
