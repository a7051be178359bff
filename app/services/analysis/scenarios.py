"""Scenarios on a run: where new sites would close the most gap (ANALYSIS.md (d)), what a closure costs ((e)).

Both recompute the run from the data it read (same parameters; refused with a 409 when the data changed since),
in the caller's view: people and sensitive assets stand where the caller may see them.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from app.db.models import AnalysisRun, City, ServiceType
from app.errors import Conflict, InvalidInput, NotFound
from app.policy import Principal
from app.schemas.analysis import CandidatePoint
from app.services.analysis import bounds
from app.services.analysis.candidates import DEFAULT_CANDIDATES, check_candidate_count, choose_candidates
from app.services.analysis.compute import EXACT, PUBLIC, Analysis, analyse, clean, view_of
from app.services.analysis.params import params_from_record
from app.services.analysis.records import finished_run
from app.services.analysis.warnings import run_warnings, unmet_need_computable
from app.settings import Settings
from geo.coverage import AnalysisStopped, Deadline, points_xy
from geo.crs import AnalysisInputError
from geo.gaps import GapResult
from geo.siting import CapacitatedSuggestion, close_assets, siting_weight, suggest_sites_for_gaps
from geo.siting.cover import SitesNeeded, sites_needed
from geo.siting.scenarios import new_site_capacity, suggest_sites_for_gaps_capacitated

SUGGESTIONS_KEPT = 20
SUGGEST_ADVICE = (
    "ask for fewer sites (p) or fewer candidates (venues, or a list of points instead of h3), or set "
    "time_limit_s to 0 (greedy choice and bound only)"
)
# The shares of the gap a suggestion says how many sites it would take to reach (geo.siting.cover).
GAP_SHARES = (0.5, 0.9)
CAPACITY_RULES = {
    "given": "set for this suggestion",
    "median_known": "the median known capacity of the service's assets in the run",
    "run_default": "the run's default capacity (no asset's capacity is known)",
    "one": "no asset's capacity is known and the run has no default capacity, so 1",
}
CAPACITATED_NEEDED = (
    "the sites needed for half and nine tenths of the gap are counted without capacities (a site takes "
    "everything within reach): with capacities it takes at least as many"
)
WHAT_IF_ADVICE = "close fewer assets at once, or work on a run at a coarser resolution"

log = logging.getLogger("assetmap.analysis")


def rerun(
    db: Session,
    settings: Settings,
    principal: Principal,
    run: AnalysisRun,
    deadline: Deadline | None = None,
) -> Analysis:
    """The run recomputed in the caller's view from current data, which must be the data the run read."""
    city = db.get(City, run.city_id)
    service_type = db.get(ServiceType, run.service_type_id)
    if city is None or service_type is None:
        raise NotFound(f"the city or service type of analysis run {run.id} was deleted")
    params = params_from_record(run.params)
    analysis, _ = analyse(
        db, settings, city, service_type, params, run.include_pending, view_of(principal), deadline=deadline
    )
    now = analysis.inputs.version.label
    if now != run.data_version:
        raise Conflict(
            f"the data of {city.name} changed since analysis run {run.id} (it read {run.data_version}, "
            f"now {now}): start a new run to work on current data",
            field="run",
        )
    return analysis


def _check_scenario(
    settings: Settings, run: AnalysisRun, p: int, candidates: str | list[CandidatePoint]
) -> None:
    """Bounds known before anything is computed: p, and the number of candidates of a list or of H3 cells."""
    if p > settings.analysis_max_sites:
        raise InvalidInput(
            f"p is {p}: ask for at most {settings.analysis_max_sites} sites at once "
            "(ASSETMAP_ANALYSIS_MAX_SITES)",
            field="p",
        )
    if isinstance(candidates, list):
        check_candidate_count(settings, len(candidates), "points")
    elif candidates == "h3":
        cells = int((run.results.get("totals") or {}).get("n_units") or 0)
        check_candidate_count(settings, cells, "H3 cells of this run")


def _neighbourhood_names(analysis: Analysis) -> dict[int, tuple[str, str]]:
    nb = analysis.inputs.neighbourhoods
    return {int(i): (c, n) for i, c, n in zip(nb["id"], nb["code"], nb["name"], strict=True)}


