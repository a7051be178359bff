"""Which run a default view of a city and service shows: the gap-map page's choice, and the command line's."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from app.db.models import AnalysisRun, City, ServiceType
from app.policy import Principal
from app.schemas.analysis import RunCreate
from app.services.analysis import bounds
from app.services.analysis import inputs as reading
from app.services.analysis.params import find_city, find_service_type, gap_params, params_record
from app.services.analysis.records import GAP_MAP_ORIGIN, new_run
from app.services.analysis.runs import SessionFactory, create_run, estimated_units, queue_run
from app.services.capacity import default_capacity_for
from app.settings import Settings
from geo.gaps import GapParams

STALE_QUEUED_RUN = bounds.STALE_QUEUED_RUN
Distance = Literal["straight", "network"]
# Who may start runs (as app.deps.run_analysis): such readers of a gap map queue a run when none is up to date.
RUN_ANALYSIS_ROLES = frozenset({"admin", "planner", "organiser"})


def _default_run(
    db: Session, settings: Settings, city: str | int, service_slug: str, distance: Distance = "straight"
) -> tuple[City, ServiceType, RunCreate, GapParams, dict[str, Any]]:
    """The city, service type, request and parameters of a default run, and the parameters as stored.

    Default parameters measure straight lines; `distance="network"` is the same run on foot.
    """
    city_row = find_city(db, city)
    service_type = find_service_type(db, service_slug, field="service")
    body = RunCreate(city=city_row.id, service_type=service_type.slug, distance=distance)
    params = gap_params(
        settings, service_type, body, default_capacity=default_capacity_for(db, city_row.id, service_type)
    )
    return city_row, service_type, body, params, params_record(city_row, service_type, params, False)


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
    distance: Distance = "straight",
) -> AnalysisRun:
    """The latest default-parameter run of a city and service on the current data, or a new one (the command
    line's `--city --service`: an explicit request to analyse; the gap map page uses gap_map_run)."""
    city_row, service_type, body, _, record = _default_run(db, settings, city, service_slug, distance)
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
    distance: Distance = "straight",
) -> GapMapChoice:
    """The run a gap-map view of a city and service shows: the latest succeeded default run.

    When none is on the current data, a reader with analysis rights queues one background run (at most one per
    city, service and data version: concurrent views wait for the same run); other readers get the latest run,
    stale or not, or none. Nothing is computed here.
    """
    city_row, service_type, _, params, record = _default_run(db, settings, city, service_slug, distance)
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
    bounds.check_cells(settings, estimated_units(db, city_row.id, params.resolution), params.resolution)
    run = new_run(city_row, service_type, params, principal, False)
    run.params = {**run.params, **GAP_MAP_ORIGIN}
    return choice("queued", queue_run(db, settings, run, session_factory))


def current_default_run(
    db: Session, settings: Settings, city: str | int, service_slug: str
) -> AnalysisRun | None:
    """The latest succeeded default-parameter run of a city and service on the current data, or None; nothing is
    computed or queued (the evidence packs of readers who may not start runs)."""
    city_row, service_type, _, _, record = _default_run(db, settings, city, service_slug)
    current = reading.current_data_version(db, city_row.id, service_type.id, include_pending=False).label
    return db.scalar(
        _default_runs(city_row, service_type, record, "succeeded").where(AnalysisRun.data_version == current)
    )
