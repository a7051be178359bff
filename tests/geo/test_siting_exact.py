"""Site suggestion where greedy is not optimal: the answer against an exact MILP, with a proven gap."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, milp

from geo.siting import suggest_sites
from geo.siting.lagrange import fixed_by_bound, lagrangian_value, lp_bound
from geo.siting.search import covered_weight, interchange


def _clustered(seed: int, n_units: int, n_candidates: int, n_clusters: int = 5, side: float = 10_000.0):
    """Demand over a few overlapping clusters (lognormal weights), candidates uniform: greedy often misses."""
    rng = np.random.default_rng([seed, 13])
    centres = rng.uniform(0.2 * side, 0.8 * side, size=(n_clusters, 2))
    units = centres[rng.integers(0, n_clusters, size=n_units)] + rng.normal(0, side / 8, size=(n_units, 2))
    return units, rng.lognormal(3.0, 1.0, size=n_units), rng.uniform(0, side, size=(n_candidates, 2))


def _reference_optimum(units, weight, candidates, radius_m, p) -> float:
    """The MILP on the unmerged problem, with no bound, search or fixing: the textbook formulation."""
    d = np.hypot(units[:, None, 0] - candidates[None, :, 0], units[:, None, 1] - candidates[None, :, 1])
    reach = sparse.csr_matrix((d <= radius_m).astype(np.float64))
    n_units, n_cand = reach.shape
    link = sparse.hstack([-reach, sparse.identity(n_units)], format="csr")
    budget = sparse.csr_matrix(np.r_[np.ones(n_cand), np.zeros(n_units)][None, :])
    solved = milp(
        np.r_[np.zeros(n_cand), -weight],
        integrality=np.r_[np.ones(n_cand), np.zeros(n_units)],
        bounds=Bounds(0, 1),
        constraints=[LinearConstraint(link, -np.inf, 0), LinearConstraint(budget, -np.inf, p)],
        options={"mip_rel_gap": 0.0},
    )
    assert solved.status == 0
    return float(-solved.fun)


@pytest.mark.parametrize("seed", range(8))
def test_optimal_where_greedy_is_not(seed: int) -> None:
    units, weight, candidates = _clustered(seed, 400, 60)
    optimum = _reference_optimum(units, weight, candidates, 1500.0, 4)
    result = suggest_sites(units, weight, candidates, 1500.0, 4, target_gap=0.0)
    assert result.exact and result.gap == 0.0
    assert result.objective == pytest.approx(optimum, rel=1e-9)
    assert result.greedy_objective <= result.local_search_objective + 1e-9 <= result.objective + 2e-9
    assert result.lp_upper_bound >= optimum - 1e-6
    assert len(result.chosen) == 4 and len(set(result.chosen.tolist())) == 4
    assert result.marginal.sum() == pytest.approx(result.objective)


def test_some_seeds_do_trap_greedy() -> None:
    # The cases above are only worth something if greedy falls short on some of them.
    short = 0
    for seed in range(8):
        units, weight, candidates = _clustered(seed, 400, 60)
        result = suggest_sites(units, weight, candidates, 1500.0, 4, target_gap=0.0)
        short += result.greedy_objective < result.objective * (1 - 1e-9)
    assert short >= 2


@pytest.mark.parametrize("seed", range(3))
def test_the_reported_gap_is_proven(seed: int) -> None:
    # With the exact stage cut short, the bound still holds and the gap matches it.
    units, weight, candidates = _clustered(100 + seed, 3000, 300, n_clusters=6, side=20_000.0)
    result = suggest_sites(units, weight, candidates, 2000.0, 8, exact_time_limit_s=0.5)
    optimum = _reference_optimum(units, weight, candidates, 2000.0, 8) if seed == 0 else None
    assert result.objective <= result.upper_bound <= result.lp_upper_bound + 1e-9
    assert result.gap == pytest.approx(0.0 if result.exact else 1 - result.objective / result.upper_bound)
    if optimum is not None:
        assert result.objective <= optimum * (1 + 1e-9)
        assert result.upper_bound >= optimum * (1 - 1e-9)


def test_swaps_reach_a_local_optimum() -> None:
    units, weight, candidates = _clustered(3, 500, 40)
    d = np.hypot(units[:, None, 0] - candidates[None, :, 0], units[:, None, 1] - candidates[None, :, 1])
    matrix = sparse.csr_matrix((d <= 1500.0).astype(np.int8))
    chosen, value, _ = interchange(matrix, weight, [0, 1, 2])
    assert value == pytest.approx(covered_weight(matrix, weight, chosen))
    for slot in range(3):
        for other in set(range(40)) - set(chosen):
            trial = list(chosen)
            trial[slot] = other
            assert covered_weight(matrix, weight, trial) <= value * (1 + 1e-12)


def test_the_bound_and_its_fixing_never_cut_off_the_optimum() -> None:
    units, weight, candidates = _clustered(5, 400, 50)
    d = np.hypot(units[:, None, 0] - candidates[None, :, 0], units[:, None, 1] - candidates[None, :, 1])
    matrix = sparse.csr_matrix((d <= 1500.0).astype(np.int8))
    optimum = _reference_optimum(units, weight, candidates, 1500.0, 3)
    start, incumbent, _ = interchange(matrix, weight, [0, 1, 2])
    bound = lp_bound(matrix, weight, 3, np.asarray(start), incumbent)
    assert bound.value >= optimum - 1e-6
    # Any multipliers in [0, w] give a valid bound.
    for lam in (weight, 0.5 * weight, np.zeros_like(weight)):
        value, _ = lagrangian_value(weight, matrix.T.astype(float) @ lam, lam, 3)
        assert value >= optimum - 1e-6
    ruled_out, forced = fixed_by_bound(bound, 3, incumbent)
    # Every optimal set (checked by enumeration) avoids the ruled-out candidates.
    import itertools

    for combo in itertools.combinations(range(50), 3):
        if covered_weight(matrix, weight, combo) > incumbent * (1 + 1e-9):
            assert not ruled_out[list(combo)].any()
            assert set(np.flatnonzero(forced)) <= set(combo)


def test_p_at_least_the_candidates_opens_every_useful_one() -> None:
    units, weight, candidates = _clustered(1, 200, 6)
    result = suggest_sites(units, weight, np.vstack([candidates, [[1e6, 1e6]]]), 1500.0, 10)
    assert result.method == "all" and result.exact
    assert 6 not in result.chosen.tolist()


def test_no_candidate_in_reach_and_zero_demand() -> None:
    units, weight, _ = _clustered(2, 100, 3)
    far = suggest_sites(units, weight, np.array([[1e6, 1e6], [2e6, 2e6]]), 500.0, 1)
    assert far.chosen.tolist() == [] and far.objective == 0.0 and far.exact
    none = suggest_sites(units, np.zeros(len(units)), units[:5], 500.0, 2)
    assert none.objective == 0.0 and none.exact


def test_dominated_candidates_are_dropped_but_never_below_p() -> None:
    from geo.siting.optimise import _undominated

    # Columns: 0 reaches {0, 1}, 1 reaches {0, 1, 2} (dominates 0), 2 reaches {3}, 3 reaches {3} (same as 2).
    block = sparse.csc_matrix(np.array([[1, 1, 0, 0], [1, 1, 0, 0], [0, 1, 0, 0], [0, 0, 1, 1]]))
    names = np.array([10, 11, 12, 13])
    assert _undominated(block, names, 2).tolist() == [11, 12]
    assert _undominated(block, names, 3).tolist() == [10, 11, 12, 13]
