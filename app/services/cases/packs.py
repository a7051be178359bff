"""Evidence packs (docs/PACKS.md): what a community body hands the council with an ACV nomination or review, or
with a Right to Challenge, as an HTML page and a PDF made from the same template.

A pack is computed as the public sees the data, whoever renders it: people and sensitive assets stand at their
blurred locations (or are left out where the public may not count them), and the community body's contact never
appears. So a pack can be handed on without giving away what its reader's rights showed them. The numbers come
from a stored coverage-gap run (its id, data version and parameters are printed on the pack) through the same
what-if and site suggestion the API answers, so an officer can check every figure.
"""

from __future__ import annotations

import base64
import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
from shapely.geometry import Point
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from app.db.models import AnalysisRun, Asset, City, Need, Neighbourhood, Resource, ServiceType
from app.db.queries import asset_shown_geom
from app.errors import AssetmapError, InvalidInput, NotFound
from app.policy import Principal
from app.services.analysis.gap_map import RUN_ANALYSIS_ROLES, current_default_run, latest_or_new_run
from app.services.analysis.maps import gap_map_frames
from app.services.analysis.network import network_view
from app.services.analysis.outputs import view_results, visible_suggestions
from app.services.analysis.params import find_city, find_service_type
from app.services.analysis.records import finished_run
from app.services.analysis.scenarios import suggest_sites, suggestion_summary, what_if
from app.services.analysis.warnings import unmet_need_computable
from app.services.cases.read import get_record
from app.services.cases.records import CaseRecord
from app.services.cases.register import KIND_LABELS, STAGE_LABELS
from app.services.cases.rules import DEADLINES
from app.settings import Settings
from app.templating import templates
from geo.render.pack_maps import challenge_png, surroundings_png

TEMPLATE = "pack.html"
# What a challenge pack suggests: this many new sites among the venues that could host the service.
CHALLENGE_SITES = 3
WORST_SERVED_SHOWN = 10
# Packs store their closure what-ifs (public view) with the run, by asset id, so readers who may not compute
# scenarios get the same figures; the newest this many per run are kept.
CLOSURES_KEY = "pack_closures"
CLOSURES_KEPT = 50
NEARBY_NEEDS_SHOWN = 25
# The run parameters printed on a pack, in this order, with what they mean.
PARAMETER_LABELS = {
    "group": "population group served",
    "radius_m": "catchment radius (m)",
    "distance": "distance measured",
    "decay": "distance decay",
    "resolution": "H3 resolution of demand units",
    "needs_weight": "weight of mapped needs",
    "needs_radius_m": "radius of mapped needs (m)",
    "default_capacity": "capacity given to assets without one",
    "desert_min_people": "desert: fewest people",
    "desert_min_share": "desert: smallest share beyond reach",
}


def _reader(principal: Principal) -> Principal:
    """The public's view, counted against the caller's limits on concurrent analysis work."""
    return Principal(user_id=principal.user_id)


@dataclass
class RunInfo:
    """The run a pack's figures come from, as printed on it."""

    id: int
    service: str
    service_name: str
    population_group: str
    data_version: str | None
    created_at: str
    parameters: list[tuple[str, str]]
    api: str


@dataclass
class Analysed:
    """One service's part of a pack: its run, or why there is none."""

    service: str
    service_name: str
    population_group: str
    run: RunInfo | None = None
    note: str | None = None
    figures: dict[str, Any] = field(default_factory=dict)
    rows: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Pack:
    """Everything the template prints."""

    kind: str  # acv (also for a transfer) or challenge
    title: str
    city: str
    data_date: str | None
    generated_at: str
    case: dict[str, Any] | None
    asset: dict[str, Any] | None
    sections: dict[str, Any]
    analyses: list[Analysed]
    map_png: bytes | None
    map_caption: str

    @property
    def run_ids(self) -> list[int]:
        """The ids of the runs the pack's figures come from."""
        return [a.run.id for a in self.analyses if a.run is not None]

    @property
    def map_data_uri(self) -> str | None:
        """The map as a data: URI (the pack needs no other file)."""
        if self.map_png is None:
            return None
        return "data:image/png;base64," + base64.b64encode(self.map_png).decode("ascii")


def _number(value: Any, digits: int = 0) -> str:
    if value is None:
        return "\N{EN DASH}"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return f"{value:,.{digits}f}"
    return str(value)


