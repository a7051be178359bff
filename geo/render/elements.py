"""Building blocks of assetmap's folium maps: base map, title and legend boxes, and the shared layers."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import folium
import geopandas as gpd
import numpy as np
from branca.element import Element, Figure, MacroElement
from folium import plugins
from folium.template import Template

from geo.crs import AnalysisInputError
from geo.escape import escape_text, is_missing
from geo.render.prepare import (
    MISSING_TEXT,
    as_points,
    drop_empty,
    feature_collection,
    format_count,
    label,
    require_frame,
    round_coordinates,
    text_column,
)
from geo.render.text import (
    LEGEND_ID,
    TITLE_ID,
    Symbol,
    TitleLine,
    add_layer_text,
    map_text,
    set_legend,
    set_title,
)
from geo.vocab import ASSET_CATEGORIES, LINK_KINDS

DEFAULT_TILES_URL = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
DEFAULT_TILES_ATTRIBUTION = (
    '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors'
)
# Above this many asset markers the layers cluster; above the second, markers are built in the browser from a
# compact array (FastMarkerCluster), which keeps the page small and the browser responsive.
CLUSTER_MIN_MARKERS = 200
FAST_CLUSTER_MIN_MARKERS = 2000

NEIGHBOURHOOD_CLASS = "assetmap-neighbourhood"
NO_RESIDENTS_CLASS = "assetmap-no-residents"


@dataclass(frozen=True)
class CategoryStyle:
    """How one ABCD asset category is drawn: an awesome-markers colour, the same colour in hex, an icon."""

    marker_colour: str
    hex_colour: str
    icon: str


# Hex values match the awesome-markers sprite colours so legend swatches look like the markers.
CATEGORY_STYLES: dict[str, CategoryStyle] = {
    "individual": CategoryStyle("purple", "#d252b9", "user"),
    "association": CategoryStyle("blue", "#38aadd", "people-group"),
    "institution": CategoryStyle("cadetblue", "#436978", "building-columns"),
    "physical_space": CategoryStyle("green", "#72b026", "house"),
    "economy": CategoryStyle("orange", "#f69730", "store"),
    "culture": CategoryStyle("darkred", "#a23336", "masks-theater"),
}
OTHER_CATEGORY_STYLE = CategoryStyle("gray", "#575757", "circle")

LINK_COLOURS: dict[str, str] = {
    "partnership": "#1b9e77",
    "referral": "#d95f02",
    "shared_space": "#7570b3",
    "funding": "#e7298a",
    "volunteers": "#66a61e",
}
OTHER_LINK_COLOUR = "#666666"

NEED_COLOUR = "#e6550d"
CATCHMENT_COLOUR = "#3182bd"
SUGGESTED_STYLE = CategoryStyle("black", "#303030", "star")

_CSS = """
<style>
.leaflet-container { background: #f4f4f2; }
.assetmap-box { background: rgba(255, 255, 255, 0.94); padding: 6px 10px; border-radius: 4px;
  box-shadow: 0 1px 5px rgba(0, 0, 0, 0.35); font: 13px/1.35 system-ui, sans-serif; color: #222;
  max-width: 340px; overflow-wrap: anywhere; }
.assetmap-box h1 { font-size: 16px; font-weight: 600; margin: 0 0 2px; }
.assetmap-box h2 { font-size: 13px; font-weight: 600; margin: 6px 0 2px; }
.assetmap-box p { margin: 0; }
.assetmap-legend { max-height: 55vh; overflow-y: auto; }
.assetmap-legend ul { list-style: none; margin: 0; padding: 0; }
.assetmap-legend li { display: flex; align-items: center; gap: 6px; margin: 2px 0; }
.assetmap-swatch { display: inline-block; flex: none; width: 20px; height: 14px; border: 1px solid #555;
  text-align: center; color: #fff; font-size: 9px; line-height: 13px; }
.assetmap-dot { display: inline-block; flex: none; border-radius: 50%; border: 1px solid #333; }
.assetmap-line { display: inline-block; flex: none; width: 24px; height: 0; }
.assetmap-popup { border-collapse: collapse; font: 13px/1.35 system-ui, sans-serif; }
.assetmap-popup th { text-align: left; vertical-align: top; padding: 1px 8px 1px 0; font-weight: 600;
  min-width: 9em; }
.assetmap-popup td { vertical-align: top; padding: 1px 0; overflow-wrap: anywhere; }
</style>
"""


class PinnedBox(MacroElement):
    """An empty box written into the page and moved into a Leaflet control corner (visible in full screen).

    Its content comes from the page's JSON text block (geo.render.text), so the box's markup is constant.
    """

    _template = Template(
        """
        {% macro html(this, kwargs) %}<div id="{{ this.element_id }}" class="{{ this.css_class }}"></div>{% endmacro %}
        {% macro script(this, kwargs) %}
        (function () {
            var box = document.getElementById({{ this.element_id|tojson }});
            if (!box) { return; }
            var control = L.control({position: {{ this.position|tojson }}});
            control.onAdd = function () {
                L.DomEvent.disableClickPropagation(box);
                L.DomEvent.disableScrollPropagation(box);
                return box;
            };
            control.addTo({{ this._parent.get_name() }});
        })();
        {% endmacro %}
        """
    )

    def __init__(self, element_id: str, css_class: str, position: str) -> None:
        super().__init__()
        self._name = "PinnedBox"
        self.element_id = element_id
        self.css_class = css_class
        self.position = position


# A legend row is (symbol, plain-text label, extra CSS class or "").
LegendRow = tuple[Symbol, str, str]


def swatch(colour: str | None, icon: str | None = None, outline: str | None = None) -> Symbol:
    """Return a filled legend swatch, with a Font Awesome icon inside when `icon` is given."""
    return {"kind": "swatch", "colour": colour, "icon": icon, "outline": outline}


def dot(
    colour: str, diameter_px: float, outline: str = "#333", outline_px: int = 1, fill: bool = True
) -> Symbol:
    """Return a round legend symbol of `diameter_px`."""
    return {
        "kind": "dot",
        "colour": colour,
        "size": max(round(diameter_px), 4),
        "outline": outline,
        "outlinePx": outline_px,
        "fill": fill,
    }


def line(colour: str, dashed: bool = False, width_px: int = 3) -> Symbol:
    """Return a line legend symbol."""
    return {"kind": "line", "colour": colour, "dashed": dashed, "widthPx": width_px}


def add_legend(m: folium.Map, sections: Sequence[tuple[str, Sequence[LegendRow]]]) -> None:
    """Add the legend box (id 'assetmap-legend') to the bottom right of `m`; headings and labels are plain text."""
    set_legend(m, sections)
    m.add_child(PinnedBox(LEGEND_ID, "assetmap-box assetmap-legend", "bottomright"))


def add_title(m: folium.Map, title: str, lines: Sequence[TitleLine] = ()) -> None:
    """Add the title box (id 'assetmap-title'); `title` and `lines` are plain text (lines may mark bold parts)."""
    set_title(m, title, lines)
    m.add_child(PinnedBox(TITLE_ID, "assetmap-box assetmap-title", "topright"))


def _finite_bounds(frames: Sequence[gpd.GeoDataFrame | None]) -> tuple[float, float, float, float] | None:
    boxes = [frame.total_bounds for frame in frames if frame is not None and not frame.empty]
    boxes = [box for box in boxes if all(math.isfinite(value) for value in box)]
    if not boxes:
        return None
    stacked = np.vstack(boxes)
    return (
        float(stacked[:, 0].min()),
        float(stacked[:, 1].min()),
        float(stacked[:, 2].max()),
        float(stacked[:, 3].max()),
    )


def base_map(
    frames: Sequence[gpd.GeoDataFrame | None],
    title: str,
    tiles_url: str | None,
    tiles_attribution: str,
) -> folium.Map:
    """Return a map fitted to `frames` (EPSG:4326) with basemap, scale bar, full-screen button, page title."""
    bounds = _finite_bounds(frames)
    if bounds is None:
        raise AnalysisInputError("nothing to draw: every frame given to the map is empty")
    west, south, east, north = bounds
    m = folium.Map(
        location=[(south + north) / 2, (west + east) / 2],
        zoom_start=12,
        tiles=None,
        control_scale=True,
        # Marker clusters need the map's own maximum zoom: with tiles=None no tile layer gives one.
        maxZoom=19,
        prefer_canvas=False,  # SVG paths keep the className that browser tests and styles rely on
    )
    page = m.get_root()
    if not isinstance(page, Figure):
        raise TypeError(f"folium.Map should sit in a branca Figure, got {type(page).__name__}")
    # The <title> is a variable of branca's page template (rendered once, never compiled): HTML escaping is
    # what it needs. Every other text goes through the page's JSON block.
    page.title = escape_text(title)
    page.header.add_child(Element(_CSS), name="assetmap_css")
    map_text(m)
    if tiles_url is not None:
        if "{z}" not in tiles_url or not tiles_url.startswith(("https://", "http://", "/")):
            raise ValueError(
                f"tiles URL {tiles_url!r} is not a tile template: use e.g. {DEFAULT_TILES_URL!r}, "
                "or None for no basemap"
            )
        # The attribution is deployment configuration (it may hold a link), not community text.
        folium.TileLayer(
            tiles=tiles_url, attr=tiles_attribution, name="Basemap", control=False, max_zoom=19
        ).add_to(m)
    m.fit_bounds([[south, west], [north, east]])
    plugins.Fullscreen(position="topleft", title="Full screen", title_cancel="Exit full screen").add_to(m)
    return m


def finish(m: folium.Map) -> folium.Map:
    """Add the layer switcher; call after every layer is on `m`."""
    folium.LayerControl(position="topright", collapsed=True).add_to(m)
    return m


def optional_frame(frame: Any, name: str, columns: Sequence[str]) -> gpd.GeoDataFrame | None:
    """Return `frame` checked and in EPSG:4326 without empty geometries, or None when it is None or empty."""
    if frame is None:
        return None
    checked = drop_empty(require_frame(frame, name, columns))
    return None if checked.empty else checked


def category_style(category: Any) -> CategoryStyle:
    """Return the drawing style of an ABCD category (grey circle for anything else)."""
    return CATEGORY_STYLES.get(str(category), OTHER_CATEGORY_STYLE)


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
    """Add suggested new sites (name, gain = unmet need the site would cover, people-equivalents)."""
    if sites is None or sites.empty:
        return []
    points = round_coordinates(as_points(sites))
    text = {
        "name": text_column(points, "name", "(suggested site)"),
        "gain": [format_count(value, "people") for value in points["gain"]],
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
        popup=[("Suggested site", "name"), ("Unmet need it would cover", "gain")],
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
