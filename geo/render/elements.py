"""Building blocks of assetmap's folium maps: base map, title and legend boxes (styles and shared layers re-exported)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import folium
import geopandas as gpd
import numpy as np
from branca.element import Element, Figure, MacroElement
from folium import plugins
from folium.template import Template

from geo.crs import AnalysisInputError
from geo.escape import escape_text
from geo.render.overlays import (
    CLUSTER_MIN_MARKERS,
    FAST_CLUSTER_MIN_MARKERS,
    OTHER_CATEGORY,
    add_asset_layers,
    add_catchment_layer,
    add_links_layer,
    add_needs_layer,
    add_suggested_layer,
)
from geo.render.prepare import drop_empty, require_frame
from geo.render.styles import (
    CATCHMENT_COLOUR,
    CATEGORY_STYLES,
    LINK_COLOURS,
    NEED_COLOUR,
    OTHER_CATEGORY_STYLE,
    OTHER_LINK_COLOUR,
    SUGGESTED_STYLE,
    CategoryStyle,
    LegendRow,
    category_style,
    dot,
    line,
    swatch,
)
from geo.render.text import LEGEND_ID, TITLE_ID, TitleLine, map_text, set_legend, set_title

__all__ = [
    "CATCHMENT_COLOUR",
    "CATEGORY_STYLES",
    "CLUSTER_MIN_MARKERS",
    "DEFAULT_TILES_ATTRIBUTION",
    "DEFAULT_TILES_URL",
    "FAST_CLUSTER_MIN_MARKERS",
    "LINK_COLOURS",
    "NEED_COLOUR",
    "NEIGHBOURHOOD_CLASS",
    "NO_RESIDENTS_CLASS",
    "OTHER_CATEGORY",
    "OTHER_CATEGORY_STYLE",
    "OTHER_LINK_COLOUR",
    "SUGGESTED_STYLE",
    "CategoryStyle",
    "LegendRow",
    "PinnedBox",
    "add_asset_layers",
    "add_catchment_layer",
    "add_legend",
    "add_links_layer",
    "add_needs_layer",
    "add_suggested_layer",
    "add_title",
    "base_map",
    "category_style",
    "dot",
    "finish",
    "line",
    "optional_frame",
    "swatch",
]


DEFAULT_TILES_URL = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
DEFAULT_TILES_ATTRIBUTION = (
    '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors'
)

NEIGHBOURHOOD_CLASS = "assetmap-neighbourhood"
NO_RESIDENTS_CLASS = "assetmap-no-residents"


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
