"""The unknown-capacity rule (docs/ANALYSIS.md "Unknown capacity", geo/capacity.py) on a small worked example.

Three demand units and two kindergartens in EPSG:25833 (metres), radius r = 1000 m, no decay (f = 1 within r):

    u1 (0, 0)     need 100, neighbourhood 1
    u2 (1100, 0)  need 50,  neighbourhood 2   1000 m from a1 (covered: the radius is inclusive), 1118 m from a2
    u3 (5000, 0)  need 10,  neighbourhood 2   beyond reach of both
    a1 (100, 0)   capacity unknown
    a2 (0, 200)   capacity 30

Distance coverage needs no capacity: u1 and u2 are covered, so 150 of 160 are within reach and 10 are beyond it.
With a default capacity of 20 for a1 (a2 keeps its 30):
    demand in reach  W N: a1 = 100 + 50 = 150, a2 = 100
    R = S / W N:          a1 = 20/150 = 2/15, a2 = 30/100 = 3/10
    A = W R:              u1 = 2/15 + 3/10 = 13/30, u2 = 2/15, u3 = 0
    reference sum S / sum N = 50/160 = 5/16, so a = A * 16/5: u1 = 104/75, u2 = 32/75, u3 = 0
    shortfall g = N max(0, 1 - a): u1 = 0, u2 = 50 * 43/75 = 86/3, u3 = 10
    unmet need: neighbourhood 1 = 0, neighbourhood 2 = 86/3 + 10 = 116/3; gap share 2 = (116/3) / 60 = 29/45
"""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pytest

from geo.capacity import capacity_rule
from geo.crs import AnalysisInputError
from geo.gaps import GapParams, analyse_units
from geo.siting import close_assets, suggest_sites_for_gaps

CRS = "EPSG:25833"
X0, Y0 = 390_000.0, 5_820_000.0


def _units() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "unit_id": ["u1", "u2", "u3"],
            "neighbourhood_id": [1, 2, 2],
            "population": [100.0, 50.0, 10.0],
            "need": [100.0, 50.0, 10.0],
        },
        geometry=gpd.points_from_xy([X0, X0 + 1100, X0 + 5000], [Y0, Y0, Y0]),
        crs=CRS,
    )


def _assets(capacity_a1: float = math.nan, capacity_a2: float = 30.0) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"id": [1, 2], "name": ["a1", "a2"], "capacity": [capacity_a1, capacity_a2]},
        geometry=gpd.points_from_xy([X0 + 100, X0], [Y0, Y0 + 200]),
        crs=CRS,
    )


def _run(assets: gpd.GeoDataFrame, default_capacity: float | None = None):  # type: ignore[no-untyped-def]
    params = GapParams(radius_m=1000.0, decay="none", default_capacity=default_capacity)
    return analyse_units(_units(), assets, params, crs=CRS)


def _assert_not_computable(result, n_unknown: int) -> None:  # type: ignore[no-untyped-def]
    totals, nb = result.totals, result.neighbourhoods
    assert totals["capacity_computable"] is False and totals["ranked_by"] == "uncovered_need"
    assert totals["n_unknown_capacity"] == n_unknown and totals["n_assets"] == 2
    assert totals["unmet_need_reason"] == (
        f"capacity unknown for {n_unknown} of 2 assets and no default capacity is set for the service type"
    )
    for key in ("unmet_need", "gap_share", "total_capacity", "capacity_with_demand", "reference_ratio"):
        assert totals[key] is None, key
    assert nb["unmet_need"].isna().all() and nb["gap_share"].isna().all() and nb["access_score"].isna().all()
    units = result.units
    assert (
        units["shortfall"].isna().all()
        and units["access_score"].isna().all()
        and units["access"].isna().all()
    )
    # distance coverage is computed all the same: u1 and u2 within reach, u3 (10 people) beyond it
    assert totals["covered_need"] == 150 and totals["uncovered_need"] == 10
    assert nb["uncovered_need"].tolist() == [0.0, 10.0]
    assert nb["covered_share"].tolist() == pytest.approx([1.0, 50 / 60])
    assert units["covered"].tolist() == [True, True, False]


def test_all_capacities_unknown_and_no_default_is_not_computable() -> None:
    result = _run(_assets(math.nan, math.nan))
    _assert_not_computable(result, 2)
    assert result.assets["capacity_used"].isna().all() and result.assets["ratio"].isna().all()


def test_some_capacities_unknown_is_not_computable_either() -> None:
    # One invented capacity next to a real one would skew the real one's ratio: no partial answer.
    result = _run(_assets(math.nan, 30.0))
    _assert_not_computable(result, 1)
    assert result.assets["capacity_used"].tolist()[1] == 30.0 and math.isnan(
        result.assets["capacity_used"][0]
    )


