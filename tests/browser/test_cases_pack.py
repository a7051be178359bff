"""From a case's page, a newcomer downloads the evidence pack PDF in the browser (docs/PACKS.md)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import LiveApp, Tabs

pytestmark = pytest.mark.browser

BODY = "Friends <i>of</i> {{ 7*7 }} <img src=x onerror=alert(1)>"


def test_the_case_page_links_the_evidence_pack_pdf(tabs: Tabs, live_app: LiveApp) -> None:
    found = live_app.api(
        "GET",
        "/api/assets",
        "organiser",
        params={"city": "Berlin", "service_type": "community-space", "limit": 1},
    )
    assert found.status_code == 200, found.text
    asset_id = found.json()["features"][0]["id"]
    opened = live_app.api(
        "POST",
        "/api/cases",
        "admin",
        json={
            "city": "Berlin",
            "kind": "acv",
            "asset_id": asset_id,
            "community_body": {"name": BODY, "kind": "community_group"},
            "opened_on": "2026-01-31",
        },
    )
    assert opened.status_code == 201, opened.text
    case_id = opened.json()["id"]

    organiser = tabs.get("admin")
    organiser.goto(live_app.base_url, f"/cases/{case_id}")
    link = organiser.page.locator("#case-pack-pdf")
    expect(link).to_have_text("Evidence pack (PDF)")
    with organiser.page.expect_download(timeout=120_000) as info:
        link.click()
    download = info.value
    path = download.path()
    assert path is not None
    with open(path, "rb") as pdf:
        assert pdf.read(5) == b"%PDF-"
    assert download.suggested_filename == f"evidence-pack-case-{case_id}.pdf"
    organiser.watch.assert_clean()

    # the pack's page shows the community body's name as typed, runs nothing, and links its PDF too
    organiser.page.click("#case-pack-page")
    organiser.page.wait_for_url(f"**/cases/{case_id}/pack")
    expect(organiser.page.locator("#pack-body")).to_contain_text(BODY)
    expect(organiser.page.locator("#pack-body i, #pack-body img")).to_have_count(0)
    expect(organiser.page.locator("#pack-pdf")).to_have_attribute("href", f"/cases/{case_id}/pack.pdf")
    expect(organiser.page.locator("#pack-map")).to_be_visible()
    organiser.watch.assert_clean()
