"""OGC API Features keeps the JSON API's privacy: a small city of its own with a person, a pending entry, a need and
a link (Berlin's sample has no needs or links)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.browser.conftest import LiveApp

CITY = "Kleinstadt Süd"  # its collections are kleinstadt-sud-*
LON, LAT = 11.0, 51.0


@dataclass
class Town:
    city_id: int
    public_ids: list[int]
    person_id: int
    pending_id: int
    need_id: int
    link_id: int


def _created(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def _square(half: float) -> dict[str, Any]:
    ring = [
        [LON - half, LAT - half],
        [LON + half, LAT - half],
        [LON + half, LAT + half],
        [LON - half, LAT + half],
    ]
    return {"type": "Polygon", "coordinates": [[*ring, ring[0]]]}


@pytest.fixture(scope="module")
def town(live_app: LiveApp) -> Town:
    api = live_app.api
    city = _created(api("POST", "/api/cities", "admin", json={"name": CITY, "crs": "EPSG:25832"}))
    _created(
        api(
            "POST",
            "/api/neighbourhoods",
            "admin",
            json={
                "city": city["id"],
                "code": "S1",
                "name": "Südviertel",
                "level": "neighbourhood",
                "population": 900,
                "geometry": _square(0.02),
            },
        )
    )

    def asset(role: str, name: str, category: str, dx: float, **extra: Any) -> int:
        body = {
            "city": city["id"],
            "name": name,
            "category": category,
            "geometry": {"type": "Point", "coordinates": [LON + dx, LAT + dx / 2]},
            **extra,
        }
        return int(_created(api("POST", "/api/assets", role, json=body))["id"])

    public = [
        asset("admin", "Stadtbibliothek", "institution", 0.001),
        asset("admin", "Chor", "association", -0.003),
    ]
    person = asset("admin", "Frau K.", "individual", 0.002, contact="k@example.org")
    pending = asset("contributor", "Neuer Treff", "association", 0.004)
    need = _created(
        api(
            "POST",
            "/api/needs",
            "admin",
            json={
                "city": city["id"],
                "service_type": "childcare",
                "people_affected": 30,
                "severity": 4,
                "geometry": {"type": "Point", "coordinates": [LON - 0.001, LAT]},
            },
        )
    )
    link = _created(
        api(
            "POST",
            "/api/links",
            "admin",
            json={"source_asset_id": public[0], "target_asset_id": public[1], "kind": "partnership"},
        )
    )
    return Town(city["id"], public, person, pending, int(need["id"]), int(link["id"]))


def ids(live: LiveApp, cid: str, role: str | None = None, **params: Any) -> list[int]:
    headers = {"Authorization": f"Bearer {live.tokens[role]}"} if role else {}
    answer = httpx.get(
        f"{live.base_url}/ogc/collections/{cid}/items", params=params, headers=headers, timeout=60
    )
    assert answer.status_code == 200, answer.text
    return [f["id"] for f in answer.json()["features"]]


def api_ids(live: LiveApp, kind: str, role: str | None = None, **params: Any) -> list[int]:
    answer = live.api("GET", f"/api/{kind}", role=role, params={"city": CITY, "limit": 1000, **params})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    return [f["id"] for f in body.get("features", body.get("items", []))]


def test_collection_ids_are_slugs(live_app: LiveApp, town: Town) -> None:
    found = httpx.get(f"{live_app.base_url}/ogc/collections", timeout=30).json()["collections"]
    mine = {c["id"]: c for c in found if c["id"].startswith("kleinstadt-sud-")}
    assert set(mine) == {
        f"kleinstadt-sud-{layer}" for layer in ("neighbourhoods", "assets", "needs", "links")
    }
    assert mine["kleinstadt-sud-needs"]["title"] == "Kleinstadt Süd: needs"
    assert "http://www.opengis.net/def/crs/EPSG/0/25832" in mine["kleinstadt-sud-assets"]["crs"]


@pytest.mark.parametrize("role", [None, "contributor", "organiser", "planner", "admin"])
def test_each_reader_sees_what_the_api_shows(live_app: LiveApp, town: Town, role: str | None) -> None:
    for layer in ("assets", "needs", "links"):
        assert sorted(ids(live_app, f"kleinstadt-sud-{layer}", role, limit=1000)) == sorted(
            api_ids(live_app, layer, role)
        ), (layer, role)
    if role is not None:
        assert sorted(ids(live_app, "kleinstadt-sud-assets", role, limit=1000, status="all")) == sorted(
            api_ids(live_app, "assets", role, status="all")
        )


def test_people_suppressed_and_pending_hidden(live_app: LiveApp, town: Town) -> None:
    anonymous = ids(live_app, "kleinstadt-sud-assets", limit=1000)
    assert town.person_id not in anonymous  # one person in the neighbourhood: below the small-count threshold
    assert town.pending_id not in anonymous
    assert town.pending_id in ids(live_app, "kleinstadt-sud-assets", "contributor", status="all")
    assert (
        httpx.get(
            f"{live_app.base_url}/ogc/collections/kleinstadt-sud-assets/items", params={"status": "all"}
        ).status_code
        == 403
    )
    item = httpx.get(f"{live_app.base_url}/ogc/collections/kleinstadt-sud-assets/items/{town.person_id}")
    assert item.status_code == 404
    planner = httpx.get(
        f"{live_app.base_url}/ogc/collections/kleinstadt-sud-assets/items/{town.person_id}",
        headers={"Authorization": f"Bearer {live_app.tokens['planner']}"},
    )
    assert planner.status_code == 200 and planner.json()["properties"]["contact"] == "k@example.org"
    # a filter cannot reach the hidden contact column, nor find the person by name
    answer = httpx.get(
        f"{live_app.base_url}/ogc/collections/kleinstadt-sud-assets/items",
        params={"filter": "contact IS NOT NULL"},
    )
    assert answer.status_code == 400 and "contact" in answer.json()["detail"]
    assert ids(live_app, "kleinstadt-sud-assets", filter="name = 'Frau K.'") == []


def test_links_are_lines_between_their_assets(live_app: LiveApp, town: Town) -> None:
    page = httpx.get(f"{live_app.base_url}/ogc/collections/kleinstadt-sud-links/items", timeout=30).json()
    (link,) = page["features"]
    assert link["id"] == town.link_id and link["geometry"]["type"] == "LineString"
    assets = {
        f["id"]: f["geometry"]["coordinates"]
        for f in httpx.get(
            f"{live_app.base_url}/ogc/collections/kleinstadt-sud-assets/items", timeout=30
        ).json()["features"]
    }
    ends = [link["properties"]["source_asset_id"], link["properties"]["target_asset_id"]]
    assert sorted(ends) == sorted(town.public_ids)
    assert link["geometry"]["coordinates"] == [assets[ends[0]], assets[ends[1]]]
    assert ids(live_app, "kleinstadt-sud-links", filter="kind = 'partnership'") == [town.link_id]
    assert ids(live_app, "kleinstadt-sud-links", filter="kind = 'funding'") == []


def test_need_filters(live_app: LiveApp, town: Town) -> None:
    near = f"S_INTERSECTS(geometry, BBOX({LON - 0.002},{LAT - 0.001},{LON},{LAT + 0.001}))"
    assert ids(live_app, "kleinstadt-sud-needs", filter=near) == [town.need_id]
    assert ids(live_app, "kleinstadt-sud-needs", filter=f"{near} AND severity >= 5") == []
    assert ids(
        live_app, "kleinstadt-sud-needs", filter="severity BETWEEN 3 AND 4 AND people_affected > 10"
    ) == [town.need_id]
    assert ids(live_app, "kleinstadt-sud-needs", severity="4") == [town.need_id]
    assert ids(live_app, "kleinstadt-sud-needs", filter="S_WITHIN(geometry, POINT(0 0))") == []


def call(live: LiveApp, method: str, path: str, role: str | None = None, **kwargs: Any) -> httpx.Response:
    return live.api(method, "/ogc/collections/kleinstadt-sud-assets" + path, role=role, **kwargs)


def test_options_tells_each_caller_the_truth(live_app: LiveApp, town: Town) -> None:
    """QGIS discovers editing with OPTIONS (Part 4)."""
    assert call(live_app, "OPTIONS", "/items").headers["allow"] == "GET, HEAD, OPTIONS"
    assert call(live_app, "OPTIONS", "/items", "contributor").headers["allow"] == "GET, HEAD, OPTIONS, POST"
    item = f"/items/{town.public_ids[0]}"
    assert call(live_app, "OPTIONS", item, "contributor").headers["allow"] == "GET, HEAD, OPTIONS"
    assert call(live_app, "OPTIONS", item, "gis").headers["allow"] == "GET, HEAD, OPTIONS, PUT, PATCH, DELETE"
    # the organiser works in two Berlin neighbourhoods, not here
    assert call(live_app, "OPTIONS", item, "organiser").headers["allow"] == "GET, HEAD, OPTIONS"
    assert call(live_app, "OPTIONS", "/items/999999").status_code == 404


def test_create_update_delete_through_the_json_api_rules(live_app: LiveApp, town: Town) -> None:
    """Part 4: a contributor's new entry waits for review; edits need the current ETag; history is kept."""
    feature = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [LON + 0.005, LAT]},
        "properties": {"name": "Repair café", "category": "association"},
    }
    assert call(live_app, "POST", "/items", json=feature).status_code == 401
    made = call(live_app, "POST", "/items", "contributor", json=feature)
    assert made.status_code == 201, made.text
    assert "/ogc/collections/kleinstadt-sud-assets/items/" in made.headers["location"]
    new_id = made.json()["id"]
    assert made.json()["properties"]["status"] == "pending"
    assert new_id not in ids(live_app, "kleinstadt-sud-assets")
    bad = call(
        live_app,
        "POST",
        "/items",
        "contributor",
        json={**feature, "properties": {**feature["properties"], "colour": "red"}},
    )
    assert bad.status_code == 422 and "colour" in bad.json()["detail"]

    target = f"/items/{town.public_ids[0]}"
    current = call(live_app, "GET", target, "gis")
    etag = current.headers["etag"]
    assert call(live_app, "PATCH", target, "contributor", json=feature).status_code == 403
    stale = call(
        live_app,
        "PATCH",
        target,
        "gis",
        json={"type": "Feature", "properties": {"name": "Bibliothek"}},
        headers={"If-Match": '"999"'},
    )
    assert stale.status_code == 412
    changed = call(
        live_app,
        "PATCH",
        target,
        "gis",
        json={"type": "Feature", "properties": {"name": "Bibliothek"}},
        headers={"If-Match": etag},
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["properties"]["name"] == "Bibliothek"
    # QGIS sends back every attribute it read, including the derived ones
    whole = call(live_app, "GET", target, "gis").json()
    whole.pop("links")
    whole["properties"]["description"] = "Bücher und mehr"
    replaced = call(live_app, "PUT", target, "gis", json=whole, headers={"If-Match": changed.headers["etag"]})
    assert replaced.status_code == 200, replaced.text
    history = live_app.api("GET", f"/api/assets/{town.public_ids[0]}/history", "gis").json()
    assert len(history["items"]) >= 3

    gone = f"/items/{new_id}"
    assert call(live_app, "DELETE", gone, "gis", headers={"If-Match": '"999"'}).status_code == 412
    tag = call(live_app, "GET", gone, "gis").headers["etag"]
    assert call(live_app, "DELETE", gone, "gis", headers={"If-Match": tag}).status_code == 204
    assert call(live_app, "GET", gone, "gis").status_code == 404
    assert call(live_app, "DELETE", "/items/abc", "gis").status_code == 404


def test_html_pages_show_typed_text_as_text(live_app: LiveApp, town: Town) -> None:
    hostile = "<img src=x onerror=alert(1)>"
    made = call(
        live_app,
        "POST",
        "/items",
        "admin",
        json={
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [LON - 0.004, LAT]},
            "properties": {"name": hostile, "category": "association", "description": hostile},
        },
    )
    assert made.status_code == 201, made.text
    for path in ("/items", f"/items/{made.json()['id']}"):
        page = call(live_app, "GET", path, params={"f": "html", "limit": 1000})
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert hostile not in page.text and "&lt;img src=x onerror=alert(1)&gt;" in page.text


