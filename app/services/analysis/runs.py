"""Coverage-gap runs: parameters with the service type's defaults, one read, geo.gaps, stored results, background.

A run is computed twice when the service has assets of people or sensitive assets: once with their exact
locations (what planners see) and once as if they stood where the API shows them to everyone else (the public
view). Both are stored with the run; every output picks the view of its reader, so no exact location of a person
or a sensitive place can be recovered from cells, distances or neighbourhood numbers by a reader without planner
rights.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

import h3
import numpy as np
import pandas as pd
from sqlalchemy import Engine, delete, func, select, text
from sqlalchemy.orm import Session

from app.db.models import AnalysisRun, City, ServiceType
from app.errors import AssetmapError, Conflict, Forbidden, InvalidInput, NotFound
from app.policy import Principal
from app.schemas.analysis import RunCreate
from app.services.analysis import bounds
from app.services.analysis import inputs as reading
from app.services.catalogue import list_service_types, resolve_city, resolve_service_type
from app.settings import Settings
from geo.access import DEFAULT_STEP_WEIGHTS, step_zones_for
from geo.coverage import AnalysisStopped, Deadline, check_deadline, nearest_distance_m, points_xy
from geo.crs import AnalysisInputError
from geo.gaps import GapParams, GapResult, analyse_gaps, reanalyse
from geo.vocab import POPULATION_GROUPS

log = logging.getLogger("assetmap.analysis")

DEFAULT_DECAY = "gaussian"
DEFAULT_RESOLUTION = 9
DEFAULT_NEEDS_WEIGHT = 0.0
DEFAULT_DESERT_MIN_PEOPLE = 100.0
DEFAULT_DESERT_MIN_SHARE = 0.5
# A run larger than this (estimated demand units times assets) or at H3 resolution 10 or finer is computed in the
# background; Berlin at resolution 9 is about 9,500 units x 1,200 kindergartens = 11 million, well under a second.
BACKGROUND_UNITS_TIMES_ASSETS = 50_000_000
BACKGROUND_MIN_RESOLUTION = 10
BACKGROUND_WORKERS = 2
NEAREST_ASSETS_SHOWN = 3
STALE_QUEUED_RUN = bounds.STALE_QUEUED_RUN
# Who may start runs (as app.deps.run_analysis): such readers of a gap map queue a run when none is up to date.
RUN_ANALYSIS_ROLES = frozenset({"admin", "planner", "organiser"})
# Runs queued by views of a gap map carry this origin in their parameters; only they are pruned automatically.
GAP_MAP_ORIGIN = {"origin": "gap_map"}
INT32_MAX = 2**31 - 1  # ids are PostgreSQL integers
EXACT, PUBLIC = "exact", "public"
CELL_VALUES = ("distance_m", "covered", "access", "access_score", "shortfall")

SessionFactory = Callable[[], Session]


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


def find_city(db: Session, ref: str | int, *, field: str = "city") -> City:
    """A city by id or name; references no city can have (ids beyond 32 bits, NUL characters) are unknown too."""
    text_ref = str(ref).strip()
    if "\x00" in text_ref or (text_ref.isascii() and text_ref.isdigit() and int(text_ref) > INT32_MAX):
        raise NotFound(f"no city {ref!r}: list cities at /api/cities", field=field)
    return resolve_city(db, ref, field=field)


def find_service_type(db: Session, slug: str, *, field: str = "service_type") -> ServiceType:
    """A service type by slug; an unknown one (also one no slug can be) is a 422 listing the known slugs."""
    if "\x00" in slug:
        known = ", ".join(st.slug for st in list_service_types(db))
        raise InvalidInput(f"unknown service type {slug!r}: use one of {known}", field=field)
    return resolve_service_type(db, slug, field=field)


# --- parameters ------------------------------------------------------------------------------------------------


def gap_params(settings: Settings, service_type: ServiceType, body: RunCreate) -> GapParams:
    """GapParams from a request; omitted values take the service type's defaults. Bad values are a 422.

    The request model bounds each value; this checks what depends on the service type or on this server's
    settings (the finest resolution), once for the API and the command line.
    """
    group = body.group or service_type.population_group
    if group not in POPULATION_GROUPS:
        raise InvalidInput(
            f"unknown population group {group!r}: use one of {', '.join(sorted(POPULATION_GROUPS))}",
            field="group",
        )
    weights = dict(body.vulnerable_weights or {})
    unknown = sorted(set(weights) - set(POPULATION_GROUPS))
    if unknown:
        raise InvalidInput(
            f"vulnerable_weights names unknown population groups {unknown}: use {', '.join(sorted(POPULATION_GROUPS))}",
            field="vulnerable_weights",
        )
    if any(not math.isfinite(v) or v < 0 for v in weights.values()):
        raise InvalidInput("vulnerable weights must be numbers >= 0", field="vulnerable_weights")
    radius_m = float(body.radius_m if body.radius_m is not None else service_type.default_radius_m)
    decay = body.decay or DEFAULT_DECAY
    zones = tuple(body.step_zones_m) if body.step_zones_m is not None else None
    if zones is not None:
        try:
            step_zones_for(radius_m, zones)
        except AnalysisInputError as exc:
            raise InvalidInput(str(exc), field="step_zones_m") from None
    resolution = body.resolution if body.resolution is not None else DEFAULT_RESOLUTION
    bounds.check_resolution(settings, resolution)
    try:
        return GapParams(
            group=group,
            radius_m=radius_m,
            decay=decay,
            step_zones_m=zones,
            step_weights=tuple(body.step_weights) if body.step_weights is not None else DEFAULT_STEP_WEIGHTS,
            resolution=resolution,
            vulnerable_weights=weights,
            needs_weight=body.needs_weight if body.needs_weight is not None else DEFAULT_NEEDS_WEIGHT,
            needs_radius_m=body.needs_radius_m,
            desert_min_people=(
                body.desert_min_people if body.desert_min_people is not None else DEFAULT_DESERT_MIN_PEOPLE
            ),
            desert_min_share=body.desert_min_share
            if body.desert_min_share is not None
            else DEFAULT_DESERT_MIN_SHARE,
        )
    except (AnalysisInputError, ValueError) as exc:
        # Everything else was checked above or by the request model: what is left is the step weights.
        raise InvalidInput(str(exc), field="step_weights" if "step weights" in str(exc) else None) from None


def params_record(
    city: City, service_type: ServiceType, params: GapParams, include_pending: bool
) -> dict[str, Any]:
    """Every parameter a run uses, as stored with it and echoed to the user."""
    return {
        "city": city.name,
        "city_id": city.id,
        "service_type": service_type.slug,
        **params.as_dict(),
        "include_pending": include_pending,
    }


def params_from_record(record: dict[str, Any]) -> GapParams:
    """The GapParams of a stored run (step zones as recorded: the zones actually used)."""
    return GapParams(
        group=record["group"],
        radius_m=record["radius_m"],
        decay=record["decay"],
        step_zones_m=tuple(record["step_zones_m"]),
        step_weights=tuple(record["step_weights"]),
        resolution=int(record["resolution"]),
        vulnerable_weights=dict(record["vulnerable_weights"]),
        needs_weight=record["needs_weight"],
        needs_radius_m=record["needs_radius_m"],
        desert_min_people=record["desert_min_people"],
        desert_min_share=record["desert_min_share"],
    )


# --- computing -------------------------------------------------------------------------------------------------


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
    with watch.stage("read"):
        data = reading.read_inputs(db, settings, city, service_type, include_pending)
    has_private = bool(data.assets["private"].any())
    needs = data.needs if len(data.needs) else None
    try:
        with watch.stage("analyse"):
            result = analyse_gaps(
                data.neighbourhoods,
                reading.assets_as_seen(data.assets, exact=view == EXACT),
                params,
                needs=needs,
                crs=city.crs,
                deadline=deadline,
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


_INSERT_CELLS = text(
    """
    INSERT INTO analysis_cell (run_id, unit_id, neighbourhood_id, population, need, distance_m, covered, access,
                               access_score, shortfall, geom)
    SELECT :run_id, u.unit_id, u.neighbourhood_id, u.population, u.need, u.distance_m, u.covered, u.access,
           u.access_score, u.shortfall, ST_SetSRID(ST_MakePoint(u.lon, u.lat), 4326)
    FROM unnest(CAST(:unit_id AS text[]), CAST(:neighbourhood_id AS int[]), CAST(:population AS float8[]),
                CAST(:need AS float8[]), CAST(:distance_m AS float8[]), CAST(:covered AS bool[]),
                CAST(:access AS float8[]), CAST(:access_score AS float8[]), CAST(:shortfall AS float8[]),
                CAST(:lon AS float8[]), CAST(:lat AS float8[]))
         AS u(unit_id, neighbourhood_id, population, need, distance_m, covered, access, access_score, shortfall,
              lon, lat)
    """
)


def _array_text(items: Any) -> str:
    """A PostgreSQL array literal from texts that need no quoting (numbers, NULL, t/f, plain identifiers).

    Binding one text per column is many times faster than letting the driver adapt long Python lists.
    """
    return "{" + ",".join(items) + "}"


def _floats(series: pd.Series) -> str:
    # repr of a Python float is the shortest text that reads back as the same float: nothing is rounded.
    return _array_text(
        repr(v) if math.isfinite(v) else "NULL" for v in series.to_numpy(dtype=np.float64).tolist()
    )


def store(db: Session, run: AnalysisRun, computed: Computed) -> None:
    """Write a computed run: its parameters, data version, results, timing and cells (one bulk insert)."""
    begin = time.perf_counter()
    units = computed.units
    db.execute(
        _INSERT_CELLS,
        {
            "run_id": run.id,
            # unit ids are H3 indexes (hex digits) or 'nb:<id>': nothing to quote in an array literal
            "unit_id": _array_text(units["unit_id"].astype(str)),
            "neighbourhood_id": _array_text(units["neighbourhood_id"].astype(np.int64).astype(str)),
            "population": _floats(units["population"]),
            "need": _floats(units["need"]),
            "distance_m": _floats(units["distance_m"]),
            "covered": _array_text(np.where(units["covered"].to_numpy(dtype=bool), "t", "f").tolist()),
            "access": _floats(units["access"]),
            "access_score": _floats(units["access_score"]),
            "shortfall": _floats(units["shortfall"]),
            "lon": _floats(units["lon"]),
            "lat": _floats(units["lat"]),
        },
    )
    origin = (run.params or {}).get("origin")  # who queued it (the gap map) stays recorded
    run.params = {**computed.params, "origin": origin} if origin else computed.params
    run.data_version = computed.data_version
    run.results = computed.results
    timing = dict(computed.timing_ms)
    total = timing.pop("total")
    timing["store"] = round((time.perf_counter() - begin) * 1000, 1)
    run.timing_ms = {**timing, "total": round(total + timing["store"], 1)}
    run.status = "succeeded"
    run.error = None
    run.finished_at = func.now()


# --- runs ------------------------------------------------------------------------------------------------------


def estimated_units(db: Session, city_id: int, resolution: int) -> int:
    """About how many demand units a run at `resolution` makes (area over the mean H3 cell area)."""
    return math.ceil(reading.demand_area_km2(db, city_id) / h3.average_hexagon_area(resolution, unit="km^2"))


def _runs_in_background(
    db: Session,
    settings: Settings,
    city: City,
    service_type: ServiceType,
    params: GapParams,
    body: RunCreate,
) -> bool:
    """Whether a run is queued; a run that would store more cells than a run may is refused first (422)."""
    units = estimated_units(db, city.id, params.resolution)
    bounds.check_cells(settings, units, params.resolution)
    assets = reading.service_asset_count(db, city.id, service_type.id, body.include_pending)
    large = (
        params.resolution >= BACKGROUND_MIN_RESOLUTION
        or units * max(assets, 1) > BACKGROUND_UNITS_TIMES_ASSETS
    )
    if body.background is False and large:
        raise InvalidInput(
            f"this run is large (about {units:,} demand units and {assets:,} assets): "
            "leave 'background' unset (or true) and poll the run until it has finished",
            field="background",
        )
    return bool(body.background) or large


def _new_run(
    city: City, service_type: ServiceType, params: GapParams, principal: Principal, include_pending: bool
) -> AnalysisRun:
    return AnalysisRun(
        city_id=city.id,
        service_type_id=service_type.id,
        status="pending",
        params=params_record(city, service_type, params, include_pending),
        include_pending=include_pending,
        results={},
        timing_ms={},
        user_id=principal.user_id,
    )


def _queue(db: Session, settings: Settings, run: AnalysisRun, session_factory: SessionFactory) -> AnalysisRun:
    """Record a pending run and hand it to a background worker."""
    # Recorded now so a poller (and the gap map) can tell which data the queued run is for; the worker replaces
    # it with the version it actually read.
    run.data_version = reading.current_data_version(
        db, run.city_id, run.service_type_id, run.include_pending
    ).label
    db.add(run)
    db.commit()
    _executor().submit(execute_run, session_factory, settings, run.id)
    return run


RUN_ADVICE = 'ask for a background run ("background": true) and poll it, or use a coarser resolution'


def create_run(
    db: Session,
    settings: Settings,
    principal: Principal,
    body: RunCreate,
    *,
    session_factory: SessionFactory | None = None,
    cancel: threading.Event | None = None,
) -> AnalysisRun:
    """Start a coverage-gap run: computed now (small runs), or queued for a background worker (large runs).

    Without a `session_factory` (the command line) the run is always computed now. A run computed now stops at
    the run time limit (or when `cancel` is set): it is recorded as failed and the caller gets a 503 saying so.
    """
    if body.include_pending and not principal.is_staff:
        raise Forbidden("only staff may include entries that wait for review", field="include_pending")
    city = find_city(db, body.city)
    service_type = find_service_type(db, body.service_type)
    params = gap_params(settings, service_type, body)
    in_background = _runs_in_background(db, settings, city, service_type, params, body)
    run = _new_run(city, service_type, params, principal, body.include_pending)
    if session_factory is not None and in_background:
        bounds.check_may_queue(db, settings, principal)
        return _queue(db, settings, run, session_factory)
    with bounds.work_slot(db, settings, principal):
        try:
            computed = compute(
                db,
                settings,
                city,
                service_type,
                params,
                body.include_pending,
                bounds.run_deadline(settings, cancel),
            )
        except AnalysisStopped as exc:
            message = bounds.stopped_message(exc, "the run", RUN_ADVICE)
            db.rollback()
            run.status, run.error, run.finished_at = "failed", message, func.now()
            db.add(run)
            db.commit()
            log.warning("analysis run %s stopped: %s", run.id, message)
            raise bounds.TookTooLong(message, extra={"run": run.id}) from None
    db.add(run)
    db.flush()
    store(db, run, computed)
    db.commit()
    db.refresh(run)
    return run


_EXECUTOR: ThreadPoolExecutor | None = None
_EXECUTOR_LOCK = threading.Lock()


def _executor() -> ThreadPoolExecutor:
    """The process's analysis workers (threads: numpy, scipy and GEOS release the GIL for the heavy parts)."""
    global _EXECUTOR
    with _EXECUTOR_LOCK:
        if _EXECUTOR is None:
            _EXECUTOR = ThreadPoolExecutor(
                max_workers=BACKGROUND_WORKERS, thread_name_prefix="assetmap-analysis"
            )
        return _EXECUTOR


