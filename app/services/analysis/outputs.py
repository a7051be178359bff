"""What readers get of a stored run: its document, per-neighbourhood GeoJSON, per-unit cells and per-asset rows.

Each output is taken from the reader's view of the run (see compute.py): planners get the exact view; everyone else
gets the public view, in which people and sensitive assets stand where the API shows them and are left out of
per-asset lists (their number too when it is under the small-count threshold).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import h3
import shapely
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.db.models import AnalysisCell, AnalysisRun, City, Neighbourhood, ServiceType
from app.db.queries import COORD_DECIMALS
from app.errors import InvalidInput
from app.policy import Principal
from app.services.analysis.compute import CELL_VALUES, EXACT, PUBLIC, view_of
from app.services.analysis.records import finished_run
from app.services.analysis.warnings import capacity_summary, run_warnings
from app.settings import Settings
from geo.io.errors import GeoFileError
from geo.io.write import write_layer

CELL_SHAPES = ("points", "hexagons")
NEIGHBOURHOOD_PROPERTIES = (
    "code",
    "name",
    "population",
    "population_known",
    "need",
    "covered_need",
    "covered_share",
    "mean_distance_m",
    "uncovered_need",
    "unmet_need",
    "gap_share",
    "access_score",
    "desert",
    "assets_within_radius",
    "n_units",
)


def view_results(run: AnalysisRun, principal: Principal) -> dict[str, Any]:
    """The stored results of the caller's view: totals, neighbourhoods, assets (and, public, differing cells)."""
    results = run.results or {}
    if view_of(principal) == PUBLIC and results.get("public"):
        return {**results, **results["public"], "view": PUBLIC}
    if view_of(principal) == PUBLIC:
        # No people or sensitive assets were analysed: both views are the same numbers.
        assets = [row for row in results.get("assets", []) if not row.get("private")]
        return {**results, "assets": assets, "cells": {}, "view": PUBLIC}
    return {**results, "cells": {}, "view": EXACT}


def suppressed(count: int, principal: Principal, settings: Settings) -> int | None:
    """A count of people's or sensitive assets as the caller may see it (None: under the threshold)."""
    if principal.sees_exact_locations or count == 0 or count >= settings.small_count_threshold:
        return count
    return None


def visible_suggestions(run: AnalysisRun, principal: Principal) -> list[dict[str, Any]]:
    """Stored site suggestions made in the caller's view (planners also see the public ones)."""
    view = view_of(principal)
    return [s for s in (run.results or {}).get("suggestions", []) if view == EXACT or s.get("view") == PUBLIC]


def run_document(db: Session, settings: Settings, principal: Principal, run: AnalysisRun) -> dict[str, Any]:
    """A run as JSON: status, every parameter used, data version, totals and timing, in the caller's view."""
    city = db.get(City, run.city_id)
    service_type = db.get(ServiceType, run.service_type_id)
    view: dict[str, Any] = (
        view_results(run, principal) if run.status == "succeeded" else {"view": view_of(principal)}
    )
    data = dict(view.get("data") or {})
    if "private_assets" in data:
        data["private_assets"] = suppressed(int(data["private_assets"]), principal, settings)
    base = f"/api/analysis/runs/{run.id}"
    return {
        "id": run.id,
        "status": run.status,
        "city": {"id": run.city_id, "name": city.name if city else None},
        "service_type": {
            "id": run.service_type_id,
            "slug": service_type.slug if service_type else None,
            "name": service_type.name if service_type else None,
        },
        "params": run.params,
        "include_pending": run.include_pending,
        "data_version": run.data_version,
        "data": data or None,
        "view": view["view"],
        "totals": view.get("totals"),
        "capacity": capacity_summary(view.get("totals")),
        "warnings": run_warnings(view.get("totals"), service_type.slug if service_type else None),
        "timing_ms": run.timing_ms,
        "error": run.error,
        "created_at": run.created_at.isoformat() if run.created_at else None,
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        "suggestions": [
            {key: s[key] for key in ("id", "p", "candidates", "objective", "lp_upper_bound", "exact", "view")}
            for s in visible_suggestions(run, principal)
        ],
        "links": {
            "self": base,
            "neighbourhoods": f"{base}/neighbourhoods",
            "cells": f"{base}/cells",
            "assets": f"{base}/assets",
            "suggest_sites": f"{base}/suggest-sites",
            "what_if": f"{base}/what-if",
            "map": f"/maps/gaps?run={run.id}",
        },
    }


def neighbourhood_properties(row: dict[str, Any]) -> dict[str, Any]:
    """The GeoJSON properties of one neighbourhood's results."""
    props = {key: row.get(key) for key in NEIGHBOURHOOD_PROPERTIES}
    props["nearest_assets"] = [a["name"] for a in row.get("nearest_assets", [])]
    return props


def neighbourhood_collection(db: Session, principal: Principal, run_id: int) -> str:
    """Per-neighbourhood results as an RFC 7946 FeatureCollection (text), geometry from the database."""
    run = finished_run(db, principal, run_id)
    rows = view_results(run, principal)["neighbourhoods"]
    geometries: dict[int, str] = dict(
        db.execute(
            select(
                Neighbourhood.id,
                func.ST_AsGeoJSON(func.ST_ForcePolygonCCW(Neighbourhood.geom), COORD_DECIMALS),
            ).where(Neighbourhood.id.in_([row["id"] for row in rows]))
        ).all()
    )
    features = [
        f'{{"type":"Feature","id":{row["id"]:d},"geometry":{geometries.get(row["id"]) or "null"},'
        f'"properties":{json.dumps(neighbourhood_properties(row))}}}'
        for row in rows
    ]
    head = f'{{"type":"FeatureCollection","run":{run.id:d},"numberReturned":{len(features):d},"features":['
    return head + ",".join(features) + "]}"


