"""Gap index (ANALYSIS.md (c)) and the orchestration of one coverage-gap run: demand, coverage, access, gaps.

Shortfall g_i = N_i * max(0, 1 - a_i) (a unit with no open asset within reach has a_i = 0, so g_i = N_i);
unmet need U_n = sum of g_i over the neighbourhood's units; gap share G_n = U_n / sum N_i, NaN where
sum N_i = 0.
Unknown capacity (ANALYSIS.md (c), "Unknown capacity"): with `default_capacity` set, every asset whose capacity is
unknown gets it; without one, a run where any open asset's capacity is unknown marks every measure that depends on
capacity (A_i, a_i, g_i, U_n, G_n, the neighbourhood access score and the capacity totals) not computable (NaN,
with the reason in totals["unmet_need_reason"]) and ranks neighbourhoods by uncovered need instead. Distance
coverage never depends on capacity and is always computed.
Distances are straight lines by default, or walks on a street network (geo.streets, ANALYSIS.md (h)): the
same pairs within the radius and nearest-asset distances feed coverage, E2SFCA and the gap index either way.
Assets anywhere count (also outside every neighbourhood) and all neighbourhoods' demand is computed together,
so edge effects are handled; only the reporting is per neighbourhood.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from geo.access import capacity_in_use, e2sfca
from geo.capacity import capacity_rule
from geo.coverage import Deadline, check_deadline, coverage_by_neighbourhood, points_xy
from geo.crs import AnalysisInputError, measuring_crs, require_projected
from geo.demand import UNIT_COLUMNS, demand_units
from geo.gap_params import GapParams, GapResult
from geo.streets.distance import STRAIGHT, DistanceSource, StreetNetwork

__all__ = ["GapParams", "GapResult", "analyse_gaps", "analyse_units", "prepare_assets", "reanalyse"]


def _ids_text(ids: Sequence[Any]) -> str:
    shown = ", ".join(str(i) for i in list(ids)[:5])
    return shown + (", ..." if len(ids) > 5 else "")


def prepare_assets(assets: gpd.GeoDataFrame, crs: pyproj.CRS) -> tuple[pd.DataFrame, np.ndarray]:
    """Check an asset frame (id, optional name and capacity, points); return its table and x/y in metres."""
    if not isinstance(assets, gpd.GeoDataFrame):
        raise AnalysisInputError(f"assets should be a GeoDataFrame, got {type(assets).__name__}")
    if "id" not in assets.columns:
        raise AnalysisInputError("assets need an 'id' column")
    table = pd.DataFrame(
        {
            "id": assets["id"].to_numpy(),
            "name": assets["name"].to_numpy() if "name" in assets.columns else None,
            "capacity": pd.to_numeric(assets["capacity"], errors="coerce").to_numpy(dtype=np.float64)
            if "capacity" in assets.columns
            else np.nan,
        }
    )
    if len(assets) == 0:
        return table, np.empty((0, 2))
    ids = table["id"]
    if ids.isna().any() or ids.duplicated().any():
        raise AnalysisInputError(
            "asset ids must be unique and present; repeated or missing: "
            f"{_ids_text(ids[ids.duplicated()].tolist())}"
        )
    values = assets.geometry.values
    missing = shapely.is_missing(values) | shapely.is_empty(values)
    if missing.any():
        raise AnalysisInputError(
            f"assets {_ids_text(ids[missing].tolist())} have no location: "
            "geocode them or leave them out of the run"
        )
    not_point = shapely.get_type_id(values) != shapely.GeometryType.POINT
    if not_point.any():
        raise AnalysisInputError(
            f"assets {_ids_text(ids[not_point].tolist())} are not points: use a point for each asset"
        )
    try:
        capacity_in_use(table["capacity"].to_numpy())
    except AnalysisInputError:
        bad = ids[table["capacity"] < 0].tolist() + ids[np.isinf(table["capacity"])].tolist()
        raise AnalysisInputError(
            f"assets {_ids_text(bad)} have a negative or infinite capacity: use a number >= 0 (0 = closed), "
            "or leave it empty when unknown"
        ) from None
    return table, points_xy(assets, crs, what="assets")


def _nan_to_none(value: float) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


def _share(part: np.ndarray, whole: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(whole > 0, part / whole, np.nan)


def _analyse_units(
    units: gpd.GeoDataFrame,
    catalogue: pd.DataFrame,
    assets: gpd.GeoDataFrame,
    params: GapParams,
    crs: pyproj.CRS,
    deadline: Deadline | None = None,
    distance: DistanceSource = STRAIGHT,
) -> GapResult:
    check_deadline(deadline)
    if distance.kind != params.distance:
        raise AnalysisInputError(
            f"these parameters ask for {params.distance} distances but the run was given {distance.kind} ones: "
            + (
                "give it the city's street network (geo.streets.StreetNetwork)"
                if params.distance == "network"
                else "set distance='network' in the parameters"
            )
        )
    radius_m = params.radius_m
    units_xy = points_xy(units, crs, what="demand units")
    need = units["need"].to_numpy(dtype=np.float64)
    table, assets_xy = prepare_assets(assets, crs)
    rule = capacity_rule(table["capacity"].to_numpy(), params.default_capacity)
    supply, unknown = rule.capacity, rule.unknown
    is_open = supply > 0

    pairs = distance.pairs(units_xy, assets_xy, radius_m)
    check_deadline(deadline)
    # Closed assets neither cover nor supply; they stay in the pairs so their would-be demand is still
    # reported.
    open_index = np.flatnonzero(is_open)
    distance_m, _ = distance.nearest(units_xy, assets_xy[open_index])
    covered = distance_m <= radius_m
    access = e2sfca(
        units_xy,
        need,
        assets_xy,
        supply,
        radius_m,
        decay=params.decay,
        step_zones_m=params.step_zones_m,
        step_weights=params.step_weights,
        pairs=pairs,
    )
    check_deadline(deadline)
    # Not computable (geo.capacity): every capacity-dependent number is NaN, never a number built on guesses.
    blank = np.full(len(units), np.nan)
    score = access.access_score if rule.computable else blank
    shortfall = (
        np.where(need > 0, need * np.clip(1.0 - np.nan_to_num(score, nan=0.0), 0.0, None), 0.0)
        if rule.computable
        else blank
    )

    nb_ids = catalogue.index
    nb_pos = nb_ids.get_indexer(units["neighbourhood_id"])
    if (nb_pos < 0).any():
        raise AnalysisInputError("some demand units name a neighbourhood that is not in the catalogue")
    n_nb = len(nb_ids)
    coverage = coverage_by_neighbourhood(
        nb_pos,
        n_nb,
        need,
        distance_m,
        radius_m,
        pairs.subset(is_open[pairs.asset_index]),
        desert_min_people=params.desert_min_people,
        desert_min_share=params.desert_min_share,
    )
    check_deadline(deadline)
    known = units["population_known"].to_numpy(dtype=bool)
    population = np.bincount(nb_pos, weights=units["population"].to_numpy(dtype=np.float64), minlength=n_nb)
    population_known = np.bincount(nb_pos, weights=~known, minlength=n_nb) == 0
    unmet = np.bincount(nb_pos, weights=np.nan_to_num(shortfall), minlength=n_nb)
    total_need = coverage["need"].to_numpy()
    weighted_score = np.bincount(nb_pos, weights=need * np.nan_to_num(score, nan=0.0), minlength=n_nb)
    if not rule.computable:
        unmet = weighted_score = np.full(n_nb, np.nan)

    neighbourhoods = pd.DataFrame(
        {
            "code": catalogue["code"].to_numpy(),
            "name": catalogue["name"].to_numpy(),
            "n_units": np.bincount(nb_pos, minlength=n_nb),
            "population": np.where(population_known, population, np.nan),
            "population_known": population_known,
            **{column: coverage[column].to_numpy() for column in coverage.columns if column != "desert"},
            "unmet_need": unmet,
            "gap_share": _share(unmet, total_need),
            "access_score": _share(weighted_score, total_need),
            "desert": coverage["desert"].to_numpy(),
        },
        index=pd.Index(nb_ids, name="id"),
    )

    result_units = units[[c for c in UNIT_COLUMNS if c != "geometry"]].copy()
    result_units["distance_m"] = distance_m
    result_units["covered"] = covered
    if isinstance(distance, StreetNetwork):
        result_units["snap_m"] = distance.snap(units_xy).snap_m
    result_units["access"] = access.access if rule.computable else blank
    result_units["access_score"] = score
    result_units["shortfall"] = shortfall
    result_units = gpd.GeoDataFrame(result_units, geometry=units.geometry.values, crs=units.crs)

    guessed = unknown & (rule.default_capacity is None)  # capacity 1 stood in: no number to show
    asset_frame = table.assign(
        capacity_used=np.where(guessed, np.nan, access.capacity_used),
        capacity_unknown=unknown,
        closed=~is_open,
        units_in_reach=np.bincount(pairs.asset_index, minlength=len(table)),
        demand_in_reach=access.demand_in_reach,
        ratio=np.where(guessed, np.nan, access.ratio),
        idle=access.idle,
    )

    total_need_all = float(need.sum())
    reached = access.demand_in_reach > 0
    capacity_factor = np.nan if not rule.computable else 1.0  # multiplies the capacity-dependent totals
    totals: dict[str, Any] = {
        "crs": crs.to_string(),
        "n_neighbourhoods": n_nb,
        "n_units": len(units),
        "n_assets": len(table),
        "n_open_assets": int(is_open.sum()),
        "n_closed_assets": int((~is_open).sum()),
        "n_unknown_capacity": rule.n_unknown,
        "default_capacity": rule.default_capacity,
        "n_default_capacity": rule.n_defaulted,
        "capacity_computable": rule.computable,
        "unmet_need_reason": rule.reason,
        "ranked_by": rule.ranked_by,
        "n_idle_assets": int(access.idle.sum()),
        "n_pairs": len(pairs),
        "population": float(units["population"].sum()),
        "need": total_need_all,
        "covered_need": float(need[covered].sum()),
        "covered_share": _nan_to_none(
            float(need[covered].sum()) / total_need_all if total_need_all > 0 else math.nan
        ),
        "uncovered_need": float(need[~covered].sum()),
        "unmet_need": _nan_to_none(float(shortfall.sum())),
        "gap_share": _nan_to_none(
            float(shortfall.sum()) / total_need_all if total_need_all > 0 else math.nan
        ),
        "total_capacity": _nan_to_none(capacity_factor * float(supply.sum())),
        "capacity_with_demand": _nan_to_none(capacity_factor * float(supply[reached].sum())),
        "idle_capacity": _nan_to_none(capacity_factor * float(supply[access.idle].sum())),
        "reference_ratio": _nan_to_none(capacity_factor * access.reference_ratio),
        "n_deserts": int(coverage["desert"].sum()),
        **distance.describe(units_xy),
    }
    return GapResult(result_units, neighbourhoods, asset_frame, crs, totals, params, assets, distance)


def _catalogue(neighbourhoods: gpd.GeoDataFrame) -> pd.DataFrame:
    frame = neighbourhoods.sort_values("id", kind="stable")
    return pd.DataFrame(
        {
            "code": frame["code"].to_numpy() if "code" in frame.columns else None,
            "name": frame["name"].to_numpy() if "name" in frame.columns else None,
        },
        index=pd.Index(frame["id"].to_numpy(), name="id"),
    )


def analyse_gaps(
    neighbourhoods: gpd.GeoDataFrame,
    assets: gpd.GeoDataFrame,
    params: GapParams,
    *,
    needs: gpd.GeoDataFrame | None = None,
    crs: str | None = None,
    deadline: Deadline | None = None,
    distance: DistanceSource = STRAIGHT,
) -> GapResult:
    """Run demand, distance coverage, E2SFCA and gaps for a city, measured in `crs` (metres) or UTM.

    With a `deadline`, AnalysisStopped is raised between stages once its time is up. `distance` is the
    straight line (default) or a geo.streets.StreetNetwork built in the same CRS (walking distances).
    """
    if not isinstance(params, GapParams):
        raise AnalysisInputError(f"params should be GapParams, got {type(params).__name__}")
    units = demand_units(
        neighbourhoods,
        group=params.group,
        resolution=params.resolution,
        vulnerable_weights=params.vulnerable_weights,
        needs=needs,
        needs_weight=params.needs_weight,
        needs_radius_m=params.needs_radius_m,
        crs=crs,
        deadline=deadline,
    )
    metric_crs = require_projected(measuring_crs(neighbourhoods, crs))
    return _analyse_units(units, _catalogue(neighbourhoods), assets, params, metric_crs, deadline, distance)


def reanalyse(result: GapResult, assets: gpd.GeoDataFrame, *, deadline: Deadline | None = None) -> GapResult:
    """Re-run coverage, access and gaps on `result`'s demand units, CRS (metres) and distances with other assets."""
    units = result.units[list(UNIT_COLUMNS)]
    catalogue = result.neighbourhoods[["code", "name"]]
    return _analyse_units(units, catalogue, assets, result.params, result.crs, deadline, result.distance)