# Session-level advisory locks (this key space, the run id) mark the runs a worker is computing.
_RUN_LOCKS = 0x414D


@contextmanager
def _computing(db: Session, run_id: int) -> Iterator[bool]:
    """Hold a run's lock, on a connection of its own, while this worker computes it; False when a worker of this
    or another process holds it. The lock goes with the connection, so a stopped process holds none."""
    bind = db.get_bind()
    engine = bind if isinstance(bind, Engine) else bind.engine
    with engine.connect() as conn:
        key = {"space": _RUN_LOCKS, "run": run_id}
        held = bool(conn.scalar(text("SELECT pg_try_advisory_lock(:space, :run)"), key))
        conn.commit()
        try:
            yield held
        finally:
            if held:
                conn.execute(text("SELECT pg_advisory_unlock(:space, :run)"), key)
                conn.commit()


def resume_unfinished_runs(session_factory: SessionFactory, settings: Settings) -> int:
    """Queue again the runs left pending or running when a server stopped (workers are threads of the process that
    queued a run); runs another process is still computing are skipped by execute_run. Returns how many."""
    with session_factory() as db:
        run_ids = list(
            db.scalars(
                select(AnalysisRun.id)
                .where(AnalysisRun.status.in_(("pending", "running")))
                .order_by(AnalysisRun.id)
            )
        )
    for run_id in run_ids:
        _executor().submit(execute_run, session_factory, settings, run_id)
    if run_ids:
        log.info("queued %d unfinished analysis runs again", len(run_ids))
    return len(run_ids)


