"""The import page (/maps/import): a dry run first, its report, then the import with the chosen mapping."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import LiveApp, Tabs

pytestmark = pytest.mark.browser


def imports_api_exists(live: LiveApp) -> bool:
    """Whether POST /api/imports is served yet (it is built separately from this page)."""
    paths = live.api("GET", "/openapi.json").json()["paths"]
    return "/api/imports" in paths


def geojson_file(tmp_path: Path, names: list[str]) -> Path:
    """A small GeoJSON of assets in Mitte; a feature without geometry is a problem the report must list."""
    features: list[dict[str, Any]] = [
        {
            "type": "Feature",
            "properties": {
                "name": name,
                "category": "association",
                "source_id": f"r{index}",
                "remark_text": f"Meets weekly ({index})",
            },
            "geometry": {"type": "Point", "coordinates": [13.40 + 0.001 * index, 52.52]},
        }
        for index, name in enumerate(names)
    ]
    features.append(
        {
            "type": "Feature",
            "properties": {"name": "No place", "category": "association", "source_id": "bad"},
            "geometry": None,
        }
    )
    path = tmp_path / "community-assets.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8")
    return path


def multipart_fields(body: bytes) -> dict[str, str]:
    """The plain (non-file) fields of a multipart body, and 'file' -> the uploaded file's name."""
    fields: dict[str, str] = {}
    boundary = body.split(b"\r\n", 1)[0]
    for part in body.split(boundary):
        head, _, value = part.partition(b"\r\n\r\n")
        if b'name="' not in head:
            continue
        name = head.split(b'name="', 1)[1].split(b'"', 1)[0].decode()
        if b'filename="' in head:
            fields[name] = head.split(b'filename="', 1)[1].split(b'"', 1)[0].decode()
        else:
            fields[name] = value.rstrip(b"\r\n-").decode()
    return fields


def test_import_page_sends_a_dry_run_and_shows_its_report(
    tabs: Tabs, live_app: LiveApp, tmp_path: Path
) -> None:
    names = [f"Imported group {uuid.uuid4().hex[:6]}", f"Imported club {uuid.uuid4().hex[:6]}"]
    upload = geojson_file(tmp_path, names)
    tab = tabs.get("gis")
    response = tab.goto(live_app.base_url, "/maps/import")
    assert response.status == 200
    page = tab.page
    page.wait_for_selector("body[data-ready=true]")
    page.set_input_files("#import-file", str(upload))
    page.select_option("#import-layer", "assets")
    page.check("#import-skip-invalid")
    with page.expect_request("**/api/imports") as request_info:
        page.click("#check-button")
    request = request_info.value
    assert request.method == "POST"
    # The page sends no token: the HttpOnly session cookie signs the upload, from the app's own origin.
    headers = request.all_headers()
    assert "authorization" not in headers
    assert headers["origin"] == live_app.base_url and "assetmap_session=" in headers.get("cookie", "")
    fields = multipart_fields(request.post_data_buffer)
    assert fields["file"] == "community-assets.geojson"
    assert (fields["city"], fields["layer"], fields["dry_run"], fields["skip_invalid"]) == (
        str(live_app.city_id),
        "assets",
        "true",
        "true",
    )
    if not imports_api_exists(live_app):
        expect(page.locator("#import-message")).to_contain_text("Not found")
        tab.watch.assert_clean(expected_statuses=(404,))
        pytest.skip("POST /api/imports is not served yet: the page's request was checked, not the report")

    expect(page.locator("#report")).to_be_visible()
    facts = page.text_content("#report-facts")
    assert "GeoJSON" in facts or "geojson" in facts.lower()
    assert "3" in page.locator("#report-facts dd").nth(4).text_content()  # features in the file
    assert page.locator("#mapping-table select").count() >= 1
    # The file's columns with the type read from their values, a few values and why each was suggested.
    remark = page.locator("#columns-table tbody tr", has=page.locator("th", has_text="remark_text"))
    expect(remark.locator("td").nth(0)).to_have_text("text")
    expect(remark.locator("td").nth(1)).to_contain_text("Meets weekly (0) | Meets weekly (1)")
    expect(remark.locator("td").nth(2)).to_have_text("")
    named = page.locator("#columns-table tbody tr", has=page.locator("th", has_text="name"))
    expect(named.locator("td").nth(2)).to_have_text("name")
    expect(named.locator("td").nth(3)).to_have_text("the field's own name; text values fit text")
    assert names[0] in page.text_content("#preview-table")
    problem = page.locator("#problems-table tbody tr")
    expect(problem).to_have_count(1)
    expect(problem.locator("td").nth(0)).to_have_text("3")  # the third feature has no geometry
    expect(problem.locator("td").nth(2)).to_have_text("geometry")
    assert live_app.api("GET", "/api/assets", params={"q": names[0]}).json()["features"] == []  # a dry run
    expect(page.locator('#mapping-table select[data-target="name"]')).to_have_value("name")
    # A column the suggestion could not place is mapped by hand.
    description = page.locator('#mapping-table select[data-target="description"]')
    expect(description).to_have_value("")
    description.select_option("remark_text")
    page.click("#import-button")
    expect(page.locator("#result")).to_be_visible()
    assert page.locator("#result-facts dd").nth(2).text_content() == "2"  # inserted
    assert page.locator("#result-facts dd").nth(4).text_content() == "1"  # skipped
    imported = live_app.api("GET", "/api/assets", params={"q": names[0]}).json()["features"]
    assert [(f["properties"]["name"], f["properties"]["description"]) for f in imported] == [
        (names[0], "Meets weekly (0)")
    ]
    tab.watch.assert_clean()


