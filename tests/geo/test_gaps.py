"""Gap index and the whole run: shortfall, unmet need, gap share, deserts, edge effects, result frames."""

from __future__ import annotations

import json
import math

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import Point, box

from geo.crs import AnalysisInputError, GeographicCRSError
from geo.gaps import GapParams, analyse_gaps, analyse_units

BANDS = ("under_6", "6_15", "15_18", "18_27", "27_45", "45_55", "55_65", "over_65", "female", "foreigners")


def _units(points, layout):
    """layout: (x_m, y_m, neighbourhood_id, population) rows; need = population."""
    return points(
        [(x, y) for x, y, _, _ in layout],
        unit_id=[f"u{i + 1}" for i in range(len(layout))],
        neighbourhood_id=[nb for _, _, nb, _ in layout],
        population=[float(pop) for *_, pop in layout],
        need=[float(pop) for *_, pop in layout],
    )


@pytest.fixture
def hand_case(points):
    # Neighbourhood 1: u1 and u2 (100 people each), both 200 m from asset A (capacity 10).
    # Neighbourhood 2: u3 (50 people), 600 m from asset C (capacity 4): nothing within 500 m.
    # Neighbourhood 3: u4, no residents.
    units = _units(points, [(0, 0, 1, 100), (0, 400, 1, 100), (3000, 0, 2, 50), (6000, 0, 3, 0)])
    assets = points([(0, 200), (3000, 600)], id=[10, 30], name=["A", "C"], capacity=[10.0, 4.0])
    params = GapParams(radius_m=500.0, decay="none", desert_min_people=100.0, desert_min_share=0.5)
    return analyse_units(units, assets, params, crs="EPSG:25833")


def test_shortfall_by_hand(hand_case) -> None:
    units = hand_case.units.set_index("unit_id")
    # R_A = 10 / 200 = 0.05 = A_1 = A_2. Reference ratio: (10 + 4) / 250 = 0.056, so a = 0.05 / 0.056.
    a = 0.05 / 0.056
    assert units["access"].tolist() == pytest.approx([0.05, 0.05, 0.0, 0.0])
    assert units["access_score"].tolist() == pytest.approx([a, a, 0.0, 0.0])
    # g = N (1 - a) = 100 * (1 - 0.892857) = 10.714 for u1, u2; u3 has nothing within reach: g = N = 50.
    assert units["shortfall"].tolist() == pytest.approx([100 * (1 - a), 100 * (1 - a), 50.0, 0.0])
    assert units["covered"].tolist() == [True, True, False, False]
    assert units.loc["u3", "distance_m"] == pytest.approx(600.0)


def test_neighbourhood_gaps_by_hand(hand_case) -> None:
    nb = hand_case.neighbourhoods
    a = 0.05 / 0.056
    assert nb.index.tolist() == [1, 2, 3]
    assert nb["unmet_need"].tolist() == pytest.approx([200 * (1 - a), 50.0, 0.0])
    assert nb.loc[1, "gap_share"] == pytest.approx(1 - a)
    assert nb.loc[2, "gap_share"] == pytest.approx(1.0)
    # No residents: the gap share is undefined ("no residents"), never 0.
    assert math.isnan(nb.loc[3, "gap_share"])
    assert math.isnan(nb.loc[3, "covered_share"])
    assert nb["covered_share"].tolist()[:2] == [1.0, 0.0]
    assert nb.loc[1, "mean_distance_m"] == pytest.approx(200.0)
    assert nb["assets_within_radius"].tolist() == [1, 0, 0]
    assert nb.loc[1, "access_score"] == pytest.approx(a)
    # Neighbourhood 2: 50 uncovered people are 100 % of its need (>= 50 %): a desert.
    assert nb["desert"].tolist() == [False, True, False]


def test_asset_table_by_hand(hand_case) -> None:
    assets = hand_case.assets.set_index("id")
    assert assets.loc[10, "demand_in_reach"] == pytest.approx(200.0)
    assert assets.loc[10, "ratio"] == pytest.approx(0.05)
    assert assets.loc[10, "units_in_reach"] == 2
    # C has no demand within 500 m: ratio 0 and idle.
    assert assets.loc[30, "ratio"] == 0.0
    assert bool(assets.loc[30, "idle"])
    assert hand_case.totals["idle_capacity"] == 4.0
    assert hand_case.totals["capacity_with_demand"] == 10.0
    assert hand_case.totals["unmet_need"] == pytest.approx(200 * (1 - 0.05 / 0.056) + 50.0)
    assert hand_case.totals["n_deserts"] == 1