def execute_run(session_factory: SessionFactory, settings: Settings, run_id: int) -> None:
    """Compute a queued run in its own session: pending -> running -> succeeded or failed (each state committed).

    A run found running while its lock is free was left by a worker that stopped: it is computed again.
    """
    with session_factory() as db, _computing(db, run_id) as mine:
        if not mine:
            return  # another worker is computing it
        run = db.get(AnalysisRun, run_id, with_for_update=True)
        if run is None or run.status not in ("pending", "running"):
            return
        run.status = "running"
        db.commit()  # visible to pollers while the computation runs
        try:
            city = db.get(City, run.city_id)
            service_type = db.get(ServiceType, run.service_type_id)
            if city is None or service_type is None:
                raise NotFound("the run's city or service type was deleted")
            params = params_from_record(run.params)
            computed = compute(
                db, settings, city, service_type, params, run.include_pending, bounds.run_deadline(settings)
            )
            store(db, run, computed)
            db.commit()
        except Exception as exc:
            db.rollback()
            if isinstance(exc, AnalysisStopped):
                message = bounds.stopped_message(
                    exc, "the run", "use a coarser resolution or a smaller radius"
                )
                log.warning("analysis run %s stopped: %s", run_id, message)
            elif isinstance(exc, AssetmapError):
                message = exc.detail
            else:
                reference = uuid.uuid4().hex[:12]
                log.exception("analysis run %s failed (reference %s)", run_id, reference)
                message = f"internal error; the server log has the details under reference {reference}"
            failed = db.get(AnalysisRun, run_id)
            if failed is not None:
                failed.status = "failed"
                failed.error = message
                failed.finished_at = func.now()
                db.commit()
            return
        if run.params.get("origin") == GAP_MAP_ORIGIN["origin"]:
            prune_gap_map_runs(db, settings, run.city_id, run.service_type_id)


