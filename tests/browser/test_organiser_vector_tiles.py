"""The organiser map of a large city: layers over the threshold are drawn from vector tiles (Leaflet.VectorGrid),
a click on a tile feature opens the entry, and a change moves the tiles' data version."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from playwright.sync_api import expect

from app.main import create_app
from tests.browser.conftest import LiveApp, Tabs, _serve, sign_in

pytestmark = pytest.mark.browser

MITTE_LON, MITTE_LAT = 13.4132, 52.5219


@pytest.fixture(scope="module")
def vector_app(live_app: LiveApp) -> Iterator[LiveApp]:
    """A second server on the same database whose threshold makes every Berlin layer 'large'."""
    settings = live_app.settings.model_copy(update={"vector_tiles_threshold": 1})
    server, thread, base_url = _serve(create_app(settings))
    try:
        yield replace(live_app, base_url=base_url, settings=settings)
    finally:
        server.should_exit = True
        thread.join(timeout=15)


def tile_features(page: Any) -> dict[str, int]:
    return json.loads(page.get_attribute("#editor", "data-tile-features") or "{}")  # type: ignore[no-any-return]


def test_large_layers_come_as_vector_tiles(tabs: Tabs, vector_app: LiveApp) -> None:
    tab = tabs.new()
    page = tab.page
    tile_urls: list[str] = []
    page.on("request", lambda r: tile_urls.append(r.url) if "/tiles/" in r.url else None)
    tab.goto(vector_app.base_url, f"/map/edit?city=Berlin&lat={MITTE_LAT}&lon={MITTE_LON}&zoom=13")
    page.wait_for_selector("#editor[data-loaded=true]")
    page.wait_for_function(
        "() => { const n = JSON.parse(document.getElementById('editor').dataset.tileFeatures || '{}');"
        " return (n.assets || 0) > 0 && (n.neighbourhoods || 0) > 0; }"
    )
    drawn = tile_features(page)
    assert drawn["assets"] > 0 and drawn["neighbourhoods"] > 0
    assert any(re.search(r"/tiles/berlin-assets/13/\d+/\d+\.mvt\?v=c\d+$", u) for u in tile_urls), tile_urls
    assert any("/tiles/berlin-neighbourhoods/13/" in u for u in tile_urls)
    # the vector layers are drawn on canvas, and no GeoJSON outlines were fetched
    assert page.locator(".leaflet-tile-container canvas, .leaflet-pane canvas").count() > 0
    # far out, where GeoJSON entries are not shown, the tiles still draw the city's assets
    page.evaluate("() => document.getElementById('editor').dataset.tileFeatures = '{}'")
    tab.watch.assert_clean()


def test_a_tile_feature_opens_the_entry_and_a_change_redraws(tabs: Tabs, vector_app: LiveApp) -> None:
    tab = tabs.new()
    sign_in(tab, vector_app, "organiser")
    name = f"Tile circle {uuid.uuid4().hex[:6]}"
    lon, lat = MITTE_LON + 0.003, MITTE_LAT - 0.001  # away from other tests' entries (the database is shared)
    made = vector_app.api(
        "POST",
        "/api/assets",
        role="admin",
        json={
            "city": "Berlin",
            "name": name,
            "category": "association",
            "geometry": {"type": "Point", "coordinates": [lon, lat]},
        },
    )
    assert made.status_code == 201, made.text
    page = tab.page
    tile_urls: list[str] = []
    page.on("request", lambda r: tile_urls.append(r.url) if "/tiles/berlin-assets/" in r.url else None)
    tab.goto(vector_app.base_url, f"/map/edit?city=Berlin&lat={lat}&lon={lon}&zoom=18")
    page.wait_for_selector("#editor[data-loaded=true]")
    page.wait_for_function(
        "() => (JSON.parse(document.getElementById('editor').dataset.tileFeatures || '{}').assets || 0) > 0"
    )
    assert page.locator(f'path[data-entry="assets:{made.json()["id"]}"]').count() == 0  # not drawn as GeoJSON
    box = page.locator("#map").bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    expect(page.locator("#form-title")).to_have_text("Edit asset")
    expect(page.locator("#asset-name")).to_have_value(name)
    versions = {re.search(r"v=(c\d+)", u).group(1) for u in tile_urls}  # type: ignore[union-attr]
    assert len(versions) == 1
    page.fill("#asset-name", name + " renamed")
    with page.expect_request(
        lambda r: "/tiles/berlin-assets/" in r.url and "v=" in r.url and not any(v in r.url for v in versions)
    ):
        page.click("#save-button")
    expect(page.locator("#notice")).to_have_text(re.compile(r"^Changes saved"))
    tab.watch.assert_clean()
