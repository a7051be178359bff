"""The coverage-gap map (/maps/gaps) and the network map (/maps/network) of Berlin, in the browser.

These two pages are built apart from the other pages; while a page is not served yet its tests are skipped
with that reason. The tests find the folium map wherever the page puts it (the page itself or an iframe).
"""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from shapely.geometry import shape

from tests.browser.conftest import HostileData, LiveApp, Tab, Tabs

pytestmark = pytest.mark.browser

GAPS = "/maps/gaps?city=Berlin&service=childcare"
SLOW_PAGE_MS = 180_000  # these pages compute on request; their speed is measured in test_page_speed
NETWORK = "/maps/network?city=Berlin"

# The Leaflet layers of a folium map whose name starts with a prefix: the name is a GeoJSON feature's, or a
# marker's tooltip (FastMarkerCluster builds markers in the browser from arrays). Clusters are walked too,
# and remembered, so a clustered marker can be brought into view before its popup opens.
_FIND_LAYERS = """
([prefix]) => {
  const mapName = Object.keys(window).find((k) => k.startsWith("map_") && window[k] && window[k].latLngToContainerPoint);
  const map = window[mapName];
  const found = [];
  const seen = new Set();
  const nameOf = (layer) => {
    if (layer.feature && layer.feature.properties && typeof layer.feature.properties.name === "string") {
      return layer.feature.properties.name;
    }
    const tooltip = layer.getTooltip && layer.getTooltip();
    const content = tooltip && tooltip.getContent();
    return typeof content === "string" ? content : null;
  };
  const walk = (layer, cluster) => {
    if (!layer || seen.has(layer)) return;
    seen.add(layer);
    const name = nameOf(layer);
    if (name !== null && name.startsWith(prefix)) found.push([layer, cluster]);
    const inner = typeof layer.zoomToShowLayer === "function" ? layer : cluster;
    if (typeof layer.getLayers === "function") layer.getLayers().forEach((child) => walk(child, inner));
  };
  Object.values(map._layers).forEach((layer) => walk(layer, null));
  window.__assetmapFound = found;
  return found.length;
}
"""
_OPEN_POPUP = """
([index]) => new Promise((resolve) => {
  const [layer, cluster] = window.__assetmapFound[index];
  const open = () => {
    const latlng = layer.getLatLng ? layer.getLatLng() : layer.getBounds().getCenter();
    if (layer.getPopup && layer.getPopup()) layer.openPopup(latlng);
    else layer.fire("click", { latlng }, true);
    resolve(true);
  };
  if (cluster && !layer._map) cluster.zoomToShowLayer(layer, open);
  else open();
})
"""


def served(live: LiveApp, path: str, role: str) -> None:
    """Wait while the page says its analysis is running (202), then require the page."""
    deadline = time.monotonic() + 300
    response = live.api("GET", path, role)
    while response.status_code == 202 and time.monotonic() < deadline:
        time.sleep(2)
        response = live.api("GET", path, role)
    assert response.status_code == 200, response.text[:500]


def open_map(tab: Tab, live: LiveApp, path: str) -> Any:
    """Open an analysis page and return the frame holding the folium map's legend.

    A page whose run is still computing answers 202 and reloads itself; the legend appears once it is done.
    """
    tab.page.goto(live.base_url + path, wait_until="load", timeout=SLOW_PAGE_MS)
    tab.page.wait_for_selector("#assetmap-legend, iframe", state="attached", timeout=SLOW_PAGE_MS)
    for frame in tab.page.frames:
        if frame.locator("#assetmap-legend").count():
            return frame
    raise AssertionError("no frame of the page has the legend #assetmap-legend")


def open_popups(frame: Any, prefix: str) -> list[str]:
    """Open the popup of every feature whose name starts with `prefix`; return the texts of the popups seen."""
    count = frame.evaluate(_FIND_LAYERS, [prefix])
    texts: list[str] = []
    for index in range(count):
        frame.evaluate(_OPEN_POPUP, [index])  # layers without a popup (catchment circles) open nothing
        frame.wait_for_timeout(150)
        texts += frame.locator(".leaflet-popup-content").all_text_contents()
    return texts


