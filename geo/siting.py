"""Site suggestion (ANALYSIS.md (d), maximal covering location) and closures (ANALYSIS.md (e)).

suggest_sites chooses up to p candidates maximising the shortfall within radius_m of a chosen site. It merges
demand units covered by the same set of candidates, runs a greedy heuristic (never below 1 - 1/e of the
optimum), bounds the optimum from above with the LP relaxation (HiGHS via scipy.optimize.linprog) and, when
the problem is small enough, solves it exactly with scipy.optimize.milp under a time limit. Existing assets
stay open: their effect is already in the shortfall. When the run's shortfall is not computable (capacity unknown
and no default, geo.capacity) the sites cover the most need beyond reach of any open asset instead, and the
changes in unmet need are NaN.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, linprog, milp

from geo.coverage import (
    AnalysisStopped,
    Deadline,
    FloatArray,
    check_deadline,
    check_radius_m,
    pairs_within,
    points_xy,
)
from geo.crs import AnalysisInputError
from geo.gaps import GapParams, GapResult, analyse_gaps, reanalyse

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
    units_xy: FloatArray, candidates_xy: FloatArray, radius_m: float, keep_unit: NDArray[np.bool_]
) -> tuple[sparse.csr_matrix, int]:
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
) -> SiteSuggestion:
    """Choose up to p candidates (projected x/y, metres) maximising shortfall within `radius_m` of a site.

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
    coverage, n_pairs = _coverage_matrix(units_metric_xy, candidates_xy, radius_m, weight_all > 0)
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


@dataclass(frozen=True)
class SitingResult:
    """Suggested sites, the run with them added, and the change in unmet need (people) per neighbourhood.

    sites (EPSG:4326): candidate_id, rank, capacity, shortfall_covered (the suggestion's marginal), geometry.
    neighbourhoods (index: neighbourhood id): code, name, need, before, after, change (unmet need after minus
    before).
    """

    sites: gpd.GeoDataFrame
    suggestion: SiteSuggestion
    before: GapResult
    after: GapResult
    neighbourhoods: pd.DataFrame
    totals: dict[str, Any]


@dataclass(frozen=True)
class ClosureResult:
    """What changes when assets close: coverage lost, unmet need (people) before and after, per neighbourhood.

    neighbourhoods (index: neighbourhood id): code, name, need, covered_need_before, covered_need_after,
    need_losing_coverage, population_losing_coverage, unmet_need_before, unmet_need_after, unmet_need_change.
    units_losing_coverage: unit ids covered before and not after.
    """

    closed_ids: list[Any]
    before: GapResult
    after: GapResult
    neighbourhoods: pd.DataFrame
    units_losing_coverage: list[str]
    totals: dict[str, Any]


def default_new_site_capacity(result: GapResult) -> float:
    """Capacity of a suggested site: the median known capacity of the open assets, else the run's default
    capacity, else 1."""
    capacity = result.assets["capacity"].to_numpy(dtype=np.float64)
    known = capacity[np.isfinite(capacity) & (capacity > 0)]
    if known.size:
        return float(np.median(known))
    return result.params.default_capacity or 1.0


def _sum_or_nan(values: pd.Series) -> float:
    """Sum of a per-neighbourhood measure; NaN when it is not computable (any NaN)."""
    return float(values.sum()) if not values.isna().any() else math.nan


def siting_weight(result: GapResult) -> tuple[FloatArray, str]:
    """What the sites should cover per demand unit: the shortfall, or uncovered need when that is not computable."""
    if result.totals["capacity_computable"]:
        return result.units["shortfall"].to_numpy(dtype=np.float64), "shortfall"
    need = result.units["need"].to_numpy(dtype=np.float64)
    return np.where(result.units["covered"].to_numpy(dtype=bool), 0.0, need), "uncovered_need"


