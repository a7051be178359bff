"""The analysis the command line runs: each use case opens its own session for the length of the command.

The web app gets a session per request from its dependencies; these take the settings instead and do the same
work through the same use cases. A run is named by id, or by (city, service type slug) for the latest
default-parameter run.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from sqlalchemy.orm import Session

from app.db.models import AnalysisRun
from app.db.session import session_scope
from app.errors import InvalidInput
from app.policy import Principal
from app.schemas.analysis import CandidatePoint, RunCreate
from app.services import analysis
from app.services.analysis import runs
from app.settings import Settings

# a run id, or (city, service type slug) or (city, service type slug, distance) for the latest default run
RunRef = int | tuple[str, str] | tuple[str, str, str]


@dataclass(frozen=True)
class Analysed:
    """A run computed now: its document, its per-neighbourhood rows and the results file written, if asked."""

    run_id: int
    document: dict[str, Any]
    neighbourhoods: list[dict[str, Any]]
    written: Path | None


def _find_run(db: Session, settings: Settings, principal: Principal, run: RunRef) -> AnalysisRun:
    if isinstance(run, int):
        return analysis.get_run(db, principal, run)
    city, service, *rest = run
    distance = rest[0] if rest else "straight"
    if distance not in ("straight", "network"):
        raise InvalidInput(f"unknown distance {distance!r}: use straight or network", field="distance")
    return analysis.latest_or_new_run(
        db, settings, principal, city, service, distance=cast(analysis.Distance, distance)
    )


def analyse(settings: Settings, principal: Principal, body: RunCreate, out: Path | None = None) -> Analysed:
    """Compute a run now and describe it in the principal's view; write its results to `out` if given."""
    with session_scope(settings) as db:
        run = analysis.create_run(db, settings, principal, body)
        document = analysis.run_document(db, settings, principal, run)
        rows = list(run.results["neighbourhoods"])
        written = analysis.export_neighbourhoods(db, principal, run.id, out) if out else None
    return Analysed(run.id, document, rows, written)


def suggest_sites(
    settings: Settings,
    principal: Principal,
    run: RunRef,
    p: int,
    candidates: str | list[CandidatePoint],
    *,
    capacity: float | None = None,
    capacitated: bool = False,
) -> dict[str, Any]:
    """Suggest p sites on a run (stored with it), as `analysis.suggest_sites`."""
    with session_scope(settings) as db:
        found = _find_run(db, settings, principal, run)
        return analysis.suggest_sites(
            db, settings, principal, found.id, p, candidates, capacity=capacity, capacitated=capacitated
        )


def what_if(settings: Settings, principal: Principal, run: RunRef, close: list[int]) -> dict[str, Any]:
    """What closing these assets would do on a run, as `analysis.what_if`."""
    with session_scope(settings) as db:
        found = _find_run(db, settings, principal, run)
        return analysis.what_if(db, settings, principal, found.id, close)


def prune_runs(settings: Settings, older_than: dt.timedelta, *, dry_run: bool = False) -> int:
    """Delete finished runs older than `older_than` (or count them, on a dry run); returns how many."""
    with session_scope(settings) as db:
        return runs.prune_runs(db, older_than, dry_run=dry_run)


def write_gap_map(
    settings: Settings,
    principal: Principal,
    run: RunRef,
    out: Path,
    png: Path | None,
    *,
    viewer: Principal,
    walk_from: int | None = None,
) -> int:
    """Write the gap map page of a run, found as `principal`, drawn as `viewer` sees it (and a PNG if asked);
    returns the run's id."""
    with session_scope(settings) as db:
        found = _find_run(db, settings, principal, run)
        html = analysis.gap_map_html(db, settings, viewer, found, walk_from=walk_from)
        out.write_text(html, encoding="utf-8")
        if png is not None:
            analysis.write_gap_map_png(db, settings, viewer, found, png)
        return found.id
