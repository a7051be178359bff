"""Candidates no better capacitated answer can open, by a Lagrangian bound of the strong formulation.

Relax each unit's row (sum_j z_ij <= w_i) with a multiplier u_i in [0, 1]. What is left splits by site: site j
earns v_j(u) = the most sum_i (1 - u_i) z_ij with 0 <= z_ij <= w_i on its pairs and sum_i z_ij <= C_j (a
fractional knapsack: the units of largest 1 - u_i first), so for every u
    any choice of p sites assigns at most  sum_i u_i w_i + (the p largest v_j(u)),
and any choice that opens j at most  sum_i u_i w_i + v_j(u) + (the p - 1 largest of the other v).
A candidate whose second bound is below the incumbent's value is in no better answer and is dropped. With u = 0
this is the simple bound (each site takes min(C_j, demand in reach)); multipliers from the LP of the strong
formulation (z_ij <= min(w_i, C_j) y_j) on the candidates still left give its bound, which is what the weak
MILP lacks when capacity binds. The bound holds for every u, so rounding in the LP costs strength, never
correctness: the knapsacks are computed here, exactly, from the clipped multipliers.

On the benchmark's capacitated cases 950-980 of the 1,000 candidates go before the MILP (see benchmarks/README).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import sparse

from geo.coverage import FloatArray
from geo.siting.probe import highspy

# Bounds must be clearly below the incumbent to drop a candidate (a tie could be another optimum).
_MARGIN = 1e-7


def site_values(
    by_col: sparse.csc_matrix, weight: FloatArray, capacity: FloatArray, u: FloatArray
) -> FloatArray:
    """v_j(u) of the module notes for every column: site j fills its capacity with its units of largest
    1 - u_i first."""
    coo = by_col.tocoo()
    rows, cols = coo.row, coo.col
    n_cols = by_col.shape[1]
    if len(rows) == 0:
        return np.zeros(n_cols)
    gain = 1.0 - u[rows]
    order = np.lexsort((-gain, cols))
    rows, cols, gain = rows[order], cols[order], gain[order]
    size = weight[rows]
    running = np.cumsum(size)
    first = np.r_[0, np.flatnonzero(np.diff(cols)) + 1]
    start = np.repeat(running[first] - size[first], np.diff(np.r_[first, len(cols)]))
    before = running - size - start  # demand of the column's better units
    take = np.clip(np.minimum(size, capacity[cols] - before), 0.0, None) * (gain > 0)
    return np.bincount(cols, weights=take * gain, minlength=n_cols).astype(np.float64)


def lagrangian_bounds(
    by_col: sparse.csc_matrix, weight: FloatArray, capacity: FloatArray, p: int, u: FloatArray
) -> tuple[float, FloatArray]:
    """The bound on every choice of p sites, and for each column the bound on the choices that open it."""
    u = np.clip(np.asarray(u, dtype=np.float64), 0.0, 1.0)
    value = site_values(by_col, weight, capacity, u)
    base = float(u @ weight)
    top = np.sort(value)[::-1][:p]
    best = float(top.sum())
    kth = float(top[-1]) if len(top) == p else 0.0
    with_j = base + np.where(value >= kth, best, best - kth + value)
    return base + best, with_j


def rule_out(with_j: FloatArray, incumbent_value: float) -> NDArray[np.bool_]:
    """Columns whose bound is clearly below the incumbent's value."""
    return with_j < incumbent_value - _MARGIN * max(abs(incumbent_value), 1.0)


