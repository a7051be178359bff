"""The fewest sites for a share of the gap (geo.siting.cover) against hand cases and brute force."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from geo.crs import AnalysisInputError
from geo.siting.cover import sites_needed


def _reach(units_xy: np.ndarray, candidates_xy: np.ndarray, radius_m: float) -> np.ndarray:
    dx = units_xy[:, None, 0] - candidates_xy[None, :, 0]
    dy = units_xy[:, None, 1] - candidates_xy[None, :, 1]
    return np.hypot(dx, dy) <= radius_m


def _brute_force_sites(reach: np.ndarray, weight: np.ndarray, share: float) -> int | None:
    """The fewest candidates whose reach holds `share` of all weight, by trying every subset by size."""
    target = share * weight.sum()
    if target <= 0:
        return 0
    for k in range(1, reach.shape[1] + 1):
        for chosen in itertools.combinations(range(reach.shape[1]), k):
            if weight[reach[:, list(chosen)].any(axis=1)].sum() >= target * (1 - 1e-9):
                return k
    return None


def test_greedy_is_not_optimal_and_the_milp_proves_the_optimum() -> None:
    # On a line, radius 100 m. Units u1 (3) at 0, u2 (3) at 180, u3 (2) at -100, u4 (2) at 280: total 10.
    # C at 90 reaches u1 + u2 (6), A at -50 reaches u1 + u3 (5), B at 230 reaches u2 + u4 (5).
    # For 100 %: greedy takes C (6), then A (+2), then B (+2): 3 sites. A and B alone reach all 10: 2 sites.
    units = np.array([[0.0, 0.0], [180.0, 0.0], [-100.0, 0.0], [280.0, 0.0]])
    weight = np.array([3.0, 3.0, 2.0, 2.0])
    candidates = np.array([[-50.0, 0.0], [230.0, 0.0], [90.0, 0.0]])
    result = sites_needed(units, weight, candidates, 100.0, shares=(0.5, 1.0))
    half, whole = result.for_share(0.5), result.for_share(1.0)
    assert result.total_weight == 10.0 and result.max_share == 1.0
    # Half (5) is reached by C alone.
    assert half.n_sites == 1 and half.exact and half.chosen.tolist() == [2]
    assert whole.greedy_sites == 3
    assert whole.n_sites == 2 and sorted(whole.chosen.tolist()) == [0, 1]
    assert whole.exact and whole.gap == 0 and whole.method == "milp" and whole.covered == 10.0


def test_a_share_no_set_of_candidates_reaches_is_not_reachable() -> None:
    # Unit 1 (weight 8) has no candidate within 100 m: at most 2 of 10 can be reached.
    units = np.array([[0.0, 0.0], [5000.0, 0.0]])
    result = sites_needed(units, np.array([2.0, 8.0]), np.array([[10.0, 0.0]]), 100.0, shares=(0.1, 0.5))
    assert result.max_share == pytest.approx(0.2)
    assert result.for_share(0.1).n_sites == 1
    unreachable = result.for_share(0.5)
    assert not unreachable.reachable and unreachable.n_sites is None and unreachable.method == "unreachable"


def test_no_weight_needs_no_site() -> None:
    result = sites_needed(np.array([[0.0, 0.0]]), np.array([0.0]), np.array([[0.0, 0.0]]), 100.0)
    assert result.max_share is None
    assert all(s.n_sites == 0 and s.exact for s in result.solutions)


def test_nothing_in_reach_of_any_candidate() -> None:
    result = sites_needed(np.array([[0.0, 0.0]]), np.array([4.0]), np.array([[900.0, 0.0]]), 100.0)
    assert result.max_share == 0.0
    assert all(not s.reachable for s in result.solutions)


@pytest.mark.parametrize("seed", range(8))
def test_sites_needed_agree_with_brute_force(seed: int) -> None:
    rng = np.random.default_rng(seed)
    units = rng.uniform(0, 1000, size=(40, 2))
    weight = rng.lognormal(0, 1, size=40) * (rng.random(40) > 0.15)
    candidates = rng.uniform(0, 1000, size=(9, 2))
    reach = _reach(units, candidates, 260.0)
    shares = (0.25, 0.5, 0.75, 0.9)
    result = sites_needed(units, weight, candidates, 260.0, shares=shares)
    assert result.max_covered == pytest.approx(weight[reach.any(axis=1)].sum())
    for share in shares:
        solution = result.for_share(share)
        expected = _brute_force_sites(reach, weight, share)
        assert solution.n_sites == expected, (seed, share)
        if expected is not None:
            assert solution.exact and solution.gap == 0
            # The cover it names really reaches the target.
            assert weight[reach[:, solution.chosen].any(axis=1)].sum() >= share * weight.sum() * (1 - 1e-9)
            assert solution.lower_bound == expected


def test_a_stopped_milp_reports_its_gap_not_a_false_optimum() -> None:
    rng = np.random.default_rng(3)
    units = rng.uniform(0, 5000, size=(3000, 2))
    candidates = rng.uniform(0, 5000, size=(300, 2))
    result = sites_needed(
        units, rng.lognormal(0, 1, 3000), candidates, 400.0, shares=(0.9,), exact_time_limit_s=0
    )
    solution = result.solutions[0]
    assert solution.n_sites is not None and solution.lower_bound is not None
    assert solution.lower_bound <= solution.n_sites
    assert solution.exact == (solution.gap == 0)
    assert solution.method == "greedy"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"shares": (0.0,)}, "shares"),
        ({"shares": (1.5,)}, "shares"),
        ({"shares": ()}, "shares"),
    ],
)
def test_bad_shares_are_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(AnalysisInputError, match=message):
        sites_needed(np.zeros((1, 2)), np.ones(1), np.zeros((1, 2)), 100.0, **kwargs)  # type: ignore[arg-type]


def test_bad_weights_and_no_candidates_are_refused() -> None:
    with pytest.raises(AnalysisInputError, match="weight"):
        sites_needed(np.zeros((2, 2)), np.array([1.0, -1.0]), np.zeros((1, 2)), 100.0)
    with pytest.raises(AnalysisInputError, match="candidate"):
        sites_needed(np.zeros((1, 2)), np.ones(1), np.zeros((0, 2)), 100.0)