SITES_BY_REACH = "changes in unmet need are not computable (capacity unknown): the sites cover the most need beyond reach instead"
CLOSURE_BY_REACH = (
    "changes in unmet need are not computable (capacity unknown): see the people losing coverage"
)


def _capacity_fields(analysis: Analysis, fallback: str) -> dict[str, Any]:
    """Whether the scenario's changes in unmet need are computable, and the run's warnings (unknown capacity)."""
    totals = analysis.result.totals
    computable = unmet_need_computable(totals)
    warnings = run_warnings(totals, analysis.inputs.service_type.slug)
    if not computable:
        warnings.append(fallback)
    return {"unmet_need_computable": computable, "warnings": warnings}


def _sites_needed(
    result: GapResult, frame: gpd.GeoDataFrame, time_limit_s: float, deadline: Deadline
) -> SitesNeeded:
    """The fewest candidates that would reach each share of GAP_SHARES of the gap (geo.siting.cover)."""
    weight, _ = siting_weight(result)
    units_xy = points_xy(result.units, result.crs, what="demand units")
    candidates_xy = points_xy(frame, result.crs, what="candidate sites")
    return sites_needed(
        units_xy,
        weight,
        candidates_xy,
        result.params.radius_m,
        GAP_SHARES,
        exact_time_limit_s=time_limit_s,
        deadline=deadline,
        # the run's own distances: straight lines, or walks on the street network
        pairs=result.distance.pairs(units_xy, candidates_xy, result.params.radius_m),
    )


def _gap_closed(needed: SitesNeeded, objective: float, exact: bool, measure: str) -> dict[str, Any]:
    """What share of the gap the sites close, the most all candidates could, and the sites each share takes."""
    total = needed.total_weight
    return {
        "measure": measure,
        "total": total,
        "share_closed": objective / total if total > 0 else None,
        "share_closed_exact": exact,
        "max_share": needed.max_share,
        "sites_needed": [
            {
                "share": solution.share,
                "n_sites": solution.n_sites,
                "reachable": solution.reachable,
                "exact": solution.exact,
                "lower_bound": solution.lower_bound,
                "greedy_sites": solution.greedy_sites,
                "method": solution.method,
            }
            for solution in needed.solutions
        ],
    }


def _percent(share: float | None) -> str:
    return "\N{EN DASH}" if share is None else f"{100 * share:.1f} %"


def suggestion_summary(suggestion: dict[str, Any]) -> str | None:
    """One line on what a stored suggestion achieves: the share of the gap its sites close, the most all
    candidates could, and the sites half and nine tenths of the gap would take (None for older suggestions)."""
    closed = suggestion.get("gap_closed")
    if not closed:
        return None
    needed = "; ".join(
        f"{100 * entry['share']:.0f} % would take "
        + (
            "more than all candidates (not reachable)"
            if entry["n_sites"] is None
            else f"{entry['n_sites']} sites"
        )
        for entry in closed["sites_needed"]
    )
    return (
        f"these {len(suggestion['sites'])} sites close {_percent(closed['share_closed'])} of the gap; all "
        f"{suggestion['n_candidates']:,} candidates together could close {_percent(closed['max_share'])}; {needed}"
    )


