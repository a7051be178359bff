"""The analysis map pages: /maps/gaps (coverage gaps of a run) and /maps/network (the relationship network)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from app.db.models import AnalysisRun
from app.deps import ReadPublic, SessionDep, SettingsDep
from app.errors import InvalidInput
from app.routers.analysis import SessionFactoryDep
from app.services import analysis
from geo.escape import escape_text
from geo.render import inline_script_hashes, use_local_assets

use_local_assets()  # idempotent: folium loads Leaflet & co. from /static/vendor (create_app does it too)

router = APIRouter(prefix="/maps", tags=["maps"], include_in_schema=False)


def _map_page(request: Request, html: str) -> HTMLResponse:
    """A folium page whose Content-Security-Policy allows exactly its own inline scripts (by hash), no others."""
    request.state.script_sources = tuple(inline_script_hashes(html))
    return HTMLResponse(html)


_WAITING = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="5">
<title>Analysis running</title></head>
<body><p>Analysis run {run_id} for {city} is {status}. This page reloads by itself until the map is ready.</p>
{previous}</body></html>"""

_PREVIOUS = (
    '<p>Meanwhile, the previous map (older data): <a href="/maps/gaps?run={run_id:d}">run {run_id:d}</a>.</p>'
)

_NO_ANALYSIS = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>No analysis yet</title></head>
<body><p>No coverage-gap analysis of {service} in {city} exists yet.</p>
<p>An organiser, planner or admin can start one: by opening this page signed in, or with
<code>POST /api/analysis/runs</code>.</p></body></html>"""

_FAILED = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Analysis failed</title></head>
<body><p>Analysis run {run_id} of {service} in {city} on the current data failed: {error}</p>
<p>Start another with <code>POST /api/analysis/runs</code> (other parameters), or edit the data.</p></body></html>"""

_STALE = (
    '<p class="assetmap-stale" role="status" style="position:fixed;left:50%;transform:translateX(-50%);top:8px;'
    "z-index:1000;margin:0;padding:4px 8px;background:#fff3cd;border:1px solid #b58900;"
    'font:13px system-ui,sans-serif">This map shows analysis run {run_id:d} of {date} (data version {version}), '
    "older than the current data ({current}). {next_step}</p>"
)
_STALE_NEXT = {
    "stale": "An organiser, planner or admin who opens this page brings it up to date.",
    "failed": "The analysis of the current data failed: see run {failed_id:d}.",
}


def _stale_notice(html: str, choice: analysis.GapMapChoice) -> str:
    """The page of an older run says so, with the run's data version and date, before anything else."""
    shown = choice.shown
    assert shown is not None
    date = shown.finished_at.date().isoformat() if shown.finished_at else "an earlier date"
    notice = _STALE.format(
        run_id=shown.id,
        date=escape_text(date),
        version=escape_text(shown.data_version or "unknown"),
        current=escape_text(choice.current_version),
        next_step=_STALE_NEXT.get(choice.state, "").format(
            failed_id=choice.waiting.id if choice.waiting else 0
        ),
    )
    head, body, rest = html.partition("<body>")
    return f"{head}{body}{notice}{rest}" if body else notice + html


@router.get("/gaps", response_class=HTMLResponse, name="gap_map_page")
def show_gap_map(
    request: Request,
    db: SessionDep,
    settings: SettingsDep,
    principal: ReadPublic,
    session_factory: SessionFactoryDep,
    run: Annotated[int | None, Query(ge=1, le=2_147_483_647, description="analysis run id")] = None,
    city: Annotated[str | None, Query(max_length=200, description="city id or name")] = None,
    service: Annotated[str | None, Query(max_length=64, description="service type slug")] = None,
) -> HTMLResponse:
    """The gap map of a run, or of the latest default run of a city and service; a view never computes one
    (readers with analysis rights queue one in the background when none is on the current data)."""
    if run is not None:
        found = analysis.get_run(db, principal, run)
        if found.status in ("pending", "running"):
            return _waiting(found, None)
        return _map_page(request, analysis.gap_map_html(db, settings, principal, found))
    if not city or not service:
        raise InvalidInput("give run=<id>, or city=<name or id> and service=<slug>", field="run")
    choice = analysis.gap_map_run(db, settings, principal, city, service, session_factory=session_factory)
    if choice.state == "queued" and choice.waiting is not None:
        return _waiting(choice.waiting, choice.shown)
    names = {"city": escape_text(choice.city.name), "service": escape_text(choice.service_type.name)}
    if choice.shown is None:
        if choice.state == "failed" and choice.waiting is not None:
            error = escape_text(choice.waiting.error or "")
            return HTMLResponse(
                _FAILED.format(run_id=choice.waiting.id, error=error, **names), status_code=409
            )
        return HTMLResponse(_NO_ANALYSIS.format(**names), status_code=404)
    html = analysis.gap_map_html(db, settings, principal, choice.shown)
    return _map_page(request, html if choice.state == "current" else _stale_notice(html, choice))


def _waiting(run: AnalysisRun, previous: AnalysisRun | None) -> HTMLResponse:
    page = _WAITING.format(
        run_id=run.id,
        city=escape_text(run.params.get("city", "")),
        status=run.status,
        previous=_PREVIOUS.format(run_id=previous.id) if previous is not None else "",
    )
    return HTMLResponse(page, status_code=202)


@router.get("/network", response_class=HTMLResponse, name="network_map_page")
def show_network_map(
    request: Request,
    db: SessionDep,
    settings: SettingsDep,
    principal: ReadPublic,
    city: Annotated[str, Query(min_length=1, max_length=200, description="city id or name")],
) -> HTMLResponse:
    """Assets sized by their number of links, brokers outlined, isolated assets hollow, ties by kind."""
    return _map_page(request, analysis.network_map_html(db, settings, principal, city))
