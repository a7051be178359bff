"""Analysis outputs never give away where a person (category individual) or a sensitive asset is to readers
without planner rights: cells, neighbourhoods, per-asset rows, scenarios, the network and the maps."""

from __future__ import annotations

import math
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pyproj import Transformer

from tests.app.helpers import create_asset
from tests.app.test_analysis_api import start_run
from tests.conftest import Berlin

# In the woods of Treptow-Köpenick 5 (0950), 4.5 km from the nearest kindergarten and about 180 m from the centre
# of its H3 cell (resolution 8), which is where everyone without planner rights is shown a person.
PERSON = (13.68228, 52.42948)
PERSON_NAME = "Childminder Anna Beispiel"
TO_METRES = Transformer.from_crs("EPSG:4326", "EPSG:25833", always_xy=True)


def metres_apart(a: tuple[float, float], b: tuple[float, float]) -> float:
    (ax, bx), (ay, by) = TO_METRES.transform([a[0], b[0]], [a[1], b[1]])
    return math.hypot(ax - bx, ay - by)


@pytest.fixture
def childminder(client: TestClient, berlin: Berlin) -> dict[str, Any]:
    """A person who looks after under-6s at home, offering childcare; their blurred location as the API shows it."""
    feature = create_asset(
        client,
        berlin,
        name=PERSON_NAME,
        category="individual",
        service_types=["childcare"],
        capacity=4,
        contact="anna@example.org",
        geometry={"type": "Point", "coordinates": list(PERSON)},
    )
    # GIS staff see people blurred (one person alone is a suppressed count the public does not get at all)
    shown = client.get(f"/api/assets/{feature['id']}", headers=berlin.headers("gis")).json()
    assert shown["properties"]["location_blurred"] is True
    blurred = tuple(shown["geometry"]["coordinates"])
    assert 100 < metres_apart(PERSON, blurred) < 300
    return {"id": feature["id"], "shown": blurred}


def all_cells(client: TestClient, run_id: int, headers: dict[str, str]) -> dict[str, dict[str, Any]]:
    body = client.get(f"/api/analysis/runs/{run_id}/cells", params={"limit": 10_000}, headers=headers).json()
    assert body["next"] is None
    return {f["id"]: f for f in body["features"]}


def test_public_cells_measure_from_where_the_person_is_shown(
    client: TestClient, berlin: Berlin, childminder: dict[str, Any]
) -> None:
    run = start_run(client, berlin)
    assert run["data"]["private_assets"] == 1
    planner_cells = all_cells(client, run["id"], berlin.headers("planner"))
    public_cells = all_cells(client, run["id"], {})
    assert planner_cells.keys() == public_cells.keys()
    checked = differing = 0
    for unit_id, cell in planner_cells.items():
        centre = tuple(cell["geometry"]["coordinates"])
        if metres_apart(centre, PERSON) > 1500:
            continue
        checked += 1
        # nothing else offers childcare within 4 km: the nearest asset is the person
        assert cell["properties"]["distance_m"] == pytest.approx(metres_apart(centre, PERSON), abs=1.0)
        public = public_cells[unit_id]["properties"]
        assert public["distance_m"] == pytest.approx(metres_apart(centre, childminder["shown"]), abs=1.0)
        differing += abs(public["distance_m"] - cell["properties"]["distance_m"]) > 20
    assert checked > 50 and differing > checked // 2
    # far away the two views agree
    far = next(
        u
        for u, c in planner_cells.items()
        if metres_apart(tuple(c["geometry"]["coordinates"]), PERSON) > 8000
    )
    assert public_cells[far]["properties"] == planner_cells[far]["properties"]


