"""The layers the maps share: assets by category, needs, catchments, suggested sites, relationship links."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

import folium
import geopandas as gpd
from folium import plugins

from geo.escape import escape_text, is_missing
from geo.render.prepare import (
    MISSING_TEXT,
    as_points,
    feature_collection,
    format_count,
    label,
    round_coordinates,
    text_column,
)
from geo.render.styles import (
    CATCHMENT_COLOUR,
    CATEGORY_STYLES,
    LINK_COLOURS,
    NEED_COLOUR,
    OTHER_LINK_COLOUR,
    SUGGESTED_STYLE,
    LegendRow,
    category_style,
    dot,
    line,
    swatch,
)
from geo.render.text import add_layer_text
from geo.vocab import ASSET_CATEGORIES, LINK_KINDS

# Above this many asset markers the layers cluster; above the second, markers are built in the browser from a
# compact array (FastMarkerCluster), which keeps the page small and the browser responsive.
CLUSTER_MIN_MARKERS = 200
FAST_CLUSTER_MIN_MARKERS = 2000


def _ordered_categories(values: Sequence[str]) -> list[str]:
    present = set(values)
    return [category for category in (*ASSET_CATEGORIES, OTHER_CATEGORY) if category in present]


OTHER_CATEGORY = "other"
_ASSET_POPUP = [
    ("Asset", "name"),
    ("Category", "category"),
    ("Services", "services"),
    ("Capacity", "capacity"),
]

# Markers of large layers are built in the browser from [lat, lon, row] arrays; their text comes from the page's
# JSON block by row number (geo.render.text), so this callback is the same for every map but for two constants.
_FAST_CALLBACK = """function (row) {
    var marker = L.marker(new L.LatLng(row[0], row[1]), {
        icon: L.AwesomeMarkers.icon(
            {icon: %(icon)s, prefix: "fa", markerColor: %(colour)s, iconColor: "white"}
        )
    });
    return window.assetmapMapText.attach(marker, %(key)d, row[2]);
}"""


def add_asset_layers(m: folium.Map, assets: gpd.GeoDataFrame | None, show: bool = True) -> list[LegendRow]:
    """Add a switchable layer per ABCD category of `assets`; return the legend rows of the categories drawn.

    Columns: name, category; optional service_types (text) and capacity. Categories outside the ABCD six are
    drawn together as "Other".
    """
    if assets is None or assets.empty:
        return []
    points = round_coordinates(as_points(assets))
    names = text_column(points, "name", "(unnamed)")
    services = text_column(points, "service_types")
    capacities = (
        [format_count(value) for value in points["capacity"]]
        if "capacity" in points.columns
        else [MISSING_TEXT] * len(points)
    )
    raw_categories = ["" if is_missing(value) else str(value) for value in points["category"]]
    categories = [value if value in CATEGORY_STYLES else OTHER_CATEGORY for value in raw_categories]
    total = len(points)
    rows: list[LegendRow] = []
    for category in _ordered_categories(categories):
        style = category_style(category)
        chosen = [index for index, value in enumerate(categories) if value == category]
        subset = points.iloc[chosen]
        # Layer names go into folium's script: only the vocabulary's own words and numbers.
        category_label = label(category)
        layer_name = f"Assets: {category_label} ({len(chosen):,})"
        text = {
            "name": [names[index] for index in chosen],
            "category": [label(raw_categories[index]) or MISSING_TEXT for index in chosen],
            "services": [services[index] for index in chosen],
            "capacity": [capacities[index] for index in chosen],
        }
        if total > FAST_CLUSTER_MIN_MARKERS:
            key = add_layer_text(m, None, text, popup=_ASSET_POPUP, tooltip=["name"])
            data = [
                [float(geometry.y), float(geometry.x), row] for row, geometry in enumerate(subset.geometry)
            ]
            callback = _FAST_CALLBACK % {
                "icon": json.dumps(style.icon),
                "colour": json.dumps(style.marker_colour),
                "key": key,
            }
            plugins.FastMarkerCluster(data, callback=callback, name=layer_name, show=show).add_to(m)
        else:
            layer = folium.GeoJson(
                feature_collection(subset, {}),
                name=layer_name,
                marker=folium.Marker(
                    icon=folium.Icon(color=style.marker_colour, icon=style.icon, prefix="fa")
                ),
                show=show,
            )
            add_layer_text(m, layer, text, popup=_ASSET_POPUP, tooltip=["name"])
            if total > CLUSTER_MIN_MARKERS:
                cluster = plugins.MarkerCluster(name=layer_name, show=show)
                layer.control = False
                layer.add_to(cluster)
                cluster.add_to(m)
            else:
                layer.add_to(m)
        rows.append((swatch(style.hex_colour, style.icon), category_label, ""))
    return rows


def _column(frame: gpd.GeoDataFrame, column: str) -> list[Any]:
    return frame[column].tolist() if column in frame.columns else [None] * len(frame)


def _need_radius_px(people: Any) -> int:
    try:
        number = float(people)
    except (TypeError, ValueError):
        number = 0.0
    if not math.isfinite(number) or number < 0:
        number = 0.0
    # Area grows with people affected; capped so a large count does not hide its neighbours.
    return int(min(16, max(5, round(4 + 1.2 * math.sqrt(number)))))


def add_needs_layer(m: folium.Map, needs: gpd.GeoDataFrame | None, show: bool = True) -> list[LegendRow]:
    """Add mapped needs (service_type, people_affected; description optional) as points or areas."""
    if needs is None or needs.empty:
        return []
    needs = round_coordinates(needs)
    people = needs["people_affected"].tolist()
    radii = [_need_radius_px(value) for value in people]
    text = {
        "service": [MISSING_TEXT if is_missing(value) else label(value) for value in needs["service_type"]],
        "people": [format_count(value, "people") for value in people],
        "description": text_column(needs, "description"),
    }

    def style(feature: dict[str, Any]) -> dict[str, Any]:
        return {
            "radius": radii[feature["id"]],
            "color": "#7f2704",
            "weight": 1,
            "fill": True,
            "fillColor": NEED_COLOUR,
            "fillOpacity": 0.6,
            "dashArray": "4 3",
        }

    layer = folium.GeoJson(
        feature_collection(needs, {}),
        name=f"Needs ({len(needs):,})",
        marker=folium.CircleMarker(),
        style_function=style,
        show=show,
    ).add_to(m)
    add_layer_text(
        m,
        layer,
        text,
        popup=[("Need", "service"), ("People affected", "people"), ("Description", "description")],
        tooltip=["service", "people"],
    )
    return [(dot(NEED_COLOUR, 12), "Mapped need (size: people affected)", "")]


def add_catchment_layer(
    m: folium.Map,
    catchment_assets: gpd.GeoDataFrame | None,
    radius_m: float,
    service_label: str,
    show: bool = True,
) -> list[LegendRow]:
    """Add circles of `radius_m` metres around the service's assets; `service_label` is plain text."""
    if catchment_assets is None or catchment_assets.empty:
        return []
    points = round_coordinates(as_points(catchment_assets))
    radius_text = format_count(radius_m, "m")
    layer = folium.GeoJson(
        feature_collection(points, {}),
        name=f"Catchment, {radius_text} ({len(points):,})",
        marker=folium.Circle(
            radius=float(radius_m),
            color=CATCHMENT_COLOUR,
            weight=1,
            fill=True,
            fill_color=CATCHMENT_COLOUR,
            fill_opacity=0.07,
        ),
        show=show,
    ).add_to(m)
    add_layer_text(m, layer, {"name": text_column(points, "name", "(unnamed)")}, tooltip=["name"])
    what = f"{radius_text} around {service_label} assets" if service_label else f"{radius_text} around assets"
    return [(dot(CATCHMENT_COLOUR, 14, outline=CATCHMENT_COLOUR, fill=False), f"Catchment: {what}", "")]


