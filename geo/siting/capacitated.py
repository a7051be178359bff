"""Capacitated site choice: up to p sites, each serving at most its capacity, demand served only within reach.

Maximise the demand assigned: z_ij >= 0 on the unit-candidate pairs within the radius,
    sum_j z_ij <= w_i (a unit's demand),  sum_i z_ij <= C_j y_j (a site's capacity),
    sum_j y_j <= p, y binary
(the capacity row already sends nothing to a closed site; the tighter z_ij <= min(w_i, C_j) y_j rows give a
stronger LP bound, but HiGHS was no faster with them in the MILP, so they serve only the bounds below).
Demand is divisible (people, places), so units reached by the same candidates merge into one row with their
summed demand, as in the uncapacitated problem. The heuristic opens sites greedily by the demand they could
still take (min(C_j, unassigned demand in reach)), re-solving the assignment (a transportation LP, HiGHS) after
each. Then candidates are dropped before the exact stage (geo.siting.capacitated_fix): by a Lagrangian bound
with multipliers 0 (the simple bound), then with those of the strong LP on what is left; a swap search on the
candidates left (one warm HiGHS assignment LP) improves the incumbent, which drops more; probing the strong LP
drops more still. The MILP (HiGHS) then sees a few dozen of 1,000
candidates, started from the incumbent; every answer carries an upper bound.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, linprog, milp

from geo.coverage import (
    Deadline,
    FloatArray,
    ReachPairs,
    check_deadline,
    check_radius_m,
    pairs_within,
)
from geo.crs import AnalysisInputError
from geo.siting.capacitated_fix import (
    improve_by_swaps,
    lagrangian_bounds,
    probe_strong,
    rule_out,
    strong_lp_multipliers,
)
from geo.siting.merge import merge_identical_rows
from geo.siting.probe import highspy

# Sizes (variables + constraint nonzeros of the merged MILP) up to which the exact solver is tried by default.
DEFAULT_CAPACITATED_MAX_SIZE = 600_000
# Closed sites, best estimated first, tried in place of each open one by the swap pass.
_SWAP_TRIES = 4
# The swap pass stops after this many rounds over the open sites, or once a round starts after this many seconds.
_SWAP_PASSES = 3
_SWAP_SECONDS = 1.0
_SKIP_SWAPS_BEFORE_MILP = True  # measured: 0.3-0.6 s of CPU saved, the MILP no slower
# The LP of the strong formulation (for the multipliers of the second fixing pass) is solved on the candidates
# the simple bound leaves when they have at most this many pairs (about 0.05 s at 2,000 pairs, 1-2 s at 40,000).
_STRONG_LP_MAX_PAIRS = 20_000
# Probing the strong LP on the candidates left stops after this long (what is not probed stays in the MILP).
_PROBE_SECONDS = 1.0


@dataclass(frozen=True)
class CapacitatedSuggestion:
    """Chosen candidates, demand assigned to each, and how good the choice is (in demand units, e.g. people)."""

    chosen: NDArray[np.int64]  # candidate indices, ascending
    load: FloatArray  # demand assigned to each chosen site, in `chosen` order (at most its capacity)
    objective: float  # demand assigned in total
    heuristic_objective: float  # greedy + swaps, before the exact stage
    upper_bound: float  # no choice of p sites can assign more
    exact: bool
    gap: float  # (upper_bound - objective) / upper_bound; 0 when proven optimal
    method: str  # "heuristic", "milp" or "all"
    n_pairs: int
    n_merged_units: int
    seconds: float = 0.0
    stage_seconds: dict[str, float] = field(default_factory=dict)
    n_candidates_left: int = 0  # candidates the bounds left for the MILP (geo.siting.capacitated_fix)


def assign(
    by_col: sparse.csc_matrix, weight: FloatArray, capacity: FloatArray, opened: NDArray[np.int64]
) -> tuple[float, FloatArray, FloatArray]:
    """Best assignment of demand to the `opened` sites: total, each site's load, each row's demand left over."""
    opened = np.asarray(opened, dtype=np.int64)
    if len(opened) == 0:
        return 0.0, np.zeros(0), weight.copy()
    sub = by_col[:, opened].tocoo()
    rows, cols = sub.row, sub.col
    if len(rows) == 0:
        return 0.0, np.zeros(len(opened)), weight.copy()
    used_rows, row_of = np.unique(rows, return_inverse=True)
    n_z = len(rows)
    row_sum = sparse.csr_matrix((np.ones(n_z), (row_of, np.arange(n_z))), shape=(len(used_rows), n_z))
    col_sum = sparse.csr_matrix((np.ones(n_z), (cols, np.arange(n_z))), shape=(len(opened), n_z))
    solved = linprog(
        -np.ones(n_z),
        A_ub=sparse.vstack([row_sum, col_sum], format="csr"),
        b_ub=np.r_[weight[used_rows], capacity[opened]],
        bounds=(0.0, None),
        method="highs",
    )
    if solved.status != 0:
        raise RuntimeError(f"the assignment LP failed: {solved.message}")
    z = np.clip(solved.x, 0.0, None)
    load = np.bincount(cols, weights=z, minlength=len(opened)).astype(np.float64)
    left = weight.copy()
    left[used_rows] -= np.bincount(row_of, weights=z, minlength=len(used_rows))
    return float(z.sum()), load, np.clip(left, 0.0, None)


def _heuristic(
    by_col: sparse.csc_matrix,
    to_cols: sparse.csr_matrix,
    weight: FloatArray,
    capacity: FloatArray,
    p: int,
    deadline: Deadline | None,
    swaps: bool = True,
) -> tuple[list[int], float]:
    opened: list[int] = []
    left = weight.copy()
    value = 0.0
    for _ in range(p):
        check_deadline(deadline)
        estimate = np.minimum(capacity, to_cols @ left)
        estimate[opened] = -np.inf
        best = int(np.argmax(estimate))
        if estimate[best] <= 0:
            break
        opened.append(best)
        value, _, left = assign(by_col, weight, capacity, np.asarray(opened))
    improved, passes, started = swaps, 0, time.perf_counter()
    while improved and opened and passes < _SWAP_PASSES and time.perf_counter() - started < _SWAP_SECONDS:
        improved, passes = False, passes + 1
        for slot in range(len(opened)):
            check_deadline(deadline)
            others = opened[:slot] + opened[slot + 1 :]
            _, _, left_without = assign(by_col, weight, capacity, np.asarray(others, dtype=np.int64))
            estimate = np.minimum(capacity, to_cols @ left_without)
            estimate[opened] = -np.inf
            for site in np.argsort(-estimate)[:_SWAP_TRIES]:
                if estimate[site] <= 0:
                    break
                trial = [*others, int(site)]
                trial_value, _, trial_left = assign(by_col, weight, capacity, np.asarray(trial))
                if trial_value > value * (1 + 1e-9) + 1e-12:
                    opened, value, left, improved = trial, trial_value, trial_left, True
                    break
    return opened, value


def _exact(
    by_row: sparse.csr_matrix,
    weight: FloatArray,
    capacity: FloatArray,
    p: int,
    time_limit_s: float,
    target_gap: float,
    start: list[int],
) -> tuple[list[int] | None, float]:
    """MILP of the module's notes on the merged problem, from the sites `start`; its sites (or None) and its
    proven bound."""
    coo = by_row.tocoo()
    rows, cols = coo.row, coo.col
    n_rows, n_cols = by_row.shape
    n_z = len(rows)
    z_index = np.arange(n_z)
    # Variables: y (n_cols), then z (n_z). Maximise sum z.
    cost = np.r_[np.zeros(n_cols), -np.ones(n_z)]
    row_sum = sparse.csr_matrix((np.ones(n_z), (rows, n_cols + z_index)), shape=(n_rows, n_cols + n_z))
    col_sum = sparse.csr_matrix(
        (
            np.r_[np.ones(n_z), -capacity],
            (np.r_[cols, np.arange(n_cols)], np.r_[n_cols + z_index, np.arange(n_cols)]),
        ),
        shape=(n_cols, n_cols + n_z),
    )
    budget = sparse.csr_matrix(np.r_[np.ones(n_cols), np.zeros(n_z)][None, :])
    upper = np.r_[np.ones(n_cols), np.full(n_z, np.inf)]
    lower = np.zeros(n_cols + n_z)
    if highspy is not None:
        matrix = sparse.vstack([row_sum, col_sum, budget], format="csc")
        row_upper = np.r_[weight, np.zeros(n_cols), float(p)]
        return _exact_highs(cost, n_cols, matrix, row_upper, lower, upper, start, time_limit_s, target_gap)
    solved = milp(
        cost,
        integrality=np.r_[np.ones(n_cols), np.zeros(n_z)],
        bounds=Bounds(lower, upper),
        constraints=[
            LinearConstraint(row_sum, -np.inf, weight),
            LinearConstraint(col_sum, -np.inf, 0.0),
            LinearConstraint(budget, -np.inf, float(p)),
        ],
        options={"time_limit": time_limit_s, "disp": False, "mip_rel_gap": target_gap},
    )
    bound = math.inf
    dual = getattr(solved, "mip_dual_bound", None)
    if dual is not None and math.isfinite(dual):
        bound = -float(dual)
    if solved.x is None:
        return None, bound
    return [int(j) for j in np.flatnonzero(solved.x[:n_cols] > 0.5)], bound


def _exact_highs(
    cost: FloatArray,
    n_cols: int,
    matrix: sparse.csc_matrix,
    row_upper: FloatArray,
    col_lower: FloatArray,
    col_upper: FloatArray,
    start: list[int],
    time_limit_s: float,
    target_gap: float,
) -> tuple[list[int] | None, float]:
    """The MILP in HiGHS (highspy), started from the heuristic's sites: its assignment (the LP with those sites
    fixed open) is given as the first solution, which HiGHS then only has to improve and prove."""
    started = time.perf_counter()
    n = len(cost)
    lp = highspy.HighsLp()
    lp.num_col_ = n
    lp.num_row_ = matrix.shape[0]
    lp.col_cost_ = cost
    lp.col_lower_ = col_lower
    lp.col_upper_ = np.where(np.isfinite(col_upper), col_upper, highspy.kHighsInf)
    lp.row_lower_ = np.full(matrix.shape[0], -highspy.kHighsInf)
    lp.row_upper_ = row_upper
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = matrix.indptr
    lp.a_matrix_.index_ = matrix.indices
    lp.a_matrix_.value_ = matrix.data
    solver = highspy.Highs()
    solver.setOptionValue("output_flag", False)
    solver.passModel(lp)
    opened = np.zeros(n_cols, dtype=bool)
    opened[np.asarray(start, dtype=np.int64)] = True
    first = None
    columns = np.arange(n_cols, dtype=np.int32)
    if opened.any():
        fixed = opened.astype(np.float64)
        solver.changeColsBounds(n_cols, columns, fixed, fixed)
        solver.run()
        if solver.getModelStatus() == highspy.HighsModelStatus.kOptimal:
            first = np.asarray(solver.getSolution().col_value, dtype=np.float64)
        solver.changeColsBounds(n_cols, columns, col_lower[:n_cols], np.ones(n_cols))
    solver.changeColsIntegrality(n_cols, columns, np.full(n_cols, highspy.HighsVarType.kInteger))
    solver.setOptionValue("time_limit", max(time_limit_s - (time.perf_counter() - started), 1e-3))
    solver.setOptionValue("mip_rel_gap", float(target_gap))
    if first is not None:
        solution = highspy.HighsSolution()
        solution.col_value = list(first)
        solution.value_valid = True
        solver.setSolution(solution)
    solver.run()
    info = solver.getInfo()
    dual = float(info.mip_dual_bound)
    bound = -dual if math.isfinite(dual) else math.inf
    if info.primal_solution_status != 2:  # no feasible solution (2: feasible)
        return None, bound
    x = np.asarray(solver.getSolution().col_value, dtype=np.float64)
    return [int(j) for j in np.flatnonzero(x[:n_cols] > 0.5)], bound


def suggest_sites_capacitated(
    units_metric_xy: FloatArray,
    demand: FloatArray,
    candidates_xy: FloatArray,
    capacity: float | FloatArray,
    radius_m: float,
    p: int,
    *,
    exact_time_limit_s: float = 10.0,
    exact_max_size: int = DEFAULT_CAPACITATED_MAX_SIZE,
    target_gap: float = 1e-4,
    deadline: Deadline | None = None,
    pairs: ReachPairs | None = None,
) -> CapacitatedSuggestion:
    """Choose up to p candidates (projected x/y, metres) of the given capacity (one number, or one per
    candidate) to assign the most demand within `radius_m` of a site, each site taking at most its capacity.

    `pairs` gives the unit-candidate pairs within the radius when they come from elsewhere (walking distances
    on a street network); by default they are the straight-line ones."""
    started = time.perf_counter()
    stage: dict[str, float] = {}
    radius_m = check_radius_m(radius_m)
    if isinstance(p, bool) or not isinstance(p, int | np.integer) or p < 1:
        raise AnalysisInputError(f"p, the number of sites to suggest, must be a whole number >= 1, got {p!r}")
    if not (0.0 <= float(target_gap) < 1.0):
        raise AnalysisInputError(f"target_gap must be in [0, 1), got {target_gap!r}")
    weight_all = np.asarray(demand, dtype=np.float64)
    if (
        weight_all.shape != (len(units_metric_xy),)
        or not np.isfinite(weight_all).all()
        or (weight_all < 0).any()
    ):
        raise AnalysisInputError("demand must be one number >= 0 per demand unit")
    if len(candidates_xy) == 0:
        raise AnalysisInputError("there are no candidate sites: give at least one")
    cap = np.broadcast_to(np.asarray(capacity, dtype=np.float64), (len(candidates_xy),)).copy()
    if not np.isfinite(cap).all() or (cap < 0).any():
        raise AnalysisInputError("capacity must be a number >= 0 (one, or one per candidate)")

    check_deadline(deadline)
    if pairs is None:
        pairs = pairs_within(units_metric_xy, candidates_xy, radius_m)
    pairs = pairs.subset((weight_all[pairs.unit_index] > 0) & (cap[pairs.asset_index] > 0))
    coverage = sparse.csr_matrix(
        (np.ones(len(pairs), dtype=np.int8), (pairs.unit_index, pairs.asset_index)),
        shape=(len(units_metric_xy), len(candidates_xy)),
    )
    reachable = np.diff(coverage.indptr) > 0
    by_row, group = merge_identical_rows(coverage[reachable])
    weight = np.bincount(group, weights=weight_all[reachable], minlength=by_row.shape[0]).astype(np.float64)
    by_col = by_row.tocsc()
    to_cols = by_col.T.tocsr().astype(np.float64)
    stage["coverage"] = time.perf_counter() - started
    p = int(p)

    n_left = by_row.shape[1]

    def done(
        chosen: list[int], value: float, heuristic: float, bound: float, method: str
    ) -> CapacitatedSuggestion:
        order = np.asarray(sorted(chosen), dtype=np.int64)
        total, load, _ = assign(by_col, weight, cap, order)
        exact = bound - total <= 1e-9 * max(abs(bound), 1.0)
        bound = max(bound, total)
        gap = 0.0 if exact or bound <= 0 else (bound - total) / bound
        return CapacitatedSuggestion(
            chosen=order,
            load=load,
            objective=total,
            heuristic_objective=heuristic,
            upper_bound=total if exact else bound,
            exact=exact,
            gap=gap,
            method=method,
            n_pairs=len(pairs),
            n_merged_units=by_row.shape[0],
            seconds=time.perf_counter() - started,
            stage_seconds=stage,
            n_candidates_left=n_left,
        )

    useful = np.flatnonzero(np.diff(by_col.indptr) > 0)
    if len(useful) <= p:
        total, _, _ = assign(by_col, weight, cap, useful)
        return done(useful.tolist(), total, total, total, "all")

    time_limit_s = float(exact_time_limit_s)
    if deadline is not None:
        time_limit_s = min(time_limit_s, deadline.remaining_s())
    mark = time.perf_counter()
    # When the MILP will run, greedy alone starts it (the swaps cost more than they save it); swaps run after
    # it only if it found no answer.
    will_solve = time_limit_s > 0 and _SKIP_SWAPS_BEFORE_MILP
    chosen, value = _heuristic(by_col, to_cols, weight, cap, p, deadline, swaps=not will_solve)
    stage["heuristic"] = time.perf_counter() - mark
    heuristic = value
    method = "heuristic"

    def _more_swaps(chosen: list[int], value: float, heuristic: float) -> tuple[list[int], float, float]:
        """Without the MILP's answer: the swap pass on the whole problem, kept if it does better."""
        mark = time.perf_counter()
        found, found_value = _heuristic(by_col, to_cols, weight, cap, p, deadline)
        stage["heuristic"] += time.perf_counter() - mark
        if found_value > value * (1 + 1e-12):
            return found, found_value, found_value
        return chosen, value, heuristic

    mark = time.perf_counter()
    bound, with_j = _fix_candidates(by_row, by_col, weight, cap, p, chosen, value, useful)
    keep = _kept(with_j, value, chosen)
    stage["fixing"] = time.perf_counter() - mark
    sub_row, sub_weight = _reduce(by_row, weight, keep)
    # Swaps and probing pay where the bounds left few candidates (on all 1,000 of a p = 20 case they took 2 s
    # and dropped none).
    small = sub_row.nnz <= _STRONG_LP_MAX_PAIRS
    if bound - value > 1e-9 * max(bound, 1.0) and len(keep) > p and small:
        # Swaps on what is left (cheap there): a better incumbent drops more candidates.
        mark = time.perf_counter()
        position = {int(j): k for k, j in enumerate(keep)}
        swapped, _ = improve_by_swaps(
            sub_row, sub_weight, cap[keep], [position[j] for j in chosen], _SWAP_SECONDS
        )
        sites = keep[np.asarray(swapped, dtype=np.int64)]
        swapped_value, _, _ = assign(by_col, weight, cap, sites)
        if swapped_value > value * (1 + 1e-12):
            chosen, value = sites.tolist(), swapped_value
            heuristic = value
            keep = _kept(with_j, value, chosen)
        stage["swaps"] = time.perf_counter() - mark
    n_left = len(keep)
    if bound - value <= 1e-9 * max(bound, 1.0):
        return done(chosen, value, heuristic, bound, method)
    if len(keep) <= p:  # every better answer opens only these: opening them all is the best of those
        total, _, _ = assign(by_col, weight, cap, keep)
        if total > value * (1 + 1e-12):
            chosen, value, method = keep.tolist(), total, "all"
        return done(chosen, value, heuristic, max(total, value), method)
    sub_row, sub_weight = _reduce(by_row, weight, keep)
    if highspy is not None and time_limit_s > 0 and small:
        # Probing the strong LP on what is left (geo.siting.capacitated_fix.probe_strong).
        mark = time.perf_counter()
        position = {int(j): k for k, j in enumerate(keep)}
        # The sites it forces are not passed on: HiGHS (1.16) given a start with columns fixed by their bounds
        # took the start at a wrong objective and stopped with a weak bound (measured on clusters seed 3).
        dropped, _ = probe_strong(
            sub_row, sub_weight, cap[keep], p, [position[j] for j in chosen], value, _PROBE_SECONDS
        )
        keep = keep[~dropped]
        n_left = len(keep)
        sub_row, sub_weight = _reduce(by_row, weight, keep)
        stage["probing"] = time.perf_counter() - mark
    size = 4 * sub_row.nnz + sub_row.shape[0] + 3 * sub_row.shape[1]
    if size <= exact_max_size and time_limit_s > 0:
        position = {int(j): k for k, j in enumerate(keep)}
        start = [position[j] for j in chosen if j in position]
        mark = time.perf_counter()
        opened, milp_bound = _exact(sub_row, sub_weight, cap[keep], p, time_limit_s, target_gap, start)
        stage["exact"] = time.perf_counter() - mark
        if opened is not None:
            sites = keep[np.asarray(opened, dtype=np.int64)]
            milp_value, _, _ = assign(by_col, weight, cap, sites)
            if milp_value > value * (1 + 1e-12):
                chosen, value, method = sites.tolist(), milp_value, "milp"
        elif will_solve:
            chosen, value, heuristic = _more_swaps(chosen, value, heuristic)
        # A better answer than the incumbent opens only candidates of `keep`, so the reduced MILP's bound holds.
        bound = min(bound, max(milp_bound, value))
    elif will_solve:
        chosen, value, heuristic = _more_swaps(chosen, value, heuristic)
    return done(chosen, value, heuristic, bound, method)