def _strong_model(by_row: sparse.csr_matrix, weight: FloatArray, capacity: FloatArray, p: int) -> Any:
    """HiGHS holding the LP of the strong formulation: columns y (sites) then z (pairs), minimising -sum z."""
    n_rows, n_cols = by_row.shape
    coo = by_row.tocoo()
    rows, cols = coo.row, coo.col
    n_z = len(rows)
    z = n_cols + np.arange(n_z)
    pair = np.arange(n_z)
    blocks = [
        sparse.csr_matrix((np.ones(n_z), (rows, z)), shape=(n_rows, n_cols + n_z)),
        sparse.csr_matrix(
            (np.r_[np.ones(n_z), -capacity], (np.r_[cols, np.arange(n_cols)], np.r_[z, np.arange(n_cols)])),
            shape=(n_cols, n_cols + n_z),
        ),
        sparse.csr_matrix(np.r_[np.ones(n_cols), np.zeros(n_z)][None, :]),
        sparse.csr_matrix(
            (
                np.r_[np.ones(n_z), -np.minimum(weight[rows], capacity[cols])],
                (np.r_[pair, pair], np.r_[z, cols]),
            ),
            shape=(n_z, n_cols + n_z),
        ),
    ]
    matrix = sparse.vstack(blocks, format="csc")
    n = n_cols + n_z
    lp = highspy.HighsLp()
    lp.num_col_ = n
    lp.num_row_ = matrix.shape[0]
    lp.col_cost_ = np.r_[np.zeros(n_cols), -np.ones(n_z)]
    lp.col_lower_ = np.zeros(n)
    lp.col_upper_ = np.r_[np.ones(n_cols), np.full(n_z, highspy.kHighsInf)]
    lp.row_lower_ = np.full(matrix.shape[0], -highspy.kHighsInf)
    lp.row_upper_ = np.r_[weight, np.zeros(n_cols), float(p), np.zeros(n_z)]
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = matrix.indptr
    lp.a_matrix_.index_ = matrix.indices
    lp.a_matrix_.value_ = matrix.data
    solver = highspy.Highs()
    solver.setOptionValue("output_flag", False)
    solver.passModel(lp)
    return solver


def strong_lp_multipliers(
    by_row: sparse.csr_matrix, weight: FloatArray, capacity: FloatArray, p: int
) -> FloatArray:
    """Duals of the unit rows in the LP of the strong formulation (zeros if highspy is missing or the LP fails):
    max sum z  s.t.  sum_j z_ij <= w_i,  sum_i z_ij <= C_j y_j,  z_ij <= min(w_i, C_j) y_j,  sum y <= p,
    0 <= y <= 1."""
    n_rows = by_row.shape[0]
    if highspy is None or by_row.nnz == 0:
        return np.zeros(n_rows)
    solver = _strong_model(by_row, weight, capacity, p)
    solver.run()
    if solver.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return np.zeros(n_rows)
    # Minimising -sum z: a binding <= row has a dual <= 0; its multiplier for the maximisation is minus that.
    return np.clip(-np.asarray(solver.getSolution().row_dual[:n_rows], dtype=np.float64), 0.0, 1.0)


def probe_strong(
    by_row: sparse.csr_matrix,
    weight: FloatArray,
    capacity: FloatArray,
    p: int,
    incumbent: list[int],
    value: float,
    time_limit_s: float,
) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
    """Probing on the strong LP of a (reduced) problem, as geo.siting.probe does for coverage: a candidate
    outside the incumbent whose LP with y_j = 1 is below `value` is in no better answer (dropped); a site of
    the incumbent whose LP with y_j = 0 is below it is in every better answer (forced). Each fixing holds for
    the later probes. Returns (dropped, forced); whatever is not probed in time stays free."""
    n_cols = by_row.shape[1]
    dropped = np.zeros(n_cols, dtype=bool)
    forced = np.zeros(n_cols, dtype=bool)
    if highspy is None or by_row.nnz == 0 or time_limit_s <= 0:
        return dropped, forced
    started = time.perf_counter()
    solver = _strong_model(by_row, weight, capacity, p)
    solver.setOptionValue("time_limit", float(time_limit_s))
    solver.run()
    status = highspy.HighsModelStatus
    if solver.getModelStatus() != status.kOptimal:
        return dropped, forced
    limit = value - _MARGIN * max(abs(value), 1.0)
    solver.setOptionValue("objective_bound", -limit)  # the dual simplex stops once the bound is below `limit`

    def below(j: int, fixed: float) -> bool:
        solver.changeColBounds(j, fixed, fixed)
        solver.run()
        found = solver.getModelStatus()
        if found in (status.kObjectiveBound, status.kInfeasible):
            return True
        return found == status.kOptimal and -solver.getInfo().objective_function_value < limit

    in_incumbent = np.zeros(n_cols, dtype=bool)
    in_incumbent[incumbent] = True
    for j in [*np.flatnonzero(~in_incumbent).tolist(), *np.flatnonzero(in_incumbent).tolist()]:
        if time.perf_counter() - started >= time_limit_s:
            break
        if in_incumbent[j]:
            if below(j, 0.0):
                forced[j] = True
                solver.changeColBounds(j, 1.0, 1.0)
            else:
                solver.changeColBounds(j, 0.0, 1.0)
        elif below(j, 1.0):
            dropped[j] = True
            solver.changeColBounds(j, 0.0, 0.0)
        else:
            solver.changeColBounds(j, 0.0, 1.0)
    return dropped, forced


