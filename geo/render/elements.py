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
from folium.features import GeoJsonPopup, GeoJsonTooltip
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
LEGEND_ID = "assetmap-legend"
TITLE_ID = "assetmap-title"


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
  max-width: 340px; }
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
</style>
"""


class PinnedBox(MacroElement):
    """An HTML box written into the page and moved into a Leaflet control corner (visible in full screen)."""

    _template = Template(
        """
        {% macro html(this, kwargs) %}{{ this.markup }}{% endmacro %}
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

    def __init__(self, element_id: str, markup: str, position: str) -> None:
        super().__init__()
        self._name = "PinnedBox"
        self.element_id = element_id
        self.markup = markup
        self.position = position


# A legend row is (swatch markup, escaped label, extra CSS class or "").
LegendRow = tuple[str, str, str]


def swatch(colour: str, icon: str | None = None) -> str:
    """Return a filled legend swatch, with a Font Awesome icon inside when `icon` is given."""
    inner = f'<i class="fa fa-{icon}"></i>' if icon else ""
    return f'<span class="assetmap-swatch" style="background:{colour}">{inner}</span>'


def dot(
    colour: str, diameter_px: float, outline: str = "#333", outline_px: int = 1, fill: bool = True
) -> str:
    """Return a round legend symbol of `diameter_px`."""
    size = max(round(diameter_px), 4)
    background = colour if fill else "transparent"
    return (
        f'<span class="assetmap-dot" style="width:{size}px;height:{size}px;background:{background};'
        f'border:{outline_px}px solid {outline}"></span>'
    )


def line(colour: str, dashed: bool = False, width_px: int = 3) -> str:
    """Return a line legend symbol."""
    style = "dashed" if dashed else "solid"
    return f'<span class="assetmap-line" style="border-top:{width_px}px {style} {colour}"></span>'


def legend_markup(sections: Sequence[tuple[str, Sequence[LegendRow]]]) -> str:
    """Return the legend box HTML: one heading and list per section; headings and labels must be escaped."""
    parts = [f'<div id="{LEGEND_ID}" class="assetmap-box assetmap-legend">']
    for heading, rows in sections:
        if not rows:
            continue
        parts.append(f"<h2>{heading}</h2><ul>")
        for symbol, text, css_class in rows:
            class_attribute = f' class="{css_class}"' if css_class else ""
            parts.append(f"<li{class_attribute}>{symbol}<span>{text}</span></li>")
        parts.append("</ul>")
    parts.append("</div>")
    return "".join(parts)


def add_legend(m: folium.Map, sections: Sequence[tuple[str, Sequence[LegendRow]]]) -> None:
    """Add the legend box (id 'assetmap-legend') to the bottom right of `m`."""
    m.add_child(PinnedBox(LEGEND_ID, legend_markup(sections), "bottomright"))


def add_title(m: folium.Map, title: str, lines: Sequence[str] = ()) -> None:
    """Add the title box (id 'assetmap-title'); `title` is raw text, `lines` are already-escaped HTML."""
    body = "".join(f"<p>{text}</p>" for text in lines)
    markup = (
        f'<div id="{TITLE_ID}" class="assetmap-box assetmap-title"><h1>{escape_text(title)}</h1>{body}</div>'
    )
    m.add_child(PinnedBox(TITLE_ID, markup, "topright"))


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
    page.title = escape_text(title)
    page.header.add_child(Element(_CSS), name="assetmap_css")
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


def _ordered_categories(values: Sequence[Any]) -> list[str]:
    present = {str(value) for value in values}
    known = [category for category in ASSET_CATEGORIES if category in present]
    return known + sorted(present - set(known))


_ASSET_FIELDS = ["name", "category", "services", "capacity"]
_ASSET_ALIASES = ["Asset", "Category", "Services", "Capacity"]

_FAST_CALLBACK = """function (row) {
    var marker = L.marker(new L.LatLng(row[0], row[1]), {
        icon: L.AwesomeMarkers.icon(
            {icon: %(icon)s, prefix: "fa", markerColor: %(colour)s, iconColor: "white"}
        )
    });
    // Every row value is escaped text (geo.escape), so joining it into HTML is safe.
    marker.bindPopup(function () {
        return "<b>" + row[2] + "</b><br>Category: " + row[3] + "<br>Services: " + row[4]
            + "<br>Capacity: " + row[5];
    });
    marker.bindTooltip(row[2]);
    return marker;
}"""


