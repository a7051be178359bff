"""Opening sites: the inverse of the closure what-if (geo.siting.scenarios.close_assets).

A site added to a run's assets (a citizen-budget proposal, docs/BUDGETS.md) is scored by what it would change:
the demand units within its reach that no asset reached before, their people and need, and unmet need before and
after, per neighbourhood and in total. The run is re-analysed on its own demand units, CRS and distances.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import pandas as pd

from geo.coverage import Deadline
from geo.crs import AnalysisInputError
from geo.gaps import GapResult, reanalyse
from geo.siting.scenarios import _asset_rows, compare_runs


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
    neighbourhoods, changes = compare_runs(result, after, gained, "newly_covered")
    totals = {"n_opened": len(sites), "capacity": float(capacity), **changes}
    units = result.units["unit_id"].to_numpy()[gained].tolist()
    return OpeningResult(result, after, neighbourhoods, units, totals)
