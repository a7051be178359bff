"""The analysis map pages a browser opens: the gap map of a run (with a notice when it is older than the data), the
page shown while a run computes or after it failed, and the network map; each with the CSP hashes of its scripts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sqlalchemy.orm import Session

from app.db.models import AnalysisRun
from app.errors import InvalidInput
from app.policy import Principal
from app.services.analysis.gap_map import Distance, GapMapChoice, gap_map_run
from app.services.analysis.maps import gap_map_html, network_map_html
from app.services.analysis.records import get_run
from app.services.analysis.runs import SessionFactory
from app.settings import Settings
from geo.escape import escape_text
from geo.render import inline_script_hashes, use_local_assets

use_local_assets()  # idempotent: folium loads Leaflet & co. from /static/vendor (create_app does it too)

MapPageKind = Literal["map", "waiting", "failed", "missing"]


@dataclass(frozen=True)
class MapPage:
    """A page about an analysis map: what it is (`kind`), its HTML, and a map's inline scripts' CSP hashes."""

    kind: MapPageKind
    html: str
    script_hashes: tuple[str, ...] = ()


def _map_page(html: str) -> MapPage:
    """A folium page whose Content-Security-Policy may allow exactly its own inline scripts (by hash), no others."""
    return MapPage("map", html, tuple(inline_script_hashes(html)))


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


def _stale_notice(html: str, choice: GapMapChoice) -> str:
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


def gap_map_page(
    db: Session,
    settings: Settings,
    principal: Principal,
    *,
    run: int | None,
    city: str | None,
    service: str | None,
    session_factory: SessionFactory | None,
    distance: Distance = "straight",
    walk_from: int | None = None,
    budget_round: int | None = None,
) -> MapPage:
    """The gap map of a run, or of the latest default run of a city and service; a view never computes one
    (readers with analysis rights queue one in the background when none is on the current data)."""
    if run is not None:
        found = get_run(db, principal, run)
        if found.status in ("pending", "running"):
            return _waiting(found, None)
        return _map_page(
            gap_map_html(db, settings, principal, found, walk_from=walk_from, budget_round=budget_round)
        )
    if not city or not service:
        raise InvalidInput("give run=<id>, or city=<name or id> and service=<slug>", field="run")
    choice = gap_map_run(
        db, settings, principal, city, service, session_factory=session_factory, distance=distance
    )
    if choice.state == "queued" and choice.waiting is not None:
        return _waiting(choice.waiting, choice.shown)
    names = {"city": escape_text(choice.city.name), "service": escape_text(choice.service_type.name)}
    if choice.shown is None:
        if choice.state == "failed" and choice.waiting is not None:
            error = escape_text(choice.waiting.error or "")
            return MapPage("failed", _FAILED.format(run_id=choice.waiting.id, error=error, **names))
        return MapPage("missing", _NO_ANALYSIS.format(**names))
    html = gap_map_html(db, settings, principal, choice.shown, walk_from=walk_from, budget_round=budget_round)
    return _map_page(html if choice.state == "current" else _stale_notice(html, choice))


def _waiting(run: AnalysisRun, previous: AnalysisRun | None) -> MapPage:
    page = _WAITING.format(
        run_id=run.id,
        city=escape_text(run.params.get("city", "")),
        status=run.status,
        previous=_PREVIOUS.format(run_id=previous.id) if previous is not None else "",
    )
    return MapPage("waiting", page)


def network_map_page(db: Session, settings: Settings, principal: Principal, city: str | int) -> MapPage:
    """Assets sized by their number of links, brokers outlined, isolated assets hollow, ties by kind."""
    return _map_page(network_map_html(db, settings, principal, city))