def add_asset_layers(m: folium.Map, assets: gpd.GeoDataFrame | None, show: bool = True) -> list[LegendRow]:
    """Add a switchable layer per ABCD category of `assets`; return the legend rows of the categories drawn.

    Columns: name, category; optional service_types (text) and capacity.
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
    categories = [str(value) for value in points["category"]]
    total = len(points)
    rows: list[LegendRow] = []
    for category in _ordered_categories(categories):
        style = category_style(category)
        chosen = [index for index, value in enumerate(categories) if value == category]
        subset = points.iloc[chosen]
        category_label = label(category)
        layer_name = f"Assets: {category_label} ({len(chosen):,})"
        properties = {
            "name": [names[index] for index in chosen],
            "category": [category_label] * len(chosen),
            "services": [services[index] for index in chosen],
            "capacity": [capacities[index] for index in chosen],
        }
        if total > FAST_CLUSTER_MIN_MARKERS:
            data = [
                [float(geometry.y), float(geometry.x), *(properties[field][row] for field in _ASSET_FIELDS)]
                for row, geometry in enumerate(subset.geometry)
            ]
            callback = _FAST_CALLBACK % {
                "icon": json.dumps(style.icon),
                "colour": json.dumps(style.marker_colour),
            }
            plugins.FastMarkerCluster(data, callback=callback, name=layer_name, show=show).add_to(m)
        else:
            layer = folium.GeoJson(
                feature_collection(subset, properties),
                name=layer_name,
                marker=folium.Marker(
                    icon=folium.Icon(color=style.marker_colour, icon=style.icon, prefix="fa")
                ),
                popup=GeoJsonPopup(fields=_ASSET_FIELDS, aliases=_ASSET_ALIASES),
                tooltip=GeoJsonTooltip(fields=["name"], labels=False),
                show=show,
            )
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
    properties = {
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

    folium.GeoJson(
        feature_collection(needs, properties),
        name=f"Needs ({len(needs):,})",
        marker=folium.CircleMarker(),
        style_function=style,
        popup=GeoJsonPopup(
            fields=["service", "people", "description"], aliases=["Need", "People affected", "Description"]
        ),
        tooltip=GeoJsonTooltip(fields=["service", "people"], labels=False),
        show=show,
    ).add_to(m)
    return [(dot(NEED_COLOUR, 12), "Mapped need (size: people affected)", "")]


def add_catchment_layer(
    m: folium.Map,
    catchment_assets: gpd.GeoDataFrame | None,
    radius_m: float,
    service_label: str,
    show: bool = True,
) -> list[LegendRow]:
    """Add circles of `radius_m` metres around the service's assets; `service_label` must be escaped."""
    if catchment_assets is None or catchment_assets.empty:
        return []
    points = round_coordinates(as_points(catchment_assets))
    radius_text = format_count(radius_m, "m")
    folium.GeoJson(
        feature_collection(points, {"name": text_column(points, "name", "(unnamed)")}),
        name=f"Catchment, {radius_text} ({len(points):,})",
        marker=folium.Circle(
            radius=float(radius_m),
            color=CATCHMENT_COLOUR,
            weight=1,
            fill=True,
            fill_color=CATCHMENT_COLOUR,
            fill_opacity=0.07,
        ),
        tooltip=GeoJsonTooltip(fields=["name"], labels=False),
        show=show,
    ).add_to(m)
    what = f"{radius_text} around {service_label} assets" if service_label else f"{radius_text} around assets"
    return [(dot(CATCHMENT_COLOUR, 14, outline=CATCHMENT_COLOUR, fill=False), f"Catchment: {what}", "")]


def add_suggested_layer(m: folium.Map, sites: gpd.GeoDataFrame | None, show: bool = True) -> list[LegendRow]:
    """Add suggested new sites (name, gain = unmet need the site would cover, people-equivalents)."""
    if sites is None or sites.empty:
        return []
    points = round_coordinates(as_points(sites))
    properties = {
        "name": text_column(points, "name", "(suggested site)"),
        "gain": [format_count(value, "people") for value in points["gain"]],
    }
    folium.GeoJson(
        feature_collection(points, properties),
        name=f"Suggested sites ({len(points):,})",
        marker=folium.Marker(
            icon=folium.Icon(color=SUGGESTED_STYLE.marker_colour, icon=SUGGESTED_STYLE.icon, prefix="fa")
        ),
        popup=GeoJsonPopup(fields=["name", "gain"], aliases=["Suggested site", "Unmet need it would cover"]),
        tooltip=GeoJsonTooltip(fields=["name"], labels=False),
        show=show,
    ).add_to(m)
    return [(swatch(SUGGESTED_STYLE.hex_colour, SUGGESTED_STYLE.icon), "Suggested site", "")]


def add_links_layer(
    m: folium.Map, links: gpd.GeoDataFrame | None, name: str = "Relationships", show: bool = True
) -> list[LegendRow]:
    """Add relationship links (LineStrings; kind and crosses_border optional) coloured by kind."""
    if links is None or links.empty:
        return []
    links = round_coordinates(links)
    kinds = ["" if is_missing(value) else str(value) for value in _column(links, "kind")]
    crossing = [False if is_missing(value) else bool(value) for value in _column(links, "crosses_border")]
    properties = {
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

    folium.GeoJson(
        feature_collection(links, properties),
        name=f"{escape_text(name)} ({len(links):,})",
        style_function=style,
        tooltip=GeoJsonTooltip(fields=["kind", "border"], labels=False),
        show=show,
    ).add_to(m)
    rows: list[LegendRow] = [
        (line(LINK_COLOURS.get(kind, OTHER_LINK_COLOUR)), label(kind) if kind else "Other link", "")
        for kind in [*[k for k in LINK_KINDS if k in kinds], *sorted(set(kinds) - set(LINK_KINDS) - {""})]
    ]
    if "" in kinds:
        rows.append((line(OTHER_LINK_COLOUR), "Other link", ""))
    if any(crossing):
        rows.append((line("#444444", dashed=True), "Crosses a neighbourhood border", ""))
    return rows
