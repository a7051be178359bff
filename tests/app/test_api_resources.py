"""Neighbourhoods, needs, resources, links, cities and service types through the API, with their error paths."""

from __future__ import annotations

import itertools

from fastapi.testclient import TestClient

from tests.app.helpers import MITTE_POINT, SPANDAU_POINT, create_asset
from tests.conftest import Berlin

SQUARE = {
    "type": "Polygon",
    "coordinates": [[[13.0, 51.0], [13.01, 51.0], [13.01, 51.01], [13.0, 51.01], [13.0, 51.0]]],
}
BOW_TIE = {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}


def test_neighbourhood_crud_keeps_leading_zero_codes_and_refuses_duplicates(
    client: TestClient, berlin: Berlin
) -> None:
    gis = berlin.headers("gis")
    body = {
        "city": "Berlin",
        "code": "0999",
        "name": "Testkiez",
        "geometry": SQUARE,
        "population": 120,
        "population_by_group": {"under_6": 10, "over_65": 30},
    }
    created = client.post("/api/neighbourhoods", json=body, headers=gis)
    assert created.status_code == 201, created.text
    props = created.json()["properties"]
    assert props["code"] == "0999" and props["population_by_group"] == {"under_6": 10, "over_65": 30}
    geom = created.json()["geometry"]
    assert geom["type"] == "MultiPolygon"
    ring = geom["coordinates"][0][0]
    # RFC 7946: exterior rings counter-clockwise (positive shoelace area)
    area2 = sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in itertools.pairwise(ring))
    assert area2 > 0
    dup = client.post("/api/neighbourhoods", json=body, headers=gis)
    assert dup.status_code == 409 and dup.json()["field"] == "code"
    bad = client.post("/api/neighbourhoods", json={**body, "code": "0998", "geometry": BOW_TIE}, headers=gis)
    assert bad.status_code == 422 and "self-intersection" in bad.json()["detail"].lower()
    point = client.post(
        "/api/neighbourhoods", json={**body, "code": "0997", "geometry": MITTE_POINT}, headers=gis
    )
    assert point.status_code == 422 and point.json()["field"] == "geometry"
    groups = client.post(
        "/api/neighbourhoods",
        json={**body, "code": "0996", "population_by_group": {"aliens": 3}},
        headers=gis,
    )
    assert groups.status_code == 422 and "aliens" in groups.json()["detail"]
    nid = created.json()["id"]
    renamed = client.patch(
        f"/api/neighbourhoods/{nid}", json={"name": "Neuer Kiez", "version": 1}, headers=gis
    )
    assert renamed.status_code == 200 and renamed.json()["properties"]["name"] == "Neuer Kiez"
    assert client.delete(f"/api/neighbourhoods/{nid}", headers=gis).status_code == 204
    assert client.get(f"/api/neighbourhoods/{nid}").status_code == 404


def test_neighbourhood_list_and_forecast_area_summary(client: TestClient, berlin: Berlin) -> None:
    listed = client.get("/api/neighbourhoods", params={"city": "Berlin", "limit": 1000}).json()["features"]
    assert len(listed) == 70  # 12 districts + 58 forecast areas
    area = next(f for f in listed if f["properties"]["code"] == "0930")
    assert area["properties"]["name"] == "Treptow-Köpenick 3"
    district = next(f for f in listed if f["properties"]["code"] == "09")
    assert area["properties"]["parent_id"] == district["id"]
    summary = client.get(f"/api/neighbourhoods/{area['id']}/summary").json()
    # population from berlin-lor-population-2024-02-t2-forecast-areas.csv, row 0930
    assert summary["population"] == 59802
    assert summary["population_by_group"]["under_6"] == 3954
    assert summary["population_by_group"]["over_65"] == 11956
    assets = client.get("/api/assets", params={"neighbourhood": area["id"], "limit": 1000}).json()["features"]
    by_category: dict[str, int] = {}
    for f in assets:
        by_category[f["properties"]["category"]] = by_category.get(f["properties"]["category"], 0) + 1
    assert summary["assets"]["by_category"] == by_category
    assert summary["assets"]["total"] == len(assets) > 0
    assert client.get("/api/neighbourhoods/999999/summary").status_code == 404


def test_summary_counts_needs_resources_and_links(client: TestClient, berlin: Berlin) -> None:
    admin = berlin.headers("admin")
    a = create_asset(client, berlin, name="Food bank", service_types=["food-support"])
    b = create_asset(client, berlin, name="Tenants union")
    c = create_asset(client, berlin, name="Spandau club", geometry=SPANDAU_POINT)
    need = {"city": "Berlin", "service_type": "food-support", "geometry": MITTE_POINT, "people_affected": 40}
    assert client.post("/api/needs", json=need, headers=admin).status_code == 201
    res = {"kind": "volunteers", "quantity": 6, "unit": "people", "asset_id": a["id"]}
    assert client.post("/api/resources", json=res, headers=admin).status_code == 201
    for source, target in [(a, b), (a, c)]:
        link = {"source_asset_id": source["id"], "target_asset_id": target["id"], "kind": "referral"}
        assert client.post("/api/links", json=link, headers=admin).status_code == 201
    summary = client.get(f"/api/neighbourhoods/{a['properties']['neighbourhood_id']}/summary").json()
    assert summary["needs"]["food-support"] == {"needs": 1, "people_affected": 40}
    assert summary["resources"]["volunteers"] == {"resources": 1, "quantity": 6.0}
    assert summary["links"] == {"inside": 1, "crossing_border": 1}
    assert summary["assets"]["by_service_type"]["food-support"] == 1