def add_suggested_layer(m: folium.Map, sites: gpd.GeoDataFrame | None, show: bool = True) -> list[LegendRow]:
    """Add suggested new sites (name, gain = unmet need the site would cover, people-equivalents; optional kind,
    reasons = why it qualifies as a candidate, suggestion = what all the sites together achieve)."""
    if sites is None or sites.empty:
        return []
    points = round_coordinates(as_points(sites))
    text = {
        "name": text_column(points, "name", "(suggested site)"),
        "kind": text_column(points, "kind"),
        "reasons": text_column(points, "reasons"),
        "gain": [format_count(value, "people") for value in points["gain"]],
        "suggestion": text_column(points, "suggestion"),
    }
    layer = folium.GeoJson(
        feature_collection(points, {}),
        name=f"Suggested sites ({len(points):,})",
        marker=folium.Marker(
            icon=folium.Icon(color=SUGGESTED_STYLE.marker_colour, icon=SUGGESTED_STYLE.icon, prefix="fa")
        ),
        show=show,
    ).add_to(m)
    add_layer_text(
        m,
        layer,
        text,
        popup=[
            ("Suggested site", "name"),
            ("Kind of place", "kind"),
            ("Why it qualifies", "reasons"),
            ("Unmet need it would cover", "gain"),
            ("All suggested sites", "suggestion"),
        ],
        tooltip=["name"],
    )
    return [(swatch(SUGGESTED_STYLE.hex_colour, SUGGESTED_STYLE.icon), "Suggested site", "")]


def add_links_layer(
    m: folium.Map, links: gpd.GeoDataFrame | None, name: str = "Relationships", show: bool = True
) -> list[LegendRow]:
    """Add relationship links (LineStrings; kind and crosses_border optional) coloured by kind.

    `name` is the layer's name in the layer switcher: the code's own words, never community text.
    """
    if links is None or links.empty:
        return []
    links = round_coordinates(links)
    kinds = ["" if is_missing(value) else str(value) for value in _column(links, "kind")]
    kinds = [kind if kind in LINK_COLOURS or not kind else "other" for kind in kinds]
    crossing = [False if is_missing(value) else bool(value) for value in _column(links, "crosses_border")]
    text = {
        "kind": [label(kind) if kind else "Link" for kind in kinds],
        "border": ["crosses a neighbourhood border" if flag else "" for flag in crossing],
    }

    def style(feature: dict[str, Any]) -> dict[str, Any]:
        row = feature["id"]
        return {
            "color": LINK_COLOURS.get(kinds[row], OTHER_LINK_COLOUR),
            "weight": 2.5,
            "opacity": 0.85,
            "dashArray": "6 4" if crossing[row] else None,
        }

    layer = folium.GeoJson(
        feature_collection(links, {}),
        name=f"{escape_text(name)} ({len(links):,})",
        style_function=style,
        show=show,
    ).add_to(m)
    add_layer_text(m, layer, text, tooltip=["kind", "border"])
    rows: list[LegendRow] = [
        (line(LINK_COLOURS[kind]), label(kind), "")
        for kind in LINK_KINDS
        if kind in kinds and kind in LINK_COLOURS
    ]
    if "" in kinds or "other" in kinds:
        rows.append((line(OTHER_LINK_COLOUR), "Other link", ""))
    if any(crossing):
        rows.append((line("#444444", dashed=True), "Crosses a neighbourhood border", ""))
    return rows
