"""Computing a run: one read of the city's data, geo.gaps in the exact and the public view, what the run stores.

A run is computed twice when the service has assets of people or sensitive assets: once with their exact
locations (what planners see) and once as if they stood where the API shows them to everyone else (the public
view). Both are stored with the run; every output picks the view of its reader, so no exact location of a person
or a sensitive place can be recovered from cells, distances or neighbourhood numbers by a reader without planner
rights.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from app.db.models import City, ServiceType
from app.errors import InvalidInput
from app.policy import Principal
from app.services.analysis import bounds
from app.services.analysis import inputs as reading
from app.services.analysis.params import params_record
from app.services.streets import require_street_network, require_street_network_exists
from app.settings import Settings
from geo.coverage import Deadline, check_deadline, nearest_distance_m, points_xy
from geo.crs import AnalysisInputError, measuring_crs
from geo.gaps import GapParams, GapResult, analyse_gaps, reanalyse
from geo.streets.distance import STRAIGHT, DistanceSource

NEAREST_ASSETS_SHOWN = 3
EXACT, PUBLIC = "exact", "public"
CELL_VALUES = ("distance_m", "covered", "access", "access_score", "shortfall")


def view_of(principal: Principal) -> str:
    """Which stored view of a run a reader gets: exact locations for planner rights, else the public view."""
    return EXACT if principal.sees_exact_locations else PUBLIC


def clean(value: Any) -> Any:
    """A JSON-ready scalar: numpy types to Python, NaN and pandas NA to None."""
    if value is None or value is pd.NA:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


@dataclass
class Stopwatch:
    """Milliseconds per stage, in the order the stages ran."""

    stages: dict[str, float] = field(default_factory=dict)
    _start: float = field(default_factory=time.perf_counter)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Time one stage."""
        begin = time.perf_counter()
        try:
            yield
        finally:
            self.stages[name] = round((time.perf_counter() - begin) * 1000, 1)

    def total(self) -> dict[str, float]:
        """The stages and their total."""
        return {**self.stages, "total": round((time.perf_counter() - self._start) * 1000, 1)}


@dataclass(frozen=True)
class Analysis:
    """The inputs read for a run and its result in one view."""

    inputs: reading.CityInputs
    result: GapResult
    view: str


def analyse(
    db: Session,
    settings: Settings,
    city: City,
    service_type: ServiceType,
    params: GapParams,
    include_pending: bool,
    view: str,
    watch: Stopwatch | None = None,
    deadline: Deadline | None = None,
) -> tuple[Analysis, GapResult | None]:
    """Read the city's data once and run geo.gaps in `view`; also return the other view's result when it differs.

    For the exact view the public view is computed as well (reusing the demand units) if private assets exist.
    """
    watch = watch or Stopwatch()
    if params.distance == "network":
        require_street_network_exists(db, city)
    with watch.stage("read"):
        data = reading.read_inputs(db, settings, city, service_type, include_pending)
    has_private = bool(data.assets["private"].any())
    needs = data.needs if len(data.needs) else None
    try:
        distance: DistanceSource = STRAIGHT
        if params.distance == "network":
            with watch.stage("street_network"):
                distance = require_street_network(db, city, measuring_crs(data.neighbourhoods, city.crs))
        with watch.stage("analyse"):
            result = analyse_gaps(
                data.neighbourhoods,
                reading.assets_as_seen(data.assets, exact=view == EXACT),
                params,
                needs=needs,
                crs=city.crs,
                deadline=deadline,
                distance=distance,
            )
        public = None
        if view == EXACT and has_private:
            with watch.stage("public_view"):
                public = reanalyse(
                    result, reading.assets_as_seen(data.assets, exact=False), deadline=deadline
                )
    except AnalysisInputError as exc:
        raise InvalidInput(str(exc)) from None
    return Analysis(data, result, view), public


def _nearest_assets(
    result: GapResult, assets: pd.DataFrame, allowed: np.ndarray
) -> dict[int, list[dict[str, Any]]]:
    """Per neighbourhood, the assets nearest to most of its need (at most NEAREST_ASSETS_SHOWN), by name."""
    usable = np.flatnonzero(allowed & ~result.assets["closed"].to_numpy(dtype=bool))
    if usable.size == 0 or len(result.units) == 0:
        return {}
    units_xy = points_xy(result.units, result.crs, what="demand units")
    assets_xy = points_xy(result.source_assets.iloc[usable], result.crs, what="assets")
    _, nearest = nearest_distance_m(units_xy, assets_xy)
    table = pd.DataFrame(
        {
            "neighbourhood_id": result.units["neighbourhood_id"].to_numpy(),
            "asset": usable[nearest],
            "need": result.units["need"].to_numpy(dtype=np.float64),
            "units": 1,
        }
    )
    ranked = (
        table.groupby(["neighbourhood_id", "asset"], sort=True)[["need", "units"]]
        .sum()
        .reset_index()
        .sort_values(["neighbourhood_id", "need", "units", "asset"], ascending=[True, False, False, True])
        .groupby("neighbourhood_id")
        .head(NEAREST_ASSETS_SHOWN)
    )
    ids, names = assets["id"].to_numpy(), assets["name"].to_numpy()
    out: dict[int, list[dict[str, Any]]] = {}
    for nb_id, position in zip(ranked["neighbourhood_id"], ranked["asset"], strict=True):
        out.setdefault(int(nb_id), []).append({"id": int(ids[position]), "name": str(names[position])})
    return out


