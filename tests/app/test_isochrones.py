"""GET /api/cities/{city}/isochrones: an asset's walking-time catchments on the city's street network as GeoJSON,
checked against the geometry code on Berlin's network; people and sensitive places refused, clear 4xx otherwise."""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import pytest
import shapely
from fastapi.testclient import TestClient
from shapely.geometry import shape
from sqlalchemy import text

from tests.app.test_analysis_api import LONE_KINDERGARTEN, asset_id_named
from tests.conftest import Berlin


def _get(client: TestClient, city: str, **params: Any) -> Any:
    return client.get(f"/api/cities/{city}/isochrones", params=params)


def _new_asset(client: TestClient, berlin: Berlin, city: str, **fields: Any) -> int:
    body = {
        "city": city,
        "name": fields.pop("name", "Test place"),
        "category": fields.pop("category", "physical_space"),
        "geometry": {"type": "Point", "coordinates": fields.pop("at", [13.455, 52.51])},
        **fields,
    }
    created = client.post("/api/assets", json=body, headers=berlin.headers("admin"))
    assert created.status_code == 201, created.text
    return created.json()["id"]  # type: ignore[no-any-return]


def test_isochrones_of_a_kindergarten_on_berlins_streets(client: TestClient, berlin: Berlin) -> None:
    kita = asset_id_named(client, LONE_KINDERGARTEN)
    response = _get(client, "Berlin", asset=kita, minutes="5,10,15")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/geo+json")
    body = response.json()
    with berlin.engine.connect() as conn:
        network_id = conn.execute(
            text("SELECT id FROM street_network WHERE city_id = :c"), {"c": berlin.city_id}
        ).scalar_one()
    assert body["type"] == "FeatureCollection" and body["name"] == LONE_KINDERGARTEN
    assert body["network"]["network_id"] == network_id and body["speed_m_per_min"] == 80
    assert [f["properties"]["minutes"] for f in body["features"]] == [5, 10, 15]
    assert body["on_network"] and body["snap_m"] is not None and body["snap_m"] >= 0
    shapes = gpd.GeoSeries([shape(f["geometry"]) for f in body["features"]], crs=4326).to_crs(25833)
    areas = shapes.area.to_numpy()
    assert areas[0] > 0 and areas[0] < areas[1] < areas[2]
    # Longer walks reach everything the shorter ones do, and no walk goes farther than its length.
    assert shapes[2].buffer(1).contains(shapes[0])
    asset = gpd.GeoSeries(
        [shapely.Point(*client.get(f"/api/assets/{kita}").json()["geometry"]["coordinates"])], crs=4326
    ).to_crs(25833)[0]
    for minutes, polygon, feature in zip((5, 10, 15), shapes, body["features"], strict=True):
        props = feature["properties"]
        assert props["network_id"] == network_id and props["snap_m"] == body["snap_m"]
        assert props["walk_m"] == minutes * 80
        assert polygon.hausdorff_distance(asset) <= minutes * 80 + 50 + 1
    # The default times are 5, 10 and 15 minutes.
    default = _get(client, "Berlin", asset=kita).json()
    assert [f["properties"]["minutes"] for f in default["features"]] == [5, 10, 15]
    assert default["features"][0]["geometry"] == body["features"][0]["geometry"]


@pytest.mark.parametrize(
    ("minutes", "problem"),
    [
        ("0", "numbers above 0"),
        ("five", "numbers above 0"),
        ("5,120", "at most 60"),
        ("1,2,3,4,5,6,7", "at most 6 walking times"),
    ],
)
def test_bad_minutes_are_a_422_naming_the_field(
    client: TestClient, berlin: Berlin, minutes: str, problem: str
) -> None:
    kita = asset_id_named(client, LONE_KINDERGARTEN)
    response = _get(client, "Berlin", asset=kita, minutes=minutes)
    assert response.status_code == 422, response.text
    assert problem in response.text and response.json()["errors"][0]["field"] == "minutes"


def test_unknown_and_unseen_assets_are_not_found(client: TestClient, berlin: Berlin) -> None:
    missing = _get(client, "Berlin", asset=2147483647)
    assert missing.status_code == 404 and "no asset 2147483647 in Berlin" in missing.text
    assert _get(client, "Nowhere-City", asset=1).status_code == 404
    # Pending (not yet reviewed) places are not shown to anonymous readers.
    pending = client.post(
        "/api/assets",
        json={
            "city": "Berlin",
            "name": "Neuer Treff",
            "category": "physical_space",
            "geometry": {"type": "Point", "coordinates": [13.455, 52.51]},
        },
        headers=berlin.headers("contributor"),
    )
    assert pending.status_code == 201, pending.text
    assert pending.json()["properties"]["status"] != "approved"
    assert _get(client, "Berlin", asset=pending.json()["id"]).status_code == 404
    # Its author sees it, and gets its catchment.
    own = client.get(
        "/api/cities/Berlin/isochrones",
        params={"asset": pending.json()["id"], "minutes": "5"},
        headers=berlin.headers("contributor"),
    )
    assert own.status_code == 200, own.text


@pytest.mark.parametrize("extra", [{"category": "individual"}, {"sensitive": True}])
def test_people_and_sensitive_places_are_refused(
    client: TestClient, berlin: Berlin, extra: dict[str, Any]
) -> None:
    hidden = _new_asset(client, berlin, "Berlin", name="Ana (Tagesmutter)", **extra)
    for role in ("planner", "admin"):
        response = client.get(
            "/api/cities/Berlin/isochrones", params={"asset": hidden}, headers=berlin.headers(role)
        )
        assert response.status_code == 403, response.text
        assert "not drawn for people" in response.text
    # Nothing of the place leaks to an anonymous reader either (403 or 404, never a polygon).
    assert _get(client, "Berlin", asset=hidden).status_code in (403, 404)


def test_a_city_without_a_street_network_is_a_422(client: TestClient, berlin: Berlin) -> None:
    admin = berlin.headers("admin")
    city = client.post(
        "/api/cities", json={"name": "Ohnestrassen", "country": "Germany", "crs": "EPSG:25833"}, headers=admin
    )
    assert city.status_code == 201, city.text
    asset = _new_asset(client, berlin, "Ohnestrassen", at=[13.005, 52.005])
    response = _get(client, "Ohnestrassen", asset=asset)
    assert response.status_code == 422, response.text
    assert "Ohnestrassen has no street network" in response.text and "streets import" in response.text
    # An asset of another city is not one of this city's.
    assert _get(client, "Berlin", asset=asset).status_code == 404