def _fix_candidates(
    by_row: sparse.csr_matrix,
    by_col: sparse.csc_matrix,
    weight: FloatArray,
    capacity: FloatArray,
    p: int,
    chosen: list[int],
    value: float,
    useful: NDArray[np.int64],
) -> tuple[float, FloatArray]:
    """A bound on every answer, and for each candidate one on the answers that open it (infinite for none):
    the simple bound first, then the strong LP's multipliers on the candidates it leaves, against the
    incumbent `chosen` worth `value` (geo.siting.capacitated_fix)."""
    bound, with_j = lagrangian_bounds(by_col, weight, capacity, p, np.zeros(len(weight)))
    unused = np.ones(by_col.shape[1], dtype=bool)
    unused[useful] = False
    with_j[unused] = -np.inf  # opens nothing: never needed
    keep = _kept(with_j, value, chosen)
    if bound - value <= 1e-9 * max(bound, 1.0) or len(keep) <= p:
        return bound, with_j
    sub = by_row[:, keep].tocsr()
    if sub.nnz > _STRONG_LP_MAX_PAIRS:
        return bound, with_j
    reached = np.flatnonzero(np.diff(sub.indptr) > 0)
    sub_row, sub_group = merge_identical_rows(sub[reached])
    sub_weight = np.bincount(sub_group, weights=weight[reached], minlength=sub_row.shape[0]).astype(
        np.float64
    )
    u = np.zeros(len(weight))
    u[reached] = strong_lp_multipliers(sub_row, sub_weight, capacity[keep], p)[sub_group]
    strong, strong_with_j = lagrangian_bounds(by_col, weight, capacity, p, u)
    return min(bound, strong), np.minimum(with_j, strong_with_j)


def _kept(with_j: FloatArray, value: float, chosen: list[int]) -> NDArray[np.int64]:
    """Candidates a better answer than the incumbent (worth `value`, sites `chosen`) may open, and those."""
    out = rule_out(with_j, value)
    out[chosen] = False
    return np.flatnonzero(~out)


def _reduce(
    by_row: sparse.csr_matrix, weight: FloatArray, keep: NDArray[np.int64]
) -> tuple[sparse.csr_matrix, FloatArray]:
    """The problem on the candidates `keep`: rows they reach, identical ones merged."""
    sub = by_row[:, keep].tocsr()
    reached = np.diff(sub.indptr) > 0
    sub_row, sub_group = merge_identical_rows(sub[reached])
    return sub_row, np.bincount(sub_group, weights=weight[reached], minlength=sub_row.shape[0]).astype(
        np.float64
    )
