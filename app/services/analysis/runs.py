"""Starting runs and the background worker: a run computed now or queued, the worker threads, advisory locks.

A run is computed now when it is small, else queued for one of this process's worker threads; a worker holds
the run's advisory lock while it computes it, and the runs a stopped server left are queued again at start-up.
The other parts of a run live beside this module (params, compute, records, gap_map); their names stay
importable from here.
"""

from __future__ import annotations

import logging
import math
import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import h3
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session

from app.db.models import AnalysisRun, City, ServiceType
from app.errors import AssetmapError, Forbidden, InvalidInput, NotFound
from app.policy import Principal
from app.schemas.analysis import RunCreate
from app.services.analysis import bounds
from app.services.analysis import inputs as reading
from app.services.analysis.compute import (
    CELL_VALUES,
    EXACT,
    NEAREST_ASSETS_SHOWN,
    PUBLIC,
    Analysis,
    Computed,
    Stopwatch,
    analyse,
    asset_rows,
    clean,
    compute,
    neighbourhood_rows,
    view_of,
)
from app.services.analysis.params import (
    DEFAULT_DECAY,
    DEFAULT_DESERT_MIN_PEOPLE,
    DEFAULT_DESERT_MIN_SHARE,
    DEFAULT_NEEDS_WEIGHT,
    DEFAULT_RESOLUTION,
    INT32_MAX,
    find_city,
    find_service_type,
    gap_params,
    params_from_record,
    params_record,
)
from app.services.analysis.records import (
    GAP_MAP_ORIGIN,
    finished_run,
    get_run,
    list_runs,
    new_run,
    prune_gap_map_runs,
    prune_runs,
    store,
    visible_run,
)
from app.services.capacity import default_capacity_for
from app.settings import Settings
from geo.coverage import AnalysisStopped
from geo.gaps import GapParams

__all__ = [
    "BACKGROUND_MIN_RESOLUTION",
    "BACKGROUND_UNITS_TIMES_ASSETS",
    "BACKGROUND_WORKERS",
    "CELL_VALUES",
    "DEFAULT_DECAY",
    "DEFAULT_DESERT_MIN_PEOPLE",
    "DEFAULT_DESERT_MIN_SHARE",
    "DEFAULT_NEEDS_WEIGHT",
    "DEFAULT_RESOLUTION",
    "EXACT",
    "GAP_MAP_ORIGIN",
    "INT32_MAX",
    "NEAREST_ASSETS_SHOWN",
    "PUBLIC",
    "RUN_ADVICE",
    "Analysis",
    "Computed",
    "SessionFactory",
    "Stopwatch",
    "analyse",
    "asset_rows",
    "clean",
    "compute",
    "create_run",
    "estimated_units",
    "execute_run",
    "find_city",
    "find_service_type",
    "finished_run",
    "gap_params",
    "get_run",
    "list_runs",
    "neighbourhood_rows",
    "params_from_record",
    "params_record",
    "prune_gap_map_runs",
    "prune_runs",
    "queue_run",
    "resume_unfinished_runs",
    "store",
    "view_of",
    "visible_run",
]

log = logging.getLogger("assetmap.analysis")

# A run larger than this (estimated demand units times assets) or at H3 resolution 10 or finer is computed in the
# background; Berlin at resolution 9 is about 9,500 units x 1,200 kindergartens = 11 million, well under a second.
BACKGROUND_UNITS_TIMES_ASSETS = 50_000_000
BACKGROUND_MIN_RESOLUTION = 10
BACKGROUND_WORKERS = 2

SessionFactory = Callable[[], Session]


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


def queue_run(
    db: Session, settings: Settings, run: AnalysisRun, session_factory: SessionFactory
) -> AnalysisRun:
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
    params = gap_params(
        settings, service_type, body, default_capacity=default_capacity_for(db, city.id, service_type)
    )
    in_background = _runs_in_background(db, settings, city, service_type, params, body)
    run = new_run(city, service_type, params, principal, body.include_pending)
    if session_factory is not None and in_background:
        bounds.check_may_queue(db, settings, principal)
        return queue_run(db, settings, run, session_factory)
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


# gap_map imports this module (it queues runs), so its names are looked up here only when asked for.
_GAP_MAP_NAMES = frozenset(
    {
        "GapMapChoice",
        "GapMapState",
        "RUN_ANALYSIS_ROLES",
        "STALE_QUEUED_RUN",
        "gap_map_run",
        "latest_or_new_run",
    }
)


def __getattr__(name: str) -> Any:
    """The names of gap_map that runs.py held before it was split, for callers that import them from here."""
    if name in _GAP_MAP_NAMES:
        from app.services.analysis import gap_map

        return getattr(gap_map, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
