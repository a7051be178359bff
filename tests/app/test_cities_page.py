"""The upload page's "Add a city" form: shown to gis and admin users, whose POST /api/cities it sends; refused to others."""

from __future__ import annotations

import html
import re
import secrets

from fastapi.testclient import TestClient

from tests.conftest import Berlin


def city_options(page: str) -> list[str]:
    """The names offered in the import form's city choice."""
    choice = page.split('id="import-city"', 1)[1].split("</select>", 1)[0]
    return [html.unescape(name) for name in re.findall(r"<option [^>]*>([^<]*)</option>", choice)]


def test_a_gis_user_adds_a_city_with_the_page_form_and_can_then_import_into_it(
    client: TestClient, berlin: Berlin
) -> None:
    gis = berlin.headers("gis")
    page = client.get("/maps/import", headers=gis)
    assert page.status_code == 200
    assert 'id="city-form"' in page.text and "/static/js/import_city.js" in page.text
    # What the form's script sends: its three fields as JSON to POST /api/cities.
    name = f"<b>{{{{ 7*7 }}}}</b> Neustadt {secrets.token_hex(2)}"
    created = client.post(
        "/api/cities", json={"name": name, "country": "DE", "crs": "EPSG:25832"}, headers=gis
    )
    assert created.status_code == 201, created.text
    assert created.json()["name"] == name and created.json()["crs"] == "EPSG:25832"
    again = client.get("/maps/import", headers=gis).text
    assert name in city_options(again)  # escaped in the page, shown as typed
    assert "<b>{{" not in again


def test_the_city_form_refuses_a_crs_in_degrees_with_the_field_named(
    client: TestClient, berlin: Berlin
) -> None:
    refused = client.post(
        "/api/cities", json={"name": "Gradstadt", "crs": "EPSG:4326"}, headers=berlin.headers("admin")
    )
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "crs"
    assert "geographic" in refused.json()["errors"][0]["problem"]


def test_roles_without_geography_rights_neither_see_the_form_nor_may_add_a_city(
    client: TestClient, berlin: Berlin
) -> None:
    for role in ("organiser", "planner", "contributor"):
        headers = berlin.headers(role)
        assert client.get("/maps/import", headers=headers).status_code == 403
        refused = client.post("/api/cities", json={"name": f"Not by {role}"}, headers=headers)
        assert refused.status_code == 403, (role, refused.text)
        assert f"your role ({role})" in refused.json()["detail"]
    assert client.post("/api/cities", json={"name": "Nobody's"}).status_code == 401
    names = [c["name"] for c in client.get("/api/cities", headers=berlin.headers("admin")).json()["items"]]
    assert not [n for n in names if n.startswith("Not by") or n == "Nobody's"]
