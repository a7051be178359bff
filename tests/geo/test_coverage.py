"""Distance coverage: nearest distance, pairs within the radius (ties covered) and neighbourhood summaries."""

from __future__ import annotations

import numpy as np
import pytest

from geo.coverage import coverage_by_neighbourhood, nearest_distance_m, pairs_within, points_xy
from geo.crs import AnalysisInputError, GeographicCRSError


def test_nearest_distance_is_the_hand_computed_one() -> None:
    units = np.array([[0.0, 0.0], [10.0, 10.0]])
    assets = np.array([[3.0, 4.0], [100.0, 100.0]])
    distance, nearest = nearest_distance_m(units, assets)
    # 3-4-5 triangle; the second unit is sqrt(7^2 + 6^2) = sqrt(85) from the first asset.
    assert distance == pytest.approx([5.0, np.sqrt(85.0)])
    assert nearest.tolist() == [0, 0]


def test_no_assets_means_no_distance() -> None:
    distance, nearest = nearest_distance_m(np.zeros((2, 2)), np.empty((0, 2)))
    assert np.isnan(distance).all()
    assert nearest.tolist() == [-1, -1]


def test_a_pair_at_exactly_the_radius_is_in_reach_and_one_a_millimetre_beyond_is_not() -> None:
    units = np.array([[0.0, 0.0], [0.0, 1000.0]])
    # 300-400-500: exactly 500 m from unit 0; the second asset is 500.001 m from unit 1.
    assets = np.array([[300.0, 400.0], [0.0, 1500.001]])
    pairs = pairs_within(units, assets, 500.0)
    found = sorted(zip(pairs.unit_index.tolist(), pairs.asset_index.tolist(), strict=True))
    assert found == [(0, 0)]
    assert pairs.distance_m.tolist() == [500.0]


def test_pairs_match_a_brute_force_count() -> None:
    rng = np.random.default_rng(5)
    units = rng.uniform(0, 3000, size=(300, 2))
    assets = rng.uniform(0, 3000, size=(40, 2))
    pairs = pairs_within(units, assets, 450.0)
    full = np.hypot(units[:, None, 0] - assets[None, :, 0], units[:, None, 1] - assets[None, :, 1])
    expected = set(zip(*np.nonzero(full <= 450.0), strict=True))
    assert set(zip(pairs.unit_index.tolist(), pairs.asset_index.tolist(), strict=True)) == expected
    assert len(pairs) == len(expected)


def _brute_pairs(units: np.ndarray, assets: np.ndarray, radius: float) -> dict[tuple[int, int], float]:
    full = np.hypot(units[:, None, 0] - assets[None, :, 0], units[:, None, 1] - assets[None, :, 1])
    return {(int(i), int(j)): float(full[i, j]) for i, j in zip(*np.nonzero(full <= radius), strict=True)}


@pytest.mark.parametrize(
    ("n_units", "n_assets", "radius", "layout"),
    [
        (2_000, 50, 300.0, "uniform"),  # grid over the assets
        (60, 3_000, 800.0, "uniform"),  # more assets than units: grid over the units
        (40_000, 200, 150.0, "clustered"),  # several chunks of units, dense clusters
        (1_500, 1_500, 5.0, "lattice"),  # many pairs at exactly the radius
        (500, 80, 2_000.0, "utm"),  # UTM-sized coordinates, radius wider than most gaps
        (300, 30, 1e-3, "uniform"),  # a radius far below the spacing: hardly any pairs
    ],
)
def test_pairs_equal_brute_force_in_every_shape(
    n_units: int, n_assets: int, radius: float, layout: str
) -> None:
    rng = np.random.default_rng(n_units + n_assets)
    if layout == "lattice":
        # Points on a 5 m lattice: neighbours sit exactly 5 m apart, so ties decide most pairs.
        grid = np.stack(np.meshgrid(np.arange(40), np.arange(40)), axis=-1).reshape(-1, 2) * 5.0
        units, assets = (
            grid[rng.permutation(len(grid))[:n_units]],
            grid[rng.permutation(len(grid))[:n_assets]],
        )
    elif layout == "clustered":
        centres = rng.uniform(0, 20_000, size=(12, 2))
        units = centres[rng.integers(0, 12, n_units)] + rng.normal(0, 400, size=(n_units, 2))
        assets = rng.uniform(0, 20_000, size=(n_assets, 2))
    elif layout == "utm":
        offset = np.array([390_000.0, 5_810_000.0])
        units = rng.uniform(0, 10_000, size=(n_units, 2)) + offset
        assets = rng.uniform(0, 10_000, size=(n_assets, 2)) + offset
    else:
        units = rng.uniform(0, 10_000, size=(n_units, 2))
        assets = rng.uniform(0, 10_000, size=(n_assets, 2))
    pairs = pairs_within(units, assets, radius)
    found = dict(
        zip(
            zip(pairs.unit_index.tolist(), pairs.asset_index.tolist(), strict=True),
            pairs.distance_m.tolist(),
            strict=True,
        )
    )
    expected = _brute_pairs(units, assets, radius)
    assert len(found) == len(pairs)  # no pair twice
    assert found.keys() == expected.keys()
    assert np.allclose([found[k] for k in expected], list(expected.values()), rtol=0, atol=1e-9)
    assert pairs.unit_index.dtype == np.int32 and pairs.asset_index.dtype == np.int32
    # The same input gives the same pairs in the same order.
    again = pairs_within(units, assets, radius)
    assert np.array_equal(again.unit_index, pairs.unit_index)
    assert np.array_equal(again.asset_index, pairs.asset_index)


