"""The needs layer's load: upserted on (city, source_ref) through the staging table."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
from sqlalchemy.orm import Session

from app.db.bulk import copy_frame
from app.db.models import Need
from app.services.imports.load.staging import (
    _NEW_ITEM,
    STAGE,
    LoadContext,
    LoadResult,
    _create_work_tables,
    _drop_work_tables,
    _insert_new,
    _match_existing,
    _neighbourhood_ids,
    _prepare_session,
    _record_new,
    _stage_value,
    _text_or_none,
    _update_changed,
    _updated_count,
    _with_default,
)
from geo.io.wkb import geometries_ewkb_hex

# Layer field -> (table column, staging type). Only mapped fields are updated on re-import.
_NEED_FIELDS: dict[str, tuple[str, str]] = {
    "service_type": ("service_type_id", "int"),
    "people_affected": ("people_affected", "int"),
    "severity": ("severity", "int"),
    "source": ("source", "text"),
    "description": ("description", "text"),
    "observed_on": ("observed_on", "date"),
}


def load_needs(
    db: Session,
    ctx: LoadContext,
    rows: pd.DataFrame,
    service_type_ids: pd.Series,
    progress: Callable[[str], None],
) -> LoadResult:
    """Upsert needs on (city, source_ref); the neighbourhood comes from the location (a point on an area)."""
    _prepare_session(db)
    stage = pd.DataFrame({"source_ref": _text_or_none(rows["source_id"])}, index=rows.index)
    for field, (column, sql_type) in _NEED_FIELDS.items():
        values = service_type_ids if field == "service_type" else rows[field]
        stage[column] = _stage_value(values, sql_type)
    stage["geom"] = geometries_ewkb_hex(rows.geometry.to_numpy())
    progress("locate")
    stage["neighbourhood_id"] = _neighbourhood_ids(db, ctx.city_id, rows.geometry.to_numpy(), rows.index)
    progress("write")
    _create_work_tables(
        db,
        [("source_ref", "text"), *_NEED_FIELDS.values(), ("geom", "geometry"), ("neighbourhood_id", "int")],
    )
    copy_frame(db, STAGE, stage)
    inserted = _match_existing(db, ctx, "need", "t.city_id = :city_id AND t.source_ref = s.source_ref")
    source_from = f"{STAGE} s"
    sets = {
        column: _with_default(column) for field, (column, _t) in _NEED_FIELDS.items() if field in ctx.mapped
    }
    sets |= {"neighbourhood_id": "s.neighbourhood_id"}
    values = {
        "city_id": ":city_id",
        "neighbourhood_id": "s.neighbourhood_id",
        **{column: _with_default(column) for column, _t in _NEED_FIELDS.values()},
        "geom": "s.geom",
        "source_ref": "s.source_ref",
        **_NEW_ITEM,
    }
    new_ids = _insert_new(db, ctx, "needs", "need", values, source_from)
    progress("update")
    _update_changed(
        db,
        ctx,
        Need,
        "needs",
        source_from,
        sets,
        also_set={"geom": "s.geom"},
        compare_old=["ST_AsBinary(t.geom)"],
        compare_new=["ST_AsBinary(s.geom)"],
    )
    updated = _updated_count(db)
    progress("history")
    _record_new(db, ctx, "needs", new_ids)
    _drop_work_tables(db)
    return LoadResult(inserted, updated)