def analyse_units(
    units: gpd.GeoDataFrame,
    assets: gpd.GeoDataFrame,
    params: GapParams,
    *,
    crs: Any,
    neighbourhoods: pd.DataFrame | None = None,
    deadline: Deadline | None = None,
    distance: DistanceSource = STRAIGHT,
) -> GapResult:
    """Run coverage, access and gaps on given demand units (e.g. address points), in `crs` (metres).

    `units` needs unit_id, neighbourhood_id, population and need (people); population_known and needs_people
    are optional. `neighbourhoods` (id, optional code, name) lists the areas to report, by default those the
    units name.
    """
    metric_crs = require_projected(crs)
    if not isinstance(units, gpd.GeoDataFrame):
        raise AnalysisInputError(f"units should be a GeoDataFrame, got {type(units).__name__}")
    missing = [c for c in ("unit_id", "neighbourhood_id", "population", "need") if c not in units.columns]
    if missing:
        raise AnalysisInputError(f"demand units need the column(s) {', '.join(missing)}")
    frame = units.copy()
    for column in ("population", "need"):
        values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=np.float64)
        if not np.isfinite(values).all() or (values < 0).any():
            raise AnalysisInputError(f"every demand unit needs a {column} that is a number >= 0")
        frame[column] = values
    if "population_known" not in frame.columns:
        frame["population_known"] = True
    if "needs_people" not in frame.columns:
        frame["needs_people"] = 0.0
    if neighbourhoods is None:
        catalogue = pd.DataFrame(
            {"code": None, "name": None},
            index=pd.Index(np.sort(frame["neighbourhood_id"].unique()), name="id"),
        )
    else:
        catalogue = _catalogue(neighbourhoods)
    return _analyse_units(
        frame[list(UNIT_COLUMNS)], catalogue, assets, params, metric_crs, deadline, distance
    )
