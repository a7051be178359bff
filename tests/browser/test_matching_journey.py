"""The "Done when" of matching, in the browser on the Berlin demo: a newcomer organiser matches a volunteer's
resource to a mapped need, commits it, moves it to done and records the outcome, on a phone; the volunteer is
shown by distance band only, and the dashboard then counts the need as met with the hours given."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import LiveApp, Tabs

pytestmark = pytest.mark.browser

# near Alexanderplatz, but not on the point where the organiser-map tests click (the browser tests share a database)
ALEXANDERPLATZ = {"type": "Point", "coordinates": [13.4150, 52.5208]}
# a volunteer about 500 m north-east of the need (exact location: server only)
VOLUNTEER = {"type": "Point", "coordinates": [13.4170, 52.5250]}


def _made(response: object) -> dict:
    assert response.status_code == 201, response.text  # type: ignore[attr-defined]
    return response.json()  # type: ignore[attr-defined,no-any-return]


def test_match_a_volunteer_to_a_need_and_record_the_outcome(tabs: Tabs, live_app: LiveApp) -> None:
    need = _made(
        live_app.api(
            "POST",
            "/api/needs",
            "organiser",
            json={
                "city": "Berlin",
                "service_type": "older-people",
                "people_affected": 6,
                "description": "Older neighbours <alone> at home",
                "geometry": ALEXANDERPLATZ,
            },
        )
    )
    person = _made(
        live_app.api(
            "POST",
            "/api/assets",
            "organiser",
            json={
                "city": "Berlin",
                "name": "Mira (befriender)",
                "category": "individual",
                "service_types": ["older-people"],
                "contact": "mira@example.org",
                "geometry": VOLUNTEER,
            },
        )
    )
    resource = _made(
        live_app.api(
            "POST",
            "/api/resources",
            "organiser",
            json={"kind": "volunteers", "quantity": 12, "unit": "hours", "asset_id": person["id"]},
        )
    )

    organiser = tabs.get("organiser", viewport="phone")
    page = organiser.page
    organiser.goto(live_app.base_url, "/matches?city=Berlin")
    page.select_option("#match-need", str(need["id"]))
    page.click("#need-form button[type=submit]")
    row = page.locator(f"#candidate-{resource['id']}")
    expect(row).to_contain_text("Mira (befriender)")
    expect(row).to_contain_text("under 1 km")  # an organiser has no planner rights: a band, no metres
    expect(row).to_contain_text("12 hours left")
    expect(page.locator("#need-summary")).to_contain_text("Older neighbours <alone> at home")
    assert "mira@example.org" not in page.content()

    def ready() -> None:
        # the page's module script runs after the page shows: wait for it before using a button
        expect(page.locator("#matches[data-ready='1']")).to_have_count(1)

    ready()
    row.locator("input[name=quantity]").fill("4")
    row.locator("button[type=submit]").click()
    expect(page.locator("#commitments .stage")).to_have_text("proposed")
    expect(page.locator(f"#candidate-{resource['id']}")).to_contain_text("8 hours left")
    for stage in ("Agreed", "Active"):
        ready()
        page.locator("#commitments .stage-button", has_text=stage).click()
        expect(page.locator("#commitments .stage")).to_have_text(stage.lower())
    ready()
    page.fill("#commitments input[name=hours_given]", "3.5")
    page.fill("#commitments input[name=people_helped]", "5")
    page.click("#commitments .outcome-form button[type=submit]")
    expect(page.locator("#commitments .outcome")).to_contain_text("3.5 hours, 5 people helped")
    ready()
    page.locator("#commitments .stage-button", has_text="Done").click()
    expect(page.locator("#commitments .stage")).to_have_text("done")
    organiser.watch.assert_clean()

    organiser.goto(
        live_app.base_url, f"/dashboard?city=Berlin&neighbourhood={need['properties']['neighbourhood_id']}"
    )
    older = page.locator("#dashboard-by-service tr", has_text="older-people")
    expect(older).to_contain_text("3.5")
    totals = page.locator("#dashboard-totals tbody td")
    expect(totals.nth(0)).to_have_text("1")  # needs met
    organiser.watch.assert_clean()

    board = live_app.api(
        "GET",
        "/api/dashboard",
        params={"city": "Berlin", "neighbourhood": need["properties"]["neighbourhood_id"]},
    )
    row_json = next(r for r in board.json()["by_service_type"] if r["service_type"] == "older-people")
    assert (row_json["needs_met"], row_json["volunteer_hours"], row_json["people_helped"]) == (1, 3.5, 5)
