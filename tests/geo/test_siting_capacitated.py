"""Capacitated site choice against brute force: every subset of p sites, each assignment solved as an LP."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.optimize import linprog

from geo.crs import AnalysisInputError
from geo.siting import suggest_sites_capacitated


def _best_assignment(
    reach: np.ndarray, demand: np.ndarray, capacity: np.ndarray, opened: tuple[int, ...]
) -> float:
    """Dense transportation LP: z_ij on pairs within reach, rows <= demand, columns <= capacity."""
    pairs = [(i, k) for k, j in enumerate(opened) for i in np.flatnonzero(reach[:, j])]
    if not pairs:
        return 0.0
    a = np.zeros((len(demand) + len(opened), len(pairs)))
    for n, (i, k) in enumerate(pairs):
        a[i, n] = 1.0
        a[len(demand) + k, n] = 1.0
    solved = linprog(-np.ones(len(pairs)), A_ub=a, b_ub=np.r_[demand, capacity[list(opened)]], method="highs")
    return float(-solved.fun)


def _brute_force(units, demand, candidates, capacity, radius_m, p) -> float:
    d = np.hypot(units[:, None, 0] - candidates[None, :, 0], units[:, None, 1] - candidates[None, :, 1])
    reach = d <= radius_m
    return max(
        _best_assignment(reach, demand, capacity, combo)
        for combo in itertools.combinations(range(len(candidates)), min(p, len(candidates)))
    )


def _case(seed: int, n_units: int = 40, n_candidates: int = 8):
    rng = np.random.default_rng([seed, 29])
    centres = rng.uniform(500, 2500, size=(3, 2))
    units = centres[rng.integers(0, 3, size=n_units)] + rng.normal(0, 400, size=(n_units, 2))
    demand = rng.lognormal(2.0, 0.8, size=n_units)
    candidates = rng.uniform(0, 3000, size=(n_candidates, 2))
    capacity = rng.uniform(20, 120, size=n_candidates)
    return units, demand, candidates, capacity


@pytest.mark.parametrize("seed", range(8))
def test_capacitated_equals_brute_force(seed: int) -> None:
    units, demand, candidates, capacity = _case(seed)
    optimum = _brute_force(units, demand, candidates, capacity, 700.0, 3)
    result = suggest_sites_capacitated(units, demand, candidates, capacity, 700.0, 3, target_gap=0.0)
    assert result.exact and result.gap == 0.0
    assert result.objective == pytest.approx(optimum, rel=1e-7)
    assert result.heuristic_objective <= result.objective + 1e-7
    assert len(result.chosen) <= 3
    assert (result.load <= capacity[result.chosen] + 1e-7).all()
    assert result.load.sum() == pytest.approx(result.objective)


def test_one_capacity_for_every_site_and_a_proven_heuristic_gap() -> None:
    units, demand, candidates, _ = _case(11, n_units=60, n_candidates=9)
    optimum = _brute_force(units, demand, candidates, np.full(9, 50.0), 700.0, 2)
    heuristic_only = suggest_sites_capacitated(units, demand, candidates, 50.0, 700.0, 2, exact_max_size=0)
    assert heuristic_only.objective <= optimum + 1e-7 <= heuristic_only.upper_bound + 2e-7
    assert heuristic_only.method in ("heuristic", "all")
    exact = suggest_sites_capacitated(units, demand, candidates, 50.0, 700.0, 2, target_gap=0.0)
    assert exact.objective == pytest.approx(optimum, rel=1e-7)


def test_capacity_binds_where_coverage_would_not() -> None:
    # 100 people beside site 0 (capacity 30) and 25 beside site 1 (capacity 30): one site serves 30 either way,
    # but uncapacitated coverage would pick site 0 for all 100.
    units = np.array([[0.0, 0.0], [5000.0, 0.0]])
    result = suggest_sites_capacitated(units, np.array([100.0, 25.0]), units + 10.0, 30.0, 200.0, 1)
    assert result.objective == pytest.approx(30.0)
    two = suggest_sites_capacitated(units, np.array([100.0, 25.0]), units + 10.0, 30.0, 200.0, 2)
    assert two.objective == pytest.approx(55.0) and two.method == "all" and two.exact


def test_capacitated_edge_cases() -> None:
    units, demand, candidates, capacity = _case(1)
    far = suggest_sites_capacitated(units, demand, candidates + 1e6, capacity, 500.0, 2)
    assert far.chosen.tolist() == [] and far.objective == 0.0 and far.exact
    zero = suggest_sites_capacitated(units, np.zeros(len(units)), candidates, capacity, 700.0, 2)
    assert zero.objective == 0.0 and zero.exact
    closed = suggest_sites_capacitated(units, demand, candidates, 0.0, 700.0, 2)
    assert closed.objective == 0.0
    with pytest.raises(AnalysisInputError, match="capacity"):
        suggest_sites_capacitated(units, demand, candidates, -1.0, 700.0, 2)
    with pytest.raises(AnalysisInputError, match="whole number"):
        suggest_sites_capacitated(units, demand, candidates, capacity, 700.0, 0)