def prune_runs(db: Session, older_than: dt.timedelta, *, dry_run: bool = False) -> int:
    """Delete finished runs (succeeded or failed) created more than `older_than` ago, with their demand cells;
    runs still queued or computing are kept. Returns how many were (or, on a dry run, would be) deleted."""
    if older_than <= dt.timedelta(0):
        raise InvalidInput("the age must be more than zero days", field="older_than_days")
    old = (AnalysisRun.status.in_(("succeeded", "failed"))) & (
        AnalysisRun.created_at < func.now() - older_than
    )
    if dry_run:
        return int(db.scalar(select(func.count()).select_from(AnalysisRun).where(old)) or 0)
    deleted = db.scalars(delete(AnalysisRun).where(old).returning(AnalysisRun.id)).all()
    db.commit()
    return len(deleted)


def prune_gap_map_runs(db: Session, settings: Settings, city_id: int, service_type_id: int) -> int:
    """Keep the newest `analysis_runs_kept` finished runs the gap map queued for a city and service; delete the
    older ones with their cells. Runs asked for through the API or the command line are left to prune-runs."""
    old = db.scalars(
        select(AnalysisRun.id)
        .where(
            AnalysisRun.city_id == city_id,
            AnalysisRun.service_type_id == service_type_id,
            AnalysisRun.status.in_(("succeeded", "failed")),
            AnalysisRun.params.contains(GAP_MAP_ORIGIN),
        )
        .order_by(AnalysisRun.id.desc())
        .offset(settings.analysis_runs_kept)
    ).all()
    if old:
        db.execute(delete(AnalysisRun).where(AnalysisRun.id.in_(old)))
        db.commit()
        log.info("pruned %d old gap-map runs of city %s, service type %s", len(old), city_id, service_type_id)
    return len(old)


