"""What a coverage-gap run takes and gives: GapParams (checked when made) and GapResult."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj

from geo.access import DECAYS, DEFAULT_STEP_WEIGHTS, decay_weight, step_zones_for
from geo.coverage import check_radius_m
from geo.crs import AnalysisInputError
from geo.streets.distance import STRAIGHT, DistanceSource, distance_source_kind
from geo.vocab import group_population_columns


@dataclass(frozen=True, kw_only=True)
class GapParams:
    """Parameters of one coverage-gap run (radius and zones in metres, thresholds in people), recorded."""

    group: str = "all"
    radius_m: float
    decay: str = "gaussian"
    step_zones_m: tuple[float, ...] | None = None  # None: r/3, 2r/3, r
    step_weights: tuple[float, ...] = DEFAULT_STEP_WEIGHTS
    resolution: int = 9
    vulnerable_weights: Mapping[str, float] = field(default_factory=dict)
    needs_weight: float = 0.0
    needs_radius_m: float | None = None  # None: each need goes to its nearest demand unit
    desert_min_people: float = 100.0
    desert_min_share: float = 0.5
    default_capacity: float | None = None  # given to assets whose capacity is unknown; None: none is invented
    distance: str = "straight"  # "straight" line or "network" (walks on the city's streets, geo.streets)

    def __post_init__(self) -> None:
        group_population_columns(self.group)
        object.__setattr__(self, "radius_m", check_radius_m(self.radius_m))
        if self.decay not in DECAYS:
            raise AnalysisInputError(f"unknown decay {self.decay!r}: use one of {', '.join(DECAYS)}")
        if self.step_zones_m is not None:
            object.__setattr__(self, "step_zones_m", step_zones_for(self.radius_m, self.step_zones_m))
        object.__setattr__(self, "step_weights", tuple(float(w) for w in self.step_weights))
        # Checks the weights against the zones now, not halfway through a run.
        decay_weight(
            np.zeros(1), self.radius_m, "step", step_zones_m=self.step_zones_m, step_weights=self.step_weights
        )
        if not isinstance(self.resolution, int) or not 0 <= self.resolution <= 15:
            raise AnalysisInputError(
                f"H3 resolution must be an integer from 0 to 15, got {self.resolution!r}"
            )
        weights = {str(k): float(v) for k, v in dict(self.vulnerable_weights).items()}
        for name, alpha in weights.items():
            group_population_columns(name)
            if not math.isfinite(alpha) or alpha < 0:
                raise AnalysisInputError(
                    f"vulnerable weight for {name!r} must be a number >= 0, got {alpha!r}"
                )
        object.__setattr__(self, "vulnerable_weights", weights)
        if not math.isfinite(self.needs_weight) or self.needs_weight < 0:
            raise AnalysisInputError(f"needs_weight must be a number >= 0, got {self.needs_weight!r}")
        if self.needs_radius_m is not None:
            object.__setattr__(self, "needs_radius_m", check_radius_m(self.needs_radius_m))
        if not math.isfinite(self.desert_min_people) or self.desert_min_people < 0:
            raise AnalysisInputError(
                f"desert_min_people must be a number of people >= 0, got {self.desert_min_people!r}"
            )
        if not 0 <= self.desert_min_share <= 1:
            raise AnalysisInputError(
                f"desert_min_share must be a share from 0 to 1, got {self.desert_min_share!r}"
            )
        distance_source_kind(self.distance)
        if self.default_capacity is not None:
            value = float(self.default_capacity)
            if not math.isfinite(value) or value <= 0:
                raise AnalysisInputError(
                    f"default capacity must be a number > 0, got {self.default_capacity!r}"
                )
            object.__setattr__(self, "default_capacity", value)

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-ready parameters, with the step zones actually used (metres) spelled out."""
        values = asdict(self)
        values["step_zones_m"] = list(step_zones_for(self.radius_m, self.step_zones_m))
        values["step_weights"] = list(self.step_weights)
        values["vulnerable_weights"] = dict(self.vulnerable_weights)
        return values


@dataclass(frozen=True)
class GapResult:
    """One coverage-gap run: per demand unit (EPSG:4326 points), per neighbourhood and per asset, plus totals.

    units: unit_id, neighbourhood_id, population, population_known, needs_people, need, distance_m (to the
      nearest open asset; NaN if there is none), covered, access (A_i), access_score (a_i), shortfall (g_i),
      geometry.
    neighbourhoods (index: neighbourhood id): code, name, n_units, population (NaN if unknown),
      population_known, need, covered_need, covered_share, mean_distance_m, uncovered_need,
      assets_within_radius, unmet_need, gap_share, access_score (need-weighted mean a_i), desert.
    assets (input order): id, name, capacity (as given), capacity_used, capacity_unknown, closed,
      units_in_reach, demand_in_reach (decay-weighted need), ratio (R_j), idle.
    distance: where every distance came from (geo.streets): the straight line, or walks on a street network;
      with a network, units also hold snap_m (the straight step to the nearest street, NaN off the network)
      and distance_m is the walk to the nearest open asset (NaN when none can be reached on foot).
    Where capacity is unknown and no default is set (geo.capacity), access, access_score, shortfall, unmet_need,
    gap_share and the neighbourhood access_score are NaN, and so are capacity_used and ratio of those assets.
    """

    units: gpd.GeoDataFrame
    neighbourhoods: pd.DataFrame
    assets: pd.DataFrame
    crs: pyproj.CRS
    totals: dict[str, Any]
    params: GapParams
    source_assets: gpd.GeoDataFrame = field(repr=False)
    distance: DistanceSource = field(default=STRAIGHT, repr=False)  # straight line or walks on the streets