def improve_by_swaps(
    by_row: sparse.csr_matrix,
    weight: FloatArray,
    capacity: FloatArray,
    opened: list[int],
    time_limit_s: float,
) -> tuple[list[int], float]:
    """Swap search on a (reduced) problem: each open site for each closed one, the first that assigns more
    kept, until no swap improves or time is up. The assignment LP lives in one HiGHS instance, a site opened
    or closed by its capacity row's bound, so each trial is a warm re-solve of a few pivots."""
    n_rows, n_cols = by_row.shape
    if highspy is None or not opened or by_row.nnz == 0:
        return opened, -np.inf
    started = time.perf_counter()
    coo = by_row.tocoo()
    rows, cols = coo.row, coo.col
    n_z = len(rows)
    z = np.arange(n_z)
    matrix = sparse.vstack(
        [
            sparse.csr_matrix((np.ones(n_z), (rows, z)), shape=(n_rows, n_z)),
            sparse.csr_matrix((np.ones(n_z), (cols, z)), shape=(n_cols, n_z)),
        ],
        format="csc",
    )
    is_open = np.zeros(n_cols, dtype=bool)
    is_open[opened] = True
    lp = highspy.HighsLp()
    lp.num_col_ = n_z
    lp.num_row_ = n_rows + n_cols
    lp.col_cost_ = -np.ones(n_z)
    lp.col_lower_ = np.zeros(n_z)
    lp.col_upper_ = np.full(n_z, highspy.kHighsInf)
    lp.row_lower_ = np.full(n_rows + n_cols, -highspy.kHighsInf)
    lp.row_upper_ = np.r_[weight, np.where(is_open, capacity, 0.0)]
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = matrix.indptr
    lp.a_matrix_.index_ = matrix.indices
    lp.a_matrix_.value_ = matrix.data
    solver = highspy.Highs()
    solver.setOptionValue("output_flag", False)
    solver.setOptionValue("solver", "simplex")
    solver.passModel(lp)
    inf = -highspy.kHighsInf

    def solve() -> float:
        solver.run()
        if solver.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            return -np.inf
        return -float(solver.getInfo().objective_function_value)

    def set_open(j: int, on: bool) -> None:
        solver.changeRowBounds(n_rows + j, inf, float(capacity[j]) if on else 0.0)

    value = solve()
    current = list(opened)
    by_col = by_row.tocsc()
    reach = np.minimum(capacity, np.asarray(by_row.T @ weight).ravel())  # the most a site can add
    improved = True
    while improved and time.perf_counter() - started < time_limit_s:
        improved = False
        for slot in range(len(current)):
            out = current[slot]
            set_open(out, False)
            without = solve()
            left = weight - np.asarray(solver.getSolution().row_value[:n_rows], dtype=np.float64)
            # A site adds at most `reach` to the others' assignment: only those that could beat `value` are
            # tried, the most demand left in their reach first.
            estimate = np.minimum(capacity, np.asarray(by_col.T @ np.clip(left, 0.0, None)).ravel())
            worth = ~is_open & (reach > (value - without) * (1 + 1e-9) + 1e-12)
            closed = [int(j) for j in np.flatnonzero(worth)[np.argsort(-estimate[worth], kind="stable")]]
            for j in closed:
                if time.perf_counter() - started >= time_limit_s:
                    break
                set_open(j, True)
                trial = solve()
                if trial > value * (1 + 1e-9) + 1e-12:
                    is_open[out], is_open[j] = False, True
                    current[slot], value, improved = j, trial, True
                    break
                set_open(j, False)
            else:
                set_open(out, True)
                continue
            if current[slot] == out:  # stopped by time: reopen the site taken out
                set_open(out, True)
                break
    return current, value
