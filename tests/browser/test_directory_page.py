"""The budget page (/directory/budget) on a phone: the Alexanderplatz example, the form, no sideways scrolling,
and nothing loaded from outside."""

from __future__ import annotations

import pytest

from tests.browser.conftest import LiveApp, Tabs

pytestmark = pytest.mark.browser


def test_the_example_answers_on_a_phone(tabs: Tabs, live_app: LiveApp) -> None:
    tab = tabs.get(None, viewport="phone")
    response = tab.goto(live_app.base_url, "/directory/budget?city=Berlin")
    assert response.status == 200
    page = tab.page
    page.click("#budget-example")
    page.wait_for_load_state("networkidle")
    results = page.locator("#budget-results > li")
    assert results.count() == 7
    assert "Seniorencafé" in results.first.inner_text()
    assert "Polish language course" not in page.inner_text("main")
    assert page.input_value("#budget-amount") == "200" and page.input_value("#budget-age") == "70"
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], width  # no sideways scrolling on a phone
    # the form asks again with other values: 10 euros leaves out everything above 10 a month
    page.fill("#budget-amount", "10")
    page.click("#budget-form button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert "Seated gymnastics" not in page.inner_text("#budget-results")
    tab.watch.assert_clean()
