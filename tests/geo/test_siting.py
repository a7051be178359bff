"""Site suggestion (maximal covering) against hand cases and brute force, and what-if closures."""

from __future__ import annotations

import itertools

import geopandas as gpd
import numpy as np
import pytest

from geo.crs import AnalysisInputError
from geo.gaps import GapParams, analyse_units
from geo.siting import close_assets, suggest_sites, suggest_sites_for_gaps

ONE_MINUS_ONE_OVER_E = 1 - 1 / np.e


def _brute_force(units_xy, weight, candidates_xy, radius_m, p) -> float:
    reach = (
        np.hypot(
            units_xy[:, None, 0] - candidates_xy[None, :, 0], units_xy[:, None, 1] - candidates_xy[None, :, 1]
        )
        <= radius_m
    )
    best = 0.0
    for chosen in itertools.combinations(range(len(candidates_xy)), p):
        best = max(best, float(weight[reach[:, list(chosen)].any(axis=1)].sum()))
    return best


def test_greedy_trap_is_solved_exactly() -> None:
    # On a line, radius 100 m. Units: u1 (3) at 0, u2 (3) at 180, u3 (2) at -100, u4 (2) at 280.
    # C at 90 reaches u1 + u2 = 6, A at -50 reaches u1 + u3 = 5, B at 230 reaches u2 + u4 = 5.
    # Greedy with p = 2 takes C then A (6 + 2 = 8); the optimum is A + B = 10.
    units = np.array([[0.0, 0.0], [180.0, 0.0], [-100.0, 0.0], [280.0, 0.0]])
    weight = np.array([3.0, 3.0, 2.0, 2.0])
    candidates = np.array([[-50.0, 0.0], [230.0, 0.0], [90.0, 0.0]])  # A, B, C
    result = suggest_sites(units, weight, candidates, 100.0, 2)
    assert result.greedy_objective == pytest.approx(8.0)
    assert result.objective == pytest.approx(10.0)
    assert sorted(result.chosen.tolist()) == [0, 1]
    assert result.exact
    assert result.gap == 0.0
    assert result.lp_upper_bound >= 10.0 - 1e-9
    assert result.marginal.sum() == pytest.approx(10.0)


def test_units_reached_by_the_same_candidates_are_merged() -> None:
    # Three units around candidate 0 only, two around candidate 1 only: 2 distinct coverage sets.
    units = np.array([[0.0, 0.0], [5.0, 0.0], [0.0, 5.0], [1000.0, 0.0], [1000.0, 5.0]])
    result = suggest_sites(units, np.ones(5), np.array([[0.0, 1.0], [1000.0, 1.0]]), 50.0, 1)
    assert result.n_merged_units == 2
    assert result.chosen.tolist() == [0]
    assert result.objective == 3.0


def test_a_tie_at_the_radius_counts_as_covered() -> None:
    result = suggest_sites(np.array([[0.0, 0.0]]), np.array([7.0]), np.array([[300.0, 400.0]]), 500.0, 1)
    assert result.objective == 7.0


def test_zero_shortfall_needs_no_site() -> None:
    result = suggest_sites(np.zeros((3, 2)), np.zeros(3), np.zeros((2, 2)), 100.0, 1)
    assert result.chosen.tolist() == []
    assert result.objective == 0.0


@pytest.mark.parametrize("seed", range(6))
def test_exact_answer_equals_brute_force_on_small_instances(seed: int) -> None:
    rng = np.random.default_rng(seed)
    units = rng.uniform(0, 2000, size=(60, 2))
    weight = rng.uniform(0, 10, size=60)
    candidates = rng.uniform(0, 2000, size=(9, 2))
    optimum = _brute_force(units, weight, candidates, 450.0, 3)
    result = suggest_sites(units, weight, candidates, 450.0, 3)
    assert result.exact
    assert result.objective == pytest.approx(optimum, rel=1e-9)
    assert result.greedy_objective >= ONE_MINUS_ONE_OVER_E * optimum
    assert result.lp_upper_bound >= optimum - 1e-9


