"""Bulk load of checked rows: COPY into a temporary staging table, then one INSERT ... SELECT ... ON CONFLICT.

Everything runs in the caller's transaction and is set-based: neighbourhoods are found from locations in SQL,
service types and parents are linked with joins, and history rows are written with one INSERT ... SELECT.
Identifiers in the SQL come only from the allow-lists in this module; values are bound parameters or COPY data.
"""

from __future__ import annotations

import binascii
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import shapely
from geoalchemy2 import Geometry
from sqlalchemy import text
from sqlalchemy.orm import Session

from app.db.models import Asset, Need, Neighbourhood, Resource

STAGE = "import_stage"
DONE = "import_done"
# COPY data is sent in slices of this many rows, so memory stays flat on large files.
COPY_SLICE_ROWS = 100_000
# An import may take longer than an API query; its own transaction gets this statement timeout.
IMPORT_STATEMENT_TIMEOUT = "30min"
IMPORT_WORK_MEM = "256MB"

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
}
_NEED_FIELDS: dict[str, tuple[str, str]] = {
    "service_type": ("service_type_id", "int"),
    "people_affected": ("people_affected", "int"),
    "severity": ("severity", "int"),
    "source": ("source", "text"),
    "description": ("description", "text"),
    "observed_on": ("observed_on", "date"),
}
_RESOURCE_FIELDS: dict[str, tuple[str, str]] = {
    "kind": ("kind", "text"),
    "quantity": ("quantity", "float8"),
    "unit": ("unit", "text"),
    "available_from": ("available_from", "date"),
    "available_until": ("available_until", "date"),
    "description": ("description", "text"),
}
_NEIGHBOURHOOD_FIELDS: dict[str, tuple[str, str]] = {
    "name": ("name", "text"),
    "level": ("level", "text"),
    "population": ("population", "int"),
}
# Columns that are NOT NULL with a default: an empty value in the file means the default.
_DEFAULTS = {"verified": "false", "sensitive": "false", "severity": "3", "level": "'neighbourhood'"}
POPULATION_PREFIX = "pop_"


@dataclass(frozen=True, slots=True)
class LoadContext:
    """Who and what one load is for."""

    city_id: int
    import_id: int
    user_id: int | None
    source_label: str
    message: str
    mapped: frozenset[str]


@dataclass(frozen=True, slots=True)
class LoadResult:
    """Rows written: inserted, updated (changed), and items of other layers moved to another neighbourhood."""

    inserted: int
    updated: int
    relocated_assets: int = 0
    relocated_needs: int = 0


# ------------------------------------------------------------------------------------------- COPY helpers

_EWKB_POINT = np.dtype(
    {
        "names": ["order", "kind", "srid", "x", "y"],
        "formats": ["u1", "<u4", "<u4", "<f8", "<f8"],
        "offsets": [0, 1, 5, 9, 17],
        "itemsize": 25,
    }
)
_EWKB_POINT_WITH_SRID = 0x20000001


