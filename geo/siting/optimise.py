"""Choosing up to p sites that cover the most shortfall: merged coverage, greedy, LP bound, exact MILP."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, linprog, milp

from geo.coverage import (
    AnalysisStopped,
    Deadline,
    FloatArray,
    ReachPairs,
    check_deadline,
    check_radius_m,
    pairs_within,
)
from geo.crs import AnalysisInputError

# Sizes (nonzeros + rows + columns of the merged problem) up to which the exact MILP is attempted by default.
DEFAULT_EXACT_MAX_SIZE = 2_000_000
_HASH_SEED = 20240611


@dataclass(frozen=True)
class SiteSuggestion:
    """Chosen candidate indices and how good the choice is (objective and bounds in shortfall, people)."""

    chosen: NDArray[np.int64]  # candidate indices: pick order for greedy, ascending for an exact solution
    objective: float  # shortfall within reach of a chosen site
    greedy_objective: float
    lp_upper_bound: float  # LP relaxation: no choice of p sites can cover more
    exact: bool  # proven optimal: by the MILP, by meeting the LP bound, or all useful candidates fit
    gap: float  # (best upper bound - objective) / best upper bound; 0 when proven optimal
    upper_bound: float  # best bound known: the LP bound, or the MILP's own bound when that is tighter
    marginal: FloatArray  # shortfall newly covered by each chosen site, in `chosen` order
    method: str  # "greedy", "milp" or "all" (p at least the number of useful candidates)
    n_pairs: int  # unit-candidate pairs within the radius whose unit has shortfall
    n_merged_units: int  # distinct sets of candidates reaching the units with shortfall


def _coverage_matrix(
    units_xy: FloatArray,
    candidates_xy: FloatArray,
    radius_m: float,
    keep_unit: NDArray[np.bool_],
    pairs: ReachPairs | None = None,
) -> tuple[sparse.csr_matrix, int]:
    if pairs is None:
        pairs = pairs_within(units_xy, candidates_xy, radius_m)
    pairs = pairs.subset(keep_unit[pairs.unit_index])
    matrix = sparse.csr_matrix(
        (np.ones(len(pairs), dtype=np.int8), (pairs.unit_index, pairs.asset_index)),
        shape=(len(units_xy), len(candidates_xy)),
    )
    return matrix, len(pairs)


def _merge_identical_rows(matrix: sparse.csr_matrix) -> tuple[sparse.csr_matrix, NDArray[np.int64]]:
    """Group rows with the same set of columns; return the distinct rows and each input row's group."""
    rng = np.random.default_rng(_HASH_SEED)
    n_cols = matrix.shape[1]
    pattern = sparse.csr_matrix(
        (np.ones(matrix.nnz, dtype=np.uint64), matrix.indices, matrix.indptr), shape=matrix.shape
    )
    # Two random 64-bit sums (wrapping) identify a column set; a collision is checked below, not assumed away.
    keys = np.column_stack(
        [
            pattern @ rng.integers(0, 2**63, size=n_cols, dtype=np.uint64),
            pattern @ rng.integers(0, 2**63, size=n_cols, dtype=np.uint64),
            np.diff(matrix.indptr).astype(np.uint64),
        ]
    )
    _, first, group = np.unique(keys, axis=0, return_index=True, return_inverse=True)
    group = group.ravel()
    merged = matrix[first]
    check = matrix - merged[group]
    if check.count_nonzero():
        return matrix, np.arange(matrix.shape[0])
    return merged, group


def _greedy(
    by_row: sparse.csr_matrix,
    by_col: sparse.csc_matrix,
    weight: FloatArray,
    p: int,
    deadline: Deadline | None = None,
) -> tuple[list[int], list[float], NDArray[np.bool_]]:
    gain = by_row.T @ weight
    covered = np.zeros(by_row.shape[0], dtype=bool)
    chosen: list[int] = []
    marginal: list[float] = []
    for _ in range(p):
        check_deadline(deadline)
        best = int(np.argmax(gain))
        if gain[best] <= 0:
            break
        rows = by_col.indices[by_col.indptr[best] : by_col.indptr[best + 1]]
        new_rows = rows[~covered[rows]]
        covered[new_rows] = True
        chosen.append(best)
        marginal.append(float(weight[new_rows].sum()))
        # Newly covered rows stop counting for every candidate that reaches them.
        gain = gain - by_row[new_rows].T @ weight[new_rows]
        gain[chosen] = -np.inf
    return chosen, marginal, covered