@pytest.mark.parametrize("seed", range(5))
def test_greedy_is_never_below_63_percent_of_the_lp_bound(seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    units = rng.uniform(0, 8000, size=(3000, 2))
    weight = rng.exponential(5.0, size=3000)
    candidates = rng.uniform(0, 8000, size=(300, 2))
    result = suggest_sites(units, weight, candidates, 600.0, 12, exact_max_size=0)
    # No MILP: the answer is greedy improved by swaps, exact only when it meets the bound.
    assert result.method in ("greedy", "local search")
    assert result.objective >= result.greedy_objective
    assert result.greedy_objective >= ONE_MINUS_ONE_OVER_E * result.lp_upper_bound
    assert result.objective <= result.upper_bound + 1e-9 <= result.lp_upper_bound + 1e-9
    assert 0.0 <= result.gap < 1.0


def test_bad_p_is_refused() -> None:
    with pytest.raises(AnalysisInputError, match="whole number"):
        suggest_sites(np.zeros((1, 2)), np.ones(1), np.zeros((1, 2)), 100.0, 0)


def _units(points, layout):
    return points(
        [(x, y) for x, y, _, _ in layout],
        unit_id=[f"u{i + 1}" for i in range(len(layout))],
        neighbourhood_id=[nb for _, _, nb, _ in layout],
        population=[float(pop) for *_, pop in layout],
        need=[float(pop) for *_, pop in layout],
    )


def test_suggested_sites_are_added_and_the_change_reported(points) -> None:
    # Neighbourhood 1 is served by asset 1 (capacity 40 for 40 people); neighbourhood 2 (60 people) has
    # nothing.
    units = _units(points, [(0, 0, 1, 40), (4000, 0, 2, 30), (4000, 200, 2, 30)])
    assets = points([(0, 50)], id=[1], name=["hall"], capacity=[40.0])
    params = GapParams(radius_m=500.0, decay="none")
    before = analyse_units(units, assets, params, crs="EPSG:25833")
    candidates = points([(0, -100), (4000, 100), (9000, 0)], id=["c1", "c2", "c3"], name=["x", "y", "z"])
    siting = suggest_sites_for_gaps(before, candidates, 1, params)
    assert siting.sites["candidate_id"].tolist() == ["c2"]
    assert siting.sites["capacity"].tolist() == [40.0]  # median known capacity of existing assets
    assert siting.sites.crs.to_epsg() == 4326
    # Before: a = A / (40 / 100) with A_1 = 1, so a_1 = 2.5 (no shortfall) and neighbourhood 2 lacks all 60.
    assert siting.neighbourhoods.loc[2, "before"] == pytest.approx(60.0)
    # After: reference (40 + 40) / 100 = 0.8; units 2, 3 get A = 40 / 60, a = 0.8333: shortfall
    # 60 * (1/6) = 10.
    assert siting.neighbourhoods.loc[2, "after"] == pytest.approx(10.0)
    assert siting.neighbourhoods.loc[2, "change"] == pytest.approx(-50.0)
    assert siting.neighbourhoods.loc[1, "change"] == pytest.approx(0.0)
    assert siting.totals["unmet_need_change"] == pytest.approx(-50.0)
    assert "candidate:c2" in siting.after.assets["id"].tolist()


def test_new_site_capacity_can_be_set(points) -> None:
    units = _units(points, [(0, 0, 1, 10)])
    before = analyse_units(units, points([(0, 9000)], id=[1]), GapParams(radius_m=500.0), crs="EPSG:25833")
    siting = suggest_sites_for_gaps(before, points([(0, 10)], id=[5]), 1, capacity=3.0)
    assert siting.sites["capacity"].tolist() == [3.0]
    with pytest.raises(AnalysisInputError, match="params"):
        suggest_sites_for_gaps(before, points([(0, 10)], id=[5]), 1, GapParams(radius_m=800.0))


def test_closing_an_asset_reports_who_loses_coverage(points) -> None:
    # Asset 1 is the only one near neighbourhood 1 (u1, u2); asset 2 serves neighbourhood 2 (u3) alone.
    units = _units(points, [(0, 0, 1, 40), (0, 300, 1, 60), (5000, 0, 2, 25)])
    assets = points([(0, 150), (5000, 100)], id=[1, 2], capacity=[50.0, 25.0])
    params = GapParams(radius_m=400.0, decay="none")
    closure = close_assets(analyse_units(units, assets, params, crs="EPSG:25833"), [1])
    nb = closure.neighbourhoods
    assert nb.loc[1, "need_losing_coverage"] == 100.0
    assert nb.loc[1, "population_losing_coverage"] == 100.0
    assert nb.loc[2, "need_losing_coverage"] == 0.0
    assert sorted(closure.units_losing_coverage) == ["u1", "u2"]
    # Before: reference 75 / 125 = 0.6; A = 0.5 for u1, u2 -> a = 0.833, shortfall 100 / 6 = 16.67; u3: A = 1,
    # a = 1.67, no shortfall. After: all of neighbourhood 1 (100) is unmet; u3 a = 1 / (25 / 125) = 5, none.
    assert nb.loc[1, "unmet_need_before"] == pytest.approx(100.0 / 6.0)
    assert nb.loc[1, "unmet_need_after"] == pytest.approx(100.0)
    assert nb.loc[1, "unmet_need_change"] == pytest.approx(100.0 - 100.0 / 6.0)
    assert closure.totals["need_losing_coverage"] == 100.0
    assert closure.totals["n_units_losing_coverage"] == 2


def test_closing_an_unknown_asset_is_refused(points) -> None:
    units = _units(points, [(0, 0, 1, 40)])
    result = analyse_units(units, points([(0, 10)], id=[1]), GapParams(radius_m=400.0), crs="EPSG:25833")
    with pytest.raises(AnalysisInputError, match="99"):
        close_assets(result, [99])


def test_what_if_close_runs_from_neighbourhoods() -> None:
    from shapely.geometry import Point, box

    from geo.siting import what_if_close

    bands = (
        "under_6",
        "6_15",
        "15_18",
        "18_27",
        "27_45",
        "45_55",
        "55_65",
        "over_65",
        "female",
        "foreigners",
    )
    nb = gpd.GeoDataFrame(
        [{"id": 1, "code": "0001", "name": "a", "pop_total": 500.0, **{f"pop_{b}": 0.0 for b in bands}}],
        geometry=[box(13.400, 52.500, 13.404, 52.503)],
        crs="EPSG:4326",
    )
    assets = gpd.GeoDataFrame(
        {"id": ["x"], "capacity": [5.0]}, geometry=[Point(13.402, 52.5015)], crs="EPSG:4326"
    )
    closure = what_if_close(nb, assets, GapParams(radius_m=1000.0, decay="none"), ["x"])
    # The only asset reaches every unit; closing it leaves all 500 people uncovered.
    assert closure.totals["population_losing_coverage"] == pytest.approx(500.0)
    assert closure.neighbourhoods.loc[1, "unmet_need_after"] == pytest.approx(500.0)
