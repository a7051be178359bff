"""The start page (/): links to every map of every city, and signing in and out from the browser."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import LiveApp, Tabs
from tests.conftest import TEST_PASSWORD

pytestmark = pytest.mark.browser


def test_start_page_links_every_map_of_berlin(tabs: Tabs, live_app: LiveApp) -> None:
    tab = tabs.get(None)
    response = tab.goto(live_app.base_url, "/")
    assert response.status == 200
    policy = response.headers["content-security-policy"]
    assert (
        "script-src 'self';" in policy and "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]
    )
    page = tab.page
    berlin = page.locator("section.city", has=page.locator("h2", has_text="Berlin"))
    hrefs = set(berlin.locator("a").evaluate_all("links => links.map(a => a.getAttribute('href'))"))
    service_slugs = [s["slug"] for s in live_app.api("GET", "/api/service-types").json()["items"]]
    assert {f"/maps/gaps?city=Berlin&service={slug}" for slug in service_slugs} <= hrefs
    assert {"/maps/network?city=Berlin", "/map/edit?city=Berlin", "/maps/import"} <= hrefs
    profiles = [h for h in hrefs if h.startswith("/maps/neighbourhoods/")]
    assert len(profiles) == 70  # 58 forecast areas and 12 districts
    assert page.locator('a[href="/docs"]').count() >= 1
    tab.watch.assert_clean()


def test_sign_in_shows_the_user_and_sign_out_revokes_the_token(tabs: Tabs, live_app: LiveApp) -> None:
    tab = tabs.new()
    page = tab.page
    tab.goto(live_app.base_url, "/")
    page.fill("#signin-username", live_app.usernames["planner"])
    page.fill("#signin-password", TEST_PASSWORD)
    page.click("#signin-form button[type=submit]")
    expect(page.locator("#signed-in-name")).to_have_text(live_app.usernames["planner"])
    expect(page.locator("#signed-in-role")).to_have_text("planner")
    expect(page.locator("#viewer")).to_contain_text(live_app.usernames["planner"])
    assert page.is_hidden("#signin-form")
    # The token lives only in the HttpOnly, SameSite=Strict cookie: no page script can read it.
    assert page.evaluate("localStorage.length + sessionStorage.length") == 0
    assert "assetmap_session" not in page.evaluate("document.cookie")
    cookie = next(c for c in tab.context.cookies() if c["name"] == "assetmap_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    token = cookie["value"]
    assert (
        live_app.api("GET", "/api/auth/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    )

    # The session cookie lets the server know the reader on the next page.
    tab.goto(live_app.base_url, "/")
    expect(page.locator("#viewer")).to_contain_text(live_app.usernames["planner"])

    page.click("#signout-button")
    expect(page.locator("#signin-form")).to_be_visible()
    expect(page.locator("#signin-message")).to_have_text("Signed out.")
    assert page.evaluate("localStorage.length + sessionStorage.length") == 0
    assert (
        live_app.api("GET", "/api/auth/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    )
    tab.goto(live_app.base_url, "/")
    expect(page.locator("#viewer")).to_have_text("Sign in")
    tab.watch.assert_clean()


def test_wrong_password_is_said_plainly_and_next_page_follows_sign_in(tabs: Tabs, live_app: LiveApp) -> None:
    tab = tabs.new()
    page = tab.page
    tab.goto(live_app.base_url, "/?next=/map/edit%3Fcity%3DBerlin")
    page.fill("#signin-username", "nobody-here")
    page.fill("#signin-password", "not the password")
    page.click("#signin-form button[type=submit]")
    expect(page.locator("#signin-message")).to_have_text("Wrong user name or password.")
    page.fill("#signin-username", live_app.usernames["organiser"])
    page.fill("#signin-password", TEST_PASSWORD)
    page.click("#signin-form button[type=submit]")
    page.wait_for_url("**/map/edit?city=Berlin")
    page.wait_for_selector("#editor[data-loaded=true]")
    expect(page.locator("#auth-notice")).to_contain_text(f"Signed in as {live_app.usernames['organiser']}")
    tab.watch.assert_clean(expected_statuses=(401,))


def test_next_page_outside_the_site_is_ignored(tabs: Tabs, live_app: LiveApp) -> None:
    tab = tabs.new()
    page = tab.page
    tab.goto(live_app.base_url, "/?next=//example.org/steal")
    page.fill("#signin-username", live_app.usernames["contributor"])
    page.fill("#signin-password", TEST_PASSWORD)
    page.click("#signin-form button[type=submit]")
    expect(page.locator("#signed-in-name")).to_have_text(live_app.usernames["contributor"])
    assert page.url.startswith(live_app.base_url + "/")
    tab.watch.assert_clean()
