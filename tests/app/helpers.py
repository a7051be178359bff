"""Small helpers for API tests."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.conftest import Berlin

# A point inside Berlin forecast area 0110 (Mitte 1, around Alexanderplatz) and one in Spandau.
MITTE_POINT = {"type": "Point", "coordinates": [13.4132, 52.5219]}
SPANDAU_POINT = {"type": "Point", "coordinates": [13.2001, 52.5353]}


def create_asset(client: TestClient, berlin: Berlin, role: str = "admin", **fields: Any) -> dict[str, Any]:
    """Create an asset through the API and return the Feature (asserting success)."""
    body = {"city": "Berlin", "name": "Reading group", "category": "association", "geometry": MITTE_POINT}
    body.update(fields)
    response = client.post("/api/assets", json=body, headers=berlin.headers(role))
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]