def _run_info(run: AnalysisRun, service_type: ServiceType) -> RunInfo:
    params = run.params or {}
    shown = []
    for key, label in PARAMETER_LABELS.items():
        if key in params:
            value = params[key]
            shown.append((label, _number(value, 2) if isinstance(value, float) else _number(value)))
    return RunInfo(
        id=run.id,
        service=service_type.slug,
        service_name=service_type.name,
        population_group=service_type.population_group,
        data_version=run.data_version,
        created_at=run.created_at.isoformat(timespec="seconds") if run.created_at else "",
        parameters=shown,
        api=f"/api/analysis/runs/{run.id}",
    )


def choose_run(
    db: Session,
    settings: Settings,
    principal: Principal,
    city: City,
    service_type: ServiceType,
    run_id: int | None,
) -> AnalysisRun | str:
    """The run a pack uses: the one asked for (it must be of this city and service, on published data), else the
    latest default run on the current data; a reader who may start runs computes one when none is. Returns the
    reason instead where there is no finished run."""
    reader = _reader(principal)
    if run_id is not None:
        run = finished_run(db, reader, run_id)
        if run.city_id != city.id or run.service_type_id != service_type.id or run.include_pending:
            raise InvalidInput(
                f"analysis run {run_id} is not a run of {service_type.slug} in {city.name} on published data: "
                "leave run out, or give one of this city and service",
                field="run",
            )
        return run
    if principal.role in RUN_ANALYSIS_ROLES:
        run = latest_or_new_run(db, settings, principal, city.id, service_type.slug)
        db.refresh(run)
    else:
        found = current_default_run(db, settings, city.id, service_type.slug)
        if found is None:
            return (
                f"no coverage-gap run of {service_type.name} in {city.name} on the current data yet: an "
                "organiser or planner opening this pack computes one"
            )
        run = found
    if run.status != "succeeded":
        return f"analysis run {run.id} is {run.status}: open the pack again when it has finished"
    return run


