"""Point folium at the browser libraries served by the application itself (app/static/vendor), not at CDNs."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import folium
from folium import plugins

DEFAULT_ASSET_BASE_URL = "/static/vendor"

# Resource names are folium's own (so later folium code that adds or updates a link by name still finds it);
# paths are the layout written by scripts/vendor_assets.sh. Folium's Map also loads leaflet.awesome.rotate.css
# from its GitHub repository: it is not on npm and only rotates icons (Icon(angle=...)), which assetmap does
# not use, so it is left out instead of pointing at a missing file.
_MAP_JS = (
    ("leaflet", "leaflet/leaflet.js"),
    ("jquery", "jquery/jquery.min.js"),
    ("bootstrap", "bootstrap/js/bootstrap.bundle.min.js"),
    ("awesome_markers", "leaflet.awesome-markers/leaflet.awesome-markers.js"),
)
_MAP_CSS = (
    ("leaflet_css", "leaflet/leaflet.css"),
    ("bootstrap_css", "bootstrap/css/bootstrap.min.css"),
    ("glyphicons_css", "glyphicons/css/glyphicons.min.css"),
    ("awesome_markers_font_css", "fontawesome-free/css/all.min.css"),
    ("awesome_markers_css", "leaflet.awesome-markers/leaflet.awesome-markers.css"),
)
_CLUSTER_JS = (("markerclusterjs", "leaflet.markercluster/leaflet.markercluster.js"),)
_CLUSTER_CSS = (
    ("markerclustercss", "leaflet.markercluster/MarkerCluster.css"),
    ("markerclusterdefaultcss", "leaflet.markercluster/MarkerCluster.Default.css"),
)
_FULLSCREEN_JS = (("Control.Fullscreen.js", "leaflet.fullscreen/Control.FullScreen.js"),)
_FULLSCREEN_CSS = (("Control.FullScreen.css", "leaflet.fullscreen/Control.FullScreen.css"),)

_TARGETS: tuple[tuple[Any, tuple[tuple[str, str], ...], tuple[tuple[str, str], ...]], ...] = (
    (folium.Map, _MAP_JS, _MAP_CSS),
    (plugins.MarkerCluster, _CLUSTER_JS, _CLUSTER_CSS),
    (plugins.FastMarkerCluster, _CLUSTER_JS, _CLUSTER_CSS),
    (plugins.Fullscreen, _FULLSCREEN_JS, _FULLSCREEN_CSS),
)

# The base URL lands unescaped in <script src="..."> and <link href="...">, so only URL-path characters pass.
_SAFE_BASE_URL = re.compile(r"^(https?://[A-Za-z0-9.\-]+(:[0-9]+)?)?(/[A-Za-z0-9._~\-/%]*)?$")


def _clean_base_url(base_url: str) -> str:
    if not isinstance(base_url, str) or not base_url or not _SAFE_BASE_URL.match(base_url):
        raise ValueError(
            f"asset base URL {base_url!r} is not a plain path or http(s) URL: use e.g. '/static/vendor'"
        )
    return base_url.rstrip("/")


def local_asset_urls(base_url: str = DEFAULT_ASSET_BASE_URL) -> dict[str, str]:
    """Return every folium resource name that use_local_assets sets, with the local URL it points to."""
    base = _clean_base_url(base_url)
    urls: dict[str, str] = {}
    for _cls, js, css in _TARGETS:
        for name, path in (*js, *css):
            urls[name] = f"{base}/{path}"
    return urls


def local_asset_paths() -> tuple[str, ...]:
    """Return the paths, relative to the vendor folder, of every file the map pages load."""
    return tuple(sorted({path for _cls, js, css in _TARGETS for _name, path in (*js, *css)}))


def use_local_assets(base_url: str = DEFAULT_ASSET_BASE_URL) -> None:
    """Make folium's Map, (Fast)MarkerCluster and Fullscreen load JS/CSS from `base_url` (idempotent)."""
    base = _clean_base_url(base_url)
    for cls, js, css in _TARGETS:
        # Fresh lists each time: folium's add_js_link/add_css_link mutate these lists in place.
        cls.default_js = [(name, f"{base}/{path}") for name, path in js]
        cls.default_css = [(name, f"{base}/{path}") for name, path in css]


@contextmanager
def local_assets(base_url: str = DEFAULT_ASSET_BASE_URL) -> Iterator[dict[str, str]]:
    """Apply use_local_assets inside a `with` block, yield the URL mapping, then restore folium's links."""
    missing = object()
    saved: list[tuple[Any, str, Any]] = [
        (cls, attribute, cls.__dict__.get(attribute, missing))
        for cls, _js, _css in _TARGETS
        for attribute in ("default_js", "default_css")
    ]
    try:
        use_local_assets(base_url)
        yield local_asset_urls(base_url)
    finally:
        for cls, attribute, value in saved:
            if value is missing:
                # The class inherited the links (FastMarkerCluster from MarkerCluster): inherit again.
                if attribute in cls.__dict__:
                    delattr(cls, attribute)
            else:
                setattr(cls, attribute, value)
