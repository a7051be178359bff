"""E2SFCA: decay functions, hand-computed ratios and scores, the capacity invariant, PySAL `access` parity."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from geo.access import DEFAULT_STEP_WEIGHTS, decay_weight, e2sfca, step_zones_for
from geo.coverage import ReachPairs, pairs_within
from geo.crs import AnalysisInputError

GAUSSIAN_AT_HALF_RADIUS = (math.exp(-1 / 8) - math.exp(-1 / 2)) / (1 - math.exp(-1 / 2))  # 0.70137


def test_plain_2sfca_weights_are_one_up_to_and_including_the_radius() -> None:
    assert decay_weight(np.array([0.0, 500.0, 500.0001]), 500.0, "none").tolist() == [1.0, 1.0, 0.0]


def test_step_zones_include_their_upper_bound() -> None:
    # Default zones for r = 900 m: 300, 600, 900 with weights 1.0, 0.68, 0.22.
    assert step_zones_for(900.0) == pytest.approx((300.0, 600.0, 900.0))
    d = np.array([0.0, 300.0, 300.5, 600.0, 899.0, 900.0, 900.5])
    assert decay_weight(d, 900.0, "step").tolist() == [1.0, 1.0, 0.68, 0.68, 0.22, 0.22, 0.0]


def test_custom_step_zones_end_before_the_radius() -> None:
    d = np.array([100.0, 250.0, 450.0])
    weights = decay_weight(d, 500.0, "step", step_zones_m=(100.0, 400.0), step_weights=(1.0, 0.5))
    # Beyond the last zone (400 m) the weight is 0 even inside the radius.
    assert weights.tolist() == [1.0, 0.5, 0.0]


def test_gaussian_is_one_at_zero_and_reaches_zero_at_the_radius() -> None:
    weights = decay_weight(np.array([0.0, 250.0, 500.0, 600.0]), 500.0, "gaussian")
    assert weights == pytest.approx([1.0, GAUSSIAN_AT_HALF_RADIUS, 0.0, 0.0])


@pytest.mark.parametrize(
    ("zones", "weights", "fragment"),
    [
        ((300.0, 200.0), (1.0, 0.5), "increasing"),
        ((300.0, 1200.0), (1.0, 0.5), "beyond the radius"),
        ((300.0, 600.0), (1.0,), "one per zone"),
        ((300.0, 600.0), (1.0, -0.2), ">= 0"),
    ],
)
def test_bad_step_settings_say_what_is_wrong(zones, weights, fragment) -> None:
    with pytest.raises(AnalysisInputError, match=fragment):
        decay_weight(np.array([1.0]), 900.0, "step", step_zones_m=zones, step_weights=weights)


def test_unknown_decay_is_refused() -> None:
    with pytest.raises(AnalysisInputError, match="gaussian"):
        decay_weight(np.array([1.0]), 900.0, "linear")


def test_plain_2sfca_by_hand() -> None:
    # r = 1000 m. Unit 1 (need 100) at x = 0, unit 2 (need 300) at x = 1500.
    # Asset A (capacity 10) at x = 500 reaches both (500 m, and 1000 m: a tie, in reach): R_A = 10 / 400.
    # Asset B (capacity 6) at x = 2000 reaches unit 2 only: R_B = 6 / 300.
    units = np.array([[0.0, 0.0], [1500.0, 0.0]])
    assets = np.array([[500.0, 0.0], [2000.0, 0.0]])
    result = e2sfca(units, np.array([100.0, 300.0]), assets, np.array([10.0, 6.0]), 1000.0, decay="none")
    assert result.demand_in_reach == pytest.approx([400.0, 300.0])
    assert result.ratio == pytest.approx([0.025, 0.02])
    assert result.access == pytest.approx([0.025, 0.045])
    # Reference ratio: 16 capacity / 400 need = 0.04, so a = A / 0.04.
    assert result.reference_ratio == pytest.approx(0.04)
    assert result.access_score == pytest.approx([0.625, 1.125])
    assert not result.idle.any()


def test_step_e2sfca_by_hand() -> None:
    # r = 900 m, zones 300/600/900. Asset (capacity 10) at y = 300: unit 1 (need 100) at 300 m, on the first
    # zone's bound (weight 1); unit 2 (need 50) at 400 m (weight 0.68). W N = 100 + 34 = 134.
    units = np.array([[0.0, 0.0], [0.0, 700.0]])
    result = e2sfca(units, np.array([100.0, 50.0]), np.array([[0.0, 300.0]]), [10.0], 900.0, decay="step")
    assert result.demand_in_reach == pytest.approx([134.0])
    assert result.access == pytest.approx([10.0 / 134.0, 0.68 * 10.0 / 134.0])


def test_gaussian_e2sfca_by_hand() -> None:
    # r = 400 m. Asset (capacity 5) on unit 1 (need 10, weight 1) and 200 m from unit 2 (need 20,
    # weight 0.70137).
    units = np.array([[0.0, 0.0], [200.0, 0.0]])
    result = e2sfca(units, np.array([10.0, 20.0]), np.array([[0.0, 0.0]]), [5.0], 400.0, decay="gaussian")
    demand = 10.0 + 20.0 * GAUSSIAN_AT_HALF_RADIUS
    assert result.demand_in_reach == pytest.approx([demand])
    assert result.access == pytest.approx([5.0 / demand, GAUSSIAN_AT_HALF_RADIUS * 5.0 / demand])


def test_zero_capacity_is_a_closed_asset() -> None:
    units = np.array([[0.0, 0.0]])
    result = e2sfca(
        units, np.array([50.0]), np.array([[10.0, 0.0], [20.0, 0.0]]), [0.0, 5.0], 100.0, decay="none"
    )
    assert result.ratio.tolist() == [0.0, 0.1]
    assert result.access == pytest.approx([0.1])
    assert result.idle.tolist() == [False, False]  # closed is not idle
    assert result.reference_ratio == pytest.approx(5.0 / 50.0)


def test_unknown_capacity_counts_as_one_and_is_flagged() -> None:
    units = np.array([[0.0, 0.0]])
    result = e2sfca(
        units, np.array([4.0]), np.array([[10.0, 0.0], [20.0, 0.0]]), [np.nan, 3.0], 100.0, decay="none"
    )
    assert result.capacity_used.tolist() == [1.0, 3.0]
    assert result.capacity_unknown.tolist() == [True, False]
    assert result.access == pytest.approx([1.0 / 4.0 + 3.0 / 4.0])


def test_an_asset_with_no_demand_in_reach_has_ratio_zero_and_is_idle() -> None:
    units = np.array([[0.0, 0.0]])
    assets = np.array([[0.0, 100.0], [5000.0, 0.0]])
    result = e2sfca(units, np.array([20.0]), assets, [2.0, 8.0], 500.0, decay="none")
    assert result.ratio.tolist() == [0.1, 0.0]
    assert result.idle.tolist() == [False, True]
    # Its capacity still counts in the city-wide reference: (2 + 8) / 20 = 0.5, so a = 0.1 / 0.5 = 0.2.
    assert result.access_score == pytest.approx([0.2])


def test_negative_capacity_is_refused() -> None:
    with pytest.raises(AnalysisInputError, match="capacity"):
        e2sfca(np.zeros((1, 2)), np.ones(1), np.zeros((1, 2)), [-1.0], 100.0)


@pytest.mark.parametrize("decay", ["none", "step", "gaussian"])
def test_need_weighted_access_adds_up_to_the_capacity_that_has_demand_in_reach(decay: str) -> None:
    rng = np.random.default_rng(11)
    units = rng.uniform(0, 5000, size=(800, 2))
    need = rng.uniform(0, 50, size=800)
    assets = rng.uniform(-500, 5500, size=(60, 2))  # some outside the demand area, some out of reach
    capacity = rng.uniform(1, 30, size=60)
    capacity[::7] = 0.0
    capacity[::11] = np.nan
    result = e2sfca(units, need, assets, capacity, 600.0, decay=decay)
    reached = result.demand_in_reach > 0
    assert result.idle.any()  # the instance does test the exclusion
    assert float(need @ result.access) == pytest.approx(float(result.capacity_used[reached].sum()), rel=1e-12)


def _access_package_2sfca(units, need, assets, capacity, radius_m, weight_fn):
    access_module = pytest.importorskip("access")
    pairs = pairs_within(units, assets, radius_m * 1.5)  # a longer table: access must apply max_cost itself
    cost = pd.DataFrame({"origin": pairs.unit_index, "dest": pairs.asset_index, "cost": pairs.distance_m})
    demand = pd.DataFrame({"geoid": np.arange(len(units)), "demand": need})
    supply = pd.DataFrame({"geoid": np.arange(len(assets)), "supply": capacity})
    model = access_module.Access(
        demand_df=demand,
        demand_index="geoid",
        demand_value="demand",
        supply_df=supply,
        supply_index="geoid",
        supply_value="supply",
        cost_df=cost,
        cost_origin="origin",
        cost_dest="dest",
        cost_name="cost",
    )
    frame = model.two_stage_fca(name="peer", max_cost=radius_m, weight_fn=weight_fn)
    return frame["peer_supply"].reindex(np.arange(len(units))).fillna(0.0).to_numpy()


@pytest.mark.filterwarnings("ignore:The inplace keyword")  # raised inside the peer package
@pytest.mark.parametrize("decay", ["none", "step", "gaussian"])
def test_matches_pysal_access_on_random_inputs(decay: str) -> None:
    pytest.importorskip("access")
    from access import weights as access_weights

    radius_m = 700.0
    rng = np.random.default_rng({"none": 1, "step": 2, "gaussian": 3}[decay])
    units = rng.uniform(0, 6000, size=(1500, 2))
    need = rng.integers(1, 80, size=1500).astype(float)
    assets = rng.uniform(0, 6000, size=(120, 2))
    capacity = rng.integers(0, 40, size=120).astype(float)
    if decay == "none":
        weight_fn = None
    elif decay == "step":
        zones = step_zones_for(radius_m)
        weight_fn = access_weights.step_fn(dict(zip(zones, DEFAULT_STEP_WEIGHTS, strict=True)))
    else:

        def weight_fn(d: float) -> float:
            # The catchment Gaussian written out again, independently of geo.access.
            return (math.exp(-0.5 * (d / radius_m) ** 2) - math.exp(-0.5)) / (1 - math.exp(-0.5))

    peer = _access_package_2sfca(units, need, assets, capacity, radius_m, weight_fn)
    ours = e2sfca(units, need, assets, capacity, radius_m, decay=decay)
    assert np.count_nonzero(peer) > 1000
    np.testing.assert_allclose(ours.access, peer, rtol=1e-9, atol=1e-12)


def _dense_e2sfca(units, need, assets, capacity, radius_m, decay, **step):
    """E2SFCA the slow way: every distance (np.hypot), W dense, both steps as matrix products."""
    d = np.hypot(units[:, None, 0] - assets[None, :, 0], units[:, None, 1] - assets[None, :, 1])
    w = decay_weight(d.ravel(), radius_m, decay, **step).reshape(d.shape)
    demand = w.T @ need
    ratio = np.divide(capacity, demand, out=np.zeros(len(assets)), where=demand > 0)
    return demand, ratio, w @ ratio, int(np.count_nonzero(d <= radius_m))


def _clustered_case(seed: int, n_units: int = 3000, n_assets: int = 150):
    rng = np.random.default_rng(seed)
    centres = rng.uniform(0, 8000, size=(6, 2))
    units = centres[rng.integers(0, 6, n_units)] + rng.normal(0, 700, size=(n_units, 2))
    units[: n_units // 4] = rng.uniform(-2000, 10_000, size=(n_units // 4, 2))  # some far from every asset
    units += 390_000.0  # projected coordinates of a real size: rounding as in a city
    assets = rng.uniform(0, 8000, size=(n_assets, 2)) + 390_000.0
    need = rng.gamma(2.0, 10.0, n_units)
    need[::13] = 0.0
    capacity = rng.integers(0, 50, n_assets).astype(float)
    return units, need, assets, capacity


@pytest.mark.parametrize("decay", ["none", "step", "gaussian"])
@pytest.mark.parametrize("radius_m", [350.0, 900.0, 2500.0])
def test_every_decay_equals_a_dense_computation(decay: str, radius_m: float) -> None:
    units, need, assets, capacity = _clustered_case(int(radius_m))
    demand, ratio, access, n_pairs = _dense_e2sfca(units, need, assets, capacity, radius_m, decay)
    for pairs in (None, pairs_within(units, assets, radius_m)):
        result = e2sfca(units, need, assets, capacity, radius_m, decay=decay, pairs=pairs)
        np.testing.assert_allclose(result.demand_in_reach, demand, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(result.ratio, ratio, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(result.access, access, rtol=1e-12, atol=1e-15)
        assert result.n_pairs == n_pairs


def test_from_coordinates_and_from_pairs_agree_with_more_assets_than_units() -> None:
    units, need, assets, capacity = _clustered_case(5, n_units=200, n_assets=900)
    for decay in ("none", "step", "gaussian"):
        straight = e2sfca(units, need, assets, capacity, 1200.0, decay=decay)
        given = e2sfca(
            units, need, assets, capacity, 1200.0, decay=decay, pairs=pairs_within(units, assets, 1200.0)
        )
        np.testing.assert_allclose(straight.access, given.access, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(straight.demand_in_reach, given.demand_in_reach, rtol=1e-12, atol=1e-12)
        assert straight.n_pairs == given.n_pairs


def test_pairs_exactly_at_the_radius_and_at_a_zone_bound_count_as_in_the_pair_search() -> None:
    # Units on a circle of radius r around each asset (a few rounded just inside or outside), and on the
    # zone bounds r/3 and 2r/3: the two paths must decide every one of them alike.
    rng = np.random.default_rng(3)
    radius_m = 900.0
    assets = rng.uniform(0, 20_000, size=(40, 2)) + 500_000.0
    angles = rng.uniform(0, 2 * np.pi, size=(40, 30))
    rings = []
    for scale in (1.0, 1 / 3, 2 / 3):
        ring = assets[:, None, :] + scale * radius_m * np.stack([np.cos(angles), np.sin(angles)], axis=-1)
        rings.append(ring.reshape(-1, 2))
    shift = np.array([radius_m, 0.0])
    units = np.vstack([*rings, assets + shift, assets - shift[::-1]])  # exact ties too
    need = rng.uniform(1, 5, len(units))
    capacity = rng.uniform(1, 9, len(assets))
    pairs = pairs_within(units, assets, radius_m)
    for decay in ("none", "step", "gaussian"):
        straight = e2sfca(units, need, assets, capacity, radius_m, decay=decay)
        given = e2sfca(units, need, assets, capacity, radius_m, decay=decay, pairs=pairs)
        assert straight.n_pairs == given.n_pairs == len(pairs)
        np.testing.assert_allclose(straight.access, given.access, rtol=1e-12, atol=1e-15)


def test_more_step_zones_than_the_compiled_loops_take_still_compute() -> None:
    units, need, assets, capacity = _clustered_case(8, n_units=800, n_assets=60)
    zones = (100.0, 200.0, 300.0, 450.0, 600.0, 800.0)
    step = {"step_zones_m": zones, "step_weights": (1.0, 0.9, 0.7, 0.5, 0.3, 0.1)}
    _, _, access, n_pairs = _dense_e2sfca(units, need, assets, capacity, 800.0, "step", **step)
    result = e2sfca(units, need, assets, capacity, 800.0, decay="step", **step)
    np.testing.assert_allclose(result.access, access, rtol=1e-12, atol=1e-15)
    assert result.n_pairs == n_pairs


def test_assets_spread_far_apart_still_find_every_pair() -> None:
    # Two clusters 3,000 km apart with a 300 m radius: the grid's cells are made wider than the radius.
    rng = np.random.default_rng(4)
    units = np.vstack([rng.uniform(0, 2000, (300, 2)), rng.uniform(0, 2000, (300, 2)) + 3e6])
    assets = np.vstack([rng.uniform(0, 2000, (20, 2)), rng.uniform(0, 2000, (20, 2)) + 3e6])
    need, capacity = rng.uniform(1, 9, 600), rng.uniform(1, 9, 40)
    for decay in ("none", "gaussian"):
        _, _, access, n_pairs = _dense_e2sfca(units, need, assets, capacity, 300.0, decay)
        result = e2sfca(units, need, assets, capacity, 300.0, decay=decay)
        np.testing.assert_allclose(result.access, access, rtol=1e-12, atol=1e-15)
        assert result.n_pairs == n_pairs


def test_empty_inputs_and_network_style_pairs() -> None:
    assets = np.array([[0.0, 0.0], [1000.0, 0.0]])
    none_in_reach = e2sfca(np.zeros((0, 2)), np.zeros(0), assets, [1.0, 2.0], 500.0)
    assert none_in_reach.access.shape == (0,) and none_in_reach.idle.all() and none_in_reach.n_pairs == 0
    # Pairs from another distance source (a street network, say) may be longer than the straight line and
    # include pairs beyond the radius, which are ignored.
    units = np.array([[0.0, 10.0], [900.0, 0.0]])
    pairs = ReachPairs(
        np.array([0, 1, 1], dtype=np.int32),
        np.array([0, 1, 0], dtype=np.int32),
        np.array([300.0, 150.0, 950.0]),
    )
    result = e2sfca(units, np.array([10.0, 30.0]), assets, [4.0, 6.0], 500.0, decay="none", pairs=pairs)
    assert result.n_pairs == 2
    assert result.demand_in_reach.tolist() == [10.0, 30.0]
    assert result.access == pytest.approx([0.4, 0.2])


def test_gaussian_of_the_compiled_loops_matches_numpy_within_a_few_units_in_the_last_place() -> None:
    radius_m = 1000.0
    d = np.linspace(0.0, radius_m, 20_001)
    pairs = ReachPairs(np.zeros(d.size, dtype=np.int32), np.arange(d.size, dtype=np.int32), d)
    result = e2sfca(
        np.zeros((1, 2)),
        np.ones(1),
        np.zeros((d.size, 2)),
        np.ones(d.size),
        radius_m,
        decay="gaussian",
        pairs=pairs,
    )
    # With one unit of need 1, demand in reach of asset j is f(d_j).
    np.testing.assert_allclose(
        result.demand_in_reach, decay_weight(d, radius_m, "gaussian"), rtol=0, atol=1e-15
    )


def test_warm_up_runs_every_compiled_loop() -> None:
    from geo.access import warm_up

    warm_up()  # raises if a loop does not compile


@pytest.mark.parametrize("bad", [math.inf, -1.0, math.nan])
def test_need_that_is_negative_or_not_finite_is_refused(bad: float) -> None:
    units = np.array([[0.0, 0.0], [100.0, 0.0]])
    with pytest.raises(AnalysisInputError, match="need must be one number >= 0"):
        e2sfca(units, np.array([1.0, bad]), np.array([[50.0, 0.0]]), [1.0], 200.0)


@pytest.mark.parametrize("bad", [math.inf, -math.inf, math.nan])
def test_a_unit_coordinate_that_is_not_finite_is_refused_not_clamped(bad: float) -> None:
    # The compiled bucketing notices it and hands over to the pair search, which refuses it; nothing is
    # computed with the unit clamped to the edge of the grid.
    units = np.array([[0.0, 0.0], [bad, 0.0], [100.0, 0.0]])
    with pytest.raises(ValueError, match="finite"):
        e2sfca(units, np.ones(3), np.array([[50.0, 0.0]]), [1.0], 200.0, decay="none")


def test_need_total_is_the_sum_and_nan_for_a_bad_value() -> None:
    from geo.access_kernels import need_total

    values = np.random.default_rng(5).gamma(2.0, 15.0, size=1001)
    assert need_total(values) == pytest.approx(values.sum(), rel=1e-13)
    assert need_total(np.zeros(0)) == 0.0
    values[500] = -0.5
    assert math.isnan(need_total(values))


def test_squared_zone_bounds_decide_as_the_square_root_would() -> None:
    from geo.access_kernels import squared_bounds

    zones = np.array([266.6666666666667, 533.3333333333334, 800.0, 0.1, -1.0])
    bounds = squared_bounds(zones)
    assert bounds[-1] == -1.0  # a padded zone takes nothing
    for z, t in zip(zones[:-1], bounds[:-1], strict=True):
        # Every double within a few hundred units in the last place of z^2, and t itself.
        near = z * z + np.arange(-300, 301) * np.spacing(z * z)
        near = np.append(near, [t, np.nextafter(t, np.inf), np.nextafter(t, -np.inf)])
        assert ((near <= t) == (np.sqrt(near) <= z)).all()


@pytest.mark.parametrize("bad", [math.inf, math.nan])
def test_an_asset_coordinate_that_is_not_finite_is_refused(bad: float) -> None:
    units = np.array([[0.0, 0.0], [100.0, 0.0]])
    with pytest.raises(ValueError, match="finite"):
        e2sfca(units, np.ones(2), np.array([[50.0, 0.0], [60.0, bad]]), [1.0, 1.0], 200.0)


def test_points_box_is_the_bounding_box() -> None:
    from geo.access_kernels import points_box

    xy = np.random.default_rng(9).normal(0.0, 1000.0, size=(501, 2))
    assert points_box(xy) == (*xy.min(axis=0), *xy.max(axis=0))


@pytest.mark.parametrize(
    ("width", "height"), [(1.0, 2.0), (0.25, 2.0), (1.0, 0.25), (0.5, 1.0), (1 / 3, 1 / 3), (0.25, 0.25)]
)
def test_every_cell_shape_finds_the_same_pairs_and_sums(monkeypatch, width: float, height: float) -> None:
    # The cost model picks the cells' width and height; whichever it picks, the pairs (ties at the radius and
    # the zone bounds included) and the sums must be those of the pair search.
    import geo.access_kernels as kernels

    monkeypatch.setattr(kernels, "CELL_WIDTHS", (width,))
    monkeypatch.setattr(kernels, "CELL_HEIGHTS", (height,))
    rng = np.random.default_rng(17)
    radius_m = 700.0
    units, need, assets, capacity = _clustered_case(8, n_units=3000, n_assets=150)
    angles = rng.uniform(0, 2 * np.pi, size=(150, 6))
    ring = assets[:, None, :] + radius_m * np.stack([np.cos(angles), np.sin(angles)], axis=-1)
    units = np.vstack([units, ring.reshape(-1, 2), assets + np.array([radius_m / 3, 0.0])])
    need = np.concatenate([need, rng.uniform(1, 5, len(units) - len(need))])
    grid = kernels.plan_grid(units, assets, radius_m)
    assert grid is not None and (grid.cell_w, grid.cell_h) == (radius_m * width, radius_m * height)
    pairs = pairs_within(units, assets, radius_m)
    for decay in ("none", "step", "gaussian"):
        straight = e2sfca(units, need, assets, capacity, radius_m, decay=decay)
        given = e2sfca(units, need, assets, capacity, radius_m, decay=decay, pairs=pairs)
        assert straight.n_pairs == given.n_pairs == len(pairs)
        np.testing.assert_allclose(straight.demand_in_reach, given.demand_in_reach, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(straight.access, given.access, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_bucketing_keeps_a_non_finite_unit_inside_the_grid(bad: float) -> None:
    # The bucketing counts every unit into a cell before it reports the non-finite one: that unit must be
    # counted inside the grid (NaN clamped to cell 0), never written out of the array.
    from geo.access_kernels import bucket_units

    units = np.array([[10.0, 10.0], [bad, 20.0], [30.0, bad], [40.0, 40.0]])
    rows, cols = 5, 6
    start = np.zeros(rows * cols + 1, dtype=np.int64)
    qxy, qn, place = np.zeros(8), np.zeros(4), np.zeros(4, dtype=np.int64)
    finite = bucket_units(units, np.ones(4), 0.0, 0.0, 10.0, 10.0, cols, rows, start, qxy, qn, place)
    assert not finite
    assert start.sum() == len(units)  # every unit counted into some cell of the grid
