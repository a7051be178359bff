"""Maps for the browser (folium, with local assets and escaped text) and static PNGs for reports."""

from geo.render.assets import (
    DEFAULT_ASSET_BASE_URL,
    local_asset_paths,
    local_asset_urls,
    local_assets,
    use_local_assets,
)
from geo.render.classify import GapClasses, classify, gap_classes, quantile_breaks
from geo.render.elements import (
    CATEGORY_STYLES,
    CLUSTER_MIN_MARKERS,
    DEFAULT_TILES_ATTRIBUTION,
    DEFAULT_TILES_URL,
    FAST_CLUSTER_MIN_MARKERS,
    LEGEND_ID,
    NEIGHBOURHOOD_CLASS,
    NO_RESIDENTS_CLASS,
    TITLE_ID,
)
from geo.render.maps import gap_map, neighbourhood_map, network_map
from geo.render.page import inline_script_hashes, render_html
from geo.render.prepare import round_coordinates, simplify_for_display
from geo.render.static import gap_map_png
from geo.render.text import TEXT_ELEMENT_ID, MapText, safe_json

__all__ = [
    "CATEGORY_STYLES",
    "CLUSTER_MIN_MARKERS",
    "DEFAULT_ASSET_BASE_URL",
    "DEFAULT_TILES_ATTRIBUTION",
    "DEFAULT_TILES_URL",
    "FAST_CLUSTER_MIN_MARKERS",
    "LEGEND_ID",
    "NEIGHBOURHOOD_CLASS",
    "NO_RESIDENTS_CLASS",
    "TEXT_ELEMENT_ID",
    "TITLE_ID",
    "GapClasses",
    "MapText",
    "classify",
    "gap_classes",
    "gap_map",
    "gap_map_png",
    "inline_script_hashes",
    "local_asset_paths",
    "local_asset_urls",
    "local_assets",
    "neighbourhood_map",
    "network_map",
    "quantile_breaks",
    "render_html",
    "round_coordinates",
    "safe_json",
    "simplify_for_display",
    "use_local_assets",
]
