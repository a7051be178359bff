"""The register import page in the browser: an organiser tries a council's register, imports it, and places the
row that could not be placed by tapping the map; the register's cells show as text, never as markup."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import LiveApp, Tabs

pytestmark = pytest.mark.browser

LOST = "Lost <b>Lido</b>"
REGISTER = (
    "Asset name,Address,Nominated by,Date nominated\r\n"
    f"{LOST},9 Pool Road,Swimmers,01/07/2021\r\n"
    "Nameless row without a date,,,\r\n"
).encode("cp1252")


def test_try_import_and_place_a_row_on_the_map(tabs: Tabs, live_app: LiveApp) -> None:
    organiser = tabs.get("organiser")
    page = organiser.page
    organiser.goto(live_app.base_url, "/cases/import?city=Berlin")
    page.set_input_files(
        "#register-file", files=[{"name": "register.csv", "mimeType": "text/csv", "buffer": REGISTER}]
    )
    page.click("#register-import-form button[value=dry_run]")
    expect(page.locator("#register-import-summary")).to_contain_text("Dry run: nothing was written")
    expect(page.locator("#register-unplaced")).to_contain_text(LOST)  # as text
    expect(page.locator("#register-unplaced button")).to_have_count(0)  # placed by hand only after the import
    page.click("#register-import-form button[value=import]")
    expect(page.locator("#register-import-summary")).to_contain_text("2 rows, 0 imported")
    expect(page.locator("#register-unplaced")).to_contain_text("no date of nomination")
    page.locator("#register-unplaced button", has_text="Place on the map").click()
    expect(page.locator("#place-which")).to_contain_text(LOST)
    expect(page.locator("#place-name")).to_have_value(LOST)
    assert organiser.watch.console_errors == [], organiser.watch.console_errors
    page.locator("#place-map").click()  # the view opens on Mitte, the organiser's neighbourhood
    expect(page.locator("#place-location")).to_contain_text("New place at 52.")
    page.click("#place-form button[type=submit]")
    expect(page.locator("#place-message")).to_contain_text("Case opened")
    case_link = page.locator("#place-message a")
    case_id = int((case_link.get_attribute("href") or "").rsplit("/", 1)[1])
    case = live_app.api("GET", f"/api/cases/{case_id}", "organiser").json()
    assert case["asset"]["name"] == LOST and case["stage"] == "nominated"
    assert case["events"][0]["on"] == "2021-07-01"
    organiser.watch.assert_clean()