def neighbourhood_rows(result: GapResult, nearest: dict[int, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Per-neighbourhood results as JSON-ready rows, in neighbourhood id order."""
    rows = []
    for nb_id, row in result.neighbourhoods.iterrows():
        record = {"id": int(nb_id), **{key: clean(value) for key, value in row.items()}}
        record["nearest_assets"] = nearest.get(int(nb_id), [])
        rows.append(record)
    return rows


def asset_rows(result: GapResult, assets: pd.DataFrame, keep: np.ndarray) -> list[dict[str, Any]]:
    """Per-asset results (the service's assets, in id order) for the rows in `keep`."""
    frame = result.assets.assign(
        category=assets["category"].to_numpy(),
        neighbourhood_id=assets["neighbourhood_id"].to_numpy(),
        status=assets["status"].to_numpy(),
    )
    return [
        {key: clean(value) for key, value in row.items()} for row in frame[keep].to_dict(orient="records")
    ]


def _totals(result: GapResult) -> dict[str, Any]:
    return {key: clean(value) for key, value in result.totals.items()}


def _cell_differences(exact: GapResult, public: GapResult) -> dict[str, list[Any]]:
    """Public-view values of the demand units whose values differ from the exact view (by more than rounding)."""
    differs = np.zeros(len(exact.units), dtype=bool)
    for column in CELL_VALUES:
        a = exact.units[column].to_numpy(dtype=np.float64)
        b = public.units[column].to_numpy(dtype=np.float64)
        differs |= ~np.isclose(a, b, rtol=1e-12, atol=0.0, equal_nan=True)
    rows = public.units.loc[differs, ["unit_id", *CELL_VALUES]]
    return {str(r[0]): [clean(v) for v in r[1:]] for r in rows.itertuples(index=False)}


@dataclass(frozen=True)
class Computed:
    """Everything a run stores."""

    params: dict[str, Any]
    data_version: str
    results: dict[str, Any]
    units: pd.DataFrame
    timing_ms: dict[str, float]


def compute(
    db: Session,
    settings: Settings,
    city: City,
    service_type: ServiceType,
    params: GapParams,
    include_pending: bool,
    deadline: Deadline | None = None,
) -> Computed:
    """Read once, analyse in both views, and shape what the run stores (AnalysisStopped past the deadline)."""
    watch = Stopwatch()
    analysis, public = analyse(
        db, settings, city, service_type, params, include_pending, EXACT, watch, deadline
    )
    data, result = analysis.inputs, analysis.result
    # the estimate was checked up front; this holds the bound where the estimate fell short
    bounds.check_cells(settings, len(result.units), params.resolution, estimated=False)
    check_deadline(deadline)
    with watch.stage("summarise"):
        private = data.assets["private"].to_numpy(dtype=bool)
        everyone = np.ones(len(private), dtype=bool)
        results: dict[str, Any] = {
            "data": {
                **data.version.as_dict(),
                "needs_without_people": data.needs_without_people,
                "private_assets": int(private.sum()),
                "pending_assets": int((data.assets["status"] == "pending").sum()),
                # a setting, not a row: recorded beside the rows' version so the run says all it read
                "default_capacity": params.default_capacity,
            },
            "totals": _totals(result),
            "neighbourhoods": neighbourhood_rows(result, _nearest_assets(result, data.assets, everyone)),
            "assets": asset_rows(result, data.assets, everyone),
            "public": None,
            "suggestions": [],
        }
        if public is not None:
            results["public"] = {
                "totals": _totals(public),
                "neighbourhoods": neighbourhood_rows(public, _nearest_assets(public, data.assets, ~private)),
                "assets": asset_rows(public, data.assets, ~private),
                "cells": _cell_differences(result, public),
            }
    record = params_record(city, service_type, params, include_pending)
    record["crs"] = result.crs.to_string()
    units = result.units.assign(lon=result.units.geometry.x, lat=result.units.geometry.y)
    check_deadline(deadline)
    return Computed(
        record, data.version.label, results, pd.DataFrame(units.drop(columns="geometry")), watch.total()
    )
