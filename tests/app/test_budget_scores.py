"""Need scores of proposals equal the what-if figures computed independently: a site added by the siting code and
then closed again by the closure what-if loses exactly the people and need the proposal's score says it reaches."""

from __future__ import annotations

import time

import geopandas as gpd
import pytest
from fastapi.testclient import TestClient
from shapely.geometry import Point
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.db.models import AnalysisRun, Neighbourhood
from app.policy import ANONYMOUS
from app.services.analysis.scenarios import rerun
from geo.siting import close_assets, suggest_sites_for_gaps
from geo.siting.scenarios import new_site_capacity
from tests.app.budget_helpers import ALEXANDERPLATZ, new_round, propose
from tests.app.test_analysis_api import set_default_capacity
from tests.conftest import Berlin


def test_scores_are_the_inverse_of_the_closure_what_if(
    client: TestClient, berlin: Berlin, db: Session
) -> None:
    set_default_capacity(client, berlin, 60)
    round_ = new_round(client, berlin)
    in_gap = propose(
        client,
        berlin,
        round_["id"],
        title="Kita in Marzahn",
        cost=50_000,
        service_type="childcare",
        neighbourhood="1010",
    )
    central = propose(
        client,
        berlin,
        round_["id"],
        title="Kita at Alex",
        cost=50_000,
        service_type="childcare",
        point=ALEXANDERPLATZ,
    )
    no_place = propose(client, berlin, round_["id"], title="Street party", cost=1000)
    assert no_place["score"] is None
    for proposal in (in_gap, central):
        assert proposal["score"]["status"] == "scored", proposal["score"]
    score = in_gap["score"]
    assert score["site"]["from"] == "neighbourhood_point_on_surface"
    lon, lat = db.execute(
        select(
            func.ST_X(func.ST_PointOnSurface(Neighbourhood.geom)),
            func.ST_Y(func.ST_PointOnSurface(Neighbourhood.geom)),
        ).where(Neighbourhood.city_id == berlin.city_id, Neighbourhood.code == "1010")
    ).one()
    assert (score["site"]["lon"], score["site"]["lat"]) == (round(lon, 6), round(lat, 6))

    run = db.get(AnalysisRun, score["run"])
    assert run is not None
    result = rerun(db, berlin.settings, ANONYMOUS, run).result
    capacity, _ = new_site_capacity(result)
    assert score["capacity"] == capacity
    for proposal, (x, y) in ((in_gap, (lon, lat)), (central, tuple(ALEXANDERPLATZ["coordinates"]))):
        # independently: the siting code adds the one candidate; the closure what-if takes it away again
        candidate = gpd.GeoDataFrame({"id": ["p"], "name": ["p"]}, geometry=[Point(x, y)], crs="EPSG:4326")
        siting = suggest_sites_for_gaps(result, candidate, 1, capacity=capacity)
        closure = close_assets(siting.after, ["candidate:p"])
        got = proposal["score"]
        assert got["people_newly_within_reach"] == pytest.approx(closure.totals["population_losing_coverage"])
        assert got["need_newly_within_reach"] == pytest.approx(closure.totals["need_losing_coverage"])
        assert got["units_newly_within_reach"] == closure.totals["n_units_losing_coverage"]
        assert got["unmet_need_covered"] == pytest.approx(closure.totals["unmet_need_change"])
        assert got["unmet_need_covered"] == pytest.approx(-siting.totals["unmet_need_change"])
    # a kindergarten where children are beyond reach reaches more of them than one in the centre, where
    # kindergartens are close together
    assert score["need_newly_within_reach"] > central["score"]["need_newly_within_reach"]
    assert score["need_newly_within_reach"] > 0
    # scoring again on unchanged data gives the same figures
    started = time.perf_counter()
    again = client.post(f"/api/budget-rounds/{round_['id']}/scores", headers=berlin.headers("organiser"))
    assert again.status_code == 200, again.text
    print(f"re-scoring two proposals took {time.perf_counter() - started:.1f} s")
    rescored = {p["id"]: p["score"] for p in again.json()["proposals"]}
    assert rescored[in_gap["id"]] == score and rescored[central["id"]] == central["score"]
    assert rescored[no_place["id"]] is None
    # residents may not trigger the analysis
    refused = client.post(f"/api/budget-rounds/{round_['id']}/scores", headers=berlin.headers("contributor"))
    assert refused.status_code == 403
