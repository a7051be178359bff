"""Published analysis results as OGC collections: a run's neighbourhood results and its cells, read through
app/services/analysis/outputs.py, which applies the public view (units near people shown as published)."""

from __future__ import annotations

import json
from typing import Any

import shapely
from shapely.geometry import box, shape
from sqlalchemy.orm import Session

from app.policy import Principal
from app.services.analysis import outputs
from app.services.ogc.collections import Collection

CELL_QUERYABLES = ("neighbourhood_id",)


def run_items(
    db: Session,
    principal: Principal,
    c: Collection,
    *,
    limit: int,
    after: str | None,
    bbox: tuple[float, float, float, float] | None,
) -> tuple[list[str], str | None]:
    """One page of a run's results as feature texts, and the key to continue after (None at the end)."""
    assert c.run_id is not None
    area = box(*bbox) if bbox else None

    def inside(feature: dict[str, Any]) -> bool:
        return area is None or (
            feature.get("geometry") is not None and shape(feature["geometry"]).intersects(area)
        )

    if c.layer == "run-neighbourhoods":
        features = json.loads(outputs.neighbourhood_collection(db, principal, c.run_id))["features"]
        start = int(after) if after and after.isdigit() else 0
        chosen = [f for f in sorted(features, key=lambda f: f["id"]) if f["id"] > start and inside(f)]
        page = chosen[:limit]
        return [json.dumps(f) for f in page], (str(page[-1]["id"]) if len(chosen) > limit else None)
    found: list[dict[str, Any]] = []
    cursor = after
    while len(found) <= limit:
        cells = outputs.cell_page(db, principal, c.run_id, "points", cursor, 1000)
        found += [f for f in cells.features if inside(f)]
        if cells.next_after is None:
            break
        cursor = cells.next_after
    page = found[:limit]
    return [json.dumps(f) for f in page], (str(page[-1]["id"]) if len(found) > limit else None)


def run_extent(db: Session, principal: Principal, c: Collection) -> list[float] | None:
    """The bounds of the run's neighbourhoods."""
    assert c.run_id is not None
    features = json.loads(outputs.neighbourhood_collection(db, principal, c.run_id))["features"]
    shapes = [shape(f["geometry"]) for f in features if f.get("geometry")]
    if not shapes:
        return None
    return [round(float(v), 6) for v in shapely.GeometryCollection(shapes).bounds]
