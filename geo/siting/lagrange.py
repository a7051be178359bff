"""Upper bounds for the maximal covering problem, and candidates they rule out.

Relaxing "unit i counts only if a chosen site covers it" with a multiplier 0 <= lambda_i <= w_i gives, for any
such lambda, the bound
    L(lambda) = sum_i (w_i - lambda_i) + (sum of the p largest c_j),   c = A^T lambda,
on every choice of p sites; its minimum over lambda is the LP relaxation's optimum. The minimum is found by column
generation: the LP is solved on a few candidates (those of the incumbent and the best-priced ones), its duals are
spread back to every unit (a merged unit's dual in proportion to weight, a unit no candidate in the LP reaches
at its full weight), and candidates whose price c_j beats the LP's budget dual are added until none does. Every
lambda met on the way gives a valid bound, so the search can stop early and still report one.

The same lambda rules candidates out: forcing site j in gives L - c_(p) + c_j (c_(p) the p-th largest price),
forcing a site of the top p out gives L - c_j + c_(p+1). When that is at most the incumbent, no better answer
has j in (or out), and j is fixed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import sparse
from scipy.optimize import linprog

from geo.coverage import AnalysisStopped, Deadline, FloatArray, check_deadline
from geo.siting.merge import merge_identical_rows


@dataclass(frozen=True)
class LagrangeBound:
    """The best bound found and the multipliers that give it."""

    value: float  # no choice of p sites covers more
    multipliers: FloatArray  # lambda, one per merged unit
    prices: FloatArray  # c = A^T lambda, one per candidate
    lp_value: float  # optimum of the last restricted LP (a lower bound on the full LP, not an upper bound)
    converged: (
        bool  # no candidate outside the restricted LP prices in: value is the LP optimum (to tolerance)
    )
    n_columns: int  # candidates in the last restricted LP
    rounds: int


def lagrangian_value(
    weight: FloatArray, prices: FloatArray, multipliers: FloatArray, p: int
) -> tuple[float, NDArray[np.int64]]:
    """L(lambda) and the top-p candidates by price (the relaxed problem's choice)."""
    p = min(p, len(prices))
    top = np.argpartition(-prices, p - 1)[:p] if p < len(prices) else np.arange(len(prices))
    return float((weight - multipliers).sum() + prices[top].sum()), top.astype(np.int64)


def _restricted_lp(
    by_col: sparse.csc_matrix,
    weight: FloatArray,
    columns: NDArray[np.int64],
    p: int,
    time_limit_s: float | None,
) -> tuple[float, FloatArray]:
    """Solve the LP on `columns`; return its optimum and a multiplier for every merged unit it reaches (else NaN)."""
    sub = by_col[:, columns].tocsr()
    rows = np.flatnonzero(np.diff(sub.indptr) > 0)
    lam = np.full(by_col.shape[0], np.nan)
    if len(rows) == 0:
        return 0.0, lam
    block, group = merge_identical_rows(sub[rows])
    block = block.astype(np.float64)
    n_groups = block.shape[0]
    w_group = np.bincount(group, weights=weight[rows], minlength=n_groups)
    n_cols = len(columns)
    cost = np.r_[np.zeros(n_cols), -w_group]
    link = sparse.hstack([-block, sparse.identity(n_groups, format="csr")], format="csr")
    budget = sparse.csr_matrix(np.r_[np.ones(n_cols), np.zeros(n_groups)][None, :])
    options = {} if time_limit_s is None else {"time_limit": max(time_limit_s, 1e-3)}
    solved = linprog(
        cost,
        A_ub=sparse.vstack([link, budget], format="csr"),
        b_ub=np.r_[np.zeros(n_groups), float(p)],
        bounds=(0.0, 1.0),
        method="highs-ds",
        options=options,
    )
    if solved.status != 0:
        raise _LPStopped(str(solved.message))
    lam_group = np.clip(-np.asarray(solved.ineqlin.marginals[:n_groups]), 0.0, w_group)
    share = np.divide(weight[rows], w_group[group], out=np.zeros(len(rows)), where=w_group[group] > 0)
    lam[rows] = lam_group[group] * share
    return float(-solved.fun), lam


class _LPStopped(Exception):
    pass


def lp_bound(
    by_row: sparse.csr_matrix,
    weight: FloatArray,
    p: int,
    start: NDArray[np.int64],
    incumbent: float,
    *,
    target_gap: float = 0.0,
    lp_tolerance: float = 1e-4,
    max_rounds: int = 60,
    deadline: Deadline | None = None,
    time_limit_s: float | None = None,
) -> LagrangeBound:
    """Bound the best covered weight with p sites by column generation on the LP (see the module's notes).

    Stops when no candidate prices in or the bound is within `lp_tolerance` (relative) of the restricted LP's
    optimum, when (bound - incumbent) <= target_gap * bound, after `max_rounds`, or when `time_limit_s` has
    passed (the best bound so far is returned, with converged=False).
    """
    started = time.perf_counter()
    matrix = by_row.astype(np.float64)
    by_col = matrix.tocsc()
    to_cols = matrix.T.tocsr()
    n_cols = matrix.shape[1]
    in_lp = np.zeros(n_cols, dtype=bool)
    in_lp[start] = True
    # Seed with the best candidates by the weight they reach, as priced with lambda = w.
    reach = to_cols @ weight
    in_lp[np.argsort(-reach)[: min(n_cols, 3 * p)]] = True
    best: LagrangeBound | None = None
    lp_value, converged, rounds = 0.0, False, 0
    for rounds in range(1, max_rounds + 1):
        check_deadline(deadline)
        limit = None
        if time_limit_s is not None:
            limit = time_limit_s - (time.perf_counter() - started)
        if deadline is not None:
            limit = deadline.remaining_s() if limit is None else min(limit, deadline.remaining_s())
        if limit is not None and limit <= 0:
            break
        columns = np.flatnonzero(in_lp)
        try:
            lp_value, lam = _restricted_lp(by_col, weight, columns, p, limit)
        except _LPStopped:
            if deadline is not None and deadline.remaining_s() <= 0:
                raise AnalysisStopped(
                    f"took longer than {deadline.limit_s:g} s", limit_s=deadline.limit_s
                ) from None
            break
        lam = np.where(np.isnan(lam), weight, lam)
        prices = to_cols @ lam
        value, _ = lagrangian_value(weight, prices, lam, p)
        if best is None or value < best.value:
            best = LagrangeBound(value, lam, prices, lp_value, False, len(columns), rounds)
        # Candidates outside the LP that price above the p-th best inside it would improve the LP.
        inside = np.sort(prices[in_lp])[::-1]
        mu = inside[min(p, len(inside)) - 1] if len(inside) else 0.0
        outside = np.flatnonzero(~in_lp & (prices > mu * (1 + 1e-9) + 1e-9))
        # The bound meeting the restricted LP's optimum proves it is the full LP's optimum too (within the
        # tolerance: the last rounds add a column or two each for a few hundredths of a percent).
        met = best.value - lp_value <= lp_tolerance * max(abs(best.value), 1.0)
        if len(outside) == 0 or met or best.value - incumbent <= target_gap * best.value:
            converged = len(outside) == 0 or met
            break
        add = outside[np.argsort(-prices[outside])[: max(2 * p, 20)]]
        in_lp[add] = True
    if best is None:
        lam = weight.copy()
        prices = to_cols @ lam
        value, _ = lagrangian_value(weight, prices, lam, p)
        best = LagrangeBound(value, lam, prices, 0.0, False, int(in_lp.sum()), rounds)
    return LagrangeBound(
        best.value, best.multipliers, best.prices, lp_value, converged, int(in_lp.sum()), rounds
    )


def fixed_by_bound(
    bound: LagrangeBound, p: int, incumbent: float
) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
    """Candidates that no answer better than `incumbent` can open (first) or can leave closed (second)."""
    prices = bound.prices
    n = len(prices)
    out = np.zeros(n, dtype=bool)
    forced = np.zeros(n, dtype=bool)
    if p >= n:
        return out, forced
    order = np.argsort(-prices, kind="stable")
    top = order[:p]
    pth, next_best = prices[order[p - 1]], prices[order[p]]
    # A small margin keeps rounding from fixing a candidate that ties the incumbent's bound.
    margin = 1e-9 * max(abs(incumbent), 1.0)
    rest = np.ones(n, dtype=bool)
    rest[top] = False
    out[rest] = bound.value - pth + prices[rest] < incumbent - margin
    forced[top] = bound.value - prices[top] + next_best < incumbent - margin
    return out, forced