def _marginals(by_row: sparse.csr_matrix, weight: FloatArray, columns: Iterable[int]) -> FloatArray:
    """Shortfall newly covered by each column when `columns` are opened in the given order."""
    order = np.asarray(list(columns), dtype=np.int64)
    rank = np.full(by_row.shape[1], len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    row_rank = np.full(by_row.shape[0], len(order), dtype=np.int64)
    filled = np.diff(by_row.indptr) > 0
    if filled.any():
        # The first opened column that reaches a row gets the row's weight.
        row_rank[filled] = np.minimum.reduceat(rank[by_row.indices], by_row.indptr[:-1][filled])
    reached = row_rank < len(order)
    return np.bincount(row_rank[reached], weights=weight[reached], minlength=len(order)).astype(np.float64)


def suggest_sites(
    units_metric_xy: FloatArray,
    shortfall: FloatArray,
    candidates_xy: FloatArray,
    radius_m: float,
    p: int,
    *,
    exact_time_limit_s: float = 10.0,
    exact_max_size: int = DEFAULT_EXACT_MAX_SIZE,
    deadline: Deadline | None = None,
    pairs: ReachPairs | None = None,
) -> SiteSuggestion:
    """Choose up to p candidates (projected x/y, metres) maximising shortfall within `radius_m` of a site.

    `pairs` gives the unit-candidate pairs within the radius when they come from elsewhere (walking distances
    on a street network, geo.streets); by default they are the straight-line pairs.

    With a `deadline`, AnalysisStopped is raised between stages and greedy steps once its time is up; HiGHS
    (LP bound and exact solver) gets the time left as its own time limit.
    """
    radius_m = check_radius_m(radius_m)
    if isinstance(p, bool) or not isinstance(p, int | np.integer) or p < 1:
        raise AnalysisInputError(f"p, the number of sites to suggest, must be a whole number >= 1, got {p!r}")
    weight_all = np.asarray(shortfall, dtype=np.float64)
    if (
        weight_all.shape != (len(units_metric_xy),)
        or not np.isfinite(weight_all).all()
        or (weight_all < 0).any()
    ):
        raise AnalysisInputError("shortfall must be one number >= 0 per demand unit")
    if len(candidates_xy) == 0:
        raise AnalysisInputError("there are no candidate sites: give at least one")

    check_deadline(deadline)
    coverage, n_pairs = _coverage_matrix(units_metric_xy, candidates_xy, radius_m, weight_all > 0, pairs)
    check_deadline(deadline)
    reachable = np.diff(coverage.indptr) > 0
    by_row, group = _merge_identical_rows(coverage[reachable])
    weight = np.bincount(group, weights=weight_all[reachable], minlength=by_row.shape[0]).astype(np.float64)
    by_col = by_row.tocsc()
    n_rows, n_cols = by_row.shape

    check_deadline(deadline)
    chosen, marginal, covered = _greedy(by_row, by_col, weight, int(p), deadline)
    greedy_objective = float(weight[covered].sum())
    useful = np.flatnonzero(np.diff(by_col.indptr) > 0)
    if len(useful) <= p:
        # Every candidate that reaches any shortfall fits in the budget: that is optimal by definition.
        objective = float(weight.sum())
        return SiteSuggestion(
            chosen=useful.astype(np.int64),
            objective=objective,
            greedy_objective=greedy_objective,
            lp_upper_bound=objective,
            exact=True,
            gap=0.0,
            upper_bound=objective,
            marginal=_marginals(by_row, weight, useful),
            method="all",
            n_pairs=n_pairs,
            n_merged_units=n_rows,
        )

    # Variables: y_j (site j chosen), x_i (merged unit i covered); maximise w.x with x_i <= sum_j a_ij y_j.
    cost = np.r_[np.zeros(n_cols), -weight]
    link = sparse.hstack([-by_row.astype(np.float64), sparse.identity(n_rows, format="csr")], format="csr")
    budget = sparse.csr_matrix(np.r_[np.ones(n_cols), np.zeros(n_rows)][None, :])
    lp = linprog(
        cost,
        A_ub=sparse.vstack([link, budget], format="csr"),
        b_ub=np.r_[np.zeros(n_rows), float(p)],
        bounds=(0.0, 1.0),
        method="highs",
        options={} if deadline is None else {"time_limit": max(deadline.remaining_s(), 1e-3)},
    )
    check_deadline(deadline)
    if lp.status == 1 and deadline is not None:
        raise AnalysisStopped(f"took longer than {deadline.limit_s:g} s", limit_s=deadline.limit_s)
    if lp.status != 0:
        raise RuntimeError(f"the LP relaxation of the site choice failed: {lp.message}")
    lp_upper_bound = max(float(-lp.fun), greedy_objective)

    best_chosen, best_objective, best_marginal = chosen, greedy_objective, marginal
    exact, method, upper_bound = False, "greedy", lp_upper_bound
    size = by_row.nnz + n_rows + n_cols
    time_limit_s = float(exact_time_limit_s)
    if deadline is not None:
        time_limit_s = min(time_limit_s, deadline.remaining_s())
    if (
        size <= exact_max_size
        and time_limit_s > 0
        and lp_upper_bound - greedy_objective > 1e-9 * lp_upper_bound
    ):
        solved = milp(
            cost,
            integrality=np.r_[np.ones(n_cols), np.zeros(n_rows)],
            bounds=Bounds(0.0, 1.0),
            constraints=[
                LinearConstraint(link, -np.inf, 0.0),
                LinearConstraint(budget, -np.inf, float(p)),
            ],
            options={"time_limit": time_limit_s, "disp": False},
        )
        if solved.x is not None:
            milp_chosen = [int(j) for j in np.flatnonzero(solved.x[:n_cols] > 0.5)]
            milp_marginal = _marginals(by_row, weight, milp_chosen)
            if float(milp_marginal.sum()) > best_objective:
                best_chosen, best_objective, method = milp_chosen, float(milp_marginal.sum()), "milp"
                best_marginal = list(milp_marginal)
        bound = getattr(solved, "mip_dual_bound", None)
        if bound is not None and math.isfinite(bound):
            upper_bound = min(upper_bound, max(float(-bound), best_objective))
        if solved.status == 0:
            exact, upper_bound = True, best_objective
    elif lp_upper_bound - greedy_objective <= 1e-9 * lp_upper_bound:
        exact = True

    gap = 0.0 if exact or upper_bound <= 0 else (upper_bound - best_objective) / upper_bound
    return SiteSuggestion(
        chosen=np.asarray(best_chosen, dtype=np.int64),
        objective=best_objective,
        greedy_objective=greedy_objective,
        lp_upper_bound=lp_upper_bound,
        exact=exact,
        gap=max(gap, 0.0),
        upper_bound=upper_bound,
        marginal=np.asarray(best_marginal, dtype=np.float64),
        method=method,
        n_pairs=n_pairs,
        n_merged_units=n_rows,
    )