def visible_run(db: Session, principal: Principal, run_id: int, *, lock: bool = False) -> AnalysisRun:
    """A run the caller may read; runs that include unpublished entries are for staff only (else a 404)."""
    run = db.get(AnalysisRun, run_id, with_for_update=lock)
    if run is None or (run.include_pending and not principal.is_staff):
        raise NotFound(f"no analysis run {run_id}")
    return run


def finished_run(db: Session, principal: Principal, run_id: int, *, lock: bool = False) -> AnalysisRun:
    """A visible run whose results exist; a run still computing or failed is a 409 that says so."""
    run = visible_run(db, principal, run_id, lock=lock)
    if run.status in ("pending", "running"):
        raise Conflict(
            f"analysis run {run_id} is {run.status}: poll GET /api/analysis/runs/{run_id} until it has succeeded",
            extra={"status": run.status},
        )
    if run.status == "failed":
        raise Conflict(f"analysis run {run_id} failed: {run.error}", extra={"status": run.status})
    return run


def get_run(db: Session, principal: Principal, run_id: int) -> AnalysisRun:
    """A run by id, as the caller may see it."""
    return visible_run(db, principal, run_id)


def _default_run(
    db: Session, settings: Settings, city: str | int, service_slug: str
) -> tuple[City, ServiceType, RunCreate, dict[str, Any]]:
    city_row = find_city(db, city)
    service_type = find_service_type(db, service_slug, field="service")
    body = RunCreate(city=city_row.id, service_type=service_type.slug)
    record = params_record(city_row, service_type, gap_params(settings, service_type, body), False)
    return city_row, service_type, body, record


