"""How heavy and how fast the Berlin pages are, measured in Chromium; the numbers go to test-artifacts/."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from tests.browser.conftest import ARTIFACTS, LiveApp, Tabs, sign_in

pytestmark = pytest.mark.browser

# Budgets on this machine (two shared cores, no compression, no cache): generous, but a regression that
# ships the whole city to the browser, or blocks on a slow query, breaks them.
MAX_BYTES = 3_000_000
MAX_LOAD_MS = 8_000

_MEASURE = """
() => {
  const nav = performance.getEntriesByType("navigation")[0];
  const resources = performance.getEntriesByType("resource");
  return {
    document_bytes: nav.encodedBodySize,
    resource_bytes: resources.reduce((sum, r) => sum + r.encodedBodySize, 0),
    requests: 1 + resources.length,
    response_ms: Math.round(nav.responseEnd - nav.startTime),
    dom_content_loaded_ms: Math.round(nav.domContentLoadedEventEnd - nav.startTime),
    load_ms: Math.round(nav.loadEventEnd - nav.startTime),
  };
}
"""


def measure(
    tabs: Tabs, live: LiveApp, role: str | None, path: str, ready: str | None = None
) -> dict[str, Any]:
    """Open `path` in a fresh context (nothing cached) and read the browser's own timings."""
    tab = tabs.new()
    if role is not None:
        sign_in(tab, live, role)
        tab.watch.reset()
    started = time.monotonic()
    response = tab.page.goto(live.base_url + path, wait_until="load")
    assert response.status == 200
    if ready:
        tab.page.wait_for_selector(ready, state="attached")
    tab.page.wait_for_load_state("networkidle")
    ready_ms = round(1000 * (time.monotonic() - started))
    numbers = tab.page.evaluate(_MEASURE)
    numbers["total_bytes"] = numbers["document_bytes"] + numbers["resource_bytes"]
    numbers["ready_ms"] = ready_ms
    tab.watch.assert_clean()
    return numbers  # type: ignore[no-any-return]


def test_berlin_pages_stay_light_and_fast(tabs: Tabs, live_app: LiveApp) -> None:
    areas = live_app.api("GET", "/api/neighbourhoods", params={"city": "Berlin", "q": "0930"}).json()[
        "features"
    ]
    area_id = next(f["id"] for f in areas if f["properties"]["code"] == "0930")
    mitte = next(
        f["id"]
        for f in live_app.api("GET", "/api/neighbourhoods", params={"city": "Berlin", "q": "0110"}).json()[
            "features"
        ]
        if f["properties"]["code"] == "0110"
    )
    pages = {
        "start": (None, "/", None),
        "profile 0930": (None, f"/maps/neighbourhoods/{area_id}", None),
        "profile 0110 (most assets in Mitte)": (None, f"/maps/neighbourhoods/{mitte}", None),
        "organiser map (organiser's 2 areas)": (
            "organiser",
            "/map/edit?city=Berlin",
            "#editor[data-loaded=true]",
        ),
        "organiser map (zoom 13, Mitte)": (
            None,
            "/map/edit?city=Berlin&lat=52.52&lon=13.40&zoom=13",
            "#editor[data-loaded=true]",
        ),
        "import": ("gis", "/maps/import", "body[data-ready=true]"),
    }
    results = {
        name: {"path": path, **measure(tabs, live_app, role, path, ready)}
        for name, (role, path, ready) in pages.items()
    }
    # The analysis pages are built elsewhere: recorded for comparison when served, not held to these budgets.
    others = {}
    for name, path in (
        ("gap map (childcare)", "/maps/gaps?city=Berlin&service=childcare"),
        ("network map", "/maps/network?city=Berlin"),
    ):
        if live_app.api("GET", path, "planner").status_code == 200:
            others[name] = {"path": path, **measure(tabs, live_app, "planner", path, "#assetmap-legend")}
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "page-metrics.json").write_text(
        json.dumps({**results, **others}, indent=2), encoding="utf-8"
    )
    for name, numbers in results.items():
        assert numbers["total_bytes"] < MAX_BYTES, (name, numbers)
        assert numbers["ready_ms"] < MAX_LOAD_MS, (name, numbers)
