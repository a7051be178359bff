"""The organiser's map (/map/edit): place, change, move and delete entries through the API, on desktop and phone."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import LiveApp, Tab, Tabs

pytestmark = pytest.mark.browser

# Alexanderplatz, in forecast area 0110 (Zentrum), one of the demo organiser's two neighbourhoods.
MITTE_LON, MITTE_LAT = 13.4132, 52.5219


def open_editor(
    tab: Tab, live: LiveApp, lon: float = MITTE_LON, lat: float = MITTE_LAT, zoom: int = 18
) -> Any:
    """Open the organiser map centred on a point and wait until its entries are loaded."""
    tab.goto(live.base_url, f"/map/edit?city=Berlin&lat={lat}&lon={lon}&zoom={zoom}")
    tab.page.wait_for_selector("#editor[data-loaded=true]")
    return tab.page


def click_map(page: Any, dx: float = 0, dy: float = 0) -> None:
    """Click the map at its centre (plus an offset in pixels)."""
    box = page.locator("#map").bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2 + dx, box["y"] + box["height"] / 2 + dy)


def only_asset(live: LiveApp, name: str) -> dict[str, Any]:
    """The one published asset with this name, read back from the API."""
    response = live.api("GET", "/api/assets", params={"city": "Berlin", "q": name})
    assert response.status_code == 200
    features = response.json()["features"]
    assert [f["properties"]["name"] for f in features] == [name]
    return features[0]  # type: ignore[no-any-return]


def place_asset(page: Any, name: str, capacity: str = "12", dx: float = 0) -> None:
    """Click the map, fill the asset form and save."""
    click_map(page, dx=dx)
    page.wait_for_selector("#entry-form:not([hidden])")
    assert page.text_content("#form-title") == "New entry"
    page.fill("#asset-name", name)
    page.select_option("#asset-category", "association")
    page.check("#asset-service-types input[value=learning]")
    page.fill("#asset-description", "Meets on Tuesdays")
    page.fill("#asset-capacity", capacity)
    page.click("#save-button")


def test_organiser_places_an_asset_that_is_saved_and_shown_after_reload(
    tabs: Tabs, live_app: LiveApp
) -> None:
    tab = tabs.get("organiser")
    page = open_editor(tab, live_app)
    name = f"Reading circle {uuid.uuid4().hex[:6]}"
    with page.expect_request(lambda r: r.method == "POST" and r.url.endswith("/api/assets")) as saved:
        place_asset(page, name)
    # The page holds no token: the save is signed by the HttpOnly session cookie, from the app's own origin.
    headers = saved.value.all_headers()
    assert "authorization" not in headers and headers["origin"] == live_app.base_url
    assert page.evaluate("localStorage.length + sessionStorage.length") == 0
    expect(page.locator("#notice")).to_have_text(re.compile(r"^Saved"))
    assert page.text_content("#form-title") == "Edit asset"

    feature = only_asset(live_app, name)
    lon, lat = feature["geometry"]["coordinates"]
    # At zoom 18 a pixel is about 0.6 m: the asset lands where the map was clicked.
    assert abs(lon - MITTE_LON) < 5e-5 and abs(lat - MITTE_LAT) < 5e-5
    props = feature["properties"]
    assert (props["category"], props["service_types"], props["capacity"]) == ("association", ["learning"], 12)
    assert props["status"] == "approved"
    # It is on the map and in the list at once ...
    assert page.locator(f'path[data-entry="assets:{feature["id"]}"]').count() == 1
    assert page.locator(f'#entry-list button[data-entry="assets:{feature["id"]}"]').count() == 1

    # ... and still there after a reload.
    page.reload()
    page.wait_for_selector("#editor[data-loaded=true]")
    page.wait_for_selector(f'path[data-entry="assets:{feature["id"]}"]', state="attached")
    assert name in page.text_content("#entry-list")
    tab.watch.assert_clean()


def test_organiser_edits_moves_and_deletes_an_asset(tabs: Tabs, live_app: LiveApp) -> None:
    tab = tabs.get("organiser")
    page = open_editor(tab, live_app, lon=MITTE_LON + 0.0005)
    name = f"Tool library {uuid.uuid4().hex[:6]}"
    place_asset(page, name)
    expect(page.locator("#notice")).to_have_text(re.compile(r"^Saved"))
    created = only_asset(live_app, name)

    # Rename.
    page.fill("#asset-name", name + " (open)")
    page.click("#save-button")
    expect(page.locator("#notice")).to_have_text(re.compile(r"^Changes saved"))
    renamed = only_asset(live_app, name + " (open)")
    assert renamed["id"] == created["id"] and renamed["properties"]["version"] == 2

    # Move: drag the pin 60 px to the right, then save.
    pin = page.locator(".leaflet-marker-icon.leaflet-marker-draggable").bounding_box()
    x, y = pin["x"] + pin["width"] / 2, pin["y"] + pin["height"] - 4
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 30, y, steps=4)
    page.mouse.move(x + 60, y, steps=4)
    page.mouse.up()
    expect(page.locator("#location-hint")).to_contain_text("moved")
    # the notice still says "Changes saved" from the rename: wait for the answer to this save itself
    with page.expect_response(lambda r: r.request.method == "PATCH" and "/api/assets/" in r.url):
        page.click("#save-button")
    expect(page.locator("#notice")).to_have_text(re.compile(r"^Changes saved"))
    moved = only_asset(live_app, name + " (open)")
    assert moved["geometry"]["coordinates"][0] > created["geometry"]["coordinates"][0] + 1e-4
    assert moved["geometry"]["coordinates"][1] == pytest.approx(
        created["geometry"]["coordinates"][1], abs=2e-5
    )

    # Delete takes two presses and removes the entry from the API and the map.
    page.click("#delete-button")
    assert page.text_content("#delete-button") == "Press again to delete"
    page.click("#delete-button")
    expect(page.locator("#notice")).to_have_text("Deleted.")
    assert live_app.api("GET", f"/api/assets/{created['id']}").status_code == 404
    assert page.locator(f'path[data-entry="assets:{created["id"]}"]').count() == 0
    tab.watch.assert_clean()


def test_someone_elses_change_is_reported_not_overwritten(tabs: Tabs, live_app: LiveApp) -> None:
    tab = tabs.get("organiser")
    page = open_editor(tab, live_app, lon=MITTE_LON - 0.0005)
    name = f"Repair cafe {uuid.uuid4().hex[:6]}"
    place_asset(page, name)
    expect(page.locator("#notice")).to_have_text(re.compile(r"^Saved"))
    asset = only_asset(live_app, name)
    # Another organiser changes it meanwhile.
    changed = live_app.api(
        "PATCH",
        f"/api/assets/{asset['id']}",
        "admin",
        json={"description": "changed elsewhere", "version": 1},
    )
    assert changed.status_code == 200
    page.fill("#asset-name", name + " mine")
    page.click("#save-button")
    page.wait_for_selector("#reload-button:not([hidden])")
    assert "someone else changed this entry; reload" in page.text_content("#form-error").lower()
    assert only_asset(live_app, name)["properties"]["description"] == "changed elsewhere"
    page.click("#reload-button")
    expect(page.locator("#asset-description")).to_have_value("changed elsewhere")
    tab.watch.assert_clean(expected_statuses=(412,))


@pytest.mark.parametrize(
    ("field", "value", "error_id", "words"),
    [
        ("#asset-capacity", "-1", "#asset-capacity-error", "greater than or equal to 0"),
        ("#asset-name", "", "#asset-name-error", "at least 1 character"),
    ],
    ids=["negative-capacity", "empty-name"],
)
def test_api_validation_message_is_shown_next_to_its_field(
    tabs: Tabs, live_app: LiveApp, field: str, value: str, error_id: str, words: str
) -> None:
    tab = tabs.get("organiser")
    page = open_editor(tab, live_app)
    click_map(page, dx=-40, dy=40)
    page.wait_for_selector("#entry-form:not([hidden])")
    page.fill("#asset-name", f"Choir {uuid.uuid4().hex[:6]}")
    page.fill("#asset-capacity", "20")
    page.fill(field, value)
    page.click("#save-button")
    expect(page.locator(error_id)).to_contain_text(words)
    assert page.get_attribute(field, "aria-invalid") == "true"
    assert page.text_content("#form-title") == "New entry"  # nothing was saved
    tab.watch.assert_clean(expected_statuses=(422,))


def test_a_need_is_placed_with_its_service_and_severity(tabs: Tabs, live_app: LiveApp) -> None:
    tab = tabs.get("organiser")
    page = open_editor(tab, live_app, lat=MITTE_LAT + 0.0004)
    description = f"No after-school care {uuid.uuid4().hex[:6]}"
    # Without a pointer: the button places the entry at the map's centre.
    page.focus("#add-here")
    page.keyboard.press("Enter")
    page.wait_for_selector("#entry-form:not([hidden])")
    page.check("input[name=kind][value=needs]")
    page.select_option("#need-service-type", "childcare")
    page.fill("#need-people", "35")
    page.select_option("#need-severity", "4")
    page.select_option("#need-source", "survey")
    page.fill("#need-description", description)
    page.click("#save-button")
    expect(page.locator("#notice")).to_have_text(re.compile(r"^Saved"))
    needs = live_app.api("GET", "/api/needs", params={"city": "Berlin", "q": description}).json()["features"]
    assert len(needs) == 1
    props = needs[0]["properties"]
    assert (props["service_type"], props["people_affected"], props["severity"], props["source"]) == (
        "childcare",
        35,
        4,
        "survey",
    )
    assert page.locator(f'path[data-entry="needs:{needs[0]["id"]}"]').count() == 1
    lon, lat = needs[0]["geometry"]["coordinates"]
    assert abs(lon - MITTE_LON) < 5e-5 and abs(lat - (MITTE_LAT + 0.0004)) < 5e-5
    tab.watch.assert_clean()


def test_signed_out_visitor_sees_entries_and_is_told_to_sign_in(tabs: Tabs, live_app: LiveApp) -> None:
    tab = tabs.get(None)
    page = open_editor(tab, live_app, zoom=16)
    assert page.locator("path.assetmap-asset").count() > 0
    notice = page.locator("#auth-notice")
    assert "sign in" in notice.text_content().lower()
    assert notice.locator("a").get_attribute("href").startswith("/")
    click_map(page, dx=25, dy=25)
    assert page.is_hidden("#entry-form")
    assert "Sign in to add entries" in page.text_content("#notice")
    tab.watch.assert_clean()


def test_contributor_entry_waits_for_review(tabs: Tabs, live_app: LiveApp) -> None:
    tab = tabs.get("contributor")
    page = open_editor(tab, live_app, lat=MITTE_LAT - 0.0004)
    name = f"Seed swap {uuid.uuid4().hex[:6]}"
    place_asset(page, name)
    expect(page.locator("#notice")).to_contain_text("waits for review")
    pending = live_app.api(
        "GET", "/api/assets", "organiser", params={"city": "Berlin", "q": name, "status": "pending"}
    ).json()["features"]
    assert [f["properties"]["name"] for f in pending] == [name]
    assert live_app.api("GET", "/api/assets", params={"city": "Berlin", "q": name}).json()["features"] == []
    page.wait_for_selector(f'#pending-list button[data-entry="assets:{pending[0]["id"]}"]')
    tab.watch.assert_clean()


def test_phone_screen_has_no_sideways_scroll_and_the_form_works(tabs: Tabs, live_app: LiveApp) -> None:
    tab = tabs.get("organiser", viewport="phone")
    page = open_editor(tab, live_app, lon=MITTE_LON + 0.0003, lat=MITTE_LAT + 0.0003)
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    name = f"Lunch club {uuid.uuid4().hex[:6]}"
    click_map(page, dy=-150)  # the upper half of the screen is map; the sheet covers the bottom
    page.wait_for_selector("#entry-form:not([hidden])")
    panel = page.locator("#panel").bounding_box()
    assert panel["width"] <= 375 and panel["y"] + panel["height"] <= 812 + 1
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    page.fill("#asset-name", name)
    page.locator("#save-button").scroll_into_view_if_needed()
    save = page.locator("#save-button").bounding_box()
    assert save["y"] >= 0 and save["y"] + save["height"] <= 812
    page.click("#save-button")
    expect(page.locator("#notice")).to_have_text(re.compile(r"^Saved"))
    assert only_asset(live_app, name)["properties"]["name"] == name
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    tab.watch.assert_clean()
