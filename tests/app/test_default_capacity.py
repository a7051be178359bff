"""Unknown capacity said plainly (docs/ANALYSIS.md "Unknown capacity"): the run answer, default capacities per
service type and per city, who may set them, and what a default changes in a run on the Berlin sample."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.app.test_analysis_api import (
    TOP_BEYOND_REACH_CODES,
    TOP_UNMET_CODES,
    neighbourhood_results,
    set_default_capacity,
    start_run,
)
from tests.conftest import Berlin

SERVICE_ROUTE = "/api/service-types/childcare/default-capacity"
CITY_ROUTE = "/api/cities/Berlin/service-types/childcare/default-capacity"


def test_a_run_where_every_capacity_is_unknown_says_so_and_ranks_by_reach(
    client: TestClient, berlin: Berlin
) -> None:
    run = start_run(client, berlin)
    totals = run["totals"]
    # OSM lists no kindergarten's places: all 1175 capacities are unknown and no default is set
    assert totals["n_unknown_capacity"] == totals["n_assets"] == 1175
    assert totals["default_capacity"] is None and totals["capacity_computable"] is False
    assert totals["unmet_need"] is None and totals["gap_share"] is None and totals["total_capacity"] is None
    assert totals["ranked_by"] == "uncovered_need"
    assert round(100 * totals["covered_share"], 2) == 51.18  # distance coverage is always computed
    assert run["capacity"] == {
        "n_assets": 1175,
        "n_unknown_capacity": 1175,
        "default_capacity": None,
        "unmet_need_computable": False,
        "ranked_by": "uncovered_need",
    }
    assert run["warnings"] == [
        "capacity unknown for 1175 of 1175 assets: unmet need not computed (set a default with "
        "`assetmap capacity set --service childcare --capacity C`, or PUT /api/service-types/childcare/default-capacity)"
    ]
    assert run["params"]["default_capacity"] is None
    listed = client.get("/api/analysis/runs", params={"city": "Berlin"}).json()["items"]
    assert next(r for r in listed if r["id"] == run["id"])["warnings"] == run["warnings"]
    # no meaningless unmet-need ranking: every neighbourhood's unmet need is null, the ranking is by reach
    props = list(neighbourhood_results(client, run["id"]).values())
    assert all(
        p["unmet_need"] is None and p["gap_share"] is None and p["access_score"] is None for p in props
    )
    ranked = sorted(props, key=lambda p: -p["uncovered_need"])
    assert [p["code"] for p in ranked[:5]] == TOP_BEYOND_REACH_CODES
    assert sum(p["uncovered_need"] for p in props) == pytest.approx(totals["uncovered_need"])
    assets = client.get(f"/api/analysis/runs/{run['id']}/assets").json()["items"]
    assert all(a["capacity_used"] is None and a["ratio"] is None for a in assets)


def test_a_default_capacity_is_used_recorded_and_changes_the_run(client: TestClient, berlin: Berlin) -> None:
    before = start_run(client, berlin)
    set_default_capacity(client, berlin, 60)
    run = start_run(client, berlin)
    totals = run["totals"]
    assert run["params"]["default_capacity"] == 60 and run["data"]["default_capacity"] == 60
    assert totals["default_capacity"] == 60 and totals["n_default_capacity"] == 1175
    assert totals["capacity_computable"] is True and totals["ranked_by"] == "unmet_need"
    assert totals["total_capacity"] == 60 * 1175
    assert run["warnings"] == ["capacity unknown for 1175 of 1175 assets: used the default capacity 60"]
    ranked = sorted(neighbourhood_results(client, run["id"]).values(), key=lambda p: -p["unmet_need"])
    assert [p["code"] for p in ranked[:5]] == TOP_UNMET_CODES
    assert before["params"] != run["params"]  # a gap map view takes a new run, not the old one
    # a city's own default overrides the service type's
    response = client.put(CITY_ROUTE, json={"capacity": 45}, headers=berlin.headers("admin"))
    assert response.status_code == 200, response.text
    assert response.json() == {
        "service_type": "childcare",
        "city": "Berlin",
        "city_id": berlin.city_id,
        "default_capacity": 45,
    }
    city_run = start_run(client, berlin)
    assert city_run["params"]["default_capacity"] == 45 and city_run["totals"]["total_capacity"] == 45 * 1175
    listed = client.get("/api/default-capacities").json()["items"]
    assert {"service_type": "childcare", "city": None, "city_id": None, "default_capacity": 60} in listed
    assert {
        "service_type": "childcare",
        "city": "Berlin",
        "city_id": berlin.city_id,
        "default_capacity": 45,
    } in listed
    # clearing the city's returns to the service type's; clearing that makes unmet need not computable again
    assert client.delete(CITY_ROUTE, headers=berlin.headers("planner")).status_code == 200
    assert start_run(client, berlin)["params"]["default_capacity"] == 60
    assert client.delete(SERVICE_ROUTE, headers=berlin.headers("planner")).status_code == 200
    cleared = start_run(client, berlin)
    assert cleared["params"] == before["params"] and cleared["totals"]["unmet_need"] is None


def test_a_scenario_on_an_old_run_keeps_the_default_it_recorded(client: TestClient, berlin: Berlin) -> None:
    set_default_capacity(client, berlin, 60)
    run = start_run(client, berlin)
    set_default_capacity(client, berlin, 10)  # the old run still recomputes with the 60 it recorded
    closure = client.post(
        f"/api/analysis/runs/{run['id']}/what-if",
        json={"close": [run_asset(client, run)]},
        headers=berlin.headers("planner"),
    ).json()
    assert closure["unmet_need_computable"] is True
    assert closure["totals"]["unmet_need_before"] == pytest.approx(run["totals"]["unmet_need"])


def run_asset(client: TestClient, run: dict[str, object]) -> int:
    """The id of one asset the run analysed."""
    return int(client.get(f"/api/analysis/runs/{run['id']}/assets").json()["items"][0]["id"])


@pytest.mark.parametrize("role", ["organiser", "contributor", "gis"])
def test_only_planners_and_admins_set_default_capacities(
    client: TestClient, berlin: Berlin, role: str
) -> None:
    for route in (SERVICE_ROUTE, CITY_ROUTE):
        put = client.put(route, json={"capacity": 60}, headers=berlin.headers(role))
        assert put.status_code == 403 and "your role" in put.json()["detail"]
        assert client.delete(route, headers=berlin.headers(role)).status_code == 403
    assert client.put(SERVICE_ROUTE, json={"capacity": 60}).status_code == 401
    assert start_run(client, berlin)["params"]["default_capacity"] is None


@pytest.mark.parametrize(
    ("route", "body", "status"),
    [
        (SERVICE_ROUTE, {"capacity": 0}, 422),
        (SERVICE_ROUTE, {"capacity": -3}, 422),
        (SERVICE_ROUTE, {"capacity": 1e12}, 422),
        (SERVICE_ROUTE, {"capacity": "many"}, 422),
        (SERVICE_ROUTE, {}, 422),
        ("/api/service-types/space-travel/default-capacity", {"capacity": 5}, 422),
        ("/api/cities/Atlantis/service-types/childcare/default-capacity", {"capacity": 5}, 404),
    ],
)
def test_bad_default_capacities_are_refused(
    client: TestClient, berlin: Berlin, route: str, body: dict[str, object], status: int
) -> None:
    response = client.put(route, json=body, headers=berlin.headers("admin"))
    assert response.status_code == status, response.text
    assert start_run(client, berlin)["params"]["default_capacity"] is None