def points_ewkb_hex(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Hex EWKB (SRID 4326) of 2D points from coordinate arrays, built with numpy (no per-point objects)."""
    records = np.zeros(len(x), dtype=_EWKB_POINT)
    records["order"] = 1
    records["kind"] = _EWKB_POINT_WITH_SRID
    records["srid"] = 4326
    records["x"] = x
    records["y"] = y
    hexed = binascii.hexlify(records.tobytes())
    return np.frombuffer(hexed, dtype=f"S{2 * _EWKB_POINT.itemsize}").astype(str).astype(object)


def geometries_ewkb_hex(geometries: np.ndarray) -> np.ndarray:
    """Hex EWKB (SRID 4326) of any geometries; points take the numpy path; missing stays None."""
    kinds = shapely.get_type_id(geometries)
    if len(geometries) and (kinds == 0).all():
        return points_ewkb_hex(shapely.get_x(geometries), shapely.get_y(geometries))
    with_srid = shapely.set_srid(geometries, 4326)
    out = shapely.to_wkb(with_srid, hex=True, include_srid=True)
    return np.asarray(np.where(shapely.is_missing(geometries), None, out), dtype=object)


def int_array_literal(values: Sequence[int]) -> str:
    """A PostgreSQL array literal of integers: {1,5}."""
    return "{" + ",".join(str(int(v)) for v in values) + "}"


# COPY's text format: backslash escapes for these characters, \N for NULL.
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_COPY_NULL = "\\N"
_NEEDS_ESCAPE = re.compile(r"[\\\t\n\r]")


def _copy_field(values: pd.Series) -> list[str]:
    """One column as COPY text fields, converted with numpy; only text that needs escaping is escaped."""
    missing = values.isna().to_numpy(dtype=bool)
    if pd.api.types.is_bool_dtype(values):
        out = np.where(values.to_numpy(dtype=bool, na_value=False), "t", "f").astype(object)
    elif pd.api.types.is_integer_dtype(values):
        out = values.to_numpy(dtype=np.int64, na_value=0).astype(str).astype(object)
    elif pd.api.types.is_float_dtype(values):
        # repr is the shortest text that reads back as the same double (and faster than numpy's astype(str)).
        out = np.array(list(map(repr, values.to_numpy(dtype=float).tolist())), dtype=object)
    else:
        out = values.to_numpy(dtype=object).copy()
        present = out[~missing]
        if pd.api.types.infer_dtype(present, skipna=False) != "string":
            present = np.array([str(v) for v in present], dtype=object)
        # One search over all the text finds whether any value holds a backslash, tab or line break at all.
        if len(present) and _NEEDS_ESCAPE.search("\x00".join(present)):
            present = np.array([v.translate(_COPY_ESCAPES) for v in present], dtype=object)
        out[~missing] = present
    out[missing] = _COPY_NULL
    return out.tolist()


def _copy(db: Session, table: str, frame: pd.DataFrame) -> None:
    """COPY a frame into table (columns by name) in text format on the session's own connection and transaction."""
    driver = db.connection().connection.driver_connection
    columns = ", ".join(frame.columns)
    statement = f"COPY {table} ({columns}) FROM STDIN"
    with driver.cursor() as cursor, cursor.copy(statement) as copy:  # type: ignore[union-attr]
        for start in range(0, len(frame), COPY_SLICE_ROWS):
            part = frame.iloc[start : start + COPY_SLICE_ROWS]
            fields = [_copy_field(part[column]) for column in part.columns]
            copy.write("\n".join(map("\t".join, zip(*fields, strict=True))) + "\n")


def _create_work_tables(db: Session, stage_columns: list[tuple[str, str]], key_type: str = "text") -> None:
    columns = ", ".join(f"{name} {sql_type}" for name, sql_type in stage_columns)
    # Dropped first: several imports may run in one transaction (tests, scripted loads).
    db.execute(text(f"DROP TABLE IF EXISTS {STAGE}, {DONE}"))
    db.execute(text(f"CREATE TEMP TABLE {STAGE} ({columns}) ON COMMIT DROP"))
    db.execute(
        text(
            f"CREATE TEMP TABLE {DONE} (id int PRIMARY KEY, inserted boolean, key {key_type}) ON COMMIT DROP"
        )
    )


def _drop_work_tables(db: Session) -> None:
    db.execute(text(f"DROP TABLE IF EXISTS {STAGE}, {DONE}"))


def _counts(db: Session) -> tuple[int, int]:
    row = db.execute(
        text(f"SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM {DONE}")
    ).one()
    return int(row[0]), int(row[1])


def _text_or_none(values: pd.Series) -> pd.Series:
    return values.astype(object).where(values.notna(), None)


def _dates(values: pd.Series) -> pd.Series:
    return values.map(lambda v: v.isoformat() if v is not None and v is not pd.NaT else None)


def _stage_value(values: pd.Series, sql_type: str) -> pd.Series:
    if sql_type == "date":
        return _dates(values)
    if sql_type == "int":
        return values.astype("Int64")
    if sql_type == "float8":
        return values.astype(float)
    if sql_type == "boolean":
        return values.astype("boolean")
    return _text_or_none(values)


def _prepare_session(db: Session) -> None:
    db.execute(text(f"SET LOCAL statement_timeout = '{IMPORT_STATEMENT_TIMEOUT}'"))
    # Compiling these one-off statements costs more than it saves; the joins over staged rows want memory.
    db.execute(text("SET LOCAL jit = off"))
    db.execute(text(f"SET LOCAL work_mem = '{IMPORT_WORK_MEM}'"))


# ------------------------------------------------------------------------------------------- SQL pieces


def _update_clause(
    alias: str, columns: list[str], extra_sets: list[str], compare_old: list[str], compare_new: list[str]
) -> str:
    sets = [f"{c} = EXCLUDED.{c}" for c in columns] + extra_sets
    sets += [f"version = {alias}.version + 1", "updated_at = now()", "import_id = EXCLUDED.import_id"]
    old = ", ".join([f"{alias}.{c}" for c in columns] + compare_old)
    new = ", ".join([f"EXCLUDED.{c}" for c in columns] + compare_new)
    return f"DO UPDATE SET {', '.join(sets)} WHERE ({old}) IS DISTINCT FROM ({new})"


def _located(expression: str) -> str:
    """The smallest neighbourhood of the city that covers a location (districts contain neighbourhoods)."""
    return (
        "LEFT JOIN LATERAL (SELECT n.id FROM neighbourhood n WHERE n.city_id = :city_id AND "
        f"ST_Covers(n.geom, {expression}) ORDER BY ST_Area(n.geom), n.id LIMIT 1) loc ON true"
    )


_RECORD_HISTORY = """
    INSERT INTO change (kind, item_id, city_id, action, version, after, user_id, import_id, message)
    SELECT :kind, t.id, t.city_id, 'import', t.version, {snapshot}, :user_id, :import_id, :message
    FROM {done} d JOIN {table} t ON t.id = d.id {join}
"""
_CURRENT_SLUGS = (
    "(SELECT coalesce(jsonb_agg(st.slug ORDER BY st.slug), '[]'::jsonb) FROM asset_service_type x "
    "JOIN service_type st ON st.id = x.service_type_id WHERE x.asset_id = t.id)"
)


def _snapshot(model: type[Any], extra: dict[str, str]) -> str:
    """Every column of a row as JSON (geometry as GeoJSON), like history.snapshot, built in SQL.

    Named column by column: to_jsonb(row) looks up PostGIS's json cast for each geometry and is ten times slower.
    """
    pairs = []
    for column in model.__table__.columns:
        value = (
            f"ST_AsGeoJSON(t.{column.name})::jsonb"
            if isinstance(column.type, Geometry)
            else f"t.{column.name}"
        )
        pairs.append(f"'{column.name}', {value}")
    pairs += [f"'{key}', {value}" for key, value in extra.items()]
    return f"jsonb_build_object({', '.join(pairs)})"


def _record_history(
    db: Session,
    ctx: LoadContext,
    model: type[Any],
    kind: str,
    extra: dict[str, str] | None = None,
    join: str = "",
) -> None:
    """One change row (action 'import', with the import id) per inserted or updated item."""
    db.execute(
        text(
            _RECORD_HISTORY.format(
                snapshot=_snapshot(model, extra or {}), done=DONE, table=model.__tablename__, join=join
            )
        ),
        {"kind": kind, "user_id": ctx.user_id, "import_id": ctx.import_id, "message": ctx.message},
    )


def _upsert_recording_history(
    db: Session,
    ctx: LoadContext,
    model: type[Any],
    kind: str,
    upsert: str,
    key_column: str,
    extra: dict[str, str] | None = None,
    join: str = "",
    params: dict[str, Any] | None = None,
) -> None:
    """Run an INSERT ... ON CONFLICT upsert (target alias t) and, in the same statement, note each written row in
    the done table and record its history from the returned row, so the table is not read a second time."""
    db.execute(
        text(
            f"""
            WITH upserted AS (
                {upsert}
                RETURNING t.*, t.xmax = 0 AS inserted_now
            ), done AS (
                INSERT INTO {DONE} (id, inserted, key) SELECT id, inserted_now, {key_column} FROM upserted
            )
            INSERT INTO change (kind, item_id, city_id, action, version, after, user_id, import_id, message)
            SELECT :kind, t.id, t.city_id, 'import', t.version, {_snapshot(model, extra or {})}, :user_id,
                   :import_id, :message
            FROM upserted t {join}
            """
        ),
        {**_bind(ctx), "kind": kind, "message": ctx.message, **(params or {})},
    )


def _bind(ctx: LoadContext) -> dict[str, Any]:
    return {
        "city_id": ctx.city_id,
        "import_id": ctx.import_id,
        "user_id": ctx.user_id,
        "source": ctx.source_label,
    }


# ------------------------------------------------------------------------------------------- layers


def load_assets(
    db: Session,
    ctx: LoadContext,
    rows: pd.DataFrame,
    service_type_ids: pd.Series | None,
    progress: Callable[[str], None],
) -> LoadResult:
    """Upsert assets on (city, source, source_id); blurred location, neighbourhood and service types set-based."""
    _prepare_session(db)
    geometries = rows.geometry.to_numpy()
    stage = pd.DataFrame({"source_id": _text_or_none(rows["source_id"])}, index=rows.index)
    for field, (column, sql_type) in _ASSET_FIELDS.items():
        stage[column] = _stage_value(rows[field], sql_type)
    stage["geom"] = points_ewkb_hex(shapely.get_x(geometries), shapely.get_y(geometries))
    stage["blurred_location"] = points_ewkb_hex(rows["blur_lon"].to_numpy(), rows["blur_lat"].to_numpy())
    link_services = service_type_ids is not None and "service_types" in ctx.mapped
    stage_types = [
        ("source_id", "text"),
        *_ASSET_FIELDS.values(),
        ("geom", "geometry"),
        ("blurred_location", "geometry"),
    ]
    if link_services:
        assert service_type_ids is not None
        stage["service_type_ids"] = service_type_ids.map(int_array_literal)
        stage["service_types"] = rows["service_types"].map(lambda slugs: "{" + ",".join(sorted(slugs)) + "}")
        stage_types += [("service_type_ids", "int[]"), ("service_types", "text[]")]
    _create_work_tables(db, stage_types)
    _copy(db, STAGE, stage)
    progress("upsert")
    if link_services:
        # The change check below looks up each conflicting row's staged service types by key.
        db.execute(text(f"CREATE INDEX ON {STAGE} (source_id)"))
    db.execute(text(f"ANALYZE {STAGE}"))

    updated_columns = [column for field, (column, _t) in _ASSET_FIELDS.items() if field in ctx.mapped]
    updated_columns.append("neighbourhood_id")
    update = _update_clause(
        "t",
        updated_columns,
        ["geom = EXCLUDED.geom", "blurred_location = EXCLUDED.blurred_location"],
        ["ST_AsBinary(t.geom)", "ST_AsBinary(t.blurred_location)"],
        ["ST_AsBinary(EXCLUDED.geom)", "ST_AsBinary(EXCLUDED.blurred_location)"],
    )
    if link_services:
        update += (
            " OR (SELECT coalesce(array_agg(x.service_type_id ORDER BY x.service_type_id), '{}') "
            "FROM asset_service_type x WHERE x.asset_id = t.id) IS DISTINCT FROM "
            f"(SELECT s2.service_type_ids FROM {STAGE} s2 WHERE s2.source_id = EXCLUDED.source_id)"
        )
    columns = [column for column, _t in _ASSET_FIELDS.values()]
    values = [f"coalesce(s.{c}, {_DEFAULTS[c]})" if c in _DEFAULTS else f"s.{c}" for c in columns]
    upsert = f"""
        INSERT INTO asset AS t (city_id, neighbourhood_id, {", ".join(columns)}, geom, blurred_location,
                                source, source_id, status, version, created_by, import_id)
        SELECT :city_id, loc.id, {", ".join(values)}, s.geom, s.blurred_location,
               :source, s.source_id, 'approved', 1, :user_id, :import_id
        FROM {STAGE} s {_located("s.geom")}
        ON CONFLICT (city_id, source, source_id) {update}
    """
    if link_services:
        # The history shows the staged service types: they are what the links become just below.
        _upsert_recording_history(
            db,
            ctx,
            Asset,
            "assets",
            upsert,
            "source_id",
            {"service_types": "to_jsonb(s.service_types)"},
            f"JOIN {STAGE} s ON s.source_id = t.source_id",
        )
        db.execute(
            text(
                f"""
                DELETE FROM asset_service_type x USING {DONE} d, {STAGE} s
                WHERE x.asset_id = d.id AND NOT d.inserted AND s.source_id = d.key
                  AND NOT (x.service_type_id = ANY(s.service_type_ids))
                """
            )
        )
        db.execute(
            text(
                f"""
                INSERT INTO asset_service_type (asset_id, service_type_id)
                SELECT d.id, unnest(s.service_type_ids) FROM {DONE} d JOIN {STAGE} s ON s.source_id = d.key
                ON CONFLICT DO NOTHING
                """
            )
        )
    else:
        # Links stay as they are: none for new assets, the current ones for updated assets.
        slugs = f"CASE WHEN t.inserted_now THEN '[]'::jsonb ELSE {_CURRENT_SLUGS} END"
        _upsert_recording_history(db, ctx, Asset, "assets", upsert, "source_id", {"service_types": slugs})
    inserted, updated = _counts(db)
    _drop_work_tables(db)
    return LoadResult(inserted, updated)


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
    _create_work_tables(db, [("source_ref", "text"), *_NEED_FIELDS.values(), ("geom", "geometry")])
    _copy(db, STAGE, stage)
    progress("upsert")
    db.execute(text(f"ANALYZE {STAGE}"))
    updated_columns = [column for field, (column, _t) in _NEED_FIELDS.items() if field in ctx.mapped]
    updated_columns.append("neighbourhood_id")
    update = _update_clause(
        "t",
        updated_columns,
        ["geom = EXCLUDED.geom"],
        ["ST_AsBinary(t.geom)"],
        ["ST_AsBinary(EXCLUDED.geom)"],
    )
    columns = [column for column, _t in _NEED_FIELDS.values()]
    values = [f"coalesce(s.{c}, {_DEFAULTS[c]})" if c in _DEFAULTS else f"s.{c}" for c in columns]
    upsert = f"""
        INSERT INTO need AS t (city_id, neighbourhood_id, {", ".join(columns)}, geom, source_ref, status,
                               version, created_by, import_id)
        SELECT :city_id, loc.id, {", ".join(values)}, s.geom, s.source_ref, 'approved', 1, :user_id, :import_id
        FROM {STAGE} s {_located("ST_PointOnSurface(s.geom)")}
        ON CONFLICT (city_id, source_ref) {update}
    """
    _upsert_recording_history(db, ctx, Need, "needs", upsert, "source_ref")
    inserted, updated = _counts(db)
    _drop_work_tables(db)
    return LoadResult(inserted, updated)


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
    _copy(db, STAGE, stage)
    progress("upsert")
    updated_columns = [column for field, (column, _t) in _RESOURCE_FIELDS.items() if field in ctx.mapped]
    if {"asset_source_id", "neighbourhood_code"} & ctx.mapped:
        updated_columns += ["asset_id", "neighbourhood_id"]
    update = _update_clause("t", updated_columns, [], [], [])
    columns = [column for column, _t in _RESOURCE_FIELDS.values()]
    upsert = f"""
        INSERT INTO resource AS t (city_id, asset_id, neighbourhood_id, {", ".join(columns)}, source_ref,
                                   status, version, created_by, import_id)
        SELECT :city_id, s.asset_id, s.neighbourhood_id, {", ".join("s." + c for c in columns)},
               s.source_ref, 'approved', 1, :user_id, :import_id
        FROM {STAGE} s
        ON CONFLICT (city_id, source_ref) {update}
    """
    _upsert_recording_history(db, ctx, Resource, "resources", upsert, "source_ref")
    inserted, updated = _counts(db)
    _drop_work_tables(db)
    return LoadResult(inserted, updated)


def _population_json(rows: pd.DataFrame, groups: list[str]) -> pd.Series:
    """Each row's mapped population counts as JSON text (nulls kept, so an emptied count is removed)."""
    table = rows[[POPULATION_PREFIX + g for g in groups]].astype(object)
    table = table.where(table.notna(), None)
    records = table.to_numpy().tolist()
    return pd.Series(
        [
            json.dumps({g: (None if v is None else int(v)) for g, v in zip(groups, r, strict=True)})
            for r in records
        ],
        index=rows.index,
        dtype=object,
    )


def load_neighbourhoods(
    db: Session, ctx: LoadContext, rows: pd.DataFrame, progress: Callable[[str], None]
) -> LoadResult:
    """Upsert neighbourhoods on (city, code), link parents by code, then re-locate the city's assets and needs."""
    _prepare_session(db)
    groups = [
        f.removeprefix(POPULATION_PREFIX) for f in sorted(ctx.mapped) if f.startswith(POPULATION_PREFIX)
    ]
    stage = pd.DataFrame({"code": _text_or_none(rows["code"])}, index=rows.index)
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
        ],
    )
    _copy(db, STAGE, stage)
    progress("upsert")
    db.execute(text(f"ANALYZE {STAGE}"))
    updated_columns = [column for field, (column, _t) in _NEIGHBOURHOOD_FIELDS.items() if field in ctx.mapped]
    extra_sets = ["geom = EXCLUDED.geom"]
    compare_old = ["ST_AsBinary(n.geom)"]
    compare_new = ["ST_AsBinary(EXCLUDED.geom)"]
    if groups:
        # Only the mapped groups are replaced; an empty count in the file removes that group.
        merged = "jsonb_strip_nulls((n.population_by_group - CAST(:groups AS text[])) || EXCLUDED.population_by_group)"
        extra_sets.append(f"population_by_group = {merged}")
        compare_old.append("n.population_by_group")
        compare_new.append(merged)
    update = _update_clause("n", updated_columns, extra_sets, compare_old, compare_new)
    columns = [column for column, _t in _NEIGHBOURHOOD_FIELDS.values()]
    values = [f"coalesce(s.{c}, {_DEFAULTS[c]})" if c in _DEFAULTS else f"s.{c}" for c in columns]
    db.execute(
        text(
            f"""
            WITH upserted AS (
                INSERT INTO neighbourhood AS n (city_id, code, {", ".join(columns)}, population_by_group, geom,
                                                version, import_id)
                SELECT :city_id, s.code, {", ".join(values)},
                       jsonb_strip_nulls(coalesce(s.population_by_group, '{{}}'::jsonb)), s.geom, 1, :import_id
                FROM {STAGE} s
                ON CONFLICT ON CONSTRAINT uq_neighbourhood_city_code {update}
                RETURNING n.id, n.xmax = 0 AS inserted, n.code
            )
            INSERT INTO {DONE} (id, inserted, key) SELECT id, inserted, code FROM upserted
            """
        ),
        {**_bind(ctx), "groups": groups},
    )
    if "parent_code" in ctx.mapped:
        _link_parents(db, ctx)
    inserted, updated = _counts(db)
    relocated_assets = relocated_needs = 0
    if inserted or updated:
        relocated_assets, relocated_needs = _relocate(db, ctx.city_id)
    _record_history(db, ctx, Neighbourhood, "neighbourhoods")
    _drop_work_tables(db)
    return LoadResult(inserted, updated, relocated_assets, relocated_needs)


