"""A neighbourhood's profile (/maps/neighbourhoods/{id}): its map beside the numbers of its summary."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import LiveApp, Tabs

pytestmark = pytest.mark.browser


def neighbourhood(live: LiveApp, code: str) -> dict[str, Any]:
    """A Berlin neighbourhood by code, from the API."""
    features = live.api("GET", "/api/neighbourhoods", params={"city": "Berlin", "q": code}).json()["features"]
    matches = [f for f in features if f["properties"]["code"] == code]
    assert len(matches) == 1
    return matches[0]  # type: ignore[no-any-return]


def test_profile_of_treptow_koepenick_3_shows_its_people_and_draws_its_boundary(
    tabs: Tabs, live_app: LiveApp
) -> None:
    area = neighbourhood(live_app, "0930")
    summary = live_app.api("GET", f"/api/neighbourhoods/{area['id']}/summary").json()
    published = live_app.api(
        "GET", "/api/assets", params={"neighbourhood": area["id"], "limit": 1000}
    ).json()["features"]

    tab = tabs.get(None)
    response = tab.goto(live_app.base_url, f"/maps/neighbourhoods/{area['id']}")
    assert response.status == 200
    page = tab.page
    expect(page.locator("#population")).to_have_text("59,802")
    expect(page.locator("h1")).to_contain_text("Treptow-Köpenick 3")
    under_6 = page.locator("table.summary-table tr", has=page.locator("th", has_text="Under 6"))
    expect(under_6.locator("td")).to_have_text(f"{summary['population_by_group']['under_6']:,}")
    assert page.text_content("#assets-total") == f"{summary['assets']['total']:,}"

    frame = page.frame_locator("#neighbourhood-map")
    expect(frame.locator("path.assetmap-neighbourhood")).to_have_count(1)
    box = frame.locator("path.assetmap-neighbourhood").bounding_box()
    assert box["width"] > 100 and box["height"] > 100  # the boundary is drawn, not a speck
    expect(frame.locator(".leaflet-marker-pane .awesome-marker")).to_have_count(len(published))
    expect(frame.locator("#assetmap-title")).to_contain_text("Residents: 59,802")

    # The policy allows the map's own inline scripts by hash, and nothing inline besides.
    policy = response.headers["content-security-policy"]
    scripts = policy.split("script-src")[1].split(";")[0]
    assert "'sha256-" in scripts and "unsafe-inline" not in scripts
    tab.watch.assert_clean()


def test_asset_popup_on_the_profile_map_names_the_asset(tabs: Tabs, live_app: LiveApp) -> None:
    area = neighbourhood(live_app, "0930")
    names = {
        f["properties"]["name"]
        for f in live_app.api(
            "GET", "/api/assets", params={"neighbourhood": area["id"], "limit": 1000}
        ).json()["features"]
    }
    tab = tabs.get(None)
    tab.goto(live_app.base_url, f"/maps/neighbourhoods/{area['id']}")
    frame = tab.page.frame_locator("#neighbourhood-map")
    frame.locator(".leaflet-marker-pane .awesome-marker").first.dispatch_event("click")
    popup = frame.locator(".leaflet-popup-content")
    expect(popup).to_be_visible()
    assert any(name in popup.text_content() for name in names)
    tab.watch.assert_clean()


def test_people_are_drawn_at_their_blurred_place_for_the_public(tabs: Tabs, live_app: LiveApp) -> None:
    area = neighbourhood(live_app, "0110")
    exact = [13.40495, 52.52045]

    def person(name: str, coordinates: list[float]) -> int:
        created = live_app.api(
            "POST",
            "/api/assets",
            "admin",
            json={
                "city": "Berlin",
                "name": name,
                "category": "individual",
                "geometry": {"type": "Point", "coordinates": coordinates},
            },
        )
        assert created.status_code == 201, created.text
        return int(created.json()["id"])

    carer = person("Shared Lives carer (test)", exact)
    # Enough people that their number is no suppressed small count (a lone person is not drawn for the public).
    others = [
        person(f"Neighbour with skills {i}", [exact[0] + 0.002 * (i + 1), exact[1]])
        for i in range(live_app.settings.small_count_threshold - 1)
    ]
    try:
        tab = tabs.get(None)
        tab.goto(live_app.base_url, f"/maps/neighbourhoods/{area['id']}")
        # The folium map keeps its layers' GeoJSON in the page: the exact coordinates must not be in it.
        srcdoc = tab.page.get_attribute("#neighbourhood-map", "srcdoc")
        assert "Shared Lives carer (test)" in srcdoc
        assert "13.40495, 52.52045" not in srcdoc and "13.40495,52.52045" not in srcdoc
        blurred = live_app.api("GET", f"/api/assets/{carer}").json()["geometry"]["coordinates"]
        assert blurred != exact
        assert f"{round(blurred[0], 5)}" in srcdoc
        tab.watch.assert_clean()
    finally:
        for asset_id in [carer, *others]:
            live_app.api("DELETE", f"/api/assets/{asset_id}", "admin")


def test_a_districts_profile_adds_up_its_forecast_areas(tabs: Tabs, live_app: LiveApp) -> None:
    found = live_app.api("GET", "/api/neighbourhoods", params={"city": "Berlin", "q": "Reinickendorf"}).json()
    district = next(f for f in found["features"] if f["properties"]["level"] == "district")
    summary = live_app.api("GET", f"/api/neighbourhoods/{district['id']}/summary").json()
    # the district's list takes in its forecast areas, like its summary and its map
    published = live_app.api(
        "GET", "/api/assets", params={"neighbourhood": district["id"], "limit": 1000}
    ).json()["features"]
    areas = summary["includes_children"]["areas"]
    assert areas > 0 and summary["assets"]["total"] == len(published) > 0

    tab = tabs.get(None)
    assert tab.goto(live_app.base_url, f"/maps/neighbourhoods/{district['id']}").status == 200
    page = tab.page
    expect(page.locator("#includes-children")).to_have_text(
        f"Figures include the {areas} neighbourhoods inside Reinickendorf."
    )
    expect(page.locator("#population")).to_have_text("274,098")
    assert page.text_content("#assets-total") == f"{len(published):,}"
    frame = page.frame_locator("#neighbourhood-map")
    expect(frame.locator("path.assetmap-neighbourhood")).to_have_count(1)
    # so many markers are clustered: the map's title counts what it draws
    expect(frame.locator("#assetmap-title")).to_contain_text(f"{len(published):,} assets")
    expect(frame.locator("#assetmap-title")).to_contain_text("Residents: 274,098")
    tab.watch.assert_clean()