def test_gap_map_draws_every_forecast_area_and_its_numbers(tabs: Tabs, live_app: LiveApp) -> None:
    served(live_app, GAPS, "planner")
    areas = [
        f
        for f in live_app.api("GET", "/api/neighbourhoods", params={"city": "Berlin", "limit": 1000}).json()[
            "features"
        ]
        if f["properties"]["level"] == "neighbourhood"
    ]
    assert len(areas) == 58
    tab = tabs.get("planner")
    frame = open_map(tab, live_app, GAPS)
    assert frame.locator("path.assetmap-neighbourhood").count() == 58

    area = next(f for f in areas if f["properties"]["code"] == "0930")
    texts = open_popups(frame, area["properties"]["name"])
    popup = next((t for t in texts if "0930" in t), None)
    assert popup is not None, f"no popup names forecast area 0930: {texts}"

    run_id = None
    for where in [tab.page, frame]:
        marked = where.locator("[data-run-id]")
        if marked.count():
            run_id = marked.first.get_attribute("data-run-id")
        links = where.locator("a[href*='/api/analysis/runs/']")
        if run_id is None and links.count():
            run_id = re.search(r"/api/analysis/runs/(\d+)", links.first.get_attribute("href")).group(1)
    if run_id is None:  # the page shows the newest run of the city and service
        runs = live_app.api(
            "GET", "/api/analysis/runs", "planner", params={"city": "Berlin", "service_type": "childcare"}
        ).json()["items"]
        run_id = next(run["id"] for run in runs if run["status"] == "succeeded")
    results = live_app.api("GET", f"/api/analysis/runs/{run_id}/neighbourhoods", "planner").json()
    row = next(f["properties"] for f in results["features"] if f["properties"]["code"] == "0930")
    # the sample has no kindergarten's capacity and no default is set: said, never a number
    assert (
        row["unmet_need"] is None and "Unmet need" in popup and "not computable (capacity unknown)" in popup
    )
    assert f"{100 * row['covered_share']:.0f} %" in popup
    legend = frame.locator("#assetmap-legend").inner_text()
    assert "capacity unknown for 1175 of 1175 assets" in legend and "beyond reach" in legend
    assert "capacity unknown for 1175 of 1175 assets" in frame.locator("#assetmap-title").inner_text()
    tab.watch.assert_clean()


def test_gap_map_shows_hostile_asset_names_as_text(
    tabs: Tabs, live_app: LiveApp, hostile: HostileData
) -> None:
    served(live_app, GAPS, "planner")
    tab = tabs.get("planner")
    frame = open_map(tab, live_app, GAPS)
    title = frame.evaluate("document.title")
    texts = open_popups(frame, "Berlin asset")
    for name in hostile.berlin_asset_names:
        assert any(name in text for text in texts), f"{name!r} not shown literally in {texts}"
    assert frame.evaluate("document.title") == title
    assert frame.locator("img[src='x']").count() == 0
    tab.watch.assert_clean()


def test_network_map_draws_assets_and_shows_hostile_names_as_text(
    tabs: Tabs, live_app: LiveApp, hostile: HostileData
) -> None:
    served(live_app, NETWORK, "planner")
    tab = tabs.get("planner")
    frame = open_map(tab, live_app, NETWORK)
    assert frame.locator("#assetmap-legend").is_visible()
    title = frame.evaluate("document.title")
    texts = open_popups(frame, "Berlin asset")
    for name in hostile.berlin_asset_names:
        assert any(name in text for text in texts), f"{name!r} not shown literally in {texts}"
    assert frame.evaluate("document.title") == title
    assert frame.locator("img[src='x']").count() == 0
    tab.watch.assert_clean()


def test_gap_map_outline_of_a_forecast_area_is_where_the_api_puts_it(tabs: Tabs, live_app: LiveApp) -> None:
    served(live_app, GAPS, "planner")
    area = next(
        f
        for f in live_app.api("GET", "/api/neighbourhoods", params={"city": "Berlin", "q": "0930"}).json()[
            "features"
        ]
        if f["properties"]["code"] == "0930"
    )
    inside = shape(area["geometry"]).representative_point()
    tab = tabs.get("planner")
    frame = open_map(tab, live_app, GAPS)
    assert frame.evaluate(_FIND_LAYERS, [area["properties"]["name"]]) >= 1
    bounds = frame.evaluate(
        "() => { const b = window.__assetmapFound[0][0].getBounds();"
        " return [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()]; }"
    )
    assert bounds[0] <= inside.x <= bounds[2] and bounds[1] <= inside.y <= bounds[3]
    tab.watch.assert_clean()
