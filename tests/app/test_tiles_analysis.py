"""Vector tiles of analysis results: a run's neighbourhoods and cells, in the reader's view of the run."""

from __future__ import annotations

from typing import Any

import mapbox_vector_tile
import pytest
from fastapi.testclient import TestClient

from tests.app.test_analysis_api import neighbourhood_results, start_run
from tests.app.test_analysis_privacy import PERSON, all_cells, childminder, metres_apart
from tests.app.test_tiles import Z, tile_of
from tests.conftest import Berlin

__all__ = ["childminder"]  # the fixture, used by name


def decoded(client: TestClient, url: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
    response = client.get(url, headers=headers or {})
    assert response.status_code == 200, response.text
    return mapbox_vector_tile.decode(response.content)


def test_run_neighbourhoods_tile_has_the_results(client: TestClient, berlin: Berlin) -> None:
    run = start_run(client, berlin)
    expected = neighbourhood_results(client, run["id"])
    x, y = tile_of(13.4132, 52.5219)
    tile = decoded(client, f"/tiles/berlin-run-{run['id']}-neighbourhoods/{Z}/{x}/{y}.mvt")
    found = tile["run_neighbourhoods"]["features"]
    assert found
    for feature in found:
        props = feature["properties"]
        want = expected[props["code"]]
        assert props["need"] == pytest.approx(want["need"])
        assert props["covered_share"] == pytest.approx(want["covered_share"])
        assert props["desert"] == str(want["desert"]).lower()
    document = client.get(f"/tiles/berlin-run-{run['id']}-neighbourhoods/tilejson.json").json()
    assert document["vector_layers"][0]["id"] == "run_neighbourhoods"


def test_run_cells_tile_is_the_readers_view(
    client: TestClient, berlin: Berlin, childminder: dict[str, Any]
) -> None:
    run = start_run(client, berlin)
    planner = all_cells(client, run["id"], berlin.headers("planner"))
    public = all_cells(client, run["id"], {})
    x, y = tile_of(*PERSON)
    url = f"/tiles/berlin-run-{run['id']}-cells/{Z}/{x}/{y}.mvt"
    for headers, cells in ((berlin.headers("planner"), planner), ({}, public)):
        features = decoded(client, url, headers)["run_cells"]["features"]
        assert len(features) > 10
        for feature in features:
            props = feature["properties"]
            want = cells[props["id"]]["properties"]
            assert props["distance_m"] == pytest.approx(want["distance_m"], abs=0.01)
    near = [u for u, c in planner.items() if metres_apart(tuple(c["geometry"]["coordinates"]), PERSON) < 1500]
    assert any(
        abs(planner[u]["properties"]["distance_m"] - public[u]["properties"]["distance_m"]) > 20 for u in near
    )


def test_unknown_runs_and_runs_of_other_cities_are_404(client: TestClient, berlin: Berlin) -> None:
    response = client.get("/tiles/berlin-run-999999-cells/tilejson.json")
    assert response.status_code == 404
    assert "999999" in response.text
    assert client.get("/tiles/berlin-run-999999-cells/3/4/2.mvt").status_code == 404