def test_import_page_sends_the_filter_and_clip_and_shows_what_was_kept(
    tabs: Tabs, live_app: LiveApp, tmp_path: Path
) -> None:
    upload = geojson_file(tmp_path, [f"Kept {uuid.uuid4().hex[:6]}", f"Filtered {uuid.uuid4().hex[:6]}"])
    tab = tabs.get("gis")
    tab.goto(live_app.base_url, "/maps/import")
    page = tab.page
    page.wait_for_selector("body[data-ready=true]")
    page.set_input_files("#import-file", str(upload))
    page.select_option("#import-layer", "assets")
    page.fill("#import-where", "source_id <> 'r1'")
    page.fill("#import-clip", "city")
    page.fill("#import-clip-buffer-m", "250")
    with page.expect_request("**/api/imports") as request_info:
        page.click("#check-button")
    fields = multipart_fields(request_info.value.post_data_buffer)
    assert (fields["where"], fields["clip"], fields["clip_buffer_m"]) == ("source_id <> 'r1'", "city", "250")
    if not imports_api_exists(live_app):
        pytest.skip("POST /api/imports is not served yet: the page's request was checked, not the report")
    expect(page.locator("#report")).to_be_visible()
    # r1 is dropped by the filter; the feature without a geometry is not inside the city.
    expect(page.locator("#report-facts")).to_contain_text(
        "1 of 3 (1 dropped by the filter, 1 outside the clip area)"
    )
    tab.watch.assert_clean()


def test_import_page_refuses_readers_without_import_rights(tabs: Tabs, live_app: LiveApp) -> None:
    tab = tabs.get("planner")
    response = tab.page.goto(live_app.base_url + "/maps/import")
    assert response.status == 403
    # The browser gets the refusal as a page that says why.
    assert tab.page.locator("h1").inner_text() == "Forbidden"
    assert "your role (planner)" in tab.page.locator(".error-detail").inner_text()