def _link_parents(db: Session, ctx: LoadContext) -> None:
    """Parents by code, once every row of the file exists; a row changed only in its parent counts as updated."""
    db.execute(
        text(
            f"""
            WITH changed AS (
                UPDATE neighbourhood n
                SET parent_id = p.id, updated_at = now(), import_id = :import_id,
                    version = n.version + CASE WHEN d.id IS NULL THEN 1 ELSE 0 END
                FROM {STAGE} s
                LEFT JOIN neighbourhood p ON p.city_id = :city_id AND p.code = s.parent_code
                LEFT JOIN {DONE} d ON d.key = s.code
                WHERE n.city_id = :city_id AND n.code = s.code AND n.parent_id IS DISTINCT FROM p.id
                RETURNING n.id, n.code, d.id IS NULL AS untouched
            )
            INSERT INTO {DONE} (id, inserted, key) SELECT id, false, code FROM changed WHERE untouched
            """
        ),
        _bind(ctx),
    )


def _relocate(db: Session, city_id: int) -> tuple[int, int]:
    """Boundaries changed: give the city's assets and needs the neighbourhood their location now falls in."""
    moved = []
    for table, where in (("asset", "a.geom"), ("need", "ST_PointOnSurface(a.geom)")):
        result = db.execute(
            text(
                f"""
                WITH located AS (
                    SELECT a.id, (SELECT n.id FROM neighbourhood n WHERE n.city_id = a.city_id
                                  AND ST_Covers(n.geom, {where}) ORDER BY ST_Area(n.geom), n.id LIMIT 1) AS nid
                    FROM {table} a WHERE a.city_id = :city_id
                )
                UPDATE {table} t SET neighbourhood_id = l.nid FROM located l
                WHERE t.id = l.id AND t.neighbourhood_id IS DISTINCT FROM l.nid
                """
            ),
            {"city_id": city_id},
        )
        moved.append(int(result.rowcount or 0))  # type: ignore[attr-defined]
    return moved[0], moved[1]
