"""Privacy of cases: a sensitive asset's exact location and a community body's contact never reach the public
register, its exports or feeds; and a case's days are counted in the city's time zone."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient

from tests.app.helpers import MITTE_POINT, create_asset
from tests.conftest import Berlin

CONTACT = "only-for-staff@example.org"
EXACT = MITTE_POINT["coordinates"]
PUBLIC_READS = (
    "/api/cases",
    "/api/cases/register.csv",
    "/api/cases/register.geojson",
    "/api/cases/deadlines.ics",
    "/api/cases/events.atom",
    "/api/cases/due-soon",
    "/cases",
    "/cases/due-soon",
)


def listed_case(client: TestClient, berlin: Berlin, **asset: Any) -> dict[str, Any]:
    place = create_asset(client, berlin, name="Safe house hall", category="physical_space", **asset)
    opened = client.post(
        "/api/cases",
        json={
            "city": "Berlin",
            "kind": "acv",
            "asset_id": place["id"],
            "community_body": {"name": "Shelter group", "kind": "charity", "contact": CONTACT},
            "opened_on": "2026-01-05",
        },
        headers=berlin.headers("organiser"),
    )
    assert opened.status_code == 201, opened.text
    listed = client.post(
        f"/api/cases/{opened.json()['id']}/events",
        json={"kind": "listed", "on": "2026-02-02"},
        headers=berlin.headers("planner"),
    )
    assert listed.status_code == 201, listed.text
    return listed.json()  # type: ignore[no-any-return]


def coordinates_text(lon: float, lat: float) -> list[str]:
    return [f"{lon:.6f}".rstrip("0"), f"{lat:.6f}".rstrip("0"), f"{lon}", f"{lat}"]


def test_no_public_read_gives_a_contact_or_a_sensitive_assets_exact_location(
    client: TestClient, berlin: Berlin
) -> None:
    case = listed_case(client, berlin, sensitive=True)
    assert case["geometry"]["coordinates"] == EXACT  # the organiser may see it exactly
    for url in PUBLIC_READS:
        response = client.get(url, params={"city": "Berlin"})
        assert response.status_code == 200, (url, response.text)
        assert CONTACT not in response.text, url
        for text in coordinates_text(*EXACT):
            assert text not in response.text, (url, text)
    single = client.get(f"/api/cases/{case['id']}")
    if single.status_code == 200:  # shown blurred, or (too few sensitive assets nearby) not at all
        assert single.json()["geometry"]["coordinates"] != EXACT
        assert single.json()["community_body"]["contact"] is None
    else:
        assert single.status_code == 404
    assert CONTACT not in client.get(f"/cases/{case['id']}").text
    planner = client.get(f"/api/cases/{case['id']}", headers=berlin.headers("planner")).json()
    assert planner["geometry"]["coordinates"] == EXACT and planner["community_body"]["contact"] == CONTACT


def test_contributors_and_other_signed_in_readers_see_the_public_view(
    client: TestClient, berlin: Berlin
) -> None:
    case = listed_case(client, berlin)
    seen = client.get(f"/api/cases/{case['id']}", headers=berlin.headers("contributor")).json()
    assert seen["community_body"]["contact"] is None
    assert all(e["note"] is None for e in seen["events"])
    ics = client.get("/api/cases/deadlines.ics", headers=berlin.headers("contributor"))
    assert CONTACT not in ics.text


def test_days_are_counted_in_the_citys_time_zone(client: TestClient, berlin: Berlin) -> None:
    admin = berlin.headers("admin")
    # UTC+14 and UTC-11 are 25 hours apart: Kiritimati's today is always a day (or two) after Pago Pago's
    kiritimati = dt.datetime.now(ZoneInfo("Pacific/Kiritimati")).date()
    body = {
        "city": "Berlin",
        "kind": "transfer",
        "asset": {"name": "Boathouse", "geometry": MITTE_POINT},
        "community_body": {"name": "Rowing club", "kind": "voluntary_body"},
        "opened_on": kiritimati.isoformat(),
    }
    try:
        set_late = client.put(
            "/api/cases/regimes/Berlin", json={"time_zone": "Pacific/Pago_Pago"}, headers=admin
        )
        assert set_late.status_code == 200
        refused = client.post("/api/cases", json=body, headers=berlin.headers("organiser"))
        assert refused.status_code == 409 and "after today" in refused.json()["detail"]
        client.put("/api/cases/regimes/Berlin", json={"time_zone": "Pacific/Kiritimati"}, headers=admin)
        opened = client.post("/api/cases", json=body, headers=berlin.headers("organiser"))
        assert opened.status_code == 201, opened.text
        assert opened.json()["today"] == kiritimati.isoformat()
        assert opened.json()["time_zone"] == "Pacific/Kiritimati"
    finally:
        client.put("/api/cases/regimes/Berlin", json={"reset": True}, headers=admin)
