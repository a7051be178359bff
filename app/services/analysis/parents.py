"""A run's results for parent areas: a district's figures summed from the run's rows of the demand areas inside it.

A run spreads people over the demand areas (the finest level, inputs.DEMAND_LEVEL) and reports per demand area.
A parent's row is computed when it is read, from those rows in the reader's view and the current parent links
(app.db.hierarchy), so it always adds up its children: people, need, covered, uncovered and unmet need and demand
units are sums; shares, the mean distance and the access score are need-weighted, as geo.gaps defines them per area;
a desert is judged with the run's own thresholds. `assets_within_radius` is left out (null): an asset near two
children would be counted twice, and the run keeps no pairs to count it once.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.db.hierarchy import subtree_cte
from app.db.models import AnalysisRun, Neighbourhood
from app.db.queries import COORD_DECIMALS
from app.policy import Principal
from app.services.analysis.outputs import neighbourhood_properties, view_results
from app.services.analysis.records import finished_run
from app.services.areas import LEVEL_ORDER

SUMMED = ("need", "covered_need", "uncovered_need", "unmet_need", "n_units")
NEED_WEIGHTED = ("mean_distance_m", "access_score")
NOT_SUMMABLE = ("assets_within_radius",)


def _total(values: list[Any]) -> float | None:
    """A sum that is unknown when one of its parts is."""
    return None if any(v is None for v in values) else float(sum(values))


def _share(part: float | None, whole: float | None) -> float | None:
    return None if part is None or not whole else part / whole


def combine_rows(members: list[dict[str, Any]], params: dict[str, Any]) -> dict[str, Any]:
    """One row for a parent area from its demand areas' rows (same keys as a run's neighbourhood row)."""
    row: dict[str, Any] = {key: _total([m.get(key) for m in members]) for key in SUMMED}
    row["n_units"] = int(row["n_units"] or 0)
    known = all(bool(m.get("population_known")) for m in members)
    row["population_known"] = known
    row["population"] = _total([m.get("population") for m in members]) if known else None
    need = row["need"] or 0.0
    row["covered_share"] = _share(row["covered_need"], need)
    row["gap_share"] = _share(row["unmet_need"], need)
    for key in NEED_WEIGHTED:
        # an area without need has no mean; one with need but no value makes the parent's unknown too
        parts: list[tuple[Any, float]] = [
            (m.get(key), float(m.get("need") or 0.0)) for m in members if (m.get("need") or 0.0) > 0
        ]
        weighted = 0.0 if need else None
        for value, weight in parts:
            weighted = None if value is None or weighted is None else weighted + float(value) * weight
        row[key] = None if weighted is None else weighted / need
    uncovered = row["uncovered_need"]
    row["desert"] = bool(
        need > 0
        and uncovered is not None
        and (
            uncovered >= float(params.get("desert_min_people", 0.0))
            or uncovered / need >= float(params.get("desert_min_share", 1.0))
        )
    )
    for key in NOT_SUMMABLE:
        row[key] = None
    # a figure added to the rows later: kept where every child agrees, otherwise unknown
    for key in {k for m in members for k in m} - set(row) - {"id", "code", "name", "nearest_assets"}:
        values = [m.get(key) for m in members]
        row[key] = values[0] if all(v == values[0] for v in values) else None
    row["nearest_assets"] = []
    return row


def parent_rows(db: Session, principal: Principal, run: AnalysisRun, level: str) -> list[dict[str, Any]]:
    """Rows for every neighbourhood of the run's city at `level` that holds demand areas of the run, in id order."""
    rows = {row["id"]: row for row in view_results(run, principal)["neighbourhoods"]}
    tree = subtree_cte((Neighbourhood.city_id == run.city_id) & (Neighbourhood.level == level), "parent")
    members: dict[int, set[int]] = {}
    for root_id, nb_id in db.execute(select(tree.c.root_id, tree.c.id)).all():
        members.setdefault(root_id, set()).add(nb_id)
    levels = dict(
        db.execute(
            select(Neighbourhood.id, Neighbourhood.level).where(Neighbourhood.id.in_(list(rows)))
        ).all()
    )
    roots = db.execute(
        select(Neighbourhood.id, Neighbourhood.code, Neighbourhood.name)
        .where(Neighbourhood.id.in_(list(members)))
        .order_by(Neighbourhood.id)
    ).all()
    out = []
    for root_id, code, name in roots:
        inside = sorted(i for i in members[root_id] if i in rows)
        if not inside:
            continue
        row = combine_rows([rows[i] for i in inside], run.params or {})
        child_levels = {levels[i] for i in inside if i != root_id and i in levels}
        row.update(
            id=root_id,
            code=code,
            name=name,
            level=level,
            includes_children={
                "areas": len([i for i in inside if i != root_id]),
                "levels": sorted(
                    child_levels, key=lambda v: (LEVEL_ORDER.index(v) if v in LEVEL_ORDER else 9, v)
                ),
            },
        )
        out.append(row)
    return out


def parent_collection(db: Session, principal: Principal, run_id: int, level: str) -> str:
    """A run's results for the city's areas at `level`, each summed from the demand areas inside it (GeoJSON)."""
    run = finished_run(db, principal, run_id)
    rows = parent_rows(db, principal, run, level)
    geometries: dict[int, str] = dict(
        db.execute(
            select(
                Neighbourhood.id,
                func.ST_AsGeoJSON(func.ST_ForcePolygonCCW(Neighbourhood.geom), COORD_DECIMALS),
            ).where(Neighbourhood.id.in_([row["id"] for row in rows]))
        ).all()
    )
    features = []
    for row in rows:
        props = {
            **neighbourhood_properties(row),
            "level": row["level"],
            "includes_children": row["includes_children"],
        }
        features.append(
            f'{{"type":"Feature","id":{row["id"]:d},"geometry":{geometries.get(row["id"]) or "null"},'
            f'"properties":{json.dumps(props)}}}'
        )
    head = (
        f'{{"type":"FeatureCollection","run":{run.id:d},"level":{json.dumps(level)},'
        f'"numberReturned":{len(features):d},"features":['
    )
    return head + ",".join(features) + "]}"