def test_per_asset_outputs_leave_people_out_for_the_public(
    client: TestClient, berlin: Berlin, childminder: dict[str, Any]
) -> None:
    run = start_run(client, berlin)
    planner = client.get(f"/api/analysis/runs/{run['id']}/assets", headers=berlin.headers("planner")).json()
    public = client.get(f"/api/analysis/runs/{run['id']}/assets").json()
    assert childminder["id"] in {row["id"] for row in planner["items"]}
    assert childminder["id"] not in {row["id"] for row in public["items"]}
    assert public["numberReturned"] == 1175
    # one person is a small count: not even how many were left out is told
    assert public["withheld"] is None
    assert client.get(f"/api/analysis/runs/{run['id']}").json()["data"]["private_assets"] is None
    texts = [
        client.get(f"/api/analysis/runs/{run['id']}/{part}").text for part in ("assets", "neighbourhoods")
    ] + [
        client.get(f"/api/analysis/runs/{run['id']}").text,
        client.get("/api/analysis/network", params={"city": "Berlin"}).text,
    ]
    for text in texts:
        assert PERSON_NAME not in text and "anna@example.org" not in text
    public_network = client.get("/api/analysis/network", params={"city": "Berlin"}).json()
    assert PERSON not in {(a["lon"], a["lat"]) for a in public_network["assets"]}
    assert childminder["id"] not in {a["id"] for a in public_network["assets"]}
    network = client.get(
        "/api/analysis/network", params={"city": "Berlin"}, headers=berlin.headers("planner")
    ).json()
    assert PERSON in {(a["lon"], a["lat"]) for a in network["assets"] if a["id"] == childminder["id"]}


def test_public_neighbourhood_numbers_are_those_of_the_shown_location(
    client: TestClient, berlin: Berlin, childminder: dict[str, Any]
) -> None:
    run = start_run(client, berlin)
    planner = {
        f["properties"]["code"]: f["properties"]
        for f in client.get(
            f"/api/analysis/runs/{run['id']}/neighbourhoods", headers=berlin.headers("planner")
        ).json()["features"]
    }
    public = {
        f["properties"]["code"]: f["properties"]
        for f in client.get(f"/api/analysis/runs/{run['id']}/neighbourhoods").json()["features"]
    }
    assert public["0950"]["mean_distance_m"] != planner["0950"]["mean_distance_m"]
    assert public["0110"] == planner["0110"]  # Mitte is far away: the same numbers
    assert all(PERSON_NAME not in p["nearest_assets"] for p in public.values())
    assert PERSON_NAME in planner["0950"]["nearest_assets"]


def test_scenarios_and_maps_keep_the_person_blurred(
    client: TestClient, berlin: Berlin, childminder: dict[str, Any]
) -> None:
    run = start_run(client, berlin)
    organiser = client.post(
        f"/api/analysis/runs/{run['id']}/what-if",
        json={"close": [childminder["id"]]},
        headers=berlin.headers("organiser"),
    ).json()
    planner = client.post(
        f"/api/analysis/runs/{run['id']}/what-if",
        json={"close": [childminder["id"]]},
        headers=berlin.headers("planner"),
    ).json()
    # the same neighbourhoods lose coverage in both views (the person is near the 0940/0950 border)
    assert {n["code"] for n in organiser["neighbourhoods"]} == {n["code"] for n in planner["neighbourhoods"]}
    assert "0950" in {n["code"] for n in organiser["neighbourhoods"]}
    assert "units_losing_coverage" not in organiser and planner["units_losing_coverage"]

    def drawn_at(page: str, lon: float, lat: float) -> bool:
        # marker data is [lat, lon, ...]; GeoJSON points and catchment circles are [lon, lat] (5 decimals)
        return f"[{lat:.5f}, {lon:.5f}" in page or f"[{lon:.5f}, {lat:.5f}]" in page

    public_page = client.get("/maps/gaps", params={"run": run["id"]})
    assert public_page.status_code == 200
    assert not drawn_at(public_page.text, *PERSON)
    # one person alone is a count the public does not get: not drawn at all; GIS staff see the blurred marker
    assert not drawn_at(public_page.text, *childminder["shown"])
    assert "anna@example.org" not in public_page.text
    gis_page = client.get("/maps/gaps", params={"run": run["id"]}, headers=berlin.headers("gis"))
    assert drawn_at(gis_page.text, *childminder["shown"]) and not drawn_at(gis_page.text, *PERSON)
    assert "anna@example.org" not in gis_page.text
    planner_page = client.get("/maps/gaps", params={"run": run["id"]}, headers=berlin.headers("planner"))
    assert drawn_at(planner_page.text, *PERSON)
    network_page = client.get("/maps/network", params={"city": "Berlin"})
    assert network_page.status_code == 200
    assert not drawn_at(network_page.text, *PERSON) and PERSON_NAME not in network_page.text
    planner_network = client.get(
        "/maps/network", params={"city": "Berlin"}, headers=berlin.headers("planner")
    )
    assert drawn_at(planner_network.text, *PERSON)