def test_published_analysis_results(live_app: LiveApp) -> None:
    """A finished run's neighbourhood results and cells are collections; read-only; the same as /api/analysis."""
    made = live_app.api(
        "POST",
        "/api/analysis/runs",
        "planner",
        json={"city": "Berlin", "service_type": "childcare", "resolution": 8},
    )
    assert made.status_code == 201, made.text
    run = made.json()
    assert run["status"] == "succeeded", run
    listed = {
        c["id"]: c
        for c in httpx.get(f"{live_app.base_url}/ogc/collections", timeout=60).json()["collections"]
    }
    hoods, cells = f"berlin-run-{run['id']}-neighbourhoods", f"berlin-run-{run['id']}-cells"
    assert {hoods, cells} <= set(listed)
    assert listed[hoods]["title"].startswith("Berlin: childcare gap analysis")
    api_hoods = live_app.api("GET", f"/api/analysis/runs/{run['id']}/neighbourhoods").json()["features"]
    ogc_hoods = httpx.get(f"{live_app.base_url}/ogc/collections/{hoods}/items", params={"limit": 1000}).json()
    assert sorted(f["id"] for f in ogc_hoods["features"]) == sorted(f["id"] for f in api_hoods)
    api_cells: list[Any] = []
    url: str | None = f"/api/analysis/runs/{run['id']}/cells?limit=1000"
    while url:
        page = live_app.api("GET", url.replace(live_app.base_url, "")).json()
        api_cells += page["features"]
        url = page["next"]
    ogc_cells = [f["id"] for f in _follow(f"{live_app.base_url}/ogc/collections/{cells}/items?limit=700")]
    assert ogc_cells == [f["id"] for f in api_cells] and len(ogc_cells) > 700
    one = api_cells[0]
    single = httpx.get(f"{live_app.base_url}/ogc/collections/{cells}/items/{one['id']}")
    assert single.status_code == 200 and single.json()["properties"] == one["properties"]
    lon, lat = one["geometry"]["coordinates"]
    near = [
        f["id"]
        for f in _follow(
            f"{live_app.base_url}/ogc/collections/{cells}/items?bbox={lon - 0.001},{lat - 0.001},{lon + 0.001},{lat + 0.001}"
        )
    ]
    assert one["id"] in near and len(near) < len(ogc_cells)
    assert (
        httpx.get(
            f"{live_app.base_url}/ogc/collections/{cells}/items", params={"filter": "need > 1"}
        ).status_code
        == 400
    )
    assert (
        live_app.api("OPTIONS", f"/ogc/collections/{cells}/items", "admin").headers["allow"]
        == "GET, HEAD, OPTIONS"
    )
    refused = live_app.api(
        "POST", f"/ogc/collections/{cells}/items", "admin", json={"type": "Feature", "properties": {}}
    )
    assert refused.status_code == 405


def _follow(url: str | None) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    while url:
        page = httpx.get(url, timeout=60).json()
        found += page["features"]
        url = next((x["href"] for x in page["links"] if x["rel"] == "next"), None)
    return found
