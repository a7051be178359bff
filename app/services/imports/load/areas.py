"""The neighbourhoods layer's load, the re-location of assets and needs after new boundaries, and the table
join's update of existing areas' fields."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pandas as pd
import shapely
from sqlalchemy import text
from sqlalchemy.orm import Session

from app.db.bulk import copy_frame
from app.db.models import Neighbourhood
from app.services.imports.load.binary_copy import copy_binary
from app.services.imports.load.staging import (
    STAGE,
    LoadContext,
    LoadResult,
    _bind,
    _city_areas,
    _create_work_tables,
    _drop_work_tables,
    _match_existing,
    _multirange,
    _nullable_ids,
    _prepare_session,
    _record_new,
    _stage_value,
    _take_ids,
    _take_turn,
    _text_or_none,
    _update_changed,
    _updated_count,
    _with_default,
)
from geo.io.wkb import geometries_ewkb, geometries_ewkb_hex
from geo.locate import NO_AREA, anchor_points, smallest_covering

# Areas are sent in smaller slices than points: each holds many more coordinates.
AREA_SLICE_ROWS = 10_000

# The binary COPY kind of each column of a new area's row.
_BINARY_KINDS = {
    "id": "int4",
    "code": "text",
    "name": "text",
    "level": "text",
    "population": "int4",
    "parent_id": "int4",
    "population_by_group": "jsonb",
}

# Layer field -> (table column, staging type). Only mapped fields are updated on re-import.
_NEIGHBOURHOOD_FIELDS: dict[str, tuple[str, str]] = {
    "name": ("name", "text"),
    "level": ("level", "text"),
    "population": ("population", "int"),
}
POPULATION_PREFIX = "pop_"
# The columns of a new area's row, in COPY order (the geometry follows).
_NEW_AREA_COLUMNS = ("id", "code", "name", "level", "population", "parent_id", "population_by_group")


def _population_json(rows: pd.DataFrame, groups: list[str], *, keep_nulls: bool = True) -> pd.Series:
    """Each row's mapped population counts as JSON text; nulls kept (so an emptied count is removed on update)
    unless keep_nulls is false (new rows store only the counts they have)."""
    table = rows[[POPULATION_PREFIX + g for g in groups]].astype(object)
    table = table.where(table.notna(), None)
    records = table.to_numpy().tolist()
    return pd.Series(
        [
            json.dumps(
                {
                    g: (None if v is None else int(v))
                    for g, v in zip(groups, r, strict=True)
                    if keep_nulls or v is not None
                }
            )
            for r in records
        ],
        index=rows.index,
        dtype=object,
    )


def load_neighbourhoods(
    db: Session, ctx: LoadContext, rows: pd.DataFrame, progress: Callable[[str], None]
) -> LoadResult:
    """Upsert neighbourhoods on (city, code), link parents by code, then re-locate the city's assets and needs.

    New areas are written by COPY straight into the table (parents found by code among the city's areas and the
    file's, so they are stored with the row); areas the city has already go through the staging table.
    """
    _prepare_session(db)
    groups = [
        f.removeprefix(POPULATION_PREFIX) for f in sorted(ctx.mapped) if f.startswith(POPULATION_PREFIX)
    ]
    progress("write")
    _take_turn(db, ctx, "neighbourhood")
    codes = _text_or_none(rows["code"])
    known: dict[str, int] = {
        str(code): int(i)
        for code, i in db.execute(
            text("SELECT code, id FROM neighbourhood WHERE city_id = :city_id"), _bind(ctx)
        ).all()
    }
    existing = pd.Series(pd.array(codes.map(known).to_numpy(), dtype="Int64"), index=rows.index)
    new = existing.isna().to_numpy()
    new_ids = _take_ids(db, "neighbourhood", int(new.sum()))
    parents = _text_or_none(rows["parent_code"])
    if "parent_code" in ctx.mapped:
        by_code = {**known, **dict(zip(codes[new].tolist(), new_ids.tolist(), strict=True))}
        parent_ids = pd.Series(pd.array(parents.map(by_code).to_numpy(), dtype="Int64"), index=rows.index)
    else:
        parent_ids = pd.Series(pd.array([pd.NA] * len(rows), dtype="Int64"), index=rows.index)
    fresh = rows[new]
    out = _new_areas(fresh, new_ids, codes[new], parent_ids[new], groups)
    copy_binary(
        db,
        "neighbourhood",
        _new_area_columns(out),
        _with_geometry(out, fresh.geometry.to_numpy()),
        {"city_id": ("int4", ctx.city_id), "version": ("int4", 1), "import_id": ("int4", ctx.import_id)},
    )
    progress("update")
    updated = 0
    if not new.all():
        updated = _update_neighbourhoods(db, ctx, rows[~new], existing[~new], groups)
    return _after_new_areas(db, ctx, new_ids, updated, progress)


def load_neighbourhoods_streamed(
    db: Session,
    ctx: LoadContext,
    keys: pd.Series,
    parts: Iterator[tuple[pd.DataFrame, Any]],
    progress: Callable[[str], None],
) -> LoadResult:
    """load_neighbourhoods for rows that arrive slice by slice (parent codes not mapped), each checked while the
    server stores the one before. keys: every row's code, in file order; the caller's iterator may raise to abandon
    the COPY. Areas the city has are updated after it."""
    _prepare_session(db)
    groups = [
        f.removeprefix(POPULATION_PREFIX) for f in sorted(ctx.mapped) if f.startswith(POPULATION_PREFIX)
    ]
    progress("write")
    _take_turn(db, ctx, "neighbourhood")
    codes = _text_or_none(keys)
    known: dict[str, int] = {
        str(code): int(i)
        for code, i in db.execute(
            text("SELECT code, id FROM neighbourhood WHERE city_id = :city_id"), _bind(ctx)
        ).all()
    }
    existing = pd.Series(pd.array(codes.map(known).to_numpy(), dtype="Int64"), index=codes.index)
    new = existing.isna().to_numpy()
    new_ids = _take_ids(db, "neighbourhood", int(new.sum()))
    old_rows: list[pd.DataFrame] = []
    columns = [*((c, _BINARY_KINDS[c]) for c in _NEW_AREA_COLUMNS), ("geom", "ewkb")]

    def slices() -> Iterator[tuple[dict[str, Any], int]]:
        start = taken = 0
        for rows, _extras in parts:
            stop = start + len(rows)
            fresh_rows = new[start:stop]
            fresh = rows if fresh_rows.all() else rows[fresh_rows]
            if not fresh_rows.all():
                old_rows.append(rows[~fresh_rows])
            no_parents = pd.Series(pd.array([pd.NA] * len(fresh), dtype="Int64"), index=fresh.index)
            ids = new_ids[taken : taken + len(fresh)]
            out = _new_areas(fresh, ids, codes.iloc[start:stop][fresh_rows], no_parents, groups)
            yield from _with_geometry(out, fresh.geometry.to_numpy())
            start, taken = stop, taken + len(fresh)
        if start != len(codes):
            raise ValueError(f"the slices held {start:,} rows, the codes {len(codes):,}")

    copy_binary(
        db,
        "neighbourhood",
        columns,
        slices(),
        {"city_id": ("int4", ctx.city_id), "version": ("int4", 1), "import_id": ("int4", ctx.import_id)},
    )
    progress("update")
    updated = 0
    if old_rows:
        updated = _update_neighbourhoods(db, ctx, pd.concat(old_rows), existing[~new], groups)
    return _after_new_areas(db, ctx, new_ids, updated, progress)


def _new_areas(
    fresh: pd.DataFrame, ids: np.ndarray, codes: pd.Series, parent_ids: pd.Series, groups: list[str]
) -> pd.DataFrame:
    """New areas' rows as COPY columns (in the order of _NEW_AREA_COLUMNS), without their geometries."""
    out = pd.DataFrame({"id": ids, "code": codes}, index=fresh.index)
    for field, (column, sql_type) in _NEIGHBOURHOOD_FIELDS.items():
        out[column] = _stage_value(fresh[field], sql_type)
    out["level"] = out["level"].fillna("neighbourhood")  # the column default, as for an empty value
    out["parent_id"] = parent_ids
    out["population_by_group"] = _population_json(fresh, groups, keep_nulls=False) if groups else "{}"
    return out


def _new_area_columns(out: pd.DataFrame) -> list[tuple[str, str]]:
    return [*((c, _BINARY_KINDS[c]) for c in out.columns), ("geom", "ewkb")]


def _after_new_areas(
    db: Session, ctx: LoadContext, new_ids: np.ndarray, updated: int, progress: Callable[[str], None]
) -> LoadResult:
    """The history row of the new areas, then the city's items re-located in the new boundaries."""
    progress("history")
    _record_new(db, ctx, "neighbourhoods", _multirange(new_ids))
    relocated_assets = relocated_needs = 0
    if len(new_ids) or updated:
        progress("relocate")
        moved = relocate_items(db, ctx.city_id)
        relocated_assets, relocated_needs = len(moved["assets"]), len(moved["needs"])
    return LoadResult(len(new_ids), updated, relocated_assets, relocated_needs)


def _with_geometry(frame: pd.DataFrame, geometries: np.ndarray) -> Iterator[tuple[dict[str, Any], int]]:
    """Slices of frame with their geometries as EWKB, each encoded while the slice before is stored."""
    for start in range(0, len(frame), AREA_SLICE_ROWS):
        stop = start + AREA_SLICE_ROWS
        part = frame.iloc[start:stop]
        values: dict[str, Any] = {column: part[column] for column in part.columns}
        values["geom"] = geometries_ewkb(geometries[start:stop])
        yield values, len(part)


def _update_neighbourhoods(
    db: Session, ctx: LoadContext, rows: pd.DataFrame, item_ids: pd.Series, groups: list[str]
) -> int:
    """Stage the rows that name areas the city has, update the changed ones (a history row each); return how many."""
    stage = pd.DataFrame({"item_id": item_ids, "code": _text_or_none(rows["code"])}, index=rows.index)
    for field, (column, sql_type) in _NEIGHBOURHOOD_FIELDS.items():
        stage[column] = _stage_value(rows[field], sql_type)
    stage["parent_code"] = _text_or_none(rows["parent_code"])
    stage["population_by_group"] = _population_json(rows, groups) if groups else None
    stage["geom"] = geometries_ewkb_hex(rows.geometry.to_numpy())
    _create_work_tables(
        db,
        [
            ("code", "text"),
            *_NEIGHBOURHOOD_FIELDS.values(),
            ("parent_code", "text"),
            ("population_by_group", "jsonb"),
            ("geom", "geometry"),
            ("parent_id", "int"),
        ],
    )
    copy_frame(db, STAGE, stage)
    db.execute(text(f"ANALYZE {STAGE}"))
    sets = {
        column: _with_default(column)
        for field, (column, _t) in _NEIGHBOURHOOD_FIELDS.items()
        if field in ctx.mapped
    }
    if groups:
        # Only the mapped groups are replaced; an empty count in the file removes that group.
        sets["population_by_group"] = (
            "jsonb_strip_nulls((t.population_by_group - CAST(:groups AS text[])) || s.population_by_group)"
        )
    if "parent_code" in ctx.mapped:
        # Every code of the file exists now (new areas were written first), so parents are found by code.
        db.execute(
            text(
                f"UPDATE {STAGE} s SET parent_id = p.id FROM neighbourhood p "
                "WHERE p.city_id = :city_id AND p.code = s.parent_code"
            ),
            _bind(ctx),
        )
        sets["parent_id"] = "s.parent_id"
    _update_changed(
        db,
        ctx,
        Neighbourhood,
        "neighbourhoods",
        f"{STAGE} s",
        sets,
        also_set={"geom": "s.geom"},
        compare_old=["ST_AsBinary(t.geom)"],
        compare_new=["ST_AsBinary(s.geom)"],
        params={"groups": groups},
    )
    updated = _updated_count(db)
    _drop_work_tables(db)
    return updated


def relocate_items(db: Session, city_id: int) -> dict[str, list[tuple[int, int | None]]]:
    """Boundaries changed: give the city's assets and needs the neighbourhood their location now falls in; returns,
    for "assets" and "needs", the (id, former neighbourhood id) of each item that moved."""
    moved: dict[str, list[tuple[int, int | None]]] = {"assets": [], "needs": []}
    has_items = db.scalar(
        text(
            "SELECT EXISTS (SELECT 1 FROM asset WHERE city_id = :c) OR EXISTS (SELECT 1 FROM need WHERE city_id = :c)"
        ),
        {"c": city_id},
    )
    if not has_items:
        return moved  # a new city's first boundaries: nothing to re-locate, so the areas are not read back
    areas, ids = _city_areas(db, city_id)
    for kind, table in (("assets", "asset"), ("needs", "need")):
        items = db.execute(
            text(f"SELECT id, neighbourhood_id, ST_AsBinary(geom) FROM {table} WHERE city_id = :c"),
            {"c": city_id},
        ).all()
        item_ids = np.array([row[0] for row in items], dtype=np.int64)
        current = np.array([NO_AREA if row[1] is None else row[1] for row in items], dtype=np.int64)
        found = smallest_covering(
            anchor_points(shapely.from_wkb([bytes(row[2]) for row in items])), areas, ids
        )
        changed = np.flatnonzero(found != current)
        moved[kind] = [
            (int(item_ids[i]), None if current[i] == NO_AREA else int(current[i])) for i in changed
        ]
        if not len(changed):
            continue
        db.execute(text("CREATE TEMP TABLE import_relocated (id int, nid int) ON COMMIT DROP"))
        copy_frame(
            db,
            "import_relocated",
            pd.DataFrame({"id": item_ids[changed], "nid": _nullable_ids(found[changed])}),
        )
        db.execute(
            text(f"UPDATE {table} t SET neighbourhood_id = r.nid FROM import_relocated r WHERE t.id = r.id")
        )
        db.execute(text("DROP TABLE import_relocated"))
    return moved


def update_neighbourhood_fields(db: Session, ctx: LoadContext, rows: pd.DataFrame) -> LoadResult:
    """Update the mapped fields of existing neighbourhoods matched on (city, code): a table join.

    Creates and deletes nothing and leaves geometry alone; changed rows get their history like any import's.
    """
    _prepare_session(db)
    groups = [
        f.removeprefix(POPULATION_PREFIX) for f in sorted(ctx.mapped) if f.startswith(POPULATION_PREFIX)
    ]
    stage = pd.DataFrame({"code": _text_or_none(rows["code"])}, index=rows.index)
    fields = {f: spec for f, spec in _NEIGHBOURHOOD_FIELDS.items() if f in ctx.mapped}
    for field, (column, sql_type) in fields.items():
        stage[column] = _stage_value(rows[field], sql_type)
    stage["population_by_group"] = _population_json(rows, groups) if groups else None
    parents = "parent_code" in ctx.mapped
    extra_columns = [("parent_code", "text"), ("parent_id", "int")] if parents else []
    if parents:
        stage["parent_code"] = _text_or_none(rows["parent_code"])
        stage["parent_id"] = None
    _create_work_tables(
        db, [("code", "text"), *fields.values(), ("population_by_group", "jsonb"), *extra_columns]
    )
    copy_frame(db, STAGE, stage)
    _match_existing(db, ctx, "neighbourhood", "t.city_id = :city_id AND t.code = s.code")
    sets = {column: _with_default(column) for column, _t in fields.values()}
    if groups:
        sets["population_by_group"] = (
            "jsonb_strip_nulls((t.population_by_group - CAST(:groups AS text[])) || s.population_by_group)"
        )
    if parents:
        # The join checked that every parent is a neighbourhood of the city.
        db.execute(
            text(
                f"UPDATE {STAGE} s SET parent_id = p.id FROM neighbourhood p "
                "WHERE p.city_id = :city_id AND p.code = s.parent_code"
            ),
            _bind(ctx),
        )
        sets["parent_id"] = "s.parent_id"
    _update_changed(db, ctx, Neighbourhood, "neighbourhoods", f"{STAGE} s", sets, params={"groups": groups})
    updated = _updated_count(db)
    _drop_work_tables(db)
    return LoadResult(0, updated)