def _surroundings(
    db: Session, city: City, asset_id: int
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """The map's frames without a run: the city's neighbourhoods, its other published assets (people and
    sensitive places left out) and its published needs, in EPSG:4326."""
    shapes = db.execute(
        select(Neighbourhood.id, func.ST_AsBinary(Neighbourhood.geom)).where(Neighbourhood.city_id == city.id)
    ).all()
    assets = db.execute(
        select(func.ST_X(Asset.geom), func.ST_Y(Asset.geom)).where(
            Asset.city_id == city.id,
            Asset.status == "approved",
            Asset.id != asset_id,
            Asset.category != "individual",
            Asset.sensitive.is_(False),
        )
    ).all()
    needs = db.execute(
        select(func.ST_AsBinary(func.ST_PointOnSurface(Need.geom))).where(
            Need.city_id == city.id, Need.status == "approved"
        )
    ).all()
    return (
        gpd.GeoDataFrame(
            {"id": [r[0] for r in shapes]},
            geometry=gpd.GeoSeries.from_wkb([bytes(r[1]) for r in shapes], crs=4326),
        ),
        gpd.GeoDataFrame(
            geometry=gpd.points_from_xy([r[0] for r in assets], [r[1] for r in assets], crs=4326)
        ),
        gpd.GeoDataFrame(geometry=gpd.GeoSeries.from_wkb([bytes(r[0]) for r in needs], crs=4326)),
    )


def _shaded(frames: Any) -> tuple[gpd.GeoDataFrame, str]:
    """The neighbourhoods as a pack's map shades them: the share of need unmet, or where capacity is unknown the
    share of people beyond reach (as the gap map does), and what the shading measures."""
    shapes = frames.neighbourhoods
    if frames.unmet_computable:
        return shapes, "share of need unmet"
    return shapes.assign(gap_share=1.0 - shapes["covered_share"]), "share of people beyond reach"


def _located_asset(db: Session, settings: Settings, asset_id: int) -> tuple[Asset, Point]:
    shown = asset_shown_geom(_reader(Principal()), settings)
    row = db.execute(select(Asset, func.ST_X(shown), func.ST_Y(shown)).where(Asset.id == asset_id)).one()
    return row[0], Point(float(row[1]), float(row[2]))


def _asset_facts(asset: Asset) -> dict[str, Any]:
    """What the pack says of an asset: never its contact (it may be a person's) nor its exact location."""
    return {
        "id": asset.id,
        "name": asset.name,
        "category": asset.category,
        "kind": (asset.kind or "").replace("_", " ") or None,
        "ownership": asset.ownership,
        "capacity": None
        if asset.capacity is None
        else f"{_number(asset.capacity)} {asset.capacity_unit or ''}",
        "opening_hours": asset.opening_hours,
        "description": asset.description,
        "private": asset.category == "individual" or bool(asset.sensitive),
        "services": [
            {"slug": st.slug, "name": st.name, "group": st.population_group}
            for st in sorted(asset.service_types, key=lambda s: s.slug)
        ],
    }


def _case_facts(record: CaseRecord) -> dict[str, Any]:
    """The case as a pack prints it: no contact, no event notes, public documents only."""
    case, state = record.case, record.state
    return {
        "id": case.id,
        "kind": KIND_LABELS[case.kind],
        "stage": STAGE_LABELS[state.stage],
        "moratorium": state.moratorium,
        "reference": case.reference,
        "community_body": case.community_body_name,
        "community_body_kind": case.community_body_kind.replace("_", " "),
        "description": case.description,
        "neighbourhood": record.neighbourhood,
        "events": [(e.occurred_on.isoformat(), e.kind.replace("_", " ")) for e in record.events],
        "deadlines": [(DEADLINES[name], day.isoformat()) for name, day in state.deadlines.items()],
        "documents": [(d.title, d.document_kind, d.document_date) for d in record.documents if d.public],
        "today": record.today.isoformat(),
        "regime": record.regime.name,
    }


def _closure(
    db: Session,
    settings: Settings,
    principal: Principal,
    city: City,
    st: ServiceType,
    asset_id: int,
    run_id: int | None,
) -> tuple[Analysed, AnalysisRun | None]:
    """The closure what-if of one service the asset offers, on its run."""
    part = Analysed(st.slug, st.name, st.population_group)
    chosen = choose_run(db, settings, principal, city, st, run_id)
    if isinstance(chosen, str):
        part.note = chosen
        return part, None
    part.run = _run_info(chosen, st)
    stored = (chosen.results or {}).get(CLOSURES_KEY, {}).get(str(asset_id))
    if stored is None and not may_compute(principal):
        part.note = (
            "the closure what-if of this asset on this run is computed when an organiser, planner or admin opens "
            "the pack; it has not been yet"
        )
        return part, chosen
    if stored is None:
        try:
            closure = what_if(db, settings, _reader(principal), chosen.id, [asset_id])
        except InvalidInput as exc:
            part.note = f"the what-if could not close this asset: {exc.detail}"
            return part, chosen
        stored = _closure_entry(closure)
        _keep_closure(db, chosen, asset_id, stored)
    part.figures, part.rows = stored["figures"], stored["rows"]
    return part, chosen


def may_compute(principal: Principal) -> bool:
    """Whether the reader's pack may compute scenarios (the API's run_analysis rule); other readers' packs print
    what such a reader's pack computed and stored with the run."""
    return principal.role in RUN_ANALYSIS_ROLES


def _closure_entry(closure: dict[str, Any]) -> dict[str, Any]:
    """What a pack keeps of a what-if (public view): the totals it prints and the neighbourhoods losing access."""
    totals = closure["totals"]
    return {
        "figures": {
            "population_losing_coverage": totals.get("population_losing_coverage"),
            "need_losing_coverage": totals.get("need_losing_coverage"),
            "units_losing_coverage": totals.get("n_units_losing_coverage"),
            "unmet_need_change": totals.get("unmet_need_change"),
            "unmet_need_computable": closure.get("unmet_need_computable"),
            "warnings": closure.get("warnings", []),
        },
        "rows": [
            {
                "name": row.get("name"),
                "code": row.get("code"),
                "population_losing_coverage": row.get("population_losing_coverage"),
                "need_losing_coverage": row.get("need_losing_coverage"),
                "unmet_need_change": row.get("unmet_need_change"),
            }
            for row in closure["neighbourhoods"]
            if (row.get("population_losing_coverage") or 0) > 0
        ],
    }


def _keep_closure(db: Session, run: AnalysisRun, asset_id: int, entry: dict[str, Any]) -> None:
    """Store a pack's what-if with its run (public view only), the newest CLOSURES_KEPT of them."""
    db.refresh(run, with_for_update=True)  # concurrent packs on one run must not overwrite each other
    results = dict(run.results or {})
    kept = {k: v for k, v in (results.get(CLOSURES_KEY) or {}).items() if k != str(asset_id)}
    kept[str(asset_id)] = entry
    results[CLOSURES_KEY] = dict(list(kept.items())[-CLOSURES_KEPT:])
    run.results = results
    db.commit()


def _network(
    db: Session, settings: Settings, principal: Principal, city: City, asset_id: int
) -> dict[str, Any]:
    """The asset's place in the relationship network of published assets, as the public sees it."""
    view = network_view(db, settings, _reader(principal), city.id)
    metrics = view.metrics.assets
    if asset_id not in metrics.index:
        return {"shown": False}
    row = metrics.loc[asset_id]
    names = dict(zip(view.assets["id"], view.assets["name"], strict=True))
    ties = []
    for tie in view.links.itertuples(index=False):
        if asset_id in (tie.source_id, tie.target_id):
            other = tie.target_id if tie.source_id == asset_id else tie.source_id
            ties.append({"with": names.get(other, ""), "kind": tie.kind.replace("_", " ")})
    n_assets = int(view.metrics.totals.get("n_assets") or len(metrics))
    rank = int((metrics["betweenness"] > row["betweenness"]).sum()) + 1
    return {
        "shown": True,
        "degree": int(row["degree"]),
        "links": int(row["link_count"]),
        "cross_border_links": int(row["cross_border_links"]),
        "betweenness": float(row["betweenness"]),
        "betweenness_rank": rank,
        "n_assets": n_assets,
        "broker": bool(row["broker"]),
        "isolated": bool(row["isolated"]),
        "component_size": int(row["component_size"]),
        "ties": ties,
    }


def _needs_nearby(db: Session, city: City, at: Point, radius_m: float) -> list[dict[str, Any]]:
    """Published needs within `radius_m` of the asset's shown location, nearest first."""
    here = func.ST_SetSRID(func.ST_MakePoint(at.x, at.y), 4326)
    distance = func.ST_Distance(func.Geography(Need.geom), func.Geography(here))
    rows = db.execute(
        select(ServiceType.name, Need.people_affected, Need.severity, Need.description, distance)
        .join(ServiceType, ServiceType.id == Need.service_type_id)
        .where(
            Need.city_id == city.id,
            Need.status == "approved",
            func.ST_DWithin(func.Geography(Need.geom), func.Geography(here), radius_m),
        )
        .order_by(distance, Need.id)
        .limit(NEARBY_NEEDS_SHOWN)
    ).all()
    return [
        {
            "service": r[0],
            "people": r[1],
            "severity": r[2],
            "description": r[3],
            "distance_m": round(float(r[4])),
        }
        for r in rows
    ]


def _resources(db: Session, asset_id: int) -> list[dict[str, Any]]:
    rows = db.scalars(
        select(Resource)
        .where(Resource.asset_id == asset_id, Resource.status == "approved")
        .order_by(Resource.id)
    ).all()
    return [
        {
            "kind": r.kind,
            "quantity": None if r.quantity is None else f"{_number(r.quantity)} {r.unit or ''}".strip(),
            "from": r.available_from.isoformat() if r.available_from else None,
            "until": r.available_until.isoformat() if r.available_until else None,
            "description": r.description,
        }
        for r in rows
    ]


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def asset_pack(
    db: Session, settings: Settings, principal: Principal, record: CaseRecord, run_id: int | None = None
) -> Pack:
    """The pack of an ACV nomination or review (and of a transfer): the asset and its surroundings, its services,
    the closure what-if of each, its place in the network, needs nearby and its resources."""
    city = db.get(City, record.case.city_id)
    if city is None:
        raise NotFound(f"the city of case {record.case.id} was deleted")
    asset, at = _located_asset(db, settings, record.case.asset_id)
    facts = _asset_facts(asset)
    analyses: list[Analysed] = []
    runs: list[AnalysisRun] = []
    for st in sorted(asset.service_types, key=lambda s: s.slug):
        if asset.status != "approved":
            analyses.append(
                Analysed(
                    st.slug,
                    st.name,
                    st.population_group,
                    note="the asset waits for review: runs read published data",
                )
            )
            continue
        part, run = _closure(
            db, settings, principal, city, st, asset.id, run_id if len(asset.service_types) == 1 else None
        )
        analyses.append(part)
        if run is not None:
            runs.append(run)
    radius = float(runs[0].params.get("radius_m") or 1000.0) if runs else 1000.0
    map_png, caption = None, ""
    if runs:
        frames = gap_map_frames(db, settings, _reader(principal), runs[0], with_links=False)
        points = frames.assets.geometry
        here = ((points.x - at.x).abs() > 1e-7) | ((points.y - at.y).abs() > 1e-7)
        shapes, shading = _shaded(frames)
        map_png = surroundings_png(shapes, frames.assets[here], frames.needs, at, radius)
        caption = (
            f"Neighbourhoods shaded by the {shading} of {frames.service_name} (run {runs[0].id}); the "
            f"dashed circle is the {radius:,.0f} m catchment. Drawn from the data, no map tiles."
        )
    else:
        shapes, others, needs = _surroundings(db, city, asset.id)
        map_png = surroundings_png(shapes, others, needs, at, radius)
        caption = (
            f"Neighbourhoods (not shaded: no analysis run), published assets and needs within reach; the dashed "
            f"circle is {radius:,.0f} m. Drawn from the data, no map tiles."
        )
    title = f"Evidence pack: {asset.name}"
    return Pack(
        kind="acv",
        title=title,
        city=city.name,
        data_date=city.data_date,
        generated_at=_now(),
        case=_case_facts(record),
        asset=facts,
        sections={
            "network": _network(db, settings, principal, city, asset.id),
            "needs": _needs_nearby(db, city, at, radius),
            "needs_radius_m": radius,
            "resources": _resources(db, asset.id),
        },
        analyses=analyses,
        map_png=map_png,
        map_caption=caption,
    )


def _area(db: Session, city: City, neighbourhood: int | str) -> Neighbourhood:
    """A neighbourhood of the city by id or code."""
    stmt = select(Neighbourhood).where(Neighbourhood.city_id == city.id)
    if isinstance(neighbourhood, int) or (isinstance(neighbourhood, str) and neighbourhood.isdigit()):
        found = db.scalar(stmt.where(Neighbourhood.id == int(neighbourhood)))
        if found is not None:
            return found
    found = db.scalar(stmt.where(Neighbourhood.code == str(neighbourhood)))
    if found is None:
        raise NotFound(
            f"no neighbourhood {neighbourhood!s} in {city.name}: give its id or code (GET /api/neighbourhoods)",
            field="neighbourhood",
        )
    return found


def challenge_pack(
    db: Session,
    settings: Settings,
    principal: Principal,
    city_ref: str | int,
    service_slug: str,
    neighbourhood: int | str,
    *,
    run_id: int | None = None,
    record: CaseRecord | None = None,
) -> Pack:
    """The pack of a Right to Challenge for a service in an area: the coverage gap and unmet need there, the
    neighbourhoods worst served, the community assets that could deliver the service, and suggested sites."""
    city = find_city(db, city_ref)
    st = find_service_type(db, service_slug, field="service")
    area = _area(db, city, neighbourhood)
    part = Analysed(st.slug, st.name, st.population_group)
    sections: dict[str, Any] = {"area": {"id": area.id, "code": area.code, "name": area.name}}
    chosen = choose_run(db, settings, principal, city, st, run_id)
    map_png, caption = None, ""
    if isinstance(chosen, str):
        part.note = chosen
    else:
        reader = _reader(principal)
        part.run = _run_info(chosen, st)
        results = view_results(chosen, reader)
        rows = results.get("neighbourhoods", [])
        computable = unmet_need_computable(results.get("totals", {}))
        # worst served: the largest share of need unmet; where capacity is unknown, the largest share of people
        # beyond reach (as the gap map shades it)
        sections["measure"] = "share of need unmet" if computable else "share beyond reach"
        scored = [{**r, "score": _score(r, computable)} for r in rows]
        ranked = sorted(
            (r for r in scored if r["score"] is not None),
            key=lambda r: (-r["score"], -(r.get("population") or 0), r["code"]),
        )
        sections["worst"] = [
            {**_area_row(r), "rank": i + 1, "is_area": r["id"] == area.id}
            for i, r in enumerate(ranked[:WORST_SERVED_SHOWN])
        ]
        here = next((r for r in scored if r["id"] == area.id), None)
        sections["here"] = None if here is None else _area_row(here)
        sections["here_rank"] = next((i + 1 for i, r in enumerate(ranked) if r["id"] == area.id), None)
        sections["n_ranked"] = len(ranked)
        sections["unmet_computable"] = computable
        candidates = _able_assets(db, settings, principal, city, st, area)
        sections["candidates"] = candidates
        suggestion: dict[str, Any] | None = None
        if may_compute(principal):
            try:
                suggestion = suggest_sites(db, settings, reader, chosen.id, CHALLENGE_SITES, "venues")
            except AssetmapError as exc:
                sections["sites_note"] = f"no sites suggested: {exc.detail}"
        else:
            suggestion = _stored_suggestion(chosen, reader)
            if suggestion is None:
                sections["sites_note"] = (
                    f"no sites suggested on run {chosen.id} yet: they are computed when an organiser, planner or "
                    "admin opens this pack"
                )
        if suggestion is not None:
            sections["suggestion"] = {
                "id": suggestion["id"],
                "summary": suggestion_summary(suggestion),
                "rule": suggestion.get("candidate_rule"),
                "n_candidates": suggestion.get("n_candidates"),
                "sites": [
                    {
                        "rank": s["rank"],
                        "name": s["name"],
                        "kind": (s.get("kind") or "").replace("_", " "),
                        "neighbourhood": (s.get("neighbourhood") or {}).get("name"),
                        "capacity": s.get("capacity"),
                        "shortfall_covered": s.get("shortfall_covered"),
                        "reasons": s.get("reasons", []),
                    }
                    for s in suggestion["sites"]
                ],
            }
        frames = gap_map_frames(db, settings, reader, chosen, with_links=False)
        sites = gpd.GeoDataFrame(
            {"rank": [s["rank"] for s in (suggestion or {}).get("sites", [])]},
            geometry=gpd.points_from_xy(
                [s["lon"] for s in (suggestion or {}).get("sites", [])],
                [s["lat"] for s in (suggestion or {}).get("sites", [])],
                crs=4326,
            ),
        )
        able = gpd.GeoDataFrame(
            geometry=gpd.points_from_xy(
                [c["lon"] for c in candidates], [c["lat"] for c in candidates], crs=4326
            )
        )
        shapes, shading = _shaded(frames)
        map_png = challenge_png(shapes, area.id, sites, able)
        caption = (
            f"Neighbourhoods of {city.name} shaded by the {shading} of {st.name} (run {chosen.id}); "
            f"{area.name} outlined; suggested sites numbered by rank. Drawn from the data, no map tiles."
        )
    return Pack(
        kind="challenge",
        title=f"Evidence pack: Right to Challenge, {st.name} in {area.name}",
        city=city.name,
        data_date=city.data_date,
        generated_at=_now(),
        case=_case_facts(record) if record is not None else None,
        asset=None,
        sections=sections,
        analyses=[part],
        map_png=map_png,
        map_caption=caption,
    )


def _stored_suggestion(run: AnalysisRun, reader: Principal) -> dict[str, Any] | None:
    """The newest stored public suggestion of the run a pack would make (its number of sites, among venues)."""
    for suggestion in reversed(visible_suggestions(run, reader)):
        if suggestion.get("p") == CHALLENGE_SITES and suggestion.get("candidates") == "venues":
            return suggestion
    return None


def _score(row: dict[str, Any], computable: bool) -> float | None:
    if computable:
        return row.get("gap_share")
    covered = row.get("covered_share")
    return None if covered is None or not row.get("population") else 1.0 - float(covered)


def _area_row(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "score": row.get("score"),
        "id": row["id"],
        "code": row.get("code"),
        "name": row.get("name"),
        "population": row.get("population"),
        "covered_share": row.get("covered_share"),
        "gap_share": row.get("gap_share"),
        "unmet_need": row.get("unmet_need"),
        "mean_distance_m": row.get("mean_distance_m"),
    }


def _able_assets(
    db: Session, settings: Settings, principal: Principal, city: City, st: ServiceType, area: Neighbourhood
) -> list[dict[str, Any]]:
    """Published community assets in the area (never people or sensitive ones) that offer the service or are of
    a kind that could host it, with their capacity and ties."""
    offers = select(Asset.id).join(Asset.service_types).where(ServiceType.id == st.id)
    could: ColumnElement[bool] = Asset.id.in_(offers)
    if st.venue_kinds:
        could = could | Asset.kind.in_(st.venue_kinds)
    rows = db.execute(
        select(Asset, func.ST_X(Asset.geom), func.ST_Y(Asset.geom))
        .where(
            Asset.city_id == city.id,
            Asset.status == "approved",
            Asset.neighbourhood_id == area.id,
            Asset.category != "individual",
            Asset.sensitive.is_(False),
            could,
        )
        .order_by(Asset.name, Asset.id)
    ).all()
    view = network_view(db, settings, _reader(principal), city.id)
    metrics = view.metrics.assets
    out = []
    for asset, lon, lat in rows:
        linked = asset.id in metrics.index
        out.append(
            {
                "name": asset.name,
                "kind": (asset.kind or asset.category).replace("_", " "),
                "offers": any(s.id == st.id for s in asset.service_types),
                "capacity": None
                if asset.capacity is None
                else f"{_number(asset.capacity)} {asset.capacity_unit or ''}".strip(),
                "links": int(metrics.loc[asset.id, "link_count"]) if linked else 0,
                "broker": bool(metrics.loc[asset.id, "broker"]) if linked else False,
                "lon": float(lon),
                "lat": float(lat),
            }
        )
    return out


def case_pack(
    db: Session,
    settings: Settings,
    principal: Principal,
    case_id: int,
    *,
    service: str | None = None,
    neighbourhood: int | str | None = None,
    run_id: int | None = None,
) -> Pack:
    """The pack of a case the caller may see (a 404 otherwise, as its page): a challenge's for its service (the
    one given, else the first its asset offers) in its area (the one given, else the asset's neighbourhood);
    every other case's is the asset pack."""
    record = get_record(db, settings, principal, case_id)
    if record.case.kind != "challenge":
        if service is not None or neighbourhood is not None:
            raise InvalidInput(
                "service and neighbourhood choose a Right to Challenge's pack: leave them out for this case",
                field="service" if service is not None else "neighbourhood",
            )
        return asset_pack(db, settings, principal, record, run_id)
    asset = db.get(Asset, record.case.asset_id)
    slug = service or (
        sorted(s.slug for s in asset.service_types)[0] if asset and asset.service_types else None
    )
    if slug is None:
        raise InvalidInput(
            "the case's asset offers no service: say which service the challenge is about (service=slug)",
            field="service",
        )
    area = neighbourhood if neighbourhood is not None else record.neighbourhood_id
    if area is None:
        raise InvalidInput(
            "the case's asset lies outside every neighbourhood: say which area (neighbourhood=id or code)",
            field="neighbourhood",
        )
    return challenge_pack(
        db, settings, principal, record.case.city_id, slug, area, run_id=run_id, record=record
    )


def render_html(pack: Pack, pdf_href: str = "") -> str:
    """The pack as an HTML page (the template's source is a constant; every value is escaped); `pdf_href` is
    the page's link to its PDF (the PDF hides it)."""
    return templates.get_template(TEMPLATE).render(
        pack=pack, number=_number, percent=_percent, pdf_href=pdf_href
    )


def _percent(share: Any) -> str:
    return "\N{EN DASH}" if share is None else f"{100 * float(share):.1f} %"


def offline_fetcher() -> Any:
    """WeasyPrint's fetcher for a pack: data: URIs only (its map); anything else, the network above all, is
    refused and remembered in `refused`, so the PDF is complete offline and rendering never reaches out."""
    from weasyprint.urls import URLFetcher

    class OfflineFetcher(URLFetcher):
        def __init__(self) -> None:
            super().__init__(allowed_protocols=("data",))
            self.fetched: list[str] = []
            self.refused: list[str] = []

        def fetch(self, url: str, headers: Any = None) -> Any:
            if not url.lower().startswith("data:"):
                self.refused.append(url)
                raise ValueError(f"an evidence pack fetches nothing: {url[:80]!r} refused")
            self.fetched.append(url[:40])
            return super().fetch(url, headers)

    return OfflineFetcher()


def render_pdf(pack: Pack, fetcher: Any = None) -> bytes:
    """The pack as a PDF from the same HTML, fetching nothing but its own data: URIs."""
    from weasyprint import HTML

    pdf = HTML(string=render_html(pack), url_fetcher=fetcher or offline_fetcher()).write_pdf()
    assert pdf is not None
    return bytes(pdf)