def test_needs_accept_points_and_areas_and_refuse_bad_values(client: TestClient, berlin: Berlin) -> None:
    admin = berlin.headers("admin")
    base = {
        "city": "Berlin",
        "service_type": "older-people",
        "geometry": MITTE_POINT,
        "severity": 4,
        "source": "survey",
        "people_affected": 12,
        "observed_on": "2026-10-01",
    }
    point = client.post("/api/needs", json=base, headers=admin)
    assert point.status_code == 201, point.text
    assert point.json()["properties"]["service_type"] == "older-people"
    assert point.json()["properties"]["neighbourhood_id"] is not None
    area = client.post("/api/needs", json={**base, "geometry": SQUARE}, headers=admin)
    assert area.status_code == 201 and area.json()["geometry"]["type"] == "Polygon"
    for change, field in [
        ({"severity": 6}, "severity"),
        ({"severity": 0}, "severity"),
        ({"service_type": "magic"}, "service_type"),
        ({"source": "rumour"}, "source"),
        ({"people_affected": -3}, "people_affected"),
        ({"observed_on": "yesterday"}, "observed_on"),
    ]:
        response = client.post("/api/needs", json={**base, **change}, headers=admin)
        assert response.status_code == 422, change
        body = response.json()
        assert field in [body.get("field")] + [e["field"] for e in body.get("errors", [])]
    listed = client.get("/api/needs", params={"city": "Berlin", "service_type": "older-people"}).json()
    assert len(listed["features"]) == 2


def test_resources_need_an_owner_and_ordered_dates(client: TestClient, berlin: Berlin) -> None:
    admin = berlin.headers("admin")
    asset = create_asset(client, berlin)
    ok = client.post(
        "/api/resources",
        json={
            "kind": "space",
            "asset_id": asset["id"],
            "quantity": 2,
            "unit": "rooms",
            "available_from": "2026-01-01",
            "available_until": "2026-06-30",
        },
        headers=admin,
    )
    assert ok.status_code == 201 and ok.json()["city_id"] == berlin.city_id
    assert client.post("/api/resources", json={"kind": "space"}, headers=admin).status_code == 422
    backwards = client.post(
        "/api/resources",
        json={
            "kind": "space",
            "asset_id": asset["id"],
            "available_from": "2026-06-01",
            "available_until": "2026-01-01",
        },
        headers=admin,
    )
    assert backwards.status_code == 422 and backwards.json()["field"] == "available_until"
    ghost = client.post("/api/resources", json={"kind": "space", "asset_id": 99999999}, headers=admin)
    assert ghost.status_code == 422 and ghost.json()["field"] == "asset_id"
    assert (
        client.post(
            "/api/resources", json={"kind": "gold", "asset_id": asset["id"]}, headers=admin
        ).status_code
        == 422
    )
    items = client.get("/api/resources", params={"city": "Berlin"}).json()
    assert [r["id"] for r in items["items"]] == [ok.json()["id"]]


def test_links_refuse_self_links_and_duplicates_either_way(client: TestClient, berlin: Berlin) -> None:
    admin = berlin.headers("admin")
    a = create_asset(client, berlin, name="A")
    b = create_asset(client, berlin, name="B")
    link = {"source_asset_id": a["id"], "target_asset_id": b["id"], "kind": "partnership", "weight": 2}
    assert client.post("/api/links", json=link, headers=admin).status_code == 201
    dup = client.post("/api/links", json=link, headers=admin)
    assert dup.status_code == 409
    reverse = {**link, "source_asset_id": b["id"], "target_asset_id": a["id"]}
    assert client.post("/api/links", json=reverse, headers=admin).status_code == 409
    other_kind = {**link, "kind": "referral"}
    assert client.post("/api/links", json=other_kind, headers=admin).status_code == 201
    self_link = client.post("/api/links", json={**link, "target_asset_id": a["id"]}, headers=admin)
    assert self_link.status_code == 422 and "itself" in self_link.json()["detail"]
    assert client.post("/api/links", json={**link, "kind": "friendship"}, headers=admin).status_code == 422
    assert (
        client.post("/api/links", json={**link, "target_asset_id": 99999999}, headers=admin).status_code
        == 422
    )