def test_frames_have_the_documented_columns(hand_case) -> None:
    assert list(hand_case.units.columns) == [
        "unit_id", "neighbourhood_id", "population", "population_known", "needs_people", "need",
        "distance_m", "covered", "access", "access_score", "shortfall", "geometry",
    ]  # fmt: skip
    assert list(hand_case.neighbourhoods.columns) == [
        "code", "name", "n_units", "population", "population_known", "need", "covered_need", "covered_share",
        "mean_distance_m", "uncovered_need", "assets_within_radius", "unmet_need", "gap_share",
        "access_score",
        "desert",
    ]  # fmt: skip
    assert list(hand_case.assets.columns) == [
        "id", "name", "capacity", "capacity_used", "capacity_unknown", "closed", "units_in_reach",
        "demand_in_reach", "ratio", "idle",
    ]  # fmt: skip
    json.dumps(hand_case.totals)  # recordable with the run


def test_a_unit_at_exactly_the_radius_is_covered(points) -> None:
    units = _units(points, [(0, 0, 1, 10)])
    assets = points([(300, 400)], id=[1], capacity=[1.0])  # 500 m away
    result = analyse_units(units, assets, GapParams(radius_m=500.0, decay="none"), crs="EPSG:25833")
    assert result.units["covered"].tolist() == [True]
    assert result.neighbourhoods["covered_share"].tolist() == [1.0]


def test_a_surplus_never_cancels_a_deficit(points) -> None:
    # u1 (10 people) sits next to a large asset (capacity 90), u2 (90 people) next to a small one
    # (capacity 10).
    units = _units(points, [(0, 0, 1, 10), (5000, 0, 1, 90)])
    assets = points([(0, 10), (5000, 10)], id=[1, 2], capacity=[90.0, 10.0])
    result = analyse_units(units, assets, GapParams(radius_m=500.0, decay="none"), crs="EPSG:25833")
    # Reference 100 / 100 = 1: a_1 = 9, a_2 = 1/9. Shortfall 0 (not -80) and 90 * (8/9) = 80.
    assert result.units["shortfall"].tolist() == pytest.approx([0.0, 80.0])
    assert result.neighbourhoods["unmet_need"].tolist() == pytest.approx([80.0])


def test_closed_assets_do_not_cover(points) -> None:
    units = _units(points, [(0, 0, 1, 10)])
    assets = points([(0, 100), (0, 900)], id=[1, 2], capacity=[0.0, 5.0])
    result = analyse_units(units, assets, GapParams(radius_m=500.0, decay="none"), crs="EPSG:25833")
    assert result.units["covered"].tolist() == [False]
    assert result.units["distance_m"].tolist() == pytest.approx([900.0])  # to the nearest open asset
    assert result.units["shortfall"].tolist() == [10.0]
    assert result.assets["closed"].tolist() == [True, False]


def test_no_assets_at_all_leaves_all_need_unmet(points) -> None:
    units = _units(points, [(0, 0, 1, 10), (100, 0, 2, 30)])
    assets = gpd.GeoDataFrame({"id": [], "capacity": []}, geometry=[], crs="EPSG:25833")
    result = analyse_units(units, assets, GapParams(radius_m=500.0), crs="EPSG:25833")
    assert result.neighbourhoods["gap_share"].tolist() == [1.0, 1.0]
    assert result.totals["unmet_need"] == 40.0
    assert result.units["distance_m"].isna().all()


def test_measuring_in_degrees_is_refused(points) -> None:
    units = _units(points, [(0, 0, 1, 10)])
    with pytest.raises(GeographicCRSError):
        analyse_units(units, points([(0, 0)], id=[1]), GapParams(radius_m=500.0), crs="EPSG:4326")