def _asset_rows(assets: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    columns = {"id": assets["id"].to_numpy()}
    columns["name"] = assets["name"].to_numpy() if "name" in assets.columns else None
    columns["capacity"] = (
        pd.to_numeric(assets["capacity"], errors="coerce").to_numpy(dtype=np.float64)
        if "capacity" in assets.columns
        else np.nan
    )
    frame = gpd.GeoDataFrame(columns, geometry=assets.geometry.values, crs=assets.crs)
    return frame.to_crs("EPSG:4326") if assets.crs is not None else frame.set_crs("EPSG:4326")


def suggest_sites_for_gaps(
    result: GapResult,
    candidates: gpd.GeoDataFrame,
    p: int,
    params: GapParams | None = None,
    *,
    capacity: float | None = None,
    exact_time_limit_s: float = 10.0,
    exact_max_size: int = DEFAULT_EXACT_MAX_SIZE,
    deadline: Deadline | None = None,
) -> SitingResult:
    """Suggest p candidates for `result`'s shortfall within its radius (metres); re-run with them added."""
    if params is not None and params != result.params:
        raise AnalysisInputError("params differ from the run's: run analyse_gaps with these params first")
    if not isinstance(candidates, gpd.GeoDataFrame) or len(candidates) == 0:
        raise AnalysisInputError("candidates should be a GeoDataFrame with at least one point")
    site_capacity = default_new_site_capacity(result) if capacity is None else float(capacity)
    if not math.isfinite(site_capacity) or site_capacity <= 0:
        raise AnalysisInputError(f"capacity of a new site must be a number > 0, got {capacity!r}")
    candidate_ids = candidates["id"].to_numpy() if "id" in candidates.columns else candidates.index.to_numpy()
    if pd.Series(candidate_ids).duplicated().any():
        raise AnalysisInputError("candidate ids must be unique")

    units_xy = points_xy(result.units, result.crs, what="demand units")
    candidates_xy = points_xy(candidates, result.crs, what="candidate sites")
    weight, objective_measure = siting_weight(result)
    suggestion = suggest_sites(
        units_xy,
        weight,
        candidates_xy,
        result.params.radius_m,
        p,
        exact_time_limit_s=exact_time_limit_s,
        exact_max_size=exact_max_size,
        deadline=deadline,
    )
    picked = candidates.iloc[suggestion.chosen]
    sites = gpd.GeoDataFrame(
        {
            "candidate_id": candidate_ids[suggestion.chosen],
            "rank": np.arange(1, len(suggestion.chosen) + 1),
            "capacity": site_capacity,
            "shortfall_covered": suggestion.marginal,
        },
        geometry=picked.geometry.values,
        crs=candidates.crs,
    ).to_crs("EPSG:4326")
    new_assets = gpd.GeoDataFrame(
        {
            "id": [f"candidate:{cid}" for cid in sites["candidate_id"]],
            "name": picked["name"].to_numpy() if "name" in picked.columns else None,
            "capacity": site_capacity,
        },
        geometry=sites.geometry.values,
        crs="EPSG:4326",
    )
    existing = result.source_assets
    combined = (
        pd.concat([_asset_rows(existing), new_assets], ignore_index=True) if len(existing) else new_assets
    )
    after = reanalyse(
        result, gpd.GeoDataFrame(combined, geometry="geometry", crs="EPSG:4326"), deadline=deadline
    )
    before_unmet = result.neighbourhoods["unmet_need"]
    after_unmet = after.neighbourhoods["unmet_need"]
    neighbourhoods = pd.DataFrame(
        {
            "code": result.neighbourhoods["code"],
            "name": result.neighbourhoods["name"],
            "need": result.neighbourhoods["need"],
            "before": before_unmet,
            "after": after_unmet,
            "change": after_unmet - before_unmet,
        }
    )
    totals = {
        "p": int(p),
        "n_sites": len(sites),
        "new_site_capacity": site_capacity,
        "objective_measure": objective_measure,
        "shortfall_within_reach_of_sites": suggestion.objective,
        "upper_bound": suggestion.upper_bound,
        "exact": suggestion.exact,
        "unmet_need_before": _sum_or_nan(before_unmet),
        "unmet_need_after": _sum_or_nan(after_unmet),
        "unmet_need_change": _sum_or_nan(after_unmet) - _sum_or_nan(before_unmet),
    }
    return SitingResult(sites, suggestion, result, after, neighbourhoods, totals)


def close_assets(
    result: GapResult, close_ids: Iterable[Any], *, deadline: Deadline | None = None
) -> ClosureResult:
    """Re-run `result` without assets `close_ids`; report need (people) losing coverage per neighbourhood."""
    closing = list(dict.fromkeys(close_ids))
    source = result.source_assets
    unknown = [i for i in closing if i not in set(source["id"].tolist())]
    if unknown:
        raise AnalysisInputError(
            f"no asset with id {', '.join(map(str, unknown[:5]))} in this run: check the ids"
        )
    if not closing:
        raise AnalysisInputError("name at least one asset to close")
    after = reanalyse(result, source[~source["id"].isin(closing)], deadline=deadline)
    lost = result.units["covered"].to_numpy() & ~after.units["covered"].to_numpy()
    nb_before, nb_after = result.neighbourhoods, after.neighbourhoods
    nb_pos = nb_before.index.get_indexer(result.units["neighbourhood_id"])
    n_nb = len(nb_before)
    need = result.units["need"].to_numpy(dtype=np.float64)
    population = result.units["population"].to_numpy(dtype=np.float64)
    neighbourhoods = pd.DataFrame(
        {
            "code": nb_before["code"],
            "name": nb_before["name"],
            "need": nb_before["need"],
            "covered_need_before": nb_before["covered_need"],
            "covered_need_after": nb_after["covered_need"],
            "need_losing_coverage": np.bincount(nb_pos, weights=need * lost, minlength=n_nb),
            "population_losing_coverage": np.bincount(nb_pos, weights=population * lost, minlength=n_nb),
            "unmet_need_before": nb_before["unmet_need"],
            "unmet_need_after": nb_after["unmet_need"],
            "unmet_need_change": nb_after["unmet_need"] - nb_before["unmet_need"],
        }
    )
    totals = {
        "n_closed": len(closing),
        "n_units_losing_coverage": int(lost.sum()),
        "need_losing_coverage": float(need[lost].sum()),
        "population_losing_coverage": float(population[lost].sum()),
        "unmet_need_before": _sum_or_nan(nb_before["unmet_need"]),
        "unmet_need_after": _sum_or_nan(nb_after["unmet_need"]),
        "unmet_need_change": _sum_or_nan(nb_after["unmet_need"]) - _sum_or_nan(nb_before["unmet_need"]),
    }
    units_lost = result.units["unit_id"].to_numpy()[lost].tolist()
    return ClosureResult(closing, result, after, neighbourhoods, units_lost, totals)


def what_if_close(
    neighbourhoods: gpd.GeoDataFrame,
    assets: gpd.GeoDataFrame,
    params: GapParams,
    close_ids: Iterable[Any],
    needs: gpd.GeoDataFrame | None = None,
    crs: str | None = None,
) -> ClosureResult:
    """Run the analysis with and without assets `close_ids` (metres in `crs` or UTM) and report the losses."""
    return close_assets(analyse_gaps(neighbourhoods, assets, params, needs=needs, crs=crs), close_ids)
