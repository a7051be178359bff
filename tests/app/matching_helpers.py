"""Hand-made matching data through the API: needs, assets with resources, links (tests/app/test_matching*.py)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi.testclient import TestClient
from pyproj import Geod

from tests.app.helpers import MITTE_POINT, create_asset
from tests.conftest import Berlin

SERVICE = "older-people"
NEED_LON, NEED_LAT = MITTE_POINT["coordinates"]
WGS84 = Geod(ellps="WGS84")
TODAY = dt.date.today()


def point_at(east_m: float, north_m: float = 0.0) -> dict[str, Any]:
    """A GeoJSON point `east_m` east and `north_m` north of the need (geodesic, on WGS84)."""
    lon, lat, _ = WGS84.fwd(NEED_LON, NEED_LAT, 90.0, east_m)
    lon, lat, _ = WGS84.fwd(lon, lat, 0.0, north_m)
    return {"type": "Point", "coordinates": [lon, lat]}


def distance_to_need_m(point: dict[str, Any]) -> float:
    """The geodesic distance from the need to a point, worked out without the database."""
    lon, lat = point["coordinates"]
    return float(WGS84.inv(NEED_LON, NEED_LAT, lon, lat)[2])


def create_need(client: TestClient, berlin: Berlin, **fields: Any) -> dict[str, Any]:
    """A published need for older people at the Mitte point."""
    body = {"city": "Berlin", "service_type": SERVICE, "people_affected": 12, "geometry": MITTE_POINT}
    body.update(fields)
    response = client.post("/api/needs", json=body, headers=berlin.headers("admin"))
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def create_resource(client: TestClient, berlin: Berlin, asset_id: int, **fields: Any) -> dict[str, Any]:
    """A resource of an asset (default: 10 hours of volunteering, always available)."""
    body = {"kind": "volunteers", "quantity": 10, "unit": "hours", "asset_id": asset_id}
    body.update(fields)
    response = client.post("/api/resources", json=body, headers=berlin.headers("admin"))
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def offering(client: TestClient, berlin: Berlin, point: dict[str, Any], **fields: Any) -> tuple[int, int]:
    """An asset offering the need's service at `point` with one resource: (asset id, resource id)."""
    asset_fields = {"service_types": [SERVICE], "geometry": point}
    asset_fields.update(
        {k: v for k, v in fields.items() if k in {"name", "category", "contact", "sensitive"}}
    )
    asset = create_asset(client, berlin, **asset_fields)
    resource_fields = {k: v for k, v in fields.items() if k not in asset_fields}
    resource = create_resource(client, berlin, asset["id"], **resource_fields)
    return asset["id"], resource["id"]


def link(client: TestClient, berlin: Berlin, source: int, target: int) -> None:
    """A published partnership between two assets."""
    response = client.post(
        "/api/links",
        json={"source_asset_id": source, "target_asset_id": target, "kind": "partnership"},
        headers=berlin.headers("admin"),
    )
    assert response.status_code == 201, response.text


def matches(
    client: TestClient, berlin: Berlin, need_id: int, role: str | None = "organiser", **params: Any
) -> dict[str, Any]:
    """GET /api/needs/{id}/matches as `role`."""
    response = client.get(f"/api/needs/{need_id}/matches", params=params, headers=berlin.headers(role))
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]
