"""Capacitated fixing (geo.siting.capacitated_fix): the Lagrangian bounds hold for every choice of sites, the
candidates they and the strong-LP probing drop (or force) are in no answer better than the incumbent, checked
by enumerating every choice (each assignment an LP); the swap search reports what its sites really assign; and
fixing does drop candidates."""

from __future__ import annotations

import functools
import itertools

import numpy as np
import pytest
from scipy import sparse
from scipy.optimize import linprog

from geo.siting import suggest_sites_capacitated
from geo.siting.capacitated import assign
from geo.siting.capacitated_fix import (
    improve_by_swaps,
    lagrangian_bounds,
    probe_strong,
    rule_out,
    site_values,
    strong_lp_multipliers,
)


def _problem(
    seed: int, n_units: int = 50, n_cand: int = 12
) -> tuple[sparse.csr_matrix, np.ndarray, np.ndarray]:
    """Reach (units x candidates), demand and capacity of a clustered case where capacity binds."""
    rng = np.random.default_rng([seed, 41])
    centres = rng.uniform(500, 2500, size=(3, 2))
    units = centres[rng.integers(0, 3, size=n_units)] + rng.normal(0, 400, size=(n_units, 2))
    candidates = rng.uniform(0, 3000, size=(n_cand, 2))
    d = np.hypot(units[:, None, 0] - candidates[None, :, 0], units[:, None, 1] - candidates[None, :, 1])
    reach = sparse.csr_matrix((d <= 800.0).astype(np.int8))
    return reach, rng.lognormal(2.0, 0.8, size=n_units), rng.uniform(30, 150, size=n_cand)


def _every_choice(reach: sparse.csr_matrix, demand: np.ndarray, capacity: np.ndarray, p: int) -> dict:
    by_col = reach.tocsc()
    return {
        combo: assign(by_col, demand, capacity, np.asarray(combo))[0]
        for combo in itertools.combinations(range(reach.shape[1]), p)
    }


@functools.cache
def _enumerated(seed: int, p: int = 3) -> tuple[sparse.csr_matrix, np.ndarray, np.ndarray, dict]:
    """A case of _problem and every choice of p sites with what it assigns (computed once per seed)."""
    reach, demand, capacity = _problem(seed)
    return reach, demand, capacity, _every_choice(reach, demand, capacity, p)


def _multipliers(kind: str, reach: sparse.csr_matrix, demand: np.ndarray, capacity: np.ndarray, p: int):
    rng = np.random.default_rng(7)
    if kind == "zero":
        return np.zeros(len(demand))
    if kind == "random":
        return rng.uniform(0.0, 1.0, size=len(demand))
    return strong_lp_multipliers(reach.astype(np.float64).tocsr(), demand, capacity, p)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("kind", ["zero", "random", "strong LP"])
def test_lagrangian_bounds_hold_for_every_choice(seed: int, kind: str) -> None:
    p = 3
    reach, demand, capacity, every = _enumerated(seed, p)
    u = _multipliers(kind, reach, demand, capacity, p)
    bound, with_j = lagrangian_bounds(reach.tocsc(), demand, capacity, p, u)
    assert bound >= max(every.values()) - 1e-7
    for j in range(reach.shape[1]):
        best_with_j = max(v for combo, v in every.items() if j in combo)
        assert with_j[j] >= best_with_j - 1e-7