def test_cities_and_service_types(client: TestClient, berlin: Berlin) -> None:
    admin = berlin.headers("admin")
    cities = client.get("/api/cities").json()["items"]
    assert [c["name"] for c in cities] == ["Berlin"] and cities[0]["crs"] == "EPSG:25833"
    assert client.get("/api/cities/berlin").json()["id"] == berlin.city_id
    riga = client.post(
        "/api/cities", json={"name": "Rīga", "country": "Latvia", "crs": "EPSG:3059"}, headers=admin
    )
    assert riga.status_code == 201 and riga.json()["name"] == "Rīga"
    assert client.post("/api/cities", json={"name": "Rīga"}, headers=admin).status_code == 409
    bad_crs = client.post(
        "/api/cities", json={"name": "Gent", "crs": "http://example.org/crs"}, headers=admin
    )
    assert bad_crs.status_code == 422
    types = {s["slug"]: s for s in client.get("/api/service-types").json()["items"]}
    assert (
        types["childcare"]["population_group"] == "under_6" and types["childcare"]["default_radius_m"] == 500
    )
    new = {"slug": "repair-cafe", "name": "Repair café", "default_radius_m": 1200, "population_group": "all"}
    assert client.post("/api/service-types", json=new, headers=admin).status_code == 201
    assert client.post("/api/service-types", json=new, headers=admin).status_code == 409
    assert (
        client.post("/api/service-types", json={**new, "slug": "Bad Slug"}, headers=admin).status_code == 422
    )
    assert (
        client.post(
            "/api/service-types", json={**new, "slug": "x", "default_radius_m": -5}, headers=admin
        ).status_code
        == 422
    )
    assert (
        client.post(
            "/api/service-types", json={**new, "slug": "y", "population_group": "cats"}, headers=admin
        ).status_code
        == 422
    )
    changed = client.patch("/api/service-types/repair-cafe", json={"default_radius_m": 900}, headers=admin)
    assert changed.json()["default_radius_m"] == 900
    need = {"city": "Berlin", "service_type": "repair-cafe", "geometry": MITTE_POINT}
    assert client.post("/api/needs", json=need, headers=admin).status_code == 201
    assert client.delete("/api/service-types/repair-cafe", headers=admin).status_code == 409
    assert client.get("/api/service-types/nope").status_code == 404


def test_health_docs_and_openapi(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["status"] == "ready"
    spec = client.get("/openapi.json").json()
    assert (
        "/api/assets" in spec["paths"] and "/api/neighbourhoods/{neighbourhood_id}/summary" in spec["paths"]
    )
    docs = client.get("/docs")
    assert (
        docs.status_code == 200
        and "/static/vendor/swagger-ui/" in docs.text
        and "cdn" not in docs.text.lower()
    )


def test_unexpected_errors_are_500_without_sql_or_trace(client: TestClient) -> None:
    @client.app.get("/boom")  # type: ignore[attr-defined, untyped-decorator]
    def boom() -> None:
        raise RuntimeError('SELECT password_hash FROM app_user WHERE "secret"')

    response = client.get("/boom")
    assert response.status_code == 500
    text = response.text
    assert "SELECT" not in text and "password_hash" not in text and "Traceback" not in text
    assert "reference" in response.json()["detail"]


def test_neighbourhood_filter_works_for_every_list(client: TestClient, berlin: Berlin) -> None:
    admin = berlin.headers("admin")
    a = create_asset(client, berlin, name="Mitte A")
    b = create_asset(client, berlin, name="Spandau B", geometry=SPANDAU_POINT)
    mitte = a["properties"]["neighbourhood_id"]
    link = client.post(
        "/api/links",
        json={"source_asset_id": b["id"], "target_asset_id": a["id"], "kind": "referral"},
        headers=admin,
    ).json()
    res = client.post("/api/resources", json={"kind": "equipment", "asset_id": a["id"]}, headers=admin).json()
    assert [x["id"] for x in client.get("/api/links", params={"neighbourhood": mitte}).json()["items"]] == [
        link["id"]
    ]
    assert [
        x["id"] for x in client.get("/api/resources", params={"neighbourhood": mitte}).json()["items"]
    ] == [res["id"]]
    district = client.get(f"/api/neighbourhoods/{mitte}").json()["properties"]["parent_id"]
    children = client.get("/api/neighbourhoods", params={"neighbourhood": district}).json()["features"]
    assert mitte in [f["id"] for f in children] and all(
        f["properties"]["parent_id"] == district for f in children
    )


def test_out_of_range_ids_and_nul_characters_are_4xx(client: TestClient, berlin: Berlin) -> None:
    assert client.get("/api/cities/99999999999").status_code == 404
    assert client.get("/api/assets", params={"city": "99999999999"}).status_code == 404
    for url in ("/api/cities/Ber%00lin", "/api/service-types/a%00b", "/api/assets?q=a%00b"):
        response = client.get(url)
        assert 400 <= response.status_code < 500, (url, response.status_code)
