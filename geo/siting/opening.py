"""Opening sites: the inverse of the closure what-if (geo.siting.scenarios.close_assets).

A site added to a run's assets (a citizen-budget proposal, docs/BUDGETS.md) is scored by what it would change:
the demand units within its reach that no asset reached before, their people and need, and unmet need before and
after, per neighbourhood and in total. The run is re-analysed on its own demand units, CRS and distances.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from geo.coverage import Deadline
from geo.crs import AnalysisInputError
from geo.gaps import GapResult, reanalyse
from geo.siting.scenarios import _asset_rows, _sum_or_nan


@dataclass(frozen=True)
class OpeningResult:
    """What changes when sites open.

    neighbourhoods (index: neighbourhood id): code, name, need, covered_need_before, covered_need_after,
    need_newly_covered, population_newly_covered, unmet_need_before, unmet_need_after, unmet_need_change.
    units_newly_covered: unit ids not covered before and covered after.
    """

    before: GapResult
    after: GapResult
    neighbourhoods: pd.DataFrame
    units_newly_covered: list[str]
    totals: dict[str, Any]


def open_sites(
    result: GapResult, sites: gpd.GeoDataFrame, *, capacity: float, deadline: Deadline | None = None
) -> OpeningResult:
    """Re-run `result` with `sites` (points with an `id`) added at `capacity` each; report the gain."""
    if not isinstance(sites, gpd.GeoDataFrame) or len(sites) == 0:
        raise AnalysisInputError("name at least one site to open (a GeoDataFrame of points)")
    if not (capacity > 0):
        raise AnalysisInputError(f"capacity of an opened site must be a number > 0, got {capacity!r}")
    if not all(geom is not None and geom.geom_type == "Point" for geom in sites.geometry):
        raise AnalysisInputError("sites to open must be points")
    added = gpd.GeoDataFrame(
        {
            "id": [f"opened:{i}" for i in sites["id"]],
            "name": sites["name"].to_numpy() if "name" in sites.columns else None,
            "capacity": float(capacity),
        },
        geometry=sites.to_crs("EPSG:4326").geometry.values,
        crs="EPSG:4326",
    )
    existing = result.source_assets
    combined = pd.concat([_asset_rows(existing), added], ignore_index=True) if len(existing) else added
    after = reanalyse(
        result, gpd.GeoDataFrame(combined, geometry="geometry", crs="EPSG:4326"), deadline=deadline
    )
    gained = ~result.units["covered"].to_numpy(dtype=bool) & after.units["covered"].to_numpy(dtype=bool)
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
            "need_newly_covered": np.bincount(nb_pos, weights=need * gained, minlength=n_nb),
            "population_newly_covered": np.bincount(nb_pos, weights=population * gained, minlength=n_nb),
            "unmet_need_before": nb_before["unmet_need"],
            "unmet_need_after": nb_after["unmet_need"],
            "unmet_need_change": nb_after["unmet_need"] - nb_before["unmet_need"],
        }
    )
    totals = {
        "n_opened": len(sites),
        "capacity": float(capacity),
        "n_units_newly_covered": int(gained.sum()),
        "need_newly_covered": float(need[gained].sum()),
        "population_newly_covered": float(population[gained].sum()),
        "unmet_need_before": _sum_or_nan(nb_before["unmet_need"]),
        "unmet_need_after": _sum_or_nan(nb_after["unmet_need"]),
        "unmet_need_change": _sum_or_nan(nb_after["unmet_need"]) - _sum_or_nan(nb_before["unmet_need"]),
    }
    units = result.units["unit_id"].to_numpy()[gained].tolist()
    return OpeningResult(result, after, neighbourhoods, units, totals)
