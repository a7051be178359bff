"""The HTML pages without a browser: status codes, content types, security headers, escaping and privacy."""

from __future__ import annotations

import html
import re
from typing import Any

from fastapi.testclient import TestClient

from geo.render import inline_script_hashes
from tests.app.helpers import MITTE_POINT, create_asset
from tests.conftest import TEST_PASSWORD, Berlin
from tests.inert_text import assert_map_shows_as_text

HOSTILE_NAME = "Kiez <img src=x onerror=alert(1)> ${document.title='x'} `tick` \"><script>alert(2)</script>"


def neighbourhood_id(client: TestClient, code: str) -> int:
    """The id of a Berlin neighbourhood by code."""
    features = client.get("/api/neighbourhoods", params={"city": "Berlin", "q": code}).json()["features"]
    return next(f["id"] for f in features if f["properties"]["code"] == code)  # type: ignore[no-any-return]


def script_policy(response: Any) -> str:
    """The script-src directive of a response's Content-Security-Policy."""
    policy = response.headers["content-security-policy"]
    return re.search(r"script-src ([^;]*)", policy).group(1)  # type: ignore[union-attr]


def srcdoc(page: str) -> str:
    """The folium document embedded in the profile page's iframe, as the browser reads it."""
    match = re.search(r'<iframe id="neighbourhood-map"[^>]* srcdoc="([^"]*)"', page)
    assert match, "the profile page has no map frame"
    return html.unescape(match.group(1))


