"""The resources layer's load: upserted on (city, source_ref) through the staging table."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
from sqlalchemy.orm import Session

from app.db.bulk import copy_frame
from app.db.models import Resource
from app.services.imports.load.staging import (
    _NEW_ITEM,
    STAGE,
    LoadContext,
    LoadResult,
    _create_work_tables,
    _drop_work_tables,
    _insert_new,
    _match_existing,
    _prepare_session,
    _record_new,
    _stage_value,
    _text_or_none,
    _update_changed,
    _updated_count,
)

# Layer field -> (table column, staging type). Only mapped fields are updated on re-import.
_RESOURCE_FIELDS: dict[str, tuple[str, str]] = {
    "kind": ("kind", "text"),
    "quantity": ("quantity", "float8"),
    "unit": ("unit", "text"),
    "available_from": ("available_from", "date"),
    "available_until": ("available_until", "date"),
    "description": ("description", "text"),
}


def load_resources(
    db: Session,
    ctx: LoadContext,
    rows: pd.DataFrame,
    asset_ids: pd.Series,
    neighbourhood_ids: pd.Series,
    progress: Callable[[str], None],
) -> LoadResult:
    """Upsert resources on (city, source_ref); owners were resolved from asset_source_id or neighbourhood_code."""
    _prepare_session(db)
    stage = pd.DataFrame({"source_ref": _text_or_none(rows["source_id"])}, index=rows.index)
    for field, (column, sql_type) in _RESOURCE_FIELDS.items():
        stage[column] = _stage_value(rows[field], sql_type)
    stage["asset_id"] = asset_ids.astype("Int64")
    stage["neighbourhood_id"] = neighbourhood_ids.astype("Int64")
    _create_work_tables(
        db,
        [
            ("source_ref", "text"),
            *_RESOURCE_FIELDS.values(),
            ("asset_id", "int"),
            ("neighbourhood_id", "int"),
        ],
    )
    progress("write")
    copy_frame(db, STAGE, stage)
    inserted = _match_existing(db, ctx, "resource", "t.city_id = :city_id AND t.source_ref = s.source_ref")
    source_from = f"{STAGE} s"
    values = {
        "city_id": ":city_id",
        "asset_id": "s.asset_id",
        "neighbourhood_id": "s.neighbourhood_id",
        **{column: f"s.{column}" for column, _t in _RESOURCE_FIELDS.values()},
        "source_ref": "s.source_ref",
        **_NEW_ITEM,
    }
    new_ids = _insert_new(db, ctx, "resources", "resource", values, source_from)
    progress("update")
    sets = {column: f"s.{column}" for field, (column, _t) in _RESOURCE_FIELDS.items() if field in ctx.mapped}
    if {"asset_source_id", "neighbourhood_code"} & ctx.mapped:
        sets |= {"asset_id": "s.asset_id", "neighbourhood_id": "s.neighbourhood_id"}
    if sets:
        _update_changed(db, ctx, Resource, "resources", source_from, sets)
    updated = _updated_count(db)
    progress("history")
    _record_new(db, ctx, "resources", new_ids)
    _drop_work_tables(db)
    return LoadResult(inserted, updated)
