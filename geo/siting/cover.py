"""How many sites it takes to reach a share of the gap: minimum partial set cover (ANALYSIS.md (d)).

A planner's second question after "where would p sites help most" is "how many sites do we need to reach 90 %
of the group". For each target share s this finds the fewest candidates whose reach (radius_m) holds at least
s times the total weight (shortfall, or need beyond reach) of all demand units, units no candidate reaches
included. It uses the same merged coverage matrix as the maximal covering solver (geo.siting.optimise), a greedy
cover (an upper bound), lower bounds from the largest single-site weights and from the LP relaxation solved with
HiGHS (ceil of its value), and the exact MILP with scipy.optimize.milp, both under one time limit per share. A result says whether it is proven optimal, and otherwise how
many sites it may be above the optimum (its gap). A share that all candidates together cannot reach is
reported as not reachable (n_sites None), never as a number.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, linprog, milp

from geo.coverage import Deadline, FloatArray, ReachPairs, check_deadline, check_radius_m
from geo.crs import AnalysisInputError
from geo.siting.merge import merge_identical_rows
from geo.siting.optimise import DEFAULT_EXACT_MAX_SIZE, _coverage_matrix

# Shares the planner's question names by default: half and nine tenths of the gap.
DEFAULT_SHARES = (0.5, 0.9)
# A target counts as reached when the covered weight is within this relative tolerance of it (float sums).
_REACH_TOLERANCE = 1e-9


@dataclass(frozen=True)
class CoverSolution:
    """The fewest sites found to reach one target share of the total weight, and how sure that count is."""

    share: float  # the share of the total weight asked for, in [0, 1]
    target: float  # share * total weight (people-equivalents)
    reachable: bool  # all candidates together reach the target
    n_sites: int | None  # sites of the best cover found; None when the target is not reachable
    chosen: NDArray[np.int64]  # candidate indices of that cover (greedy: pick order; MILP: ascending)
    covered: float  # weight within reach of the chosen sites
    greedy_sites: int | None  # sites the greedy cover needed
    lower_bound: int | None  # no cover with fewer sites exists (LP bound, or the MILP's, rounded up)
    exact: bool  # proven optimal: n_sites == lower_bound
    gap: int | None  # n_sites - lower_bound (0 when proven optimal)
    method: str  # "none" (nothing to cover), "greedy", "milp" or "unreachable"


@dataclass(frozen=True)
class SitesNeeded:
    """The total weight, what all candidates together reach, and one solution per target share."""

    total_weight: float  # weight of every demand unit, reachable or not
    max_covered: float  # weight within reach of any candidate
    max_share: float | None  # max_covered / total_weight; None when there is no weight at all
    solutions: tuple[CoverSolution, ...]
    n_merged_units: int  # distinct candidate sets reaching units with weight

    def for_share(self, share: float) -> CoverSolution:
        """The solution for `share` (one of the shares asked for)."""
        for solution in self.solutions:
            if math.isclose(solution.share, share):
                return solution
        raise KeyError(f"no solution for share {share!r}: asked for {[s.share for s in self.solutions]}")


def _check_shares(shares: Sequence[float]) -> tuple[float, ...]:
    checked = tuple(float(s) for s in shares)
    if not checked or any(not math.isfinite(s) or s <= 0 or s > 1 for s in checked):
        raise AnalysisInputError(f"shares must be numbers in (0, 1], got {list(shares)!r}")
    return checked


def _greedy_prefix(
    by_row: sparse.csr_matrix,
    by_col: sparse.csc_matrix,
    weight: FloatArray,
    target: float,
    deadline: Deadline | None,
) -> tuple[list[int], FloatArray]:
    """Greedy picks (largest new weight first) until `target` is reached; the cumulative weight after each."""
    gain = by_row.T @ weight
    covered = np.zeros(by_row.shape[0], dtype=bool)
    chosen: list[int] = []
    cumulative: list[float] = []
    total = 0.0
    while total < target:
        check_deadline(deadline)
        best = int(np.argmax(gain))
        if gain[best] <= 0:
            break
        rows = by_col.indices[by_col.indptr[best] : by_col.indptr[best + 1]]
        new_rows = rows[~covered[rows]]
        covered[new_rows] = True
        total += float(weight[new_rows].sum())
        chosen.append(best)
        cumulative.append(total)
        gain = gain - by_row[new_rows].T @ weight[new_rows]
        gain[chosen] = -np.inf
    return chosen, np.asarray(cumulative, dtype=np.float64)


def _covered_weight(by_row: sparse.csr_matrix, weight: FloatArray, columns: Sequence[int]) -> float:
    if not len(columns):
        return 0.0
    opened = np.zeros(by_row.shape[1], dtype=np.float64)
    opened[list(columns)] = 1.0
    return float(weight[(by_row @ opened) > 0].sum())


def _lower_bound(value: float) -> int:
    """The smallest whole number of sites not below an LP or MILP bound (a hair of float noise forgiven)."""
    return max(math.ceil(value - 1e-6), 0)


def _solve_target(
    by_row: sparse.csr_matrix,
    weight: FloatArray,
    share: float,
    target: float,
    greedy_chosen: list[int],
    greedy_cumulative: FloatArray,
    *,
    exact_time_limit_s: float,
    exact_max_size: int,
    deadline: Deadline | None,
) -> CoverSolution:
    n_rows, n_cols = by_row.shape
    need = target * (1 - _REACH_TOLERANCE)
    reached = np.flatnonzero(greedy_cumulative >= need)
    k = int(reached[0]) + 1
    chosen = greedy_chosen[:k]
    best_chosen, best_covered, method = chosen, float(greedy_cumulative[k - 1]), "greedy"

    # A bound that needs no solver: no k sites reach more than the k largest single-site weights together.
    single = np.sort(by_row.T @ weight)[::-1]
    lower = min(int(np.searchsorted(np.cumsum(single), need * (1 - 1e-12))) + 1, k)

    # Variables: y_j (site j opened), x_i (merged unit i within reach); minimise sum y with w.x >= target and
    # x_i <= sum_j a_ij y_j. x may stay continuous: for integral y an optimal x is integral.
    cost = np.r_[np.ones(n_cols), np.zeros(n_rows)]
    link = sparse.hstack([-by_row.astype(np.float64), sparse.identity(n_rows, format="csr")], format="csr")
    reach = sparse.csr_matrix(np.r_[np.zeros(n_cols), weight][None, :])
    # The LP bound and the exact solver share this share's time limit (and no more than the deadline leaves).
    started = time.monotonic()

    def time_left() -> float:
        left = float(exact_time_limit_s) - (time.monotonic() - started)
        return min(left, deadline.remaining_s()) if deadline is not None else left

    check_deadline(deadline)
    if lower < k and time_left() > 0:
        lp = linprog(
            cost,
            A_ub=sparse.vstack([link, -reach], format="csr"),
            b_ub=np.r_[np.zeros(n_rows), -need],
            bounds=(0.0, 1.0),
            method="highs",
            options={"time_limit": max(time_left(), 1e-3)},
        )
        check_deadline(deadline)
        if lp.status == 0:
            lower = max(lower, min(_lower_bound(float(lp.fun)), k))
        elif lp.status != 1:  # 1: stopped at its time limit; the bound without a solver stands
            raise RuntimeError(f"the LP relaxation of the minimum cover failed: {lp.message}")

    size = by_row.nnz + n_rows + n_cols
    if lower < len(best_chosen) and size <= exact_max_size and time_left() > 0:
        solved = milp(
            cost,
            integrality=np.r_[np.ones(n_cols), np.zeros(n_rows)],
            bounds=Bounds(0.0, 1.0),
            constraints=[LinearConstraint(link, -np.inf, 0.0), LinearConstraint(reach, need, np.inf)],
            options={"time_limit": max(time_left(), 1e-3), "disp": False},
        )
        if solved.x is not None:
            milp_chosen = [int(j) for j in np.flatnonzero(solved.x[:n_cols] > 0.5)]
            milp_covered = _covered_weight(by_row, weight, milp_chosen)
            # Trust the solution only as far as it really reaches the target, recounted from the matrix.
            if milp_covered >= need and len(milp_chosen) < len(best_chosen):
                best_chosen, best_covered, method = milp_chosen, milp_covered, "milp"
        if solved.status == 0:
            lower = len(best_chosen)
        else:
            bound = getattr(solved, "mip_dual_bound", None)
            if bound is not None and math.isfinite(bound):
                lower = max(lower, min(_lower_bound(float(bound)), len(best_chosen)))
    n_sites = len(best_chosen)
    return CoverSolution(
        share=share,
        target=target,
        reachable=True,
        n_sites=n_sites,
        chosen=np.asarray(best_chosen, dtype=np.int64),
        covered=best_covered,
        greedy_sites=k,
        lower_bound=lower,
        exact=lower == n_sites,
        gap=n_sites - lower,
        method=method,
    )


def _trivial(share: float, target: float, reachable: bool, method: str) -> CoverSolution:
    none = np.zeros(0, dtype=np.int64)
    if reachable:
        return CoverSolution(share, target, True, 0, none, 0.0, 0, 0, True, 0, method)
    return CoverSolution(share, target, False, None, none, 0.0, None, None, False, None, method)


def sites_needed(
    units_metric_xy: FloatArray,
    weight: FloatArray,
    candidates_xy: FloatArray,
    radius_m: float,
    shares: Sequence[float] = DEFAULT_SHARES,
    *,
    exact_time_limit_s: float = 10.0,
    exact_max_size: int = DEFAULT_EXACT_MAX_SIZE,
    deadline: Deadline | None = None,
    pairs: ReachPairs | None = None,
) -> SitesNeeded:
    """The fewest candidates (projected x/y, metres) whose reach holds each share of the total `weight`.

    `weight` is one number >= 0 per demand unit (shortfall or need beyond reach, people-equivalents); a unit is
    reached when a chosen candidate is within `radius_m` (a unit exactly at the radius is reached). The LP bound
    and the exact solver share `exact_time_limit_s` per share (and no more than a `deadline` leaves); with 0, the
    count is greedy's and the lower bound the largest single-site weights'. `pairs` gives the unit-candidate
    pairs within the radius when they come from elsewhere (walking distances, geo.streets); by default they are
    the straight-line pairs.
    """
    radius_m = check_radius_m(radius_m)
    wanted = _check_shares(shares)
    weight_all = np.asarray(weight, dtype=np.float64)
    if (
        weight_all.shape != (len(units_metric_xy),)
        or not np.isfinite(weight_all).all()
        or (weight_all < 0).any()
    ):
        raise AnalysisInputError("weight must be one number >= 0 per demand unit")
    if len(candidates_xy) == 0:
        raise AnalysisInputError("there are no candidate sites: give at least one")
    total = float(weight_all.sum())

    check_deadline(deadline)
    coverage, _ = _coverage_matrix(units_metric_xy, candidates_xy, radius_m, weight_all > 0, pairs)
    reachable_rows = np.diff(coverage.indptr) > 0
    by_row, group = merge_identical_rows(coverage[reachable_rows])
    merged_weight: FloatArray = np.bincount(
        group, weights=weight_all[reachable_rows], minlength=by_row.shape[0]
    ).astype(np.float64)
    max_covered = float(merged_weight.sum())
    by_col = by_row.tocsc()

    targets = [share * total for share in wanted]
    solvable = [t for t in targets if t > 0 and max_covered >= t * (1 - _REACH_TOLERANCE)]
    greedy_chosen: list[int] = []
    greedy_cumulative = np.zeros(0)
    if solvable:
        greedy_chosen, greedy_cumulative = _greedy_prefix(
            by_row, by_col, merged_weight, max(solvable) * (1 - _REACH_TOLERANCE), deadline
        )
    solutions = []
    for share, target in zip(wanted, targets, strict=True):
        if target <= 0:
            solutions.append(_trivial(share, target, True, "none"))
        elif max_covered < target * (1 - _REACH_TOLERANCE):
            solutions.append(_trivial(share, target, False, "unreachable"))
        else:
            solutions.append(
                _solve_target(
                    by_row,
                    merged_weight,
                    share,
                    target,
                    greedy_chosen,
                    greedy_cumulative,
                    exact_time_limit_s=exact_time_limit_s,
                    exact_max_size=exact_max_size,
                    deadline=deadline,
                )
            )
    return SitesNeeded(
        total_weight=total,
        max_covered=max_covered,
        max_share=max_covered / total if total > 0 else None,
        solutions=tuple(solutions),
        n_merged_units=by_row.shape[0],
    )
