"""Stored runs: a new run's row, writing a computed run and its cells, finding, listing and pruning runs."""

from __future__ import annotations

import datetime as dt
import logging
import time

import numpy as np
from sqlalchemy import delete, func, select, text
from sqlalchemy.orm import Session

from app.db.bulk import float_array_literal, int_array_literal, text_array_literal
from app.db.models import AnalysisRun, City, ServiceType
from app.errors import Conflict, InvalidInput, NotFound
from app.policy import Principal
from app.services.analysis.compute import Computed
from app.services.analysis.params import find_city, find_service_type, params_record
from app.settings import Settings
from geo.gaps import GapParams

log = logging.getLogger("assetmap.analysis")

# Runs queued by views of a gap map carry this origin in their parameters; only they are pruned automatically.
GAP_MAP_ORIGIN = {"origin": "gap_map"}

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


def new_run(
    city: City, service_type: ServiceType, params: GapParams, principal: Principal, include_pending: bool
) -> AnalysisRun:
    """A pending run of these parameters, not yet added to the session."""
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


def store(db: Session, run: AnalysisRun, computed: Computed) -> None:
    """Write a computed run: its parameters, data version, results, timing and cells (one bulk insert)."""
    begin = time.perf_counter()
    units = computed.units
    db.execute(
        _INSERT_CELLS,
        {
            "run_id": run.id,
            # unit ids are H3 indexes (hex digits) or 'nb:<id>': nothing to quote in an array literal
            "unit_id": text_array_literal(units["unit_id"].astype(str)),
            "neighbourhood_id": int_array_literal(units["neighbourhood_id"].astype(np.int64).tolist()),
            "population": float_array_literal(units["population"]),
            "need": float_array_literal(units["need"]),
            "distance_m": float_array_literal(units["distance_m"]),
            "covered": text_array_literal(np.where(units["covered"].to_numpy(dtype=bool), "t", "f").tolist()),
            "access": float_array_literal(units["access"]),
            "access_score": float_array_literal(units["access_score"]),
            "shortfall": float_array_literal(units["shortfall"]),
            "lon": float_array_literal(units["lon"]),
            "lat": float_array_literal(units["lat"]),
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