def suggest_sites(
    db: Session,
    settings: Settings,
    principal: Principal,
    run_id: int,
    p: int,
    candidates: str | list[CandidatePoint] = DEFAULT_CANDIDATES,
    *,
    capacity: float | None = None,
    capacitated: bool = False,
    time_limit_s: float = 5.0,
    cancel: threading.Event | None = None,
) -> dict[str, Any]:
    """Choose p sites covering the most shortfall (need beyond reach when unmet need is not computable); report
    objective, greedy, LP bound, the share of the gap closed, the sites half and nine tenths of it would take,
    why each site qualifies, and unmet need per area.

    `capacitated`: each site takes at most its capacity (the place's own where known, else the new-site
    capacity) of the demand within reach; the objective is the demand assigned, each site's share is reported,
    and the bound is that of geo.siting.capacitated.

    The suggestion is stored with the run (the gap map shows the latest one the reader may see). The work stops
    at the scenario time limit, or when `cancel` is set (the client left): a 503 saying what to do instead.
    """
    run = finished_run(db, principal, run_id)
    _check_scenario(settings, run, p, candidates)
    with bounds.work_slot(db, settings, principal):
        deadline = bounds.scenario_deadline(settings, cancel)
        try:
            analysis = rerun(db, settings, principal, run, deadline)
            chosen = choose_candidates(db, settings, principal, run, analysis, candidates)
            frame = chosen.frame
            site_capacity, capacity_rule = new_site_capacity(analysis.result, capacity)
            own = pd.to_numeric(frame["capacity"], errors="coerce").to_numpy(dtype=float)
            has_own = np.isfinite(own) & (own > 0)
            if capacitated:
                siting = suggest_sites_for_gaps_capacitated(
                    analysis.result,
                    frame,
                    p,
                    np.where(has_own, own, site_capacity),
                    new_site_capacity=site_capacity,
                    exact_time_limit_s=time_limit_s,
                    deadline=deadline,
                )
            else:
                siting = suggest_sites_for_gaps(
                    analysis.result,
                    frame,
                    p,
                    capacity=site_capacity,
                    exact_time_limit_s=time_limit_s,
                    deadline=deadline,
                )
            needed = _sites_needed(analysis.result, frame, time_limit_s, deadline)
        except AnalysisInputError as exc:
            raise InvalidInput(str(exc), field="candidates") from None
        except AnalysisStopped as exc:
            raise _stopped(exc, f"suggest-sites on run {run.id}", SUGGEST_ADVICE) from None
    names = _neighbourhood_names(analysis)
    by_id = frame.set_index("id")
    is_asset = chosen.kind in ("venues", "physical_spaces")
    own_by_id = dict(zip(frame["id"], has_own, strict=True))
    sites = []
    for row in siting.sites.itertuples(index=False):
        candidate = by_id.loc[row.candidate_id]
        source = None
        if capacitated:
            source = "candidate" if own_by_id[row.candidate_id] else "new_site_capacity"
        nb_id = candidate["neighbourhood_id"]
        nb_id = None if nb_id is None or pd.isna(nb_id) else int(nb_id)
        sites.append(
            {
                "rank": int(row.rank),
                "candidate_id": clean(row.candidate_id),
                "asset_id": clean(row.candidate_id) if is_asset else None,
                "name": str(candidate["name"]),
                "kind": candidate["kind"] if isinstance(candidate["kind"], str) else None,
                "reasons": list(candidate["reasons"]),
                "neighbourhood": None
                if nb_id is None
                else {
                    "id": nb_id,
                    "code": names.get(nb_id, ("", ""))[0],
                    "name": names.get(nb_id, ("", ""))[1],
                },
                "lon": round(float(row.geometry.x), 6),
                "lat": round(float(row.geometry.y), 6),
                "capacity": clean(row.capacity),
                "capacity_source": source,
                "shortfall_covered": clean(row.shortfall_covered),
                "assigned": clean(row.shortfall_covered) if capacitated else None,
            }
        )
    s = siting.suggestion
    if isinstance(s, CapacitatedSuggestion):
        greedy, lp_bound = s.heuristic_objective, s.upper_bound
    else:
        greedy, lp_bound = s.greedy_objective, s.lp_upper_bound
    changed = siting.neighbourhoods[siting.neighbourhoods["change"].abs() > 1e-9].sort_values("change")
    # Where no person or sensitive place took part, both views are the same: everyone may see the suggestion.
    private_involved = bool(analysis.inputs.assets["private"].any() or frame["private"].any())
    capacity_fields = _capacity_fields(analysis, SITES_BY_REACH)
    if capacitated:
        capacity_fields["warnings"].append(CAPACITATED_NEEDED)
    suggestion = {
        "view": view_of(principal) if private_involved else PUBLIC,
        "p": p,
        "candidates": chosen.kind,
        "candidate_rule": chosen.rule,
        "venue_kinds": chosen.venue_kinds,
        "venue_kinds_source": chosen.venue_kinds_source,
        "n_candidates": len(frame),
        "capacitated": capacitated,
        "sites": sites,
        "objective": s.objective,
        "greedy_objective": greedy,
        "lp_upper_bound": lp_bound,
        "upper_bound": s.upper_bound,
        "exact": bool(s.exact),
        "gap": s.gap,
        "method": s.method,
        "new_site_capacity": {
            "value": site_capacity,
            "rule": capacity_rule,
            "text": CAPACITY_RULES[capacity_rule],
        },
        "gap_closed": _gap_closed(
            needed, s.objective, bool(s.exact), str(siting.totals["objective_measure"])
        ),
        "totals": {key: clean(value) for key, value in siting.totals.items()},
        **capacity_fields,
        "neighbourhoods": [
            {"id": int(i), **{k: clean(v) for k, v in r.items()}} for i, r in changed.iterrows()
        ],
    }
    db.refresh(run, with_for_update=True)  # concurrent suggestions on one run must not overwrite each other
    results = dict(run.results)
    kept = list(results.get("suggestions", []))
    suggestion = {"id": (kept[-1]["id"] + 1) if kept else 1, **suggestion}
    results["suggestions"] = [*kept, suggestion][-SUGGESTIONS_KEPT:]
    run.results = results
    db.commit()
    return {"run": run.id, **suggestion}


