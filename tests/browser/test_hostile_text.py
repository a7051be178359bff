"""Names and descriptions that carry script payloads are shown as typed and never run, on every page of this set."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import HOSTILE, HostileData, LiveApp, Tabs

pytestmark = pytest.mark.browser


def test_profile_of_a_hostile_neighbourhood_shows_the_text_and_runs_nothing(
    tabs: Tabs, live_app: LiveApp, hostile: HostileData
) -> None:
    tab = tabs.get(None)
    tab.goto(live_app.base_url, f"/maps/neighbourhoods/{hostile.neighbourhood_id}")
    page = tab.page
    expected_title = f"{hostile.neighbourhood_name} (X1): neighbourhood profile"
    assert page.title() == expected_title
    expect(page.locator("#profile-name")).to_contain_text(hostile.neighbourhood_name)

    frame_element = page.locator("#neighbourhood-map")
    frame = page.frame_locator("#neighbourhood-map")
    map_document = frame_element.element_handle().content_frame()
    assert map_document.title() == f"{hostile.neighbourhood_name} (X1)"
    expect(frame.locator("#assetmap-title h1")).to_have_text(f"{hostile.neighbourhood_name} (X1)")

    markers = frame.locator(".leaflet-marker-pane .awesome-marker")
    expect(markers).to_have_count(len(hostile.asset_names))
    popups = frame.locator(".leaflet-popup-content")
    shown = set()
    for index in range(len(hostile.asset_names)):
        markers.nth(index).dispatch_event("click")  # markers may sit under an open popup
        expect(popups.first).to_be_visible()
        texts = popups.all_text_contents()
        shown |= {name for name in hostile.asset_names if any(name in text for text in texts)}
    assert shown == set(hostile.asset_names)

    markers.first.hover(force=True)
    tooltips = frame.locator(".leaflet-tooltip")
    expect(tooltips.first).to_be_visible()
    assert {text.strip() for text in tooltips.all_text_contents()} & set(hostile.asset_names)

    # The need (orange circle) and the resource (purple circle) carry the payloads in their descriptions.
    for colour, heading in (("#e6550d", "People affected"), ("#6a51a3", "Quantity")):
        frame.locator(f'path[fill="{colour}"]').first.dispatch_event("click")
        popup = popups.filter(has_text=heading)
        expect(popup).to_have_count(1)
        if heading == "People affected":
            assert HOSTILE in popup.text_content()
        else:
            assert "Asset" not in popup.text_content() and "${document.title='x'}" in popup.text_content()

    assert page.title() == expected_title
    assert map_document.title() == f"{hostile.neighbourhood_name} (X1)"
    assert "EVALUATED" not in page.content() and "EVALUATED" not in map_document.content()
    tab.watch.assert_clean()


def test_organiser_map_of_a_hostile_city_shows_the_text_and_runs_nothing(
    tabs: Tabs, live_app: LiveApp, hostile: HostileData
) -> None:
    tab = tabs.get(None)
    lon, lat = hostile.centre
    tab.goto(live_app.base_url, f"/map/edit?city={hostile.city_id}&lat={lat}&lon={lon}&zoom=15")
    page = tab.page
    page.wait_for_selector("#editor[data-loaded=true]")
    expected_title = f"Organise {hostile.city_name}: assetmap"
    assert page.title() == expected_title
    expect(page.locator("#city-select option:checked")).to_have_text(hostile.city_name)

    entries = page.locator("#entry-list button")
    expect(entries).to_have_count(len(hostile.asset_names) + 1)  # and one need
    listed = page.text_content("#entry-list")
    for name in hostile.asset_names:
        assert name in listed
    assert HOSTILE[:80] in listed  # the need's description, shortened

    page.locator("#entry-list button", has_text=hostile.asset_names[0]).click()
    expect(page.locator("#asset-name")).to_have_value(hostile.asset_names[0])
    expect(page.locator("#asset-description")).to_have_value(HOSTILE)
    page.wait_for_selector("#editor[data-loading=false]")  # the list click pans; the view reloads

    page.locator("path.assetmap-asset").first.hover()
    tooltip = page.locator(".leaflet-tooltip")
    expect(tooltip).to_have_count(1)
    assert tooltip.text_content() in hostile.asset_names

    need = page.locator("#entry-list button", has_text="Childcare need")
    need.click()
    expect(page.locator("#need-description")).to_have_value(HOSTILE)
    assert page.title() == expected_title
    tab.watch.assert_clean()


def test_start_page_lists_hostile_names_as_text(tabs: Tabs, live_app: LiveApp, hostile: HostileData) -> None:
    tab = tabs.get(None)
    tab.goto(live_app.base_url, "/")
    page = tab.page
    expect(page.locator(f"#city-{hostile.city_id}")).to_contain_text(hostile.city_name)
    link = page.locator(f'a[href="/maps/neighbourhoods/{hostile.neighbourhood_id}"]')
    expect(link).to_contain_text(hostile.neighbourhood_name)
    assert page.title() == "assetmap: community assets, needs and gaps"
    tab.watch.assert_clean()
