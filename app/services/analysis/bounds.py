"""Bounds on the work one analysis request or run may cause (settings ASSETMAP_ANALYSIS_*, README Configuration).

- H3 resolution at most `analysis_max_resolution`; estimated demand units (stored cells) at most
  `analysis_max_cells_per_run`, refused up front (422).
- A time limit per run (`analysis_run_time_limit_s`) and per suggestion or closure
  (`analysis_scenario_time_limit_s`): geo checks a Deadline between stages and the work stops (503, or a failed run).
- Concurrent work per user (`analysis_concurrent_runs_per_user`): queued or running background runs plus the
  synchronous runs, suggestions and closures this process is computing for them (429 with Retry-After).
- Synchronous heavy work runs in a worker thread; the request's handler watches for the client going away and
  then sets the Deadline's cancel event, so the work stops at its next check and the core is free again.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TypeVar

import anyio
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.db.models import AnalysisRun
from app.errors import InvalidInput, ServiceUnavailable, TooManyRequests
from app.policy import Principal
from app.settings import Settings
from geo.coverage import AnalysisStopped, Deadline

T = TypeVar("T")

# A queued run older than this is taken for one whose worker went away (a restart): it counts no more.
STALE_QUEUED_RUN = dt.timedelta(hours=1)
RETRY_AFTER_S = 30


class TookTooLong(ServiceUnavailable):
    """Analysis work stopped at its time limit (or because its client left); the message says what to do."""


def check_resolution(settings: Settings, resolution: int) -> None:
    """A 422 naming the limit when demand units are finer than this server computes."""
    if resolution > settings.analysis_max_resolution:
        raise InvalidInput(
            f"H3 resolution {resolution} is finer than this server computes: use at most "
            f"{settings.analysis_max_resolution} (ASSETMAP_ANALYSIS_MAX_RESOLUTION)",
            field="resolution",
        )


def check_cells(settings: Settings, cells: int, resolution: int, *, estimated: bool = True) -> None:
    """A 422 when a run would store more demand cells than a run may."""
    if cells > settings.analysis_max_cells_per_run:
        about = "about " if estimated else ""
        raise InvalidInput(
            f"a run at H3 resolution {resolution} makes {about}{cells:,} demand cells, more than the "
            f"{settings.analysis_max_cells_per_run:,} a run may store (ASSETMAP_ANALYSIS_MAX_CELLS_PER_RUN): "
            "use a coarser resolution",
            field="resolution",
        )


def run_deadline(settings: Settings, cancel: threading.Event | None = None) -> Deadline:
    """The deadline of a run computed from now."""
    return Deadline.after(settings.analysis_run_time_limit_s, cancel=cancel)


def scenario_deadline(settings: Settings, cancel: threading.Event | None = None) -> Deadline:
    """The deadline of a suggestion or closure computed from now."""
    return Deadline.after(settings.analysis_scenario_time_limit_s, cancel=cancel)


def stopped_message(exc: AnalysisStopped, what: str, advice: str) -> str:
    """What stopped, why, and (for a time limit) what to do instead."""
    if exc.cancelled:
        return f"{what} stopped: the client went away"
    return f"{what} {exc} (this server's limit): {advice}"


# --- concurrent work per user -------------------------------------------------------------------------------

_ACTIVE: dict[int, int] = {}
_ACTIVE_LOCK = threading.Lock()


def active_work(user_id: int | None) -> int:
    """Synchronous analysis work this process is computing for a user now."""
    with _ACTIVE_LOCK:
        return _ACTIVE.get(user_id, 0) if user_id is not None else 0


def queued_runs(db: Session, user_id: int) -> int:
    """A user's background runs waiting or computing (recent ones: an old one's worker has gone away)."""
    return int(
        db.scalar(
            select(func.count())
            .select_from(AnalysisRun)
            .where(
                AnalysisRun.user_id == user_id,
                AnalysisRun.status.in_(("pending", "running")),
                AnalysisRun.created_at > func.now() - STALE_QUEUED_RUN,
            )
        )
        or 0
    )


def _too_many(settings: Settings) -> TooManyRequests:
    limit = settings.analysis_concurrent_runs_per_user
    return TooManyRequests(
        f"you already have {limit} analysis {'run' if limit == 1 else 'runs'} (or suggestions or closures) "
        f"computing, the most one user may have at once: wait until one has finished (poll "
        f"GET /api/analysis/runs) and try again in {RETRY_AFTER_S} seconds",
        extra={"retry_after_s": RETRY_AFTER_S},
    )


def check_may_queue(db: Session, settings: Settings, principal: Principal) -> None:
    """A 429 when the user's queued runs and current work reach the limit (before queueing another run)."""
    if principal.user_id is None:
        return  # the command line: one process, one run at a time
    if queued_runs(db, principal.user_id) + active_work(principal.user_id) >= (
        settings.analysis_concurrent_runs_per_user
    ):
        raise _too_many(settings)


@contextmanager
def work_slot(db: Session, settings: Settings, principal: Principal) -> Iterator[None]:
    """Count synchronous work against the user's limit while it runs; a 429 when the limit is reached."""
    user_id = principal.user_id
    if user_id is None:
        yield
        return
    queued = queued_runs(db, user_id)
    with _ACTIVE_LOCK:
        if queued + _ACTIVE.get(user_id, 0) >= settings.analysis_concurrent_runs_per_user:
            raise _too_many(settings)
        _ACTIVE[user_id] = _ACTIVE.get(user_id, 0) + 1
    try:
        yield
    finally:
        with _ACTIVE_LOCK:
            left = _ACTIVE.get(user_id, 1) - 1
            if left > 0:
                _ACTIVE[user_id] = left
            else:
                _ACTIVE.pop(user_id, None)


# --- off the event loop, stopped when the client leaves -----------------------------------------------------


async def off_the_loop(
    receive: Callable[[], Awaitable[Mapping[str, Any]]], work: Callable[[threading.Event], T]
) -> T:
    """Run `work(cancel)` in a worker thread while waiting on the request's `receive` (ASGI) for the client to
    go away; then set `cancel`. Wait until the work has returned (it stops at its next deadline check), so no
    computation outlives its request. The request's body must have been read (it has, for a JSON body)."""
    cancel = threading.Event()
    outcome: list[T] = []
    failure: list[BaseException] = []

    async def watch() -> None:
        # Blocks until the next message: with the body read, that is the client leaving (or, behind Starlette's
        # middleware, the response having been sent); cancelled once the work is done.
        while (await receive()).get("type") != "http.disconnect":
            pass
        cancel.set()

    async with anyio.create_task_group() as group:
        group.start_soon(watch)
        try:
            outcome.append(await anyio.to_thread.run_sync(work, cancel))
        except Exception as exc:  # re-raised below, outside the task group (no exception group)
            failure.append(exc)
        finally:
            group.cancel_scope.cancel()
    if failure:
        raise failure[0]
    return outcome[0]
