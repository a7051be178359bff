"""The assets layer's load: new assets by COPY straight into the table, changed ones by one UPDATE, and their
service types."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pandas as pd
import shapely
from sqlalchemy import text
from sqlalchemy.orm import Session

from app.db.bulk import COPY_SLICE_ROWS, copy_frame, copy_slices, int_array_literal, sorted_text_array_literal
from app.db.models import Asset
from app.services.imports.load.binary_copy import copy_binary
from app.services.imports.load.staging import (
    _DEFAULTS,
    STAGE,
    UPDATED,
    LoadContext,
    LoadResult,
    _bind,
    _create_work_tables,
    _drop_work_tables,
    _multirange,
    _nullable_ids,
    _prepare_session,
    _prepared_areas,
    _record_new,
    _stage_value,
    _take_ids,
    _take_turn,
    _text_or_none,
    _update_changed,
    _updated_count,
    _with_default,
)
from geo.io.wkb import points_ewkb_hex
from geo.locate import anchor_points, smallest_covering
from geo.privacy import blur_points

# Layer field -> (table column, staging type). Only mapped fields are updated on re-import.
_ASSET_FIELDS: dict[str, tuple[str, str]] = {
    "category": ("category", "text"),
    "name": ("name", "text"),
    "description": ("description", "text"),
    "capacity": ("capacity", "float8"),
    "capacity_unit": ("capacity_unit", "text"),
    "ownership": ("ownership", "text"),
    "contact": ("contact", "text"),
    "opening_hours": ("opening_hours", "text"),
    "verified": ("verified", "boolean"),
    "sensitive": ("sensitive", "boolean"),
    "kind": ("kind", "text"),
}

_BINARY_KINDS = {"text": "text", "float8": "float8", "boolean": "bool", "int": "int4"}
# The columns of a new asset's row, in COPY order, with their binary kinds (the constant ones come with the call).
_NEW_COLUMNS = [
    ("id", "int4"),
    ("neighbourhood_id", "int4"),
    *((column, _BINARY_KINDS[sql_type]) for column, sql_type in _ASSET_FIELDS.values()),
    ("geom", "point"),
    ("blurred_location", "point"),
    ("source_id", "text"),
]

_CURRENT_SLUGS = (
    "(SELECT coalesce(jsonb_agg(st.slug ORDER BY st.slug), '[]'::jsonb) FROM asset_service_type x "
    "JOIN service_type st ON st.id = x.service_type_id WHERE x.asset_id = t.id)"
)


def load_assets(
    db: Session,
    ctx: LoadContext,
    rows: pd.DataFrame,
    service_type_ids: pd.Series | None,
    progress: Callable[[str], None],
    *,
    blur_resolution: int,
) -> LoadResult:
    """Upsert assets on (city, source, source_id): new ones by COPY into the table, changed ones by one UPDATE.

    Every asset gets its blurred location: the centre of its H3 cell at `blur_resolution`.
    """
    _prepare_session(db)
    progress("locate")
    # The city's areas are read and prepared here; each slice of rows is looked up in them while the server
    # stores the slice before (the lookup is a few percent of the write).
    areas = _prepared_areas(db, ctx.city_id)
    progress("write")
    _take_turn(db, ctx, "asset")
    keys = _text_or_none(rows["source_id"])
    existing = _existing_asset_ids(db, ctx, keys)
    new = existing.isna().to_numpy()
    link_services = service_type_ids is not None and "service_types" in ctx.mapped
    new_ids = _take_ids(db, "asset", int(new.sum()))
    copy_binary(
        db,
        "asset",
        _NEW_COLUMNS,
        _new_asset_slices(rows[new], new_ids, areas, keys[new], blur_resolution),
        {
            "city_id": ("int4", ctx.city_id),
            "source": ("text", ctx.source_label),
            "status": ("text", "approved"),
            "version": ("int4", 1),
            "created_by": ("int4", ctx.user_id),
            "import_id": ("int4", ctx.import_id),
        },
    )
    if link_services and len(new_ids):
        assert service_type_ids is not None
        _copy_links(db, new_ids, service_type_ids[new])
    progress("update")
    updated = 0
    if not new.all():
        updated = _update_assets(
            db, ctx, rows[~new], existing[~new], areas, keys[~new], service_type_ids, blur_resolution
        )
    progress("history")
    _record_new(db, ctx, "assets", _multirange(new_ids))
    return LoadResult(len(new_ids), updated)


def _existing_asset_ids(db: Session, ctx: LoadContext, keys: pd.Series) -> pd.Series:
    """The id of the existing asset each row names by (city, source, source_id); missing for new ones."""
    found = db.execute(
        text("SELECT source_id, id FROM asset WHERE city_id = :city_id AND source = :source"), _bind(ctx)
    ).all()
    if not found:
        return pd.Series(pd.array([pd.NA] * len(keys), dtype="Int64"), index=keys.index)
    ids: dict[str, int] = {str(key): int(value) for key, value in found}
    return pd.Series(pd.array(keys.map(ids).to_numpy(), dtype="Int64"), index=keys.index)


def _new_asset_slices(
    rows: pd.DataFrame,
    ids: np.ndarray,
    areas: tuple[np.ndarray, np.ndarray],
    keys: pd.Series,
    blur_resolution: int,
) -> Iterator[tuple[dict[str, Any], int]]:
    """New assets as binary COPY columns, one slice at a time (each encoded while the last one is stored)."""
    for start in range(0, len(rows), COPY_SLICE_ROWS):
        part = rows.iloc[start : start + COPY_SLICE_ROWS]
        geometries = part.geometry.to_numpy()
        values: dict[str, Any] = {"id": ids[start : start + COPY_SLICE_ROWS]}
        values["neighbourhood_id"] = _nullable_ids(smallest_covering(anchor_points(geometries), *areas))
        for field, (column, sql_type) in _ASSET_FIELDS.items():
            if sql_type == "boolean":
                # verified and sensitive: an empty value in the file means false, as the column default says.
                values[column] = part[field].astype("boolean").fillna(_DEFAULTS[column] == "true")
            else:
                values[column] = part[field]
        lon, lat = shapely.get_x(geometries), shapely.get_y(geometries)
        values["geom"] = (lon, lat)
        values["blurred_location"] = blur_points(lon, lat, blur_resolution)
        values["source_id"] = keys.iloc[start : start + COPY_SLICE_ROWS]
        yield values, len(part)


def _asset_slices(
    rows: pd.DataFrame,
    ids: np.ndarray,
    areas: tuple[np.ndarray, np.ndarray],
    keys: pd.Series,
    blur_resolution: int,
    *,
    defaults: bool,
    id_column: str = "id",
) -> Iterator[pd.DataFrame]:
    """The rows as COPY-ready columns, one slice at a time (so each is formatted while the last one is stored)."""
    for start in range(0, len(rows), COPY_SLICE_ROWS):
        part = rows.iloc[start : start + COPY_SLICE_ROWS]
        geometries = part.geometry.to_numpy()
        out = pd.DataFrame({id_column: ids[start : start + COPY_SLICE_ROWS]}, index=part.index)
        found = smallest_covering(anchor_points(geometries), *areas)
        out["neighbourhood_id"] = pd.Series(_nullable_ids(found), index=part.index)
        for field, (column, sql_type) in _ASSET_FIELDS.items():
            values = _stage_value(part[field], sql_type)
            if defaults and column in _DEFAULTS:
                # verified and sensitive: an empty value in the file means false, as the column default says.
                values = values.fillna(_DEFAULTS[column] == "true")
            out[column] = values
        lon, lat = shapely.get_x(geometries), shapely.get_y(geometries)
        out["geom"] = points_ewkb_hex(lon, lat)
        out["blurred_location"] = points_ewkb_hex(*blur_points(lon, lat, blur_resolution))
        out["source_id"] = keys.iloc[start : start + COPY_SLICE_ROWS]
        yield out


def _copy_links(db: Session, asset_ids: np.ndarray, service_type_ids: pd.Series) -> None:
    """Link new assets to their service types: one COPY of (asset, service type) pairs."""
    lists = service_type_ids.to_numpy()
    counts = np.fromiter((len(v) for v in lists), dtype=np.int64, count=len(lists))
    if not counts.sum():
        return
    pairs = pd.DataFrame(
        {
            "asset_id": np.repeat(asset_ids, counts),
            "service_type_id": np.concatenate([np.asarray(v, dtype=np.int64) for v in lists if len(v)]),
        }
    ).drop_duplicates()
    copy_frame(db, "asset_service_type", pairs)


def _update_assets(
    db: Session,
    ctx: LoadContext,
    rows: pd.DataFrame,
    item_ids: pd.Series,
    areas: tuple[np.ndarray, np.ndarray],
    keys: pd.Series,
    service_type_ids: pd.Series | None,
    blur_resolution: int,
) -> int:
    """Stage the rows that name existing assets, update the changed ones (with a history row each) and their
    service types; return how many changed."""
    link_services = service_type_ids is not None and "service_types" in ctx.mapped
    stage_types = [
        ("neighbourhood_id", "int"),
        *_ASSET_FIELDS.values(),
        ("geom", "geometry"),
        ("blurred_location", "geometry"),
        ("source_id", "text"),
    ]
    if link_services:
        stage_types += [("service_type_ids", "int[]"), ("service_types", "text[]")]
    _create_work_tables(db, stage_types)
    slices = _asset_slices(
        rows,
        item_ids.to_numpy(dtype=np.int64),
        areas,
        keys,
        blur_resolution,
        defaults=False,
        id_column="item_id",
    )
    if link_services:
        assert service_type_ids is not None
        slices = _with_links(slices, service_type_ids.loc[rows.index], rows["service_types"])
    copy_slices(db, STAGE, ["item_id", *(name for name, _t in stage_types)], slices)
    db.execute(text(f"ANALYZE {STAGE}"))
    source_from = f"{STAGE} s"
    sets = {
        column: _with_default(column) for field, (column, _t) in _ASSET_FIELDS.items() if field in ctx.mapped
    }
    sets["neighbourhood_id"] = "s.neighbourhood_id"
    compare_old = ["ST_AsBinary(t.geom)", "ST_AsBinary(t.blurred_location)"]
    compare_new = ["ST_AsBinary(s.geom)", "ST_AsBinary(s.blurred_location)"]
    if link_services:
        compare_old.append(
            "(SELECT coalesce(array_agg(x.service_type_id ORDER BY x.service_type_id), '{}') "
            "FROM asset_service_type x WHERE x.asset_id = t.id)"
        )
        compare_new.append("s.service_type_ids")
    _update_changed(
        db,
        ctx,
        Asset,
        "assets",
        source_from,
        sets,
        also_set={"geom": "s.geom", "blurred_location": "s.blurred_location"},
        compare_old=compare_old,
        compare_new=compare_new,
        history_extra={"service_types": _CURRENT_SLUGS},
        # The history shows the staged service types: they are what the links become just below.
        after_extra={"service_types": "to_jsonb(s.service_types)"} if link_services else None,
        after_join=f"JOIN {STAGE} s ON s.item_id = t.id" if link_services else "",
    )
    updated = _updated_count(db)
    if link_services:
        db.execute(
            text(
                f"""
                DELETE FROM asset_service_type x USING {UPDATED} d, {STAGE} s
                WHERE x.asset_id = d.id AND s.item_id = d.id AND NOT (x.service_type_id = ANY(s.service_type_ids))
                """
            )
        )
        db.execute(
            text(
                f"""
                INSERT INTO asset_service_type (asset_id, service_type_id)
                SELECT s.item_id, unnest(s.service_type_ids) FROM {STAGE} s JOIN {UPDATED} d ON d.id = s.item_id
                ON CONFLICT DO NOTHING
                """
            )
        )
    _drop_work_tables(db)
    return updated


def _with_links(
    slices: Iterator[pd.DataFrame], service_type_ids: pd.Series, slugs: pd.Series
) -> Iterator[pd.DataFrame]:
    for part in slices:
        part["service_type_ids"] = service_type_ids.loc[part.index].map(int_array_literal)
        part["service_types"] = slugs.loc[part.index].map(sorted_text_array_literal)
        yield part


def load_assets_streamed(
    db: Session,
    ctx: LoadContext,
    keys: pd.Series,
    parts: Iterator[tuple[pd.DataFrame, pd.Series | None]],
    progress: Callable[[str], None],
    *,
    blur_resolution: int,
) -> LoadResult:
    """load_assets for rows that arrive slice by slice, each checked while the server stores the one before.

    keys: every row's key, in file order (the slices' rows follow it); parts: each slice's checked rows with their
    service type ids (None when service types are not mapped). The caller's iterator may raise to abandon the
    COPY; the rows naming existing items are updated after it.
    """
    _prepare_session(db)
    progress("locate")
    areas = _prepared_areas(db, ctx.city_id)
    progress("write")
    _take_turn(db, ctx, "asset")
    keys = _text_or_none(keys)
    existing = _existing_asset_ids(db, ctx, keys)
    new = existing.isna().to_numpy()
    new_ids = _take_ids(db, "asset", int(new.sum()))
    old_rows: list[pd.DataFrame] = []
    old_types: list[pd.Series] = []
    new_types: list[pd.Series] = []

    def slices() -> Iterator[tuple[dict[str, Any], int]]:
        start = taken = 0
        for rows, type_ids in parts:
            stop = start + len(rows)
            fresh = new[start:stop]
            part = rows if fresh.all() else rows[fresh]
            if not fresh.all():
                old_rows.append(rows[~fresh])
                if type_ids is not None:
                    old_types.append(type_ids[~fresh])
            if type_ids is not None:
                new_types.append(type_ids[fresh])
            part_keys = keys.iloc[start:stop][fresh]
            yield from _new_asset_slices(
                part, new_ids[taken : taken + len(part)], areas, part_keys, blur_resolution
            )
            start, taken = stop, taken + len(part)
        if start != len(keys):
            raise ValueError(f"the slices held {start:,} rows, the keys {len(keys):,}")

    copy_binary(
        db,
        "asset",
        _NEW_COLUMNS,
        slices(),
        {
            "city_id": ("int4", ctx.city_id),
            "source": ("text", ctx.source_label),
            "status": ("text", "approved"),
            "version": ("int4", 1),
            "created_by": ("int4", ctx.user_id),
            "import_id": ("int4", ctx.import_id),
        },
    )
    link_services = bool(new_types) and "service_types" in ctx.mapped
    if link_services and len(new_ids):
        _copy_links(db, new_ids, pd.concat(new_types))
    progress("update")
    updated = 0
    if old_rows:
        service_type_ids = pd.concat(old_types) if old_types and link_services else None
        updated = _update_assets(
            db, ctx, pd.concat(old_rows), existing[~new], areas, keys[~new], service_type_ids, blur_resolution
        )
    progress("history")
    _record_new(db, ctx, "assets", _multirange(new_ids))
    return LoadResult(len(new_ids), updated)