def test_start_page_is_html_with_a_strict_script_policy(client: TestClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert script_policy(response) == "'self'"
    assert "<script>" not in response.text  # no inline script at all
    assert 'href="/maps/gaps?city=Berlin&amp;service=childcare"' in response.text
    assert 'href="/maps/network?city=Berlin"' in response.text


def test_profile_allows_exactly_the_map_scripts(client: TestClient) -> None:
    response = client.get(f"/maps/neighbourhoods/{neighbourhood_id(client, '0930')}")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    document = srcdoc(response.text)
    hashes = inline_script_hashes(document)
    assert hashes, "the folium map has inline scripts to allow"
    assert script_policy(response).split() == ["'self'", *hashes]
    assert "59,802" in response.text
    assert "https://" not in document.replace(
        "https://www.openstreetmap.org/copyright", ""
    )  # only local assets


def test_unknown_neighbourhood_is_404(client: TestClient) -> None:
    response = client.get("/maps/neighbourhoods/999999")
    assert response.status_code == 404
    assert "no neighbourhood 999999" in response.json()["detail"]


BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


def test_a_browser_gets_errors_on_pages_as_a_page_and_api_clients_as_json(client: TestClient) -> None:
    page = client.get("/maps/neighbourhoods/999999", headers=BROWSER)
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert "<h1>Not Found</h1>" in page.text and "no neighbourhood 999999" in page.text
    assert script_policy(page) == "'self'" and "<script" not in page.text
    # A city name typed into the address bar comes back escaped.
    hostile = client.get(
        "/maps/gaps", params={"city": "<img src=x onerror=alert(1)>", "service": "childcare"}, headers=BROWSER
    )
    assert hostile.status_code == 404 and hostile.headers["content-type"].startswith("text/html")
    assert "<img" not in hostile.text and "&lt;img src=x onerror=alert(1)&gt;" in hostile.text
    # A bad query parameter and a page that does not exist are pages too.
    bad = client.get(
        "/maps/gaps", params={"city": "Berlin", "service": "childcare", "run": "x"}, headers=BROWSER
    )
    assert (
        bad.status_code == 422 and "run" in bad.text and bad.headers["content-type"].startswith("text/html")
    )
    missing = client.get("/maps/nowhere", headers=BROWSER)
    assert missing.status_code == 404 and "there is no such page" in missing.text
    # The API answers in JSON whatever the client accepts.
    api = client.get("/api/neighbourhoods/999999", headers=BROWSER)
    assert api.status_code == 404 and api.headers["content-type"] == "application/json"
    assert client.get("/api/nowhere", headers=BROWSER).json() == {"detail": "Not Found"}


def test_hostile_neighbourhood_name_is_escaped_in_the_profile(client: TestClient, berlin: Berlin) -> None:
    square = [[9.0, 49.0], [9.01, 49.0], [9.01, 49.01], [9.0, 49.01], [9.0, 49.0]]
    created = client.post(
        "/api/neighbourhoods",
        json={
            "city": "Berlin",
            "code": "ZZ1",
            "name": HOSTILE_NAME,
            "geometry": {"type": "Polygon", "coordinates": [square]},
        },
        headers=berlin.headers("gis"),
    )
    assert created.status_code == 201, created.text
    response = client.get(f"/maps/neighbourhoods/{created.json()['id']}")
    assert response.status_code == 200
    page = response.text
    for raw in ("<img src=x", "<script>alert", "${document", "`tick`"):
        assert raw not in page
    assert "Kiez &lt;img src=x onerror=alert(1)&gt; &#36;{document.title=&#39;x&#39;} &#96;tick&#96;" in page
    # Inside the frame the name is data of the map's text block only, shown by the map's script as text.
    document = srcdoc(page)
    assert_map_shows_as_text(document, HOSTILE_NAME)
    for raw in ("<img src=x", "<script>alert"):
        assert raw not in document


def test_public_profile_blurs_people_and_leaves_out_unpublished_entries(
    client: TestClient, berlin: Berlin
) -> None:
    exact = [13.41017, 52.52213]
    person = create_asset(
        client,
        berlin,
        name="Peer supporter (test)",
        category="individual",
        geometry={"type": "Point", "coordinates": exact},
    )
    # Enough people that their number is no suppressed small count (a lone person is not drawn for the public).
    for index in range(berlin.settings.small_count_threshold - 1):
        create_asset(
            client,
            berlin,
            name=f"Neighbour with skills {index}",
            category="individual",
            geometry={"type": "Point", "coordinates": [exact[0] + 0.002 * (index + 1), exact[1]]},
        )
    pending = client.post(
        "/api/assets",
        json={
            "city": "Berlin",
            "name": "Proposed tool shed",
            "category": "physical_space",
            "geometry": MITTE_POINT,
        },
        headers=berlin.headers("contributor"),
    )
    assert pending.status_code == 201 and pending.json()["properties"]["status"] == "pending"
    path = f"/maps/neighbourhoods/{person['properties']['neighbourhood_id']}"

    public = srcdoc(client.get(path).text)
    assert "Peer supporter (test)" in public
    assert "13.41017" not in public and "52.52213" not in public
    assert "Proposed tool shed" not in public

    planner = srcdoc(client.get(path, headers=berlin.headers("planner")).text)
    assert "13.41017" in planner and "52.52213" in planner
    assert "Proposed tool shed" not in planner  # a public map shows published entries only


def test_organiser_page_and_its_outlines(client: TestClient) -> None:
    page = client.get("/map/edit", params={"city": "Berlin"})
    assert page.status_code == 200
    assert script_policy(page) == "'self'"
    assert '<script src="/static/vendor/leaflet/leaflet.js"></script>' in page.text
    assert client.get("/map/edit", params={"city": "Atlantis"}).status_code == 404

    outlines = client.get("/maps/outlines.geojson", params={"city": "Berlin"})
    assert outlines.status_code == 200
    assert outlines.headers["content-type"] == "application/geo+json"
    features = outlines.json()["features"]
    assert len(features) == 58  # the forecast areas; districts contain them and are left out
    assert {f["properties"]["level"] for f in features} == {"neighbourhood"}
    assert len(outlines.content) < 300_000


def test_organise_redirects_to_the_organiser_page(client: TestClient) -> None:
    response = client.get("/organise", params={"city": "Berlin"}, follow_redirects=False)
    assert response.status_code == 307
    assert response.headers["location"] == "/map/edit?city=Berlin"


def test_import_page_needs_import_rights(client: TestClient, berlin: Berlin) -> None:
    assert client.get("/maps/import").status_code == 401
    refused = client.get("/maps/import", headers=berlin.headers("planner"))
    assert refused.status_code == 403
    assert "your role (planner)" in refused.json()["detail"]
    allowed = client.get("/maps/import", headers=berlin.headers("gis"))
    assert allowed.status_code == 200
    assert allowed.headers["content-type"] == "text/html; charset=utf-8"
    assert script_policy(allowed) == "'self'"


def test_import_page_opens_with_the_browser_session_cookie(client: TestClient) -> None:
    signed_in = client.post("/api/auth/session", data={"username": "test-gis", "password": TEST_PASSWORD})
    assert signed_in.status_code == 200
    assert client.cookies.get("assetmap_session")
    assert client.get("/maps/import").status_code == 200
    client.cookies.clear()
    assert client.get("/maps/import").status_code == 401


def test_page_scripts_and_styles_are_served_by_the_app(client: TestClient) -> None:
    for path, kind in (
        ("/static/js/common.js", "javascript"),
        ("/static/js/editor.js", "javascript"),
        ("/static/js/start.js", "javascript"),
        ("/static/js/import.js", "javascript"),
        ("/static/css/pages.css", "text/css"),
    ):
        response = client.get(path)
        assert response.status_code == 200, path
        assert kind in response.headers["content-type"], path
        assert "innerHTML" not in response.text, f"{path} must build the DOM from text, not HTML"