def _default_runs(city: City, service_type: ServiceType, record: dict[str, Any], *statuses: str) -> Any:
    """Published-data runs of a city and service with these parameters (any origin), newest first."""
    return (
        select(AnalysisRun)
        .where(
            AnalysisRun.city_id == city.id,
            AnalysisRun.service_type_id == service_type.id,
            AnalysisRun.include_pending.is_(False),
            AnalysisRun.status.in_(statuses),
            AnalysisRun.params.contains(record),
        )
        .order_by(AnalysisRun.id.desc())
        .limit(1)
    )


def latest_or_new_run(
    db: Session,
    settings: Settings,
    principal: Principal,
    city: str | int,
    service_slug: str,
    *,
    session_factory: SessionFactory | None = None,
) -> AnalysisRun:
    """The latest default-parameter run of a city and service on the current data, or a new one (the command
    line's `--city --service`: an explicit request to analyse; the gap map page uses gap_map_run)."""
    city_row, service_type, body, record = _default_run(db, settings, city, service_slug)
    current = reading.current_data_version(db, city_row.id, service_type.id, include_pending=False).label
    run = db.scalar(
        _default_runs(city_row, service_type, record, "succeeded", "pending", "running").where(
            AnalysisRun.data_version == current,
            # a queued run counts unless it is so old that its worker must have gone away (a restart)
            (AnalysisRun.status == "succeeded") | (AnalysisRun.created_at > func.now() - STALE_QUEUED_RUN),
        )
    )
    if run is not None:
        return run
    return create_run(db, settings, principal, body, session_factory=session_factory)


GapMapState = Literal["current", "stale", "queued", "failed", "none"]