def test_pairs_of_points_beyond_any_grid_still_equal_brute_force() -> None:
    # Coordinates so far apart that no grid of cells fits: the KD-tree search answers instead.
    units = np.array([[0.0, 0.0], [1e15, 1e15], [3.0, 4.0]])
    assets = np.array([[0.0, 5.0], [1e15, 1e15 + 5.0]])
    pairs = pairs_within(units, assets, 5.0)
    found = set(zip(pairs.unit_index.tolist(), pairs.asset_index.tolist(), strict=True))
    assert found == set(_brute_pairs(units, assets, 5.0))


def test_radius_must_be_positive() -> None:
    with pytest.raises(AnalysisInputError, match="radius_m"):
        pairs_within(np.zeros((1, 2)), np.zeros((1, 2)), 0.0)


def test_points_xy_refuses_degrees(points) -> None:
    frame = points([(0.0, 0.0)]).to_crs("EPSG:4326")
    with pytest.raises(GeographicCRSError):
        points_xy(frame, "EPSG:4326")


def test_points_xy_refuses_polygons_and_empty_locations(points) -> None:
    frame = points([(0.0, 0.0), (10.0, 0.0)])
    polygons = frame.copy()
    polygons.geometry = frame.buffer(5.0)
    with pytest.raises(AnalysisInputError, match="not points"):
        points_xy(polygons, "EPSG:25833")
    holes = frame.copy()
    holes.loc[1, "geometry"] = None
    with pytest.raises(AnalysisInputError, match="no location"):
        points_xy(holes, "EPSG:25833")


def test_neighbourhood_summary_by_hand() -> None:
    # Neighbourhood 0: units with need 10 (200 m away), 30 (800 m), 60 (500 m, a tie); radius 500 m.
    # Neighbourhood 1: one unit with need 5 at 900 m. Neighbourhood 2: a unit with no need.
    nb = np.array([0, 0, 0, 1, 2])
    need = np.array([10.0, 30.0, 60.0, 5.0, 0.0])
    distance = np.array([200.0, 800.0, 500.0, 900.0, 50.0])
    units_xy = np.array([[0.0, 0.0], [0.0, 1.0], [0.0, 2.0], [5000.0, 0.0], [9000.0, 0.0]])
    assets_xy = np.array([[0.0, 400.0], [0.0, -400.0], [9000.0, 30.0]])
    pairs = pairs_within(units_xy, assets_xy, 500.0)
    table = coverage_by_neighbourhood(
        nb, 3, need, distance, 500.0, pairs, desert_min_people=25.0, desert_min_share=0.5
    )
    assert table["need"].tolist() == [100.0, 5.0, 0.0]
    # Covered: 10 + 60 (the tie counts) of 100.
    assert table["covered_need"].tolist() == [70.0, 0.0, 0.0]
    assert table["covered_share"].iloc[0] == pytest.approx(0.7)
    assert table["covered_share"].iloc[1] == 0.0
    assert np.isnan(table["covered_share"].iloc[2])  # no need: undefined, not 0
    # (10 * 200 + 30 * 800 + 60 * 500) / 100 = 560 m.
    assert table["mean_distance_m"].iloc[0] == pytest.approx(560.0)
    assert table["uncovered_need"].tolist() == [30.0, 5.0, 0.0]
    # Two distinct assets reach neighbourhood 0's units; one reaches neighbourhood 2's unit.
    assert table["assets_within_radius"].tolist() == [2, 0, 1]
    # 30 uncovered >= 25 people: desert; 5 uncovered is 100 % of its need: desert; no need: never a desert.
    assert table["desert"].tolist() == [True, True, False]


def test_desert_thresholds_are_parameters() -> None:
    nb = np.array([0, 0])
    need = np.array([40.0, 60.0])
    distance = np.array([100.0, 900.0])
    pairs = pairs_within(np.array([[0.0, 0.0], [0.0, 5000.0]]), np.array([[0.0, 100.0]]), 500.0)
    strict = coverage_by_neighbourhood(
        nb, 1, need, distance, 500.0, pairs, desert_min_people=61, desert_min_share=0.61
    )
    loose = coverage_by_neighbourhood(
        nb, 1, need, distance, 500.0, pairs, desert_min_people=60, desert_min_share=0.99
    )
    assert strict["desert"].tolist() == [False]  # 60 uncovered < 61 people and 0.6 < 0.61
    assert loose["desert"].tolist() == [True]  # 60 uncovered >= 60 people
