"""Every analysis on walking distances: coverage, E2SFCA, the gap index, site suggestion and closures."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from geo.crs import AnalysisInputError
from geo.gaps import GapParams, analyse_units, reanalyse
from geo.siting.scenarios import close_assets, suggest_sites_for_gaps
from geo.streets import StreetNetwork, build_street_graph
from tests.geo.conftest import ORIGIN_X_M, ORIGIN_Y_M
from tests.geo.test_streets import river_grid


@pytest.fixture
def network() -> StreetNetwork:
    lines = [
        shapely.transform(line, lambda xy: xy + np.array([ORIGIN_X_M, ORIGIN_Y_M]))
        for line in river_grid()[:-1]
    ]
    return StreetNetwork(build_street_graph(lines))


@pytest.fixture
def case(points):
    # South bank: u1 next to the asset. North bank: u2 right across the river from it, 200 m as the crow
    # flies but 1,600 m on foot by the bridge at x = 800.
    units = points(
        [(100, 300), (100, 600)],
        unit_id=["u1", "u2"],
        neighbourhood_id=[1, 2],
        population=[100.0, 100.0],
        need=[100.0, 100.0],
    )
    assets = points([(100, 400)], id=[7], name=["Library"], capacity=[10.0])
    return units, assets


def test_straight_line_covers_across_the_river_but_the_walk_does_not(case, network) -> None:
    units, assets = case
    params = GapParams(radius_m=500.0, decay="none")
    on_foot = GapParams(radius_m=500.0, decay="none", distance="network")
    straight = analyse_units(units, assets, params, crs="EPSG:25833")
    walking = analyse_units(units, assets, on_foot, crs="EPSG:25833", distance=network)
    assert straight.units["covered"].tolist() == [True, True]
    assert walking.units["covered"].tolist() == [True, False]
    assert walking.units["distance_m"].tolist() == pytest.approx([100.0, 1600.0])
    assert walking.units["snap_m"].tolist() == pytest.approx([0.0, 0.0])
    assert straight.totals["distance"] == "straight" and walking.totals["distance"] == "network"
    assert walking.totals["n_units_off_network"] == 0
    # E2SFCA: all 10 places go to u1 on foot, half to each by the straight line.
    assert walking.units["access"].tolist() == pytest.approx([0.1, 0.0])
    assert straight.units["access"].tolist() == pytest.approx([0.05, 0.05])
    assert walking.units["shortfall"].tolist()[1] == pytest.approx(100.0)
    assert walking.neighbourhoods["unmet_need"].sum() > straight.neighbourhoods["unmet_need"].sum()


def test_reanalyse_closures_and_suggestions_keep_the_walking_distances(case, network, points) -> None:
    units, assets = case
    params = GapParams(radius_m=500.0, decay="none", distance="network")
    walking = analyse_units(units, assets, params, crs="EPSG:25833", distance=network)
    again = reanalyse(walking, walking.source_assets)
    assert again.totals["distance"] == "network"
    assert again.units["covered"].tolist() == [True, False]
    closure = close_assets(walking, [7])
    assert closure.after.totals["distance"] == "network"
    assert closure.after.units["covered"].tolist() == [False, False]
    # A candidate on the north bank 250 m from u2 (within the radius either way) and one on the south bank
    # 320 m from u2 as the crow flies but 1,350 m on foot: on foot only the north one helps.
    candidates = points([(100, 850), (350, 400)], id=["north", "south"])
    suggestion = suggest_sites_for_gaps(walking, candidates, 1)
    assert suggestion.sites["candidate_id"].tolist() == ["north"]
    assert suggestion.after.totals["distance"] == "network"
    assert np.isclose(suggestion.after.units["covered"].sum(), 2)


def test_parameters_and_distances_must_agree(case, network) -> None:
    units, assets = case
    with pytest.raises(AnalysisInputError, match="street network"):
        analyse_units(units, assets, GapParams(radius_m=500.0, distance="network"), crs="EPSG:25833")
    with pytest.raises(AnalysisInputError, match="distance='network'"):
        analyse_units(units, assets, GapParams(radius_m=500.0), crs="EPSG:25833", distance=network)
    with pytest.raises(AnalysisInputError, match="unknown distance"):
        GapParams(radius_m=500.0, distance="crow")