def test_a_default_capacity_gives_the_hand_computed_numbers() -> None:
    result = _run(_assets(math.nan, 30.0), default_capacity=20.0)
    totals, nb, units = result.totals, result.neighbourhoods, result.units
    assert totals["capacity_computable"] is True and totals["ranked_by"] == "unmet_need"
    assert totals["default_capacity"] == 20.0 and totals["n_default_capacity"] == 1
    assert totals["n_unknown_capacity"] == 1 and totals["unmet_need_reason"] is None
    assert result.assets["capacity_used"].tolist() == [20.0, 30.0]  # the known capacity is kept
    assert result.assets["ratio"].tolist() == pytest.approx([2 / 15, 3 / 10])
    assert units["access"].tolist() == pytest.approx([13 / 30, 2 / 15, 0.0])
    assert units["access_score"].tolist() == pytest.approx([104 / 75, 32 / 75, 0.0])
    assert units["shortfall"].tolist() == pytest.approx([0.0, 86 / 3, 10.0])
    assert nb["unmet_need"].tolist() == pytest.approx([0.0, 116 / 3])
    assert nb["gap_share"].tolist() == pytest.approx([0.0, 29 / 45])
    assert totals["unmet_need"] == pytest.approx(116 / 3)
    assert totals["total_capacity"] == 50.0 and totals["reference_ratio"] == pytest.approx(5 / 16)


def test_known_capacities_need_no_default() -> None:
    result = _run(_assets(20.0, 30.0))
    assert result.totals["capacity_computable"] is True and result.totals["n_unknown_capacity"] == 0
    assert result.totals["default_capacity"] is None and result.totals["n_default_capacity"] == 0
    # the same numbers as a default of 20 for a1 above
    assert result.totals["unmet_need"] == pytest.approx(116 / 3)
    # a default changes nothing where every capacity is known
    assert _run(_assets(20.0, 30.0), default_capacity=500.0).totals["unmet_need"] == pytest.approx(116 / 3)


def test_without_computable_shortfall_sites_cover_need_beyond_reach() -> None:
    result = _run(_assets(math.nan, math.nan))
    candidates = gpd.GeoDataFrame(
        {"id": ["near u1", "near u3"], "name": ["near u1", "near u3"]},
        geometry=gpd.points_from_xy([X0 + 10, X0 + 5000], [Y0, Y0 + 10]),
        crs=CRS,
    )
    siting = suggest_sites_for_gaps(result, candidates, 1)
    assert siting.totals["objective_measure"] == "uncovered_need"
    # the 10 people beyond reach, not u1 (covered already, whatever its shortfall would be)
    assert siting.sites["candidate_id"].tolist() == ["near u3"] and siting.suggestion.objective == 10.0
    assert math.isnan(siting.totals["unmet_need_change"]) and siting.neighbourhoods["change"].isna().all()
    closure = close_assets(result, [2])
    assert math.isnan(closure.totals["unmet_need_change"])
    assert closure.totals["need_losing_coverage"] == 0  # a1 still covers u1 and u2


def test_with_a_default_sites_cover_shortfall() -> None:
    result = _run(_assets(math.nan, math.nan), default_capacity=20.0)
    candidates = gpd.GeoDataFrame(
        {"id": ["near u3"]}, geometry=gpd.points_from_xy([X0 + 5000], [Y0 + 10]), crs=CRS
    )
    siting = suggest_sites_for_gaps(result, candidates, 1)
    assert siting.totals["objective_measure"] == "shortfall"
    assert siting.totals["new_site_capacity"] == 20.0  # no capacity is known: the run's default
    assert siting.suggestion.objective == pytest.approx(10.0)  # u3's shortfall (its whole need)
    # computed (scores are relative to the city's supply, so covered u1 falls below the new average)
    assert math.isfinite(siting.totals["unmet_need_change"])


@pytest.mark.parametrize("bad", [0.0, -1.0, math.nan, math.inf])
def test_a_default_capacity_must_be_a_positive_number(bad: float) -> None:
    with pytest.raises(AnalysisInputError, match="default capacity must be a number > 0"):
        GapParams(radius_m=1000.0, default_capacity=bad)


def test_the_rule_alone() -> None:
    rule = capacity_rule(np.array([np.nan, 0.0, 5.0]), None)
    assert not rule.computable and rule.n_unknown == 1 and rule.n_defaulted == 0
    defaulted = capacity_rule(np.array([np.nan, 0.0, 5.0]), 7.0)
    # a capacity of 0 stays closed: the default only fills what is unknown
    assert (
        defaulted.computable and defaulted.capacity.tolist() == [7.0, 0.0, 5.0] and defaulted.n_defaulted == 1
    )