@pytest.mark.parametrize("seed", range(6))
def test_dropped_candidates_are_in_no_better_answer(seed: int) -> None:
    p = 3
    reach, demand, capacity, every = _enumerated(seed, p)
    ranked = sorted(every.values(), reverse=True)
    u = _multipliers("strong LP", reach, demand, capacity, p)
    _, with_j = lagrangian_bounds(reach.tocsc(), demand, capacity, p, u)
    dropped_any = False
    # Incumbents: the optimum itself, the tenth best choice, and a weak one.
    for incumbent in (ranked[0], ranked[min(9, len(ranked) - 1)], ranked[len(ranked) // 2]):
        out = rule_out(with_j, incumbent)
        dropped_any |= bool(out.any())
        for combo, v in every.items():
            if out[list(combo)].any():
                assert v < incumbent
    assert dropped_any


def test_the_strong_bound_is_the_strong_lp_and_tighter_than_the_simple_one() -> None:
    p = 3
    reach, demand, capacity = _problem(2)
    simple, _ = lagrangian_bounds(reach.tocsc(), demand, capacity, p, np.zeros(len(demand)))
    by_col = reach.tocsc()
    assert simple == pytest.approx(np.sort(np.minimum(capacity, reach.T @ demand))[::-1][:p].sum())
    strong, _ = lagrangian_bounds(
        by_col, demand, capacity, p, _multipliers("strong LP", reach, demand, capacity, p)
    )
    assert strong <= simple + 1e-7
    assert strong >= max(_every_choice(reach, demand, capacity, p).values()) - 1e-7


def test_site_values_are_the_knapsack_lp() -> None:
    reach, demand, capacity = _problem(3)
    u = np.random.default_rng(3).uniform(0.0, 1.2, size=len(demand))
    values = site_values(reach.tocsc(), demand, capacity, np.clip(u, 0.0, 1.0))
    for j in range(reach.shape[1]):
        rows = reach[:, j].nonzero()[0]
        if len(rows) == 0:
            assert values[j] == 0.0
            continue
        gain = 1.0 - np.clip(u[rows], 0.0, 1.0)
        solved = linprog(
            -gain,
            A_ub=np.ones((1, len(rows))),
            b_ub=[capacity[j]],
            bounds=list(zip(0 * rows, demand[rows], strict=True)),
        )
        assert values[j] == pytest.approx(-solved.fun, rel=1e-9, abs=1e-9)


@pytest.mark.parametrize("seed", range(4))
def test_swap_search_reports_what_its_sites_assign(seed: int) -> None:
    p = 3
    reach, demand, capacity = _problem(seed)
    by_col = reach.tocsc()
    start = [0, 1, 2]
    start_value = assign(by_col, demand, capacity, np.asarray(start))[0]
    sites, value = improve_by_swaps(reach.astype(np.float64).tocsr(), demand, capacity, start, 5.0)
    assert len(set(sites)) == p
    assert value == pytest.approx(assign(by_col, demand, capacity, np.asarray(sorted(sites)))[0], rel=1e-9)
    assert value >= start_value - 1e-9
    # A local optimum: no single swap assigns more.
    for slot in range(p):
        for j in set(range(reach.shape[1])) - set(sites):
            trial = [*sites[:slot], j, *sites[slot + 1 :]]
            assert assign(by_col, demand, capacity, np.asarray(trial))[0] <= value * (1 + 1e-7) + 1e-7


@pytest.mark.parametrize("seed", range(4))
def test_suggestion_with_fixing_equals_enumeration(seed: int) -> None:
    p = 3
    rng = np.random.default_rng([seed, 43])
    centres = rng.uniform(500, 2500, size=(3, 2))
    units = centres[rng.integers(0, 3, size=60)] + rng.normal(0, 400, size=(60, 2))
    demand = rng.lognormal(2.0, 0.8, size=60)
    candidates = rng.uniform(0, 3000, size=(14, 2))
    capacity = rng.uniform(30, 150, size=14)
    d = np.hypot(units[:, None, 0] - candidates[None, :, 0], units[:, None, 1] - candidates[None, :, 1])
    optimum = max(
        _every_choice(sparse.csr_matrix((d <= 800.0).astype(np.int8)), demand, capacity, p).values()
    )
    result = suggest_sites_capacitated(units, demand, candidates, capacity, 800.0, p, target_gap=0.0)
    assert result.exact and result.objective == pytest.approx(optimum, rel=1e-7)
    assert result.upper_bound == pytest.approx(optimum, rel=1e-7)
    assert result.n_candidates_left < 14  # the bounds dropped some candidates before the MILP


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("rank", [0, 1, 2, 4, 8, 16, 30])
def test_strong_probing_never_cuts_off_a_better_answer(seed: int, rank: int) -> None:
    p = 3
    reach, demand, capacity, every = _enumerated(seed, p)
    ranked = sorted(every, key=every.__getitem__, reverse=True)
    incumbent = ranked[min(rank, len(ranked) - 1)]
    value = every[incumbent]
    dropped, forced = probe_strong(
        reach.astype(np.float64).tocsr(), demand, capacity, p, list(incumbent), value, 10.0
    )
    assert not dropped[list(incumbent)].any()
    for combo, v in every.items():
        opened = np.zeros(reach.shape[1], dtype=bool)
        opened[list(combo)] = True
        if (opened & dropped).any() or (forced & ~opened).any():
            assert v < value
    if rank == 0:  # against the optimum the probes do something
        assert dropped.any() or forced.any()
