"""A newcomer's journey through a community-rights case in the browser: an organiser nominates a new community
centre as an Asset of Community Value on the register's map, the council (a planner) lists it, the organiser
records the owner's notice of sale, and the register and the calendar feed show the moratorium's dates."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar
from playwright.sync_api import expect

from tests.browser.conftest import LiveApp, Tabs

pytestmark = pytest.mark.browser

NAME = "Kiezhaus <b>am Platz</b>"


def test_nominate_list_and_see_the_moratorium_on_the_register(tabs: Tabs, live_app: LiveApp) -> None:
    today = dt.datetime.now(ZoneInfo("Europe/Berlin")).date()
    organiser = tabs.get("organiser")
    page = organiser.page
    organiser.goto(live_app.base_url, "/cases?city=Berlin")
    expect(page.locator("#open-case-form")).to_be_visible()
    page.fill("#open-asset-name", NAME)
    page.fill("#open-body-name", "Friends of the Kiezhaus")
    page.select_option("#open-body-kind", "community_group")
    page.fill("#open-body-contact", "kiezhaus@example.org")
    page.fill("#open-on", (today - dt.timedelta(days=40)).isoformat())
    # place the new building on the map, in Mitte (the organiser's neighbourhood) where the view is centred
    assert organiser.watch.console_errors == [], organiser.watch.console_errors
    page.locator("#register-map").click()
    expect(page.locator("#open-location")).to_contain_text("New place at 52.")
    page.click("#open-case-form button[type=submit]")
    page.wait_for_url("**/cases/*")
    expect(page.locator("#case-title")).to_contain_text(NAME)  # markup shown as text
    expect(page.locator("#case-stage")).to_contain_text("nominated")
    expect(page.locator("#case-contact")).to_have_text("kiezhaus@example.org")
    case_id = int(page.url.rsplit("/", 1)[1])

    # the organiser may not record the council's decision: the API says why, on the page
    page.select_option("#event-kind", "listed")
    page.click("#event-form button[type=submit]")
    expect(page.locator("#event-message")).to_contain_text("council's decision")
    organiser.watch.assert_clean(expected_statuses=(403,))
    organiser.watch.reset()

    council = tabs.get("planner")
    council.goto(live_app.base_url, f"/cases/{case_id}")
    council.page.select_option("#event-kind", "listed")
    council.page.fill("#event-on", (today - dt.timedelta(days=30)).isoformat())
    council.page.click("#event-form button[type=submit]")
    expect(council.page.locator("#case-stage")).to_contain_text("listed")
    council.watch.assert_clean()

    notice = today - dt.timedelta(days=5)
    organiser.goto(live_app.base_url, f"/cases/{case_id}")
    page.select_option("#event-kind", "notice_of_sale")
    page.fill("#event-on", notice.isoformat())
    page.click("#event-form button[type=submit]")
    expect(page.locator("#case-stage")).to_contain_text("interim moratorium")
    interim_end = (notice + dt.timedelta(days=41)).isoformat()
    expect(page.locator("#case-deadlines")).to_contain_text(interim_end)
    organiser.watch.assert_clean()

    visitor = tabs.get(None)
    visitor.goto(live_app.base_url, "/cases?city=Berlin")
    row = visitor.page.locator(f"#case-{case_id}")
    expect(row).to_contain_text(NAME)
    expect(row).to_contain_text("interim moratorium")
    expect(row).to_contain_text(interim_end)
    assert "kiezhaus@example.org" not in visitor.page.content()
    expect(visitor.page.locator("#register-map .leaflet-interactive")).not_to_have_count(0)
    visitor.watch.assert_clean()

    feed = live_app.api("GET", "/api/cases/deadlines.ics?city=Berlin")
    events = {str(e["UID"]): e for e in Calendar.from_ical(feed.content).walk("VEVENT")}
    assert (
        events[f"case-{case_id}-interim_moratorium_end@assetmap"].decoded("DTSTART").isoformat()
        == interim_end
    )