@dataclass(frozen=True)
class CellPage:
    """One page of demand units with their results (GeoJSON features), and the unit id to continue after."""

    features: list[dict[str, Any]]
    next_after: str | None


def _hexagon(unit_id: str) -> dict[str, Any] | None:
    if not h3.is_valid_cell(unit_id):
        return None
    ring = [
        (round(lng, COORD_DECIMALS), round(lat, COORD_DECIMALS)) for lat, lng in h3.cell_to_boundary(unit_id)
    ]
    area2 = sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(ring, ring[1:] + ring[:1], strict=True))
    if area2 < 0:  # RFC 7946: exterior rings counter-clockwise
        ring.reverse()
    return {"type": "Polygon", "coordinates": [[list(p) for p in [*ring, ring[0]]]]}


def cell_page(
    db: Session, principal: Principal, run_id: int, shape: str, after: str | None, limit: int
) -> CellPage:
    """Demand units of a run in unit-id order after `after`: need, distance, coverage, access and shortfall."""
    run = finished_run(db, principal, run_id)
    overrides = view_results(run, principal)["cells"]
    stmt = (
        select(
            AnalysisCell.unit_id,
            AnalysisCell.neighbourhood_id,
            AnalysisCell.population,
            AnalysisCell.need,
            AnalysisCell.distance_m,
            AnalysisCell.covered,
            AnalysisCell.access,
            AnalysisCell.access_score,
            AnalysisCell.shortfall,
            func.ST_X(AnalysisCell.geom),
            func.ST_Y(AnalysisCell.geom),
        )
        .where(AnalysisCell.run_id == run.id)
        .order_by(AnalysisCell.unit_id)
        .limit(limit + 1)
    )
    if after is not None:
        stmt = stmt.where(AnalysisCell.unit_id > after)
    rows = db.execute(stmt).all()
    more = len(rows) > limit
    features = []
    for row in rows[:limit]:
        unit_id, nb_id, population, need, *values, lon, lat = row
        if unit_id in overrides:  # the public view of a unit near a person's or sensitive asset
            values = overrides[unit_id]
        props = {"unit_id": unit_id, "neighbourhood_id": nb_id, "population": population, "need": need}
        props.update(dict(zip(CELL_VALUES, values, strict=True)))
        geometry = _hexagon(unit_id) if shape == "hexagons" else None
        if geometry is None:  # a neighbourhood too small for a cell has one unit at its representative point
            geometry = {
                "type": "Point",
                "coordinates": [round(lon, COORD_DECIMALS), round(lat, COORD_DECIMALS)],
            }
        features.append({"type": "Feature", "id": unit_id, "geometry": geometry, "properties": props})
    return CellPage(features, rows[limit - 1][0] if more and limit else None)


def run_assets(db: Session, settings: Settings, principal: Principal, run_id: int) -> dict[str, Any]:
    """Per-asset results of a run: capacity used, demand in reach, supply ratio, idle; people left out publicly."""
    run = finished_run(db, principal, run_id)
    view = view_results(run, principal)
    private = int((view.get("data") or {}).get("private_assets") or 0)
    withheld = 0 if view["view"] == EXACT else private
    items = [{k: v for k, v in row.items() if k != "private"} for row in view["assets"]]
    return {
        "run": run.id,
        "view": view["view"],
        "items": items,
        "numberReturned": len(items),
        "withheld": suppressed(withheld, principal, settings),
        "note": (
            "people's and sensitive assets are not listed to viewers without planner rights"
            if view["view"] == PUBLIC
            else None
        ),
    }


EXPORT_SUFFIXES = {".gpkg": "gpkg", ".csv": "csv", ".geojson": "geojson", ".json": "geojson"}


def export_neighbourhoods(db: Session, principal: Principal, run_id: int, out_path: Path) -> Path:
    """Write a run's per-neighbourhood results (EPSG:4326) as GeoPackage, CSV (with WKT) or GeoJSON."""
    fmt = EXPORT_SUFFIXES.get(out_path.suffix.lower())
    if fmt is None:
        raise InvalidInput(
            f"cannot write {out_path.name!r}: name the file .gpkg, .csv or .geojson", field="out"
        )
    run = finished_run(db, principal, run_id)
    rows = view_results(run, principal)["neighbourhoods"]
    shapes: dict[int, Any] = dict(
        db.execute(
            select(Neighbourhood.id, func.ST_AsBinary(Neighbourhood.geom)).where(
                Neighbourhood.id.in_([row["id"] for row in rows])
            )
        ).all()
    )
    frame = gpd.GeoDataFrame(
        [{"id": row["id"], **neighbourhood_properties(row)} for row in rows],
        geometry=gpd.GeoSeries(
            [shapely.from_wkb(bytes(shapes[row["id"]])) if row["id"] in shapes else None for row in rows],
            crs="EPSG:4326",
        ),
    )
    frame["nearest_assets"] = ["; ".join(names) for names in frame["nearest_assets"]]
    try:
        return write_layer(frame, out_path, fmt, f"gaps_run_{run.id}")  # type: ignore[arg-type]
    except GeoFileError as exc:
        raise InvalidInput(str(exc), field="out") from None
