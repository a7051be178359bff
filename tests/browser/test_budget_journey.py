"""A newcomer runs a citizen-budget round in the browser: an organiser enters three proposals on the round's page
(each scored against the childcare gaps), makes voting codes and opens voting; residents vote on a phone, with a
code or signed in, and change their minds; the results page shows both rules side by side, and the gap map shows
the proposals next to the gaps with both results."""

from __future__ import annotations

import datetime as dt

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import LiveApp, Tabs

pytestmark = pytest.mark.browser

TITLES = ("Kita Marzahn <i>neu</i>", "Kita am Alex", "Kita Spandau")
PLACES = ("1010", "0110", "0510")


def test_run_a_round_with_three_proposals_vote_and_see_both_results_on_the_gap_map(
    tabs: Tabs, live_app: LiveApp
) -> None:
    capacity = live_app.api(
        "PUT", "/api/service-types/childcare/default-capacity", "planner", json={"capacity": 60}
    )
    assert capacity.status_code == 200, capacity.text
    now = dt.datetime.now(dt.UTC)
    made = live_app.api(
        "POST",
        "/api/budget-rounds",
        "organiser",
        json={
            "city": "Berlin",
            "name": "Kiezbudget Kinder",
            "amount": 100_000,
            "proposals_at": (now - dt.timedelta(hours=1)).isoformat(),
            "review_at": (now + dt.timedelta(days=1)).isoformat(),
            "voting_at": (now + dt.timedelta(days=2)).isoformat(),
            "results_at": (now + dt.timedelta(days=3)).isoformat(),
        },
    )
    assert made.status_code == 201, made.text
    round_id = made.json()["id"]

    organiser = tabs.get("organiser")
    page = organiser.page
    organiser.goto(live_app.base_url, f"/budgets/{round_id}")
    for count, (title, code, cost) in enumerate(
        zip(TITLES, PLACES, (60_000, 45_000, 40_000), strict=True), 1
    ):
        page.fill("#propose-form [name=title]", title)
        page.fill("#propose-form [name=cost]", str(cost))
        page.select_option("#propose-form [name=service_type]", "childcare")
        page.fill("#propose-form [name=neighbourhood]", code)
        page.click("#propose-form button[type=submit]")
        expect(page.locator("#proposals tbody tr")).to_have_count(count, timeout=120_000)
    expect(page.locator("#proposals")).to_contain_text(TITLES[0])  # markup shown as text
    # every proposal has a need score
    for row in page.locator("#proposals tbody tr").all():
        expect(row.locator("td").nth(2)).not_to_be_empty()
    page.fill("#codes-form [name=count]", "2")
    page.click("#codes-form button[type=submit]")
    expect(page.locator("#codes-out")).to_be_visible()
    codes = page.text_content("#codes-out").split()
    assert len(codes) == 2
    page.select_option("#phase-form [name=phase]", "voting")
    page.click("#phase-form button[type=submit]")
    expect(page.locator("#round-phase")).to_have_text("voting is open")
    organiser.watch.assert_clean()
    ids = [
        int(i.removeprefix("proposal-"))
        for i in page.locator("#proposals tbody tr").evaluate_all("rs => rs.map(r => r.id)")
    ]

    # two residents vote on a phone with the codes from their paper ballots; one changes their ballot
    for code, ticks in zip(codes, ([ids[0]], [ids[1], ids[2]]), strict=True):
        voter = tabs.new({"width": 375, "height": 812})
        voter.goto(live_app.base_url, f"/budgets/{round_id}/ballot")
        for pid in ticks:
            voter.page.check(f"#approve-{pid}")
        voter.page.fill("#ballot-code", code)
        voter.page.click("#ballot-form button[type=submit]")
        expect(voter.page.locator("#budget-status")).to_contain_text("Your ballot was cast")
        if code == codes[1]:
            voter.page.uncheck(f"#approve-{ids[1]}")
            voter.page.click("#ballot-form button[type=submit]")
            expect(voter.page.locator("#budget-status")).to_contain_text("Your ballot was changed")
        voter.watch.assert_clean()
    # and a resident with an account
    resident = tabs.get("contributor", viewport="phone")
    resident.goto(live_app.base_url, f"/budgets/{round_id}/ballot")
    resident.page.check(f"#approve-{ids[0]}")
    resident.page.click("#ballot-form button[type=submit]")
    expect(resident.page.locator("#budget-status")).to_contain_text("Your ballot was cast")
    resident.watch.assert_clean()

    organiser.goto(live_app.base_url, f"/budgets/{round_id}")
    page.select_option("#phase-form [name=phase]", "results")
    page.click("#phase-form button[type=submit]")
    expect(page.locator("#round-phase")).to_contain_text("results")

    visitor = tabs.get(None)
    visitor.goto(live_app.base_url, f"/budgets/{round_id}/results")
    table = visitor.page.locator("#results-table")
    expect(table).to_contain_text("funded: 2 votes")
    expect(table.locator("td.funded")).not_to_have_count(0)
    expected = live_app.api("GET", f"/api/budget-rounds/{round_id}/results").json()
    for row in expected["projects"]:
        cells = visitor.page.locator(f"#result-{row['proposal']['id']} td")
        expect(cells.nth(2)).to_have_text(row["greedy"]["why"])
        expect(cells.nth(3)).to_have_text(row["mes"]["why"])
    visitor.page.click("a.gap-map-link")
    visitor.page.wait_for_load_state("networkidle")
    expect(visitor.page.locator("#assetmap-legend")).to_contain_text("Funded proposal")
    markers = visitor.page.locator(".leaflet-marker-icon")
    expect(markers.first).to_be_visible()
    # a funded proposal's popup gives both results, its title as text
    funded = next(r for r in expected["projects"] if r["greedy"]["funded"] or r["mes"]["funded"])
    visitor.page.locator(".awesome-marker-icon-darkgreen").first.click()
    popup = visitor.page.locator(".leaflet-popup-content")
    expect(popup).to_contain_text("greedy: ")
    expect(popup).to_contain_text("equal shares: ")
    expect(popup).to_contain_text("People newly within reach")
    funded_titles = [
        r["proposal"]["title"] for r in expected["projects"] if r["greedy"]["funded"] or r["mes"]["funded"]
    ]
    assert any(title in (popup.text_content() or "") for title in funded_titles), funded
    assert visitor.page.locator(".leaflet-popup-content i").count() == 0  # markup in a title is not parsed
    visitor.watch.assert_clean()
