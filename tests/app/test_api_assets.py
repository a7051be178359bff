"""Assets through the API: create, read, list with filters and keyset paging, update, delete, and bad input."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.app.helpers import MITTE_POINT, SPANDAU_POINT, create_asset
from tests.conftest import Berlin


def test_create_asset_derives_neighbourhood_and_returns_geojson(client: TestClient, berlin: Berlin) -> None:
    feature = create_asset(
        client,
        berlin,
        name="Community garden",
        category="physical_space",
        service_types=["community-space"],
        capacity=30,
    )
    assert feature["type"] == "Feature"
    assert feature["geometry"] == MITTE_POINT
    props = feature["properties"]
    mitte_1 = client.get(f"/api/neighbourhoods/{props['neighbourhood_id']}").json()
    assert mitte_1["properties"]["code"] == "0110"
    assert props["service_types"] == ["community-space"]
    assert props["capacity"] == 30
    assert props["version"] == 1
    got = client.get(f"/api/assets/{feature['id']}")
    assert got.status_code == 200
    assert got.headers["content-type"].startswith("application/geo+json")
    assert got.headers["etag"] == '"1"'
    assert got.json()["properties"]["name"] == "Community garden"


def test_moving_an_asset_moves_its_neighbourhood(client: TestClient, berlin: Berlin) -> None:
    feature = create_asset(client, berlin)
    moved = client.patch(
        f"/api/assets/{feature['id']}",
        json={"geometry": SPANDAU_POINT, "version": 1},
        headers=berlin.headers("admin"),
    )
    assert moved.status_code == 200, moved.text
    nb = client.get(f"/api/neighbourhoods/{moved.json()['properties']['neighbourhood_id']}").json()
    assert nb["properties"]["name"].startswith("Spandau")
    assert moved.json()["properties"]["version"] == 2


def test_point_outside_every_neighbourhood_has_none(client: TestClient, berlin: Berlin) -> None:
    feature = create_asset(client, berlin, geometry={"type": "Point", "coordinates": [12.0, 51.0]})
    assert feature["properties"]["neighbourhood_id"] is None


def test_list_filters_by_city_category_and_returns_next_link(client: TestClient, berlin: Berlin) -> None:
    response = client.get("/api/assets", params={"city": "Berlin", "category": "institution", "limit": 5})
    assert response.status_code == 200
    body = response.json()
    assert body["type"] == "FeatureCollection"
    assert len(body["features"]) == 5
    assert {f["properties"]["category"] for f in body["features"]} == {"institution"}
    ids = [f["id"] for f in body["features"]]
    assert ids == sorted(ids)
    assert body["next"] is not None and f"after={ids[-1]}" in body["next"]
    second = client.get(body["next"]).json()
    assert second["features"][0]["id"] > ids[-1]


def test_keyset_paging_walks_every_item_once(client: TestClient, berlin: Berlin) -> None:
    seen: list[int] = []
    url: str | None = "/api/assets?city=Berlin&service_type=health&limit=50"
    while url:
        body = client.get(url).json()
        seen += [f["id"] for f in body["features"]]
        url = body["next"]
    assert len(seen) == len(set(seen)) == 132  # every clinic in the sample, each once


def test_filters_service_type_bbox_text_and_neighbourhood(client: TestClient, berlin: Berlin) -> None:
    libraries = client.get(
        "/api/assets", params={"city": "Berlin", "service_type": "learning", "limit": 1000}
    ).json()
    assert len(libraries["features"]) == 131
    found = client.get("/api/assets", params={"q": "Bruno-Lösche"}).json()
    assert [f["properties"]["name"] for f in found["features"]] == ["Bruno-Lösche-Bibliothek"]
    bbox = "13.40,52.51,13.42,52.53"
    boxed = client.get("/api/assets", params={"bbox": bbox, "limit": 1000}).json()["features"]
    assert boxed and all(
        13.40 <= f["geometry"]["coordinates"][0] <= 13.42
        and 52.51 <= f["geometry"]["coordinates"][1] <= 52.53
        for f in boxed
    )
    nb = boxed[0]["properties"]["neighbourhood_id"]
    in_nb = client.get("/api/assets", params={"neighbourhood": nb, "limit": 1000}).json()["features"]
    assert in_nb and {f["properties"]["neighbourhood_id"] for f in in_nb} == {nb}


def test_like_wildcards_in_q_are_literal(client: TestClient, berlin: Berlin) -> None:
    assert client.get("/api/assets", params={"q": "%"}).json()["features"] == []


def test_bad_list_parameters_are_422_naming_the_parameter(client: TestClient) -> None:
    for params, field in [
        ({"bbox": "1,2,3"}, "bbox"),
        ({"bbox": "nan,0,1,1"}, "bbox"),
        ({"bbox": "10,0,5,1"}, "bbox"),
        ({"bbox": "0,-100,1,1"}, "bbox"),
        ({"limit": 0}, "limit"),
        ({"limit": 100000}, "limit"),
        ({"category": "wizard"}, "category"),
        ({"status": "everything"}, "status"),
    ]:
        response = client.get("/api/assets", params=params)
        assert response.status_code == 422, (params, response.text)
        assert response.json()["field"] == field
    assert client.get("/api/assets", params={"city": "Atlantis"}).status_code == 404


def test_bad_asset_input_is_422_naming_field_and_problem(client: TestClient, berlin: Berlin) -> None:
    admin = berlin.headers("admin")
    base = {"city": "Berlin", "name": "Qqz never written", "category": "association", "geometry": MITTE_POINT}
    cases = [
        ({"geometry": {"type": "Point", "coordinates": [200, 52]}}, "geometry", "out of range"),
        ({"geometry": {"type": "Point", "coordinates": [13, 95]}}, "geometry", "out of range"),
        (
            {"geometry": {"type": "LineString", "coordinates": [[13, 52], [13.1, 52.1]]}},
            "geometry",
            "not accepted",
        ),
        ({"geometry": {"type": "Point", "coordinates": "x"}}, "geometry", "malformed"),
        ({"geometry": {"coordinates": [1, 2]}}, "geometry", "GeoJSON"),
        ({"category": "wizard"}, "category", "Input should be"),
        ({"service_types": ["teleportation"]}, "service_types", "unknown service type"),
        ({"capacity": -1}, "capacity", "greater than or equal"),
        ({"name": ""}, "name", "at least 1"),
        ({"colour": "red"}, "colour", "Extra inputs"),
    ]
    for change, field, words in cases:
        response = client.post("/api/assets", json={**base, **change}, headers=admin)
        assert response.status_code == 422, (change, response.text)
        body = response.json()
        fields = [body.get("field")] + [e["field"] for e in body.get("errors", [])]
        assert field in fields, (change, body)
        assert words.lower() in body["detail"].lower(), (change, body)
    assert client.post("/api/assets", json={**base, "city": "Atlantis"}, headers=admin).status_code == 404
    # and nothing was written by any of them
    assert (
        client.get("/api/assets", params={"q": "Qqz never", "status": "all"}, headers=admin).json()[
            "features"
        ]
        == []
    )


def test_malformed_json_is_422_not_500(client: TestClient, berlin: Berlin) -> None:
    response = client.post(
        "/api/assets",
        content=b"{not json",
        headers={**berlin.headers("admin"), "content-type": "application/json"},
    )
    assert response.status_code == 422


def test_update_requires_current_version_and_delete_is_404_after(client: TestClient, berlin: Berlin) -> None:
    admin = berlin.headers("admin")
    feature = create_asset(client, berlin)
    url = f"/api/assets/{feature['id']}"
    assert client.patch(url, json={"name": "Renamed"}, headers=admin).status_code == 428
    ok = client.patch(url, json={"name": "Renamed"}, headers={**admin, "If-Match": '"1"'})
    assert ok.status_code == 200 and ok.json()["properties"]["name"] == "Renamed"
    assert ok.headers["etag"] == '"2"'
    assert client.delete(url, headers=admin).status_code == 204
    assert client.get(url).status_code == 404
    assert client.patch(url, json={"name": "again", "version": 2}, headers=admin).status_code == 404
    assert client.get("/api/assets/999999999").status_code == 404
    assert client.get("/api/assets/0").status_code == 422