def what_if(
    db: Session,
    settings: Settings,
    principal: Principal,
    run_id: int,
    close: list[int],
    *,
    cancel: threading.Event | None = None,
) -> dict[str, Any]:
    """Close assets of the run's service: people losing coverage and the change in unmet need per neighbourhood.

    The work stops at the scenario time limit, or when `cancel` is set (the client left): a 503.
    """
    run = finished_run(db, principal, run_id)
    with bounds.work_slot(db, settings, principal):
        deadline = bounds.scenario_deadline(settings, cancel)
        try:
            return _what_if(db, settings, principal, run, close, deadline)
        except AnalysisStopped as exc:
            raise _stopped(exc, f"what-if on run {run.id}", WHAT_IF_ADVICE) from None


def _stopped(exc: AnalysisStopped, what: str, advice: str) -> bounds.TookTooLong:
    """The 503 of a stopped scenario; the stop is logged (nothing is stored with the run)."""
    message = bounds.stopped_message(exc, what, advice)
    log.warning("%s stopped: %s", what, message)
    return bounds.TookTooLong(message)


def _what_if(
    db: Session,
    settings: Settings,
    principal: Principal,
    run: AnalysisRun,
    close: list[int],
    deadline: Deadline,
) -> dict[str, Any]:
    analysis = rerun(db, settings, principal, run, deadline)
    assets = analysis.inputs.assets
    known = set(assets["id"].tolist())
    unknown = [i for i in dict.fromkeys(close) if i not in known]
    if unknown:
        service = db.get(ServiceType, run.service_type_id)
        raise InvalidInput(
            f"asset(s) {', '.join(map(str, unknown[:10]))} are not among the {len(known):,} "
            f"{service.slug if service else ''} assets analysed in run {run.id}: check the ids",
            field="close",
        )
    try:
        closure = close_assets(analysis.result, close, deadline=deadline)
    except AnalysisInputError as exc:
        raise InvalidInput(str(exc), field="close") from None
    # Every neighbourhood, those losing most first. Elsewhere unmet need may fall a little: access scores are
    # relative to the city's supply per person, which a closure lowers (ANALYSIS.md (b), normalised score).
    ranked = closure.neighbourhoods.sort_values(
        ["population_losing_coverage", "unmet_need_change"], ascending=[False, False], kind="stable"
    )
    closed = assets[assets["id"].isin(closure.closed_ids)]
    document: dict[str, Any] = {
        "run": run.id,
        "view": view_of(principal),
        "closed": [
            {"id": int(r.id), "name": r.name, "neighbourhood_id": clean(r.neighbourhood_id)}
            for r in closed.itertuples(index=False)
        ],
        "totals": {key: clean(value) for key, value in closure.totals.items()},
        **_capacity_fields(analysis, CLOSURE_BY_REACH),
        "neighbourhoods": [
            {"id": int(i), **{k: clean(v) for k, v in r.items()}} for i, r in ranked.iterrows()
        ],
    }
    if view_of(principal) == EXACT:
        # Unit ids (H3 cells) around a closed asset outline where it is: only for planner rights.
        document["units_losing_coverage"] = closure.units_losing_coverage
    return document