def test_bad_assets_are_named(points) -> None:
    units = _units(points, [(0, 0, 1, 10)])
    params = GapParams(radius_m=500.0)
    with pytest.raises(AnalysisInputError, match="repeated"):
        analyse_units(units, points([(0, 0), (1, 1)], id=[5, 5]), params, crs="EPSG:25833")
    with pytest.raises(AnalysisInputError, match="7"):
        analyse_units(units, points([(0, 0)], id=[7], capacity=[-3.0]), params, crs="EPSG:25833")
    lines = points([(0, 0)], id=[8])
    lines.geometry = lines.buffer(10.0)
    with pytest.raises(AnalysisInputError, match="8 are not points"):
        analyse_units(units, lines, params, crs="EPSG:25833")


def _neighbourhoods(rows) -> gpd.GeoDataFrame:
    records = []
    for nb_id, geometry, total in rows:
        record = {"id": nb_id, "code": f"{nb_id:04d}", "name": f"area {nb_id}", "pop_total": total}
        record.update({f"pop_{band}": 0.0 for band in BANDS})
        record["geometry"] = geometry
        records.append(record)
    return gpd.GeoDataFrame(records, geometry="geometry", crs="EPSG:4326")


def test_an_asset_just_outside_a_neighbourhood_still_covers_it() -> None:
    square = box(13.400, 52.500, 13.406, 52.504)  # about 400 m x 450 m
    nb = _neighbourhoods([(1, square, 300.0)])
    # 100 m east of the square's eastern edge, outside every neighbourhood.
    outside = Point(13.4075, 52.502)
    assets = gpd.GeoDataFrame({"id": [1], "capacity": [3.0]}, geometry=[outside], crs="EPSG:4326")
    result = analyse_gaps(nb, assets, GapParams(radius_m=800.0, decay="none"))
    assert result.neighbourhoods.loc[1, "covered_share"] == 1.0
    assert result.neighbourhoods.loc[1, "assets_within_radius"] == 1
    assert result.neighbourhoods.loc[1, "unmet_need"] == pytest.approx(0.0)


def test_demand_of_all_neighbourhoods_shares_an_asset() -> None:
    west, east = box(13.400, 52.500, 13.406, 52.504), box(13.406, 52.500, 13.412, 52.504)
    nb = _neighbourhoods([(1, west, 300.0), (2, east, 100.0)])
    assets = gpd.GeoDataFrame(
        {"id": [1], "capacity": [20.0]}, geometry=[Point(13.406, 52.502)], crs="EPSG:4326"
    )
    result = analyse_gaps(nb, assets, GapParams(radius_m=2000.0, decay="none"))
    # Every unit of both neighbourhoods is in reach: the asset's capacity is shared by all 400 people.
    assert result.assets["demand_in_reach"].tolist() == pytest.approx([400.0])
    assert result.units["access"].to_numpy() == pytest.approx(np.full(len(result.units), 20.0 / 400.0))
    assert result.neighbourhoods["population"].tolist() == pytest.approx([300.0, 100.0])
    assert result.crs.to_epsg() == 32633  # UTM 33N chosen for Berlin


def test_analyse_gaps_measures_in_the_city_crs_when_given() -> None:
    nb = _neighbourhoods([(1, box(13.400, 52.500, 13.406, 52.504), 300.0)])
    assets = gpd.GeoDataFrame(
        {"id": [1], "capacity": [3.0]}, geometry=[Point(13.403, 52.502)], crs="EPSG:4326"
    )
    result = analyse_gaps(nb, assets, GapParams(radius_m=500.0), crs="EPSG:25833")
    assert result.crs.to_epsg() == 25833
    assert result.totals["crs"] == "EPSG:25833"


def test_params_are_checked_and_recorded() -> None:
    with pytest.raises(AnalysisInputError, match="radius_m"):
        GapParams(radius_m=-5.0)
    with pytest.raises(AnalysisInputError, match="decay"):
        GapParams(radius_m=500.0, decay="cubic")
    with pytest.raises(ValueError, match="toddlers"):
        GapParams(radius_m=500.0, group="toddlers")
    with pytest.raises(AnalysisInputError, match="share"):
        GapParams(radius_m=500.0, desert_min_share=1.5)
    recorded = GapParams(radius_m=900.0, decay="step", vulnerable_weights={"over_65": 0.5}).as_dict()
    assert recorded["step_zones_m"] == pytest.approx([300.0, 600.0, 900.0])
    assert recorded["step_weights"] == [1.0, 0.68, 0.22]
    assert recorded["vulnerable_weights"] == {"over_65": 0.5}
    assert json.loads(json.dumps(recorded)) == recorded