def test_import_page_joins_a_population_table_onto_a_citys_neighbourhoods(
    tabs: Tabs, live_app: LiveApp, tmp_path: Path
) -> None:
    city = f"Joinstadt-{uuid.uuid4().hex[:6]}"
    created = live_app.api("POST", "/api/cities", "gis", json={"name": city})
    assert created.status_code == 201, created.text
    boxes = {"0110": (13.30, 13.35), "0120": (13.35, 13.40)}
    features = [
        {
            "type": "Feature",
            "properties": {"code": code, "name": f"Area {code}", "population": 10},
            "geometry": {
                "type": "Polygon",
                "coordinates": [[[w, 52.45], [e, 52.45], [e, 52.50], [w, 52.50], [w, 52.45]]],
            },
        }
        for code, (w, e) in boxes.items()
    ]
    boundaries = live_app.api(
        "POST",
        "/api/imports",
        "gis",
        files={"file": ("areas.geojson", json.dumps({"type": "FeatureCollection", "features": features}))},
        data={"city": city, "layer": "neighbourhoods"},
    )
    assert boundaries.status_code == 201, boundaries.text
    table = tmp_path / "population.csv"
    table.write_text(
        "Gebiet;a0;a1;a2;a3;a4;a5;EW\n0110;1;2;3;4;5;6;700\n0999;1;1;1;1;1;1;9\n", encoding="utf-8"
    )

    tab = tabs.get("gis")
    tab.goto(live_app.base_url, "/maps/import")
    page = tab.page
    page.wait_for_selector("body[data-ready=true]")
    page.set_input_files("#import-file", str(table))
    page.select_option("#import-city", label=city)
    page.select_option("#import-layer", "neighbourhoods")
    page.fill("#import-join", "gebiet")
    with page.expect_request("**/api/imports") as request_info:
        page.click("#check-button")
    assert multipart_fields(request_info.value.post_data_buffer)["join"] == "code=gebiet"
    expect(page.locator("#join-report")).to_be_visible()
    expect(page.locator("#mapping-part")).to_be_hidden()
    facts = page.text_content("#join-facts") or ""
    assert "1 of 2 rows" in facts and "row 2 (0999)" in facts and "0120" in facts
    expect(page.locator("#join-table")).to_contain_text("a0 + a1 + a2 + a3 + a4 + a5")
    page.click("#import-button")
    expect(page.locator("#result")).to_be_visible()
    shown = live_app.api("GET", "/api/neighbourhoods", params={"city": city}).json()["features"]
    assert {f["properties"]["code"]: f["properties"]["population"] for f in shown} == {
        "0110": 700,
        "0120": 10,
    }
    tab.watch.assert_clean()


def test_a_gis_user_adds_a_city_on_the_import_page_and_it_is_chosen_for_the_import(
    tabs: Tabs, live_app: LiveApp
) -> None:
    name = f"<img src=x onerror=alert(1)> ${{1+1}} Neustadt {uuid.uuid4().hex[:6]}"
    tab = tabs.get("gis")
    assert tab.goto(live_app.base_url, "/maps/import").status == 200
    page = tab.page
    page.wait_for_selector("body[data-ready=true]")
    page.click("#city-heading")
    page.fill("#city-name", name)
    page.fill("#city-country", "DE")
    page.fill("#city-crs", "EPSG:4326")
    page.click("#city-button")
    expect(page.locator("#city-crs-error")).to_contain_text("geographic")
    page.fill("#city-crs", "EPSG:25832")
    page.click("#city-button")
    expect(page.locator("#city-message")).to_contain_text("Added " + name)
    chosen = page.locator("#import-city option:checked")
    expect(chosen).to_have_text(name)  # as typed: text, never markup
    assert page.locator("#import-city img").count() == 0
    stored = [c for c in live_app.api("GET", "/api/cities", role="gis").json()["items"] if c["name"] == name]
    assert [(c["country"], c["crs"], str(c["id"])) for c in stored] == [
        ("DE", "EPSG:25832", chosen.get_attribute("value"))
    ]
    live_app.api("DELETE", f"/api/cities/{stored[0]['id']}", role="admin").raise_for_status()
    tab.watch.assert_clean(expected_statuses=(422,))


def test_readers_without_geography_rights_get_no_city_form(tabs: Tabs, live_app: LiveApp) -> None:
    tab = tabs.get("organiser")
    assert tab.page.goto(live_app.base_url + "/maps/import").status == 403
    assert tab.page.locator("#city-form").count() == 0
    refused = live_app.api("POST", "/api/cities", role="organiser", json={"name": "Not mine"})
    assert refused.status_code == 403
