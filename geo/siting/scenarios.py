"""Sites and closures over a gap analysis: suggested new sites, closed assets, and their effect on unmet need."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from numpy.typing import NDArray

from geo.coverage import Deadline, FloatArray, points_xy
from geo.crs import AnalysisInputError
from geo.gaps import GapParams, GapResult, analyse_gaps, reanalyse
from geo.siting.capacitated import (
    DEFAULT_CAPACITATED_MAX_SIZE,
    CapacitatedSuggestion,
    suggest_sites_capacitated,
)
from geo.siting.optimise import DEFAULT_EXACT_MAX_SIZE, SiteSuggestion, suggest_sites


@dataclass(frozen=True)
class SitingResult:
    """Suggested sites, the run with them added, and the change in unmet need (people) per neighbourhood.

    sites (EPSG:4326): candidate_id, rank, capacity, shortfall_covered (the suggestion's marginal), geometry.
    neighbourhoods (index: neighbourhood id): code, name, need, before, after, change (unmet need after minus
    before).
    """

    sites: gpd.GeoDataFrame
    suggestion: SiteSuggestion | CapacitatedSuggestion
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


# How the capacity of a suggested site was chosen (new_site_capacity): given for the run, the median known
# capacity of the service's open assets, the run's default capacity, or 1.
NEW_SITE_CAPACITY_RULES = ("given", "median_known", "run_default", "one")


def new_site_capacity(result: GapResult, capacity: float | None = None) -> tuple[float, str]:
    """Capacity a suggested site adds and the rule that chose it (NEW_SITE_CAPACITY_RULES): `capacity` when
    given, else the median known capacity of the open assets, else the run's default capacity, else 1."""
    if capacity is not None:
        return float(capacity), "given"
    values = result.assets["capacity"].to_numpy(dtype=np.float64)
    known = values[np.isfinite(values) & (values > 0)]
    if known.size:
        return float(np.median(known)), "median_known"
    if result.params.default_capacity:
        return float(result.params.default_capacity), "run_default"
    return 1.0, "one"


def default_new_site_capacity(result: GapResult) -> float:
    """Capacity of a suggested site: the median known capacity of the open assets, else the run's default
    capacity, else 1."""
    return new_site_capacity(result)[0]


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


def _check_candidates(result: GapResult, candidates: gpd.GeoDataFrame, params: GapParams | None) -> Any:
    if params is not None and params != result.params:
        raise AnalysisInputError("params differ from the run's: run analyse_gaps with these params first")
    if not isinstance(candidates, gpd.GeoDataFrame) or len(candidates) == 0:
        raise AnalysisInputError("candidates should be a GeoDataFrame with at least one point")
    candidate_ids = candidates["id"].to_numpy() if "id" in candidates.columns else candidates.index.to_numpy()
    if pd.Series(candidate_ids).duplicated().any():
        raise AnalysisInputError("candidate ids must be unique")
    return candidate_ids


def _with_sites(
    result: GapResult,
    candidates: gpd.GeoDataFrame,
    candidate_ids: Any,
    chosen: NDArray[np.int64],
    site_capacity: float | FloatArray,
    gained: FloatArray,
    deadline: Deadline | None,
) -> tuple[gpd.GeoDataFrame, GapResult, pd.DataFrame]:
    """The chosen sites (in `chosen` order, ranked so), the run with them added, and the change per area."""
    picked = candidates.iloc[chosen]
    sites = gpd.GeoDataFrame(
        {
            "candidate_id": candidate_ids[chosen],
            "rank": np.arange(1, len(chosen) + 1),
            "capacity": site_capacity,
            "shortfall_covered": gained,
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
    return sites, after, neighbourhoods


def _totals(
    p: int,
    n_sites: int,
    site_capacity: float,
    measure: str,
    objective: float,
    upper_bound: float,
    exact: bool,
    before_unmet: pd.Series,
    after_unmet: pd.Series,
) -> dict[str, Any]:
    return {
        "p": int(p),
        "n_sites": n_sites,
        "new_site_capacity": site_capacity,
        "objective_measure": measure,
        "shortfall_within_reach_of_sites": objective,
        "upper_bound": upper_bound,
        "exact": exact,
        "unmet_need_before": _sum_or_nan(before_unmet),
        "unmet_need_after": _sum_or_nan(after_unmet),
        "unmet_need_change": _sum_or_nan(after_unmet) - _sum_or_nan(before_unmet),
    }


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
    candidate_ids = _check_candidates(result, candidates, params)
    site_capacity = default_new_site_capacity(result) if capacity is None else float(capacity)
    if not math.isfinite(site_capacity) or site_capacity <= 0:
        raise AnalysisInputError(f"capacity of a new site must be a number > 0, got {capacity!r}")

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
        pairs=result.distance.pairs(units_xy, candidates_xy, result.params.radius_m),
    )
    sites, after, neighbourhoods = _with_sites(
        result, candidates, candidate_ids, suggestion.chosen, site_capacity, suggestion.marginal, deadline
    )
    totals = _totals(
        p,
        len(sites),
        site_capacity,
        objective_measure,
        suggestion.objective,
        suggestion.upper_bound,
        suggestion.exact,
        neighbourhoods["before"],
        neighbourhoods["after"],
    )
    return SitingResult(sites, suggestion, result, after, neighbourhoods, totals)


def suggest_sites_for_gaps_capacitated(
    result: GapResult,
    candidates: gpd.GeoDataFrame,
    p: int,
    capacity: float | FloatArray,
    *,
    new_site_capacity: float | None = None,
    exact_time_limit_s: float = 10.0,
    exact_max_size: int = DEFAULT_CAPACITATED_MAX_SIZE,
    deadline: Deadline | None = None,
) -> SitingResult:
    """Suggest p candidates, each taking at most its capacity (one number, or one per candidate) of `result`'s
    shortfall within its radius (metres); re-run with them added at those capacities.

    The sites come most demand assigned first; `shortfall_covered` is the demand assigned to each (the best
    assignment, geo.siting.capacitated). `new_site_capacity` (the capacity of a candidate of unknown capacity)
    is only reported in the totals."""
    candidate_ids = _check_candidates(result, candidates, None)
    cap = np.broadcast_to(np.asarray(capacity, dtype=np.float64), (len(candidates),)).copy()
    units_xy = points_xy(result.units, result.crs, what="demand units")
    candidates_xy = points_xy(candidates, result.crs, what="candidate sites")
    weight, objective_measure = siting_weight(result)
    suggestion = suggest_sites_capacitated(
        units_xy,
        weight,
        candidates_xy,
        cap,
        result.params.radius_m,
        p,
        exact_time_limit_s=exact_time_limit_s,
        exact_max_size=exact_max_size,
        deadline=deadline,
        pairs=result.distance.pairs(units_xy, candidates_xy, result.params.radius_m),
    )
    order = np.argsort(-suggestion.load, kind="stable")
    chosen = suggestion.chosen[order]
    sites, after, neighbourhoods = _with_sites(
        result, candidates, candidate_ids, chosen, cap[chosen], suggestion.load[order], deadline
    )
    totals = _totals(
        p,
        len(sites),
        math.nan if new_site_capacity is None else float(new_site_capacity),
        objective_measure,
        suggestion.objective,
        suggestion.upper_bound,
        suggestion.exact,
        neighbourhoods["before"],
        neighbourhoods["after"],
    )
    return SitingResult(sites, suggestion, result, after, neighbourhoods, totals)


def compare_runs(
    result: GapResult, after: GapResult, changed: np.ndarray, what: str
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """What a change of sites did, per neighbourhood and in all: `changed` marks the demand units whose coverage
    the change turned (lost when assets close, gained when sites open), and `what` names the columns of their need
    and people (`need_{what}`, `population_{what}`, `n_units_{what}`); unmet need before, after and its change."""
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
            f"need_{what}": np.bincount(nb_pos, weights=need * changed, minlength=n_nb),
            f"population_{what}": np.bincount(nb_pos, weights=population * changed, minlength=n_nb),
            "unmet_need_before": nb_before["unmet_need"],
            "unmet_need_after": nb_after["unmet_need"],
            "unmet_need_change": nb_after["unmet_need"] - nb_before["unmet_need"],
        }
    )
    totals = {
        f"n_units_{what}": int(changed.sum()),
        f"need_{what}": float(need[changed].sum()),
        f"population_{what}": float(population[changed].sum()),
        "unmet_need_before": _sum_or_nan(nb_before["unmet_need"]),
        "unmet_need_after": _sum_or_nan(nb_after["unmet_need"]),
        "unmet_need_change": _sum_or_nan(nb_after["unmet_need"]) - _sum_or_nan(nb_before["unmet_need"]),
    }
    return neighbourhoods, totals


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
    neighbourhoods, changes = compare_runs(result, after, lost, "losing_coverage")
    totals = {"n_closed": len(closing), **changes}
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