@dataclass(frozen=True)
class GapMapChoice:
    """What a view of the gap map of a city and service shows; a view never computes a run.

    current  `shown` is the latest succeeded default run and it read the current data
    stale    `shown` is the latest succeeded default run, older than the current data (or None: there is none)
             and the reader may not start runs
    queued   a run on the current data (`waiting`) is queued or computing; `shown` is the previous one, if any
    failed   the run on the current data (`waiting`) failed; `shown` is the previous one, if any
    none     no run exists and the reader may not start one
    """

    state: GapMapState
    shown: AnalysisRun | None
    waiting: AnalysisRun | None
    city: City
    service_type: ServiceType
    current_version: str


# Transaction-level advisory locks (this key space, a hash of city and service) serialise queueing gap-map runs.
_QUEUE_LOCKS = 0x4751


def gap_map_run(
    db: Session,
    settings: Settings,
    principal: Principal,
    city: str | int,
    service_slug: str,
    *,
    session_factory: SessionFactory | None,
) -> GapMapChoice:
    """The run a gap-map view of a city and service shows: the latest succeeded default run.

    When none is on the current data, a reader with analysis rights queues one background run (at most one per
    city, service and data version: concurrent views wait for the same run); other readers get the latest run,
    stale or not, or none. Nothing is computed here.
    """
    city_row, service_type, body, record = _default_run(db, settings, city, service_slug)
    current = reading.current_data_version(db, city_row.id, service_type.id, include_pending=False).label
    latest = db.scalar(_default_runs(city_row, service_type, record, "succeeded"))

    def choice(state: GapMapState, waiting: AnalysisRun | None = None) -> GapMapChoice:
        return GapMapChoice(state, latest, waiting, city_row, service_type, current)

    if latest is not None and latest.data_version == current:
        return choice("current")
    if principal.role not in RUN_ANALYSIS_ROLES or session_factory is None:
        return choice("stale" if latest is not None else "none")
    db.execute(
        text("SELECT pg_advisory_xact_lock(:space, hashtext(:key))"),
        {"space": _QUEUE_LOCKS, "key": f"{city_row.id}:{service_type.id}"},
    )
    on_current = _default_runs(city_row, service_type, record, "pending", "running", "failed").where(
        AnalysisRun.data_version == current,
        # a failed gap-map run is not queued again on the same data (an edit makes a new data version); a queued
        # one counts unless it is so old that its worker must have gone away (a restart)
        ((AnalysisRun.status == "failed") & AnalysisRun.params.contains(GAP_MAP_ORIGIN))
        | ((AnalysisRun.status != "failed") & (AnalysisRun.created_at > func.now() - STALE_QUEUED_RUN)),
    )
    waiting = db.scalar(on_current)
    if waiting is not None:
        db.commit()  # lets go of the lock
        return choice("failed" if waiting.status == "failed" else "queued", waiting)
    params = gap_params(settings, service_type, body)
    bounds.check_cells(settings, estimated_units(db, city_row.id, params.resolution), params.resolution)
    run = _new_run(city_row, service_type, params, principal, False)
    run.params = {**run.params, **GAP_MAP_ORIGIN}
    return choice("queued", _queue(db, settings, run, session_factory))


def list_runs(
    db: Session,
    principal: Principal,
    *,
    city: str | int | None = None,
    service_slug: str | None = None,
    before: int | None = None,
    limit: int = 50,
) -> tuple[list[AnalysisRun], int | None]:
    """Runs newest first (keyset on id), optionally of one city and service; returns the id to continue before."""
    stmt = select(AnalysisRun).order_by(AnalysisRun.id.desc()).limit(limit + 1)
    if city is not None:
        stmt = stmt.where(AnalysisRun.city_id == find_city(db, city).id)
    if service_slug is not None:
        stmt = stmt.where(AnalysisRun.service_type_id == find_service_type(db, service_slug).id)
    if not principal.is_staff:
        stmt = stmt.where(AnalysisRun.include_pending.is_(False))
    if before is not None:
        stmt = stmt.where(AnalysisRun.id < before)
    runs = list(db.scalars(stmt))
    more = len(runs) > limit
    runs = runs[:limit]
    return runs, runs[-1].id if more and runs else None
