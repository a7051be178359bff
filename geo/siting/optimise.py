"""Choosing up to p sites that cover the most shortfall: merged coverage, greedy, local search, bound, MILP.

The stages, each cheap next to the one after it:
1. units reached by the same candidates are merged (one row per distinct set);
2. greedy, then best-improvement swaps (geo.siting.search) and a few kicked restarts of them;
3. an upper bound from the LP relaxation by column generation (geo.siting.lagrange), whose multipliers also rule
   out candidates that cannot be in any better answer, and force in those that must be;
4. when the bound is not met yet, probing the LP (geo.siting.probe) drops the candidates no better answer can
   open, and HiGHS (scipy.optimize.milp) solves what is left exactly under a time limit.
The answer carries the best bound proven, so its gap is known even when the exact stage stops early.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, milp

from geo.coverage import (
    Deadline,
    FloatArray,
    ReachPairs,
    check_deadline,
    check_radius_m,
    pairs_within,
)
from geo.crs import AnalysisInputError
from geo.siting.lagrange import fixed_by_bound, lp_bound
from geo.siting.merge import merge_identical_rows
from geo.siting.probe import probe_candidates
from geo.siting.search import covered_weight, interchange

# Sizes (nonzeros + rows + columns of the merged problem) up to which the exact MILP is attempted by default.
DEFAULT_EXACT_MAX_SIZE = 2_000_000
_KICK_SEED = 20261203
# Kicked restarts of the swap search: how many, and how many sites each kick replaces at most.
_KICKS = 30
_KICK_SIZE = 3
# Probing (geo.siting.probe) gets this share of the exact stage's time, and at most this many seconds.
_PROBE_SHARE = 0.3
_PROBE_MAX_S = 3.0


@dataclass(frozen=True)
class SiteSuggestion:
    """Chosen candidate indices and how good the choice is (objective and bounds in shortfall, people)."""

    chosen: NDArray[np.int64]  # greedy pick order (swapped sites in place); ascending from the MILP
    objective: float  # shortfall within reach of a chosen site
    greedy_objective: float
    lp_upper_bound: float  # LP (Lagrangian) relaxation: no choice of p sites can cover more
    exact: bool  # proven optimal: by the MILP, by meeting the LP bound, or all useful candidates fit
    gap: float  # (best upper bound - objective) / best upper bound; 0 when proven optimal
    upper_bound: float  # best bound known: the LP bound, or the MILP's own bound when that is tighter
    marginal: FloatArray  # shortfall newly covered by each chosen site, in `chosen` order
    method: str  # "greedy", "local search", "milp" or "all" (p at least the number of useful candidates)
    n_pairs: int  # unit-candidate pairs within the radius whose unit has shortfall
    n_merged_units: int  # distinct sets of candidates reaching the units with shortfall
    local_search_objective: float = math.nan  # after swaps and kicked restarts, before the exact stage
    n_candidates_exact: int = 0  # free candidates the MILP saw once the bound and probing ruled others out
    seconds: float = 0.0  # whole call
    stage_seconds: dict[str, float] = field(default_factory=dict)  # coverage, greedy, search, bound, exact


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


def _kicked_restarts(
    by_row: sparse.csr_matrix,
    weight: FloatArray,
    chosen: list[int],
    objective: float,
    pool: NDArray[np.int64],
    deadline: Deadline | None,
) -> tuple[list[int], float]:
    """Replace a few chosen sites by random ones from `pool` and swap-search again; keep any improvement."""
    rng = np.random.default_rng(_KICK_SEED)
    best, best_objective = list(chosen), objective
    p = len(best)
    for _ in range(_KICKS):
        spare = np.setdiff1d(pool, best)
        if len(spare) == 0 or p == 0:
            break
        trial = list(best)
        k = int(rng.integers(1, min(_KICK_SIZE, p, len(spare)) + 1))
        for slot, site in zip(
            rng.choice(p, size=k, replace=False), rng.choice(spare, size=k, replace=False), strict=True
        ):
            trial[int(slot)] = int(site)
        trial, value, _ = interchange(by_row, weight, trial, deadline=deadline)
        if value > best_objective * (1 + 1e-12):
            best, best_objective = trial, value
    return best, best_objective


def _undominated(block: sparse.spmatrix, columns: NDArray[np.int64], p: int) -> NDArray[np.int64]:
    """Drop candidates whose units another candidate also reaches (a superset serves at least as well).

    Of candidates reaching the same units, the first is kept. At least p candidates are kept, so an answer
    of p distinct sites stays possible.
    """
    pattern = sparse.csc_matrix(block, dtype=np.float64)
    pattern.data[:] = 1.0
    degree = np.asarray(pattern.sum(axis=0)).ravel()
    shared = (pattern.T @ pattern).tocoo()
    j, k = shared.row, shared.col
    # k covers all of j's units: strictly more, or the same set and k comes first.
    covers = (j != k) & (shared.data >= degree[j] - 0.5) & ((degree[k] > degree[j] + 0.5) | (k < j))
    dominated = np.zeros(len(columns), dtype=bool)
    dominated[j[covers]] = True
    dominated |= degree < 0.5
    if len(columns) - int(dominated.sum()) < p:
        return columns
    return columns[~dominated]


@dataclass(frozen=True)
class _Reduced:
    """The reduced problem: free columns, the weight fixed on by forced sites, merged rows and own gains."""

    free: NDArray[np.int64]
    forced: NDArray[np.int64]
    constant: float
    block: sparse.csr_matrix
    w_block: FloatArray
    own: FloatArray


def _reduce(
    by_col: sparse.csc_matrix, weight: FloatArray, p: int, keep: NDArray[np.int64], forced: NDArray[np.int64]
) -> _Reduced:
    n_units = by_col.shape[0]
    fixed_on = np.zeros(n_units, dtype=bool)
    if len(forced):
        fixed_on = np.asarray(by_col[:, forced].sum(axis=1)).ravel() > 0
    constant = float(weight[fixed_on].sum())
    free = np.setdiff1d(keep, forced)
    budget_left = p - len(forced)
    live_rows = np.flatnonzero(~fixed_on)
    free = _undominated(by_col[live_rows][:, free], free, budget_left)
    sub = by_col[:, free].tocsr()
    live = (np.diff(sub.indptr) > 0) & ~fixed_on
    block, group = merge_identical_rows(sub[np.flatnonzero(live)])
    w_block = np.bincount(group, weights=weight[live], minlength=block.shape[0]).astype(np.float64)
    # A unit only one free candidate reaches is that candidate's own gain: no row for it.
    degree = np.diff(block.indptr)
    single = degree == 1
    own: FloatArray = np.bincount(
        block.indices[block.indptr[:-1][single]], weights=w_block[single], minlength=len(free)
    ).astype(np.float64)
    block, w_block = block[np.flatnonzero(~single)], w_block[~single]
    return _Reduced(free, np.asarray(forced, dtype=np.int64), constant, block, w_block, own)


def _exact_on_reduced(
    by_row: sparse.csr_matrix,
    weight: FloatArray,
    p: int,
    keep: NDArray[np.int64],
    forced: NDArray[np.int64],
    time_limit_s: float,
    target_gap: float,
    incumbent: float,
    incumbent_sites: Iterable[int],
    stage: dict[str, float],
) -> tuple[list[int] | None, float, int]:
    """MILP over the candidates in `keep` with those in `forced` open, after probing (geo.siting.probe) has
    dropped the candidates no answer better than `incumbent` opens; return its sites, its proven bound and the
    candidates it saw.

    The bound covers every answer within the reduced problem (math.inf when HiGHS proved nothing); answers
    outside it cover at most `incumbent`.
    """
    by_col = by_row.tocsc()
    reduced = _reduce(by_col, weight, p, keep, forced)
    mark = time.perf_counter()
    sites = np.asarray(sorted(set(int(j) for j in incumbent_sites)), dtype=np.int64)
    at = np.flatnonzero(np.isin(reduced.free, sites))
    probed = probe_candidates(
        reduced.block,
        reduced.own,
        reduced.w_block,
        p - len(reduced.forced),
        incumbent - reduced.constant,
        at,
        min(_PROBE_SHARE * time_limit_s, _PROBE_MAX_S),
    )
    stage["probe"] = time.perf_counter() - mark
    time_limit_s = max(time_limit_s - stage["probe"], 1e-3)
    if probed.ruled_out.any() or probed.forced.any():
        newly = reduced.free[probed.forced]
        kept = reduced.free[~probed.ruled_out]
        reduced = _reduce(
            by_col, weight, p, np.union1d(kept, reduced.forced), np.union1d(reduced.forced, newly)
        )
    budget_left = p - len(reduced.forced)
    block, w_block, free = reduced.block, reduced.w_block, reduced.free
    n_rows, n_cols = block.shape
    if n_cols == 0:  # probing left no free candidate: the forced ones are the reduced problem's one answer
        return [int(j) for j in reduced.forced], reduced.constant, 0
    cost = np.r_[-reduced.own, -w_block]
    link = sparse.hstack([-block.astype(np.float64), sparse.identity(n_rows, format="csr")], format="csr")
    budget = sparse.csr_matrix(np.r_[np.ones(n_cols), np.zeros(n_rows)][None, :])
    solved = milp(
        cost,
        integrality=np.r_[np.ones(n_cols), np.zeros(n_rows)],
        bounds=Bounds(0.0, 1.0),
        constraints=[
            LinearConstraint(link, -np.inf, 0.0),
            LinearConstraint(budget, -np.inf, float(budget_left)),
        ],
        # HiGHS's presolve costs more than it saves on these (measured: 3.6 s against 11 s at 100 x 1,000).
        options={"time_limit": time_limit_s, "disp": False, "presolve": False, "mip_rel_gap": target_gap},
    )
    bound = math.inf
    dual = getattr(solved, "mip_dual_bound", None)
    if dual is not None and math.isfinite(dual):
        bound = reduced.constant - float(dual)
    if solved.x is None:
        return None, bound, n_cols
    opened = [int(j) for j in free[solved.x[:n_cols] > 0.5]] + [int(j) for j in reduced.forced]
    return opened, bound, n_cols


def suggest_sites(
    units_metric_xy: FloatArray,
    shortfall: FloatArray,
    candidates_xy: FloatArray,
    radius_m: float,
    p: int,
    *,
    exact_time_limit_s: float = 10.0,
    exact_max_size: int = DEFAULT_EXACT_MAX_SIZE,
    target_gap: float = 1e-4,
    deadline: Deadline | None = None,
    pairs: ReachPairs | None = None,
) -> SiteSuggestion:
    """Choose up to p candidates (projected x/y, metres) maximising shortfall within `radius_m` of a site.

    `pairs` gives the unit-candidate pairs within the radius when they come from elsewhere (walking distances
    on a street network, geo.streets); by default they are the straight-line pairs.

    The exact stage (HiGHS) runs when the bound is not met yet and the reduced problem is at most
    `exact_max_size` (nonzeros + rows + columns); it stops once its answer is proven within `target_gap` of the
    optimum (relative) or after `exact_time_limit_s`, and the gap it reached is reported either way.
    With a `deadline`, AnalysisStopped is raised between stages and greedy or swap steps once its time is up;
    HiGHS gets the time left as its own time limit.
    """
    started = time.perf_counter()
    stage: dict[str, float] = {}
    radius_m = check_radius_m(radius_m)
    if isinstance(p, bool) or not isinstance(p, int | np.integer) or p < 1:
        raise AnalysisInputError(f"p, the number of sites to suggest, must be a whole number >= 1, got {p!r}")
    if not (0.0 <= float(target_gap) < 1.0):
        raise AnalysisInputError(f"target_gap must be in [0, 1), got {target_gap!r}")
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
    by_row, group = merge_identical_rows(coverage[reachable])
    weight = np.bincount(group, weights=weight_all[reachable], minlength=by_row.shape[0]).astype(np.float64)
    by_col = by_row.tocsc()
    n_rows = by_row.shape[0]
    p = int(p)
    stage["coverage"] = time.perf_counter() - started

    def done(**fields: object) -> SiteSuggestion:
        return SiteSuggestion(
            n_pairs=n_pairs,
            n_merged_units=n_rows,
            seconds=time.perf_counter() - started,
            stage_seconds=stage,
            **fields,  # type: ignore[arg-type]
        )

    check_deadline(deadline)
    mark = time.perf_counter()
    chosen, _, covered = _greedy(by_row, by_col, weight, p, deadline)
    greedy_objective = float(weight[covered].sum())
    stage["greedy"] = time.perf_counter() - mark
    useful = np.flatnonzero(np.diff(by_col.indptr) > 0)
    if len(useful) <= p:
        # Every candidate that reaches any shortfall fits in the budget: that is optimal by definition.
        objective = float(weight.sum())
        return done(
            chosen=useful.astype(np.int64),
            objective=objective,
            greedy_objective=greedy_objective,
            lp_upper_bound=objective,
            exact=True,
            gap=0.0,
            upper_bound=objective,
            marginal=_marginals(by_row, weight, useful),
            method="all",
            local_search_objective=objective,
        )

    # Greedy always fills p sites here (more than p useful candidates, each with gain until all are covered).
    mark = time.perf_counter()
    best, best_objective, _ = interchange(by_row, weight, chosen, deadline=deadline)
    method = "local search" if best_objective > greedy_objective else "greedy"
    if best_objective <= greedy_objective:
        best, best_objective = chosen, greedy_objective
    stage["search"] = time.perf_counter() - mark

    mark = time.perf_counter()
    bound_limit = None if deadline is None else deadline.remaining_s()
    bound = lp_bound(
        by_row,
        weight,
        p,
        np.asarray(best, dtype=np.int64),
        best_objective,
        deadline=deadline,
        time_limit_s=bound_limit,
    )
    stage["bound"] = time.perf_counter() - mark
    lp_upper_bound = max(bound.value, best_objective)
    upper_bound = lp_upper_bound

    def proven(value: float, ub: float) -> bool:
        return ub - value <= 1e-9 * max(abs(ub), 1.0)

    if not proven(best_objective, upper_bound):
        # Restart the swaps from kicked answers, drawing new sites among the best priced by the bound.
        mark = time.perf_counter()
        pool = np.argsort(-bound.prices, kind="stable")[: max(6 * p, 50)]
        kicked, kicked_objective = _kicked_restarts(by_row, weight, best, best_objective, pool, deadline)
        if kicked_objective > best_objective:
            best, best_objective, method = kicked, kicked_objective, "local search"
        stage["search"] += time.perf_counter() - mark
    local_search_objective = best_objective

    n_exact = 0
    time_limit_s = float(exact_time_limit_s)
    if deadline is not None:
        time_limit_s = min(time_limit_s, deadline.remaining_s())
    if not proven(best_objective, upper_bound) and time_limit_s > 0:
        mark = time.perf_counter()
        ruled_out, forced = fixed_by_bound(bound, p, best_objective)
        keep = np.flatnonzero(~ruled_out & (np.diff(by_col.indptr) > 0))
        n_exact = len(keep)
        size = int(np.diff(by_col.indptr)[keep].sum()) + n_rows + len(keep)
        if size <= exact_max_size:
            opened, reduced_bound, n_exact = _exact_on_reduced(
                by_row,
                weight,
                p,
                keep,
                np.flatnonzero(forced),
                time_limit_s,
                target_gap,
                best_objective,
                best,
                stage,
            )
            if opened is not None:
                value = covered_weight(by_row, weight, opened)
                if value > best_objective * (1 + 1e-12):
                    best, best_objective, method = sorted(opened), value, "milp"
            # Answers outside the reduced problem cover at most the incumbent used to reduce it.
            upper_bound = min(upper_bound, max(reduced_bound, local_search_objective, best_objective))
        stage["exact"] = time.perf_counter() - mark

    exact = proven(best_objective, upper_bound)
    lp_upper_bound = max(lp_upper_bound, best_objective)
    upper_bound = min(upper_bound, lp_upper_bound)
    if exact:
        upper_bound = max(best_objective, min(upper_bound, best_objective))
    gap = 0.0 if exact or upper_bound <= 0 else (upper_bound - best_objective) / upper_bound
    return done(
        chosen=np.asarray(best, dtype=np.int64),
        objective=best_objective,
        greedy_objective=greedy_objective,
        lp_upper_bound=lp_upper_bound,
        exact=exact,
        gap=max(gap, 0.0),
        upper_bound=max(upper_bound, best_objective),
        marginal=_marginals(by_row, weight, best),
        method=method,
        local_search_objective=local_search_objective,
        n_candidates_exact=n_exact,
    )
