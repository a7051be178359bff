"""Bulk load of checked rows, set-based, in the caller's transaction.

Rows are matched to existing items by natural key. New assets are written by COPY straight into the live table
(ids taken from its sequence first, so their service types and history need no lookup); other layers' new rows and
every row naming an existing item go through a temporary staging table, then one INSERT ... SELECT and one UPDATE.
Changed items get a history row each (before and after), new ones one history row naming them all. Each row's
neighbourhood is found from its location before writing (geo.locate: one query over the city's areas, not a search
per row). Progress stages: locate, write, update, history (and relocate after new boundaries).
Identifiers in the SQL come only from the allow-lists in this module; values are bound parameters or COPY data.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import shapely
from geoalchemy2 import Geometry
from sqlalchemy import text
from sqlalchemy.orm import Session

from app.db.bulk import COPY_SLICE_ROWS as COPY_SLICE_ROWS  # still importable from here, where it was defined
from app.db.bulk import copy_frame, copy_slices, int_array_literal, sorted_text_array_literal
from app.db.models import Asset, Need, Neighbourhood, Resource
from geo.io.wkb import geometries_ewkb_hex, points_ewkb_hex
from geo.locate import NO_AREA, anchor_points, smallest_covering

STAGE = "import_stage"
UPDATED = "import_updated"  # the ids of the existing items this import changed
# An import may take longer than an API query; its own transaction gets this statement timeout.
IMPORT_STATEMENT_TIMEOUT = "30min"
IMPORT_WORK_MEM = "256MB"
# Areas are sent in smaller slices than points: each holds many more coordinates.
AREA_SLICE_ROWS = 10_000

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


def _create_work_tables(db: Session, stage_columns: list[tuple[str, str]]) -> None:
    columns = ", ".join(f"{name} {sql_type}" for name, sql_type in stage_columns)
    # Dropped first: several imports may run in one transaction (tests, scripted loads).
    db.execute(text(f"DROP TABLE IF EXISTS {STAGE}, {UPDATED}"))
    # item_id: the existing item a staged row names (by natural key), filled in by _match_existing.
    db.execute(text(f"CREATE TEMP TABLE {STAGE} ({columns}, item_id int) ON COMMIT DROP"))
    db.execute(text(f"CREATE TEMP TABLE {UPDATED} (id int PRIMARY KEY) ON COMMIT DROP"))


def _drop_work_tables(db: Session) -> None:
    db.execute(text(f"DROP TABLE IF EXISTS {STAGE}, {UPDATED}"))


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


def _city_areas(db: Session, city_id: int) -> tuple[np.ndarray, np.ndarray]:
    """The city's neighbourhoods (and districts) as shapely geometries with their ids."""
    rows = db.execute(
        text("SELECT id, ST_AsBinary(geom) FROM neighbourhood WHERE city_id = :c ORDER BY id"), {"c": city_id}
    ).all()
    ids = np.array([row[0] for row in rows], dtype=np.int64)
    return shapely.from_wkb([bytes(row[1]) for row in rows]), ids


def _prepared_areas(db: Session, city_id: int) -> tuple[np.ndarray, np.ndarray]:
    """The city's areas, prepared for repeated point-in-area tests, with their ids."""
    areas, ids = _city_areas(db, city_id)
    shapely.prepare(areas)
    return areas, ids


def _neighbourhood_ids(db: Session, city_id: int, geometries: np.ndarray, index: pd.Index) -> pd.Series:
    """Each location's neighbourhood: the smallest area of the city covering it (a point on an area's surface for
    areas), found in one query over the city's areas (geo.locate) rather than one search per row in SQL."""
    areas, ids = _city_areas(db, city_id)
    found = smallest_covering(anchor_points(geometries), areas, ids)
    return pd.Series(_nullable_ids(found), index=index)


def _nullable_ids(found: np.ndarray) -> Any:
    """Neighbourhood ids with NO_AREA as missing (a nullable integer array, NULL in COPY)."""
    values = pd.array(found, dtype="Int64")
    values[found == NO_AREA] = pd.NA
    return values


_CURRENT_SLUGS = (
    "(SELECT coalesce(jsonb_agg(st.slug ORDER BY st.slug), '[]'::jsonb) FROM asset_service_type x "
    "JOIN service_type st ON st.id = x.service_type_id WHERE x.asset_id = t.id)"
)


def _snapshot(model: type[Any], extra: dict[str, str] | None = None) -> str:
    """Every column of row t as JSON (geometry as GeoJSON), like history.snapshot, built in SQL.

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
    pairs += [f"'{key}', {value}" for key, value in (extra or {}).items()]
    return f"jsonb_build_object({', '.join(pairs)})"


def _bind(ctx: LoadContext) -> dict[str, Any]:
    return {
        "city_id": ctx.city_id,
        "import_id": ctx.import_id,
        "user_id": ctx.user_id,
        "source": ctx.source_label,
        "message": ctx.message,
    }


def _take_turn(db: Session, ctx: LoadContext, table: str) -> None:
    """Imports of one layer into one city take turns: rows found new stay new until this transaction ends."""
    db.execute(
        text("SELECT pg_advisory_xact_lock(hashtext(:lock), :city_id)"),
        {"lock": f"assetmap import {table}", "city_id": ctx.city_id},
    )


def _match_existing(db: Session, ctx: LoadContext, table: str, key_match: str) -> int:
    """Note in the staging table which rows name an item that exists (by natural key); return how many are new.

    Imports of one layer into one city take turns (a transaction lock), so the rows found new here are still new
    when they are inserted, and no INSERT ... ON CONFLICT (which costs a speculative insert per row) is needed.
    """
    _take_turn(db, ctx, table)
    db.execute(text(f"UPDATE {STAGE} s SET item_id = t.id FROM {table} t WHERE {key_match}"), _bind(ctx))
    db.execute(text(f"ANALYZE {STAGE}"))
    return int(db.scalar(text(f"SELECT count(*) FROM {STAGE} WHERE item_id IS NULL")) or 0)


def _insert_new(
    db: Session,
    ctx: LoadContext,
    kind: str,
    table: str,
    values: dict[str, str],
    source_from: str,
) -> str | None:
    """Insert the staged rows that name no existing item, in one INSERT ... SELECT; return their ids as a
    multirange literal (one range when they are consecutive), None when there were none."""
    return db.scalar(
        text(
            f"""
            WITH inserted AS (
                INSERT INTO {table} ({", ".join(values)})
                SELECT {", ".join(values.values())} FROM {source_from} WHERE s.item_id IS NULL
                RETURNING id
            ), span AS (
                SELECT min(id) AS lo, max(id) AS hi, count(*) AS n FROM inserted
            )
            SELECT CASE WHEN n = hi - lo + 1 THEN int4multirange(int4range(lo, hi, '[]'))
                        ELSE (SELECT range_agg(int4range(id, id, '[]')) FROM inserted) END::text
            FROM span WHERE n > 0
            """
        ),
        _bind(ctx),
    )


def _record_new(db: Session, ctx: LoadContext, kind: str, item_ids: str | None) -> None:
    """One history row naming every item the import created (item_ids: a multirange literal)."""
    if item_ids is None:
        return
    db.execute(
        text(
            "INSERT INTO change (kind, item_ids, city_id, action, version, user_id, import_id, message) "
            "VALUES (:kind, CAST(:item_ids AS int4multirange), :city_id, 'import', 1, :user_id, :import_id, :message)"
        ),
        {**_bind(ctx), "kind": kind, "item_ids": item_ids},
    )


def _multirange(ids: np.ndarray) -> str | None:
    """A multirange literal of integer ids, consecutive runs as one range each: {[1,5),[9,10)}."""
    if not len(ids):
        return None
    if ids[-1] - ids[0] + 1 == len(ids) and (np.diff(ids) == 1).all():
        return f"{{[{ids[0]},{ids[-1] + 1})}}"  # the usual case: one run of ids taken together
    ordered = np.unique(ids)
    breaks = np.flatnonzero(np.diff(ordered) != 1)
    starts = ordered[np.r_[0, breaks + 1]]
    ends = ordered[np.r_[breaks, len(ordered) - 1]] + 1
    return "{" + ",".join(f"[{a},{b})" for a, b in zip(starts.tolist(), ends.tolist(), strict=True)) + "}"


def _update_changed(
    db: Session,
    ctx: LoadContext,
    model: type[Any],
    kind: str,
    source_from: str,
    sets: dict[str, str],
    *,
    also_set: dict[str, str] | None = None,
    compare_old: Sequence[str] = (),
    compare_new: Sequence[str] = (),
    history_extra: dict[str, str] | None = None,
    after_extra: dict[str, str] | None = None,
    after_join: str = "",
    params: dict[str, Any] | None = None,
) -> None:
    """Update the existing items whose staged values differ, with one history row each (before and after).

    `sets` and `also_set` map columns to new values over the staged row s (and its joins); a row changes when the
    old values of `sets` and `compare_old` differ from the new ones and `compare_new` (geometries are compared
    there, by their bytes). The updated ids go to the UPDATED table.
    """
    table = model.__tablename__
    assigned = {**sets, **(also_set or {})}
    old = ", ".join([f"t.{c}" for c in sets] + list(compare_old))
    new = ", ".join(list(sets.values()) + list(compare_new))
    chosen = ", ".join(f"{value} AS new_{column}" for column, value in assigned.items())
    assign = ", ".join(f"{column} = c.new_{column}" for column in assigned)
    db.execute(
        text(
            f"""
            WITH candidates AS (
                SELECT t.id AS item_id, {chosen}, {_snapshot(model, history_extra)} AS before
                FROM {source_from} JOIN {table} t ON t.id = s.item_id
                WHERE ({old}) IS DISTINCT FROM ({new})
            ), changed AS (
                UPDATE {table} t
                SET {assign}, version = t.version + 1, updated_at = now(), import_id = :import_id
                FROM candidates c WHERE t.id = c.item_id
                RETURNING t.*
            ), noted AS (
                INSERT INTO {UPDATED} (id) SELECT item_id FROM candidates
            )
            INSERT INTO change (kind, item_id, city_id, action, version, before, after, user_id, import_id,
                                message)
            SELECT :kind, t.id, t.city_id, 'import', t.version, c.before,
                   {_snapshot(model, after_extra if after_extra is not None else history_extra)},
                   :user_id, :import_id, :message
            FROM changed t JOIN candidates c ON c.item_id = t.id {after_join}
            """
        ),
        {**_bind(ctx), "kind": kind, **(params or {})},
    )


def _updated_count(db: Session) -> int:
    return int(db.scalar(text(f"SELECT count(*) FROM {UPDATED}")) or 0)


# Columns every item an import creates shares: published at once, version 1, who ran the import and which one.
_NEW_ITEM = {"status": "'approved'", "version": "1", "created_by": ":user_id", "import_id": ":import_id"}


def _with_default(column: str) -> str:
    return f"coalesce(s.{column}, {_DEFAULTS[column]})" if column in _DEFAULTS else f"s.{column}"


# ------------------------------------------------------------------------------------------- layers


def load_assets(
    db: Session,
    ctx: LoadContext,
    rows: pd.DataFrame,
    service_type_ids: pd.Series | None,
    progress: Callable[[str], None],
) -> LoadResult:
    """Upsert assets on (city, source, source_id): new ones by COPY into the table, changed ones by one UPDATE."""
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
    columns = ["id", "neighbourhood_id", *(c for c, _t in _ASSET_FIELDS.values()), "geom", "blurred_location"]
    columns.append("source_id")
    copy_slices(
        db,
        "asset",
        columns,
        _asset_slices(rows[new], new_ids, areas, keys[new], defaults=True),
        {
            "city_id": ctx.city_id,
            "source": ctx.source_label,
            "status": "approved",
            "version": 1,
            "created_by": ctx.user_id,
            "import_id": ctx.import_id,
        },
    )
    if link_services and len(new_ids):
        assert service_type_ids is not None
        _copy_links(db, new_ids, service_type_ids[new])
    progress("update")
    updated = 0
    if not new.all():
        updated = _update_assets(db, ctx, rows[~new], existing[~new], areas, keys[~new], service_type_ids)
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


def _take_ids(db: Session, table: str, count: int) -> np.ndarray:
    """count new ids from the table's sequence (consecutive unless other sessions take ids at the same time)."""
    if count == 0:
        return np.empty(0, dtype=np.int64)
    sequence = str(db.scalar(text(f"SELECT pg_get_serial_sequence('{table}', 'id')")))
    # The name goes in as a regclass literal, resolved once: looked up per call it costs 8x the nextval itself.
    regclass = "'" + sequence.replace("'", "''") + "'::regclass"
    lo, hi, listed = db.execute(
        text(
            f"""
            WITH taken AS MATERIALIZED (
                SELECT nextval({regclass}) AS id FROM generate_series(1, :n)
            )
            SELECT min(id), max(id),
                   CASE WHEN max(id) - min(id) + 1 = count(*) THEN NULL
                        ELSE (SELECT string_agg(id::text, ',') FROM taken) END
            FROM taken
            """
        ),
        {"n": count},
    ).one()
    if listed is None:
        return np.arange(int(lo), int(hi) + 1, dtype=np.int64)
    return np.array(listed.split(","), dtype=np.int64)


def _asset_slices(
    rows: pd.DataFrame,
    ids: np.ndarray,
    areas: tuple[np.ndarray, np.ndarray],
    keys: pd.Series,
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
        out["geom"] = points_ewkb_hex(shapely.get_x(geometries), shapely.get_y(geometries))
        out["blurred_location"] = points_ewkb_hex(part["blur_lon"].to_numpy(), part["blur_lat"].to_numpy())
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
        rows, item_ids.to_numpy(dtype=np.int64), areas, keys, defaults=False, id_column="item_id"
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
    out = pd.DataFrame({"id": new_ids, "code": codes[new]}, index=fresh.index)
    for field, (column, sql_type) in _NEIGHBOURHOOD_FIELDS.items():
        out[column] = _stage_value(fresh[field], sql_type)
    out["level"] = out["level"].fillna("neighbourhood")  # the column default, as for an empty value
    out["parent_id"] = parent_ids[new]
    out["population_by_group"] = _population_json(fresh, groups, keep_nulls=False) if groups else "{}"
    copy_slices(
        db,
        "neighbourhood",
        [*out.columns, "geom"],
        _with_geometry(out, fresh.geometry.to_numpy()),
        {"city_id": ctx.city_id, "version": 1, "import_id": ctx.import_id},
    )
    progress("update")
    updated = 0
    if not new.all():
        updated = _update_neighbourhoods(db, ctx, rows[~new], existing[~new], groups)
    progress("history")
    _record_new(db, ctx, "neighbourhoods", _multirange(new_ids))
    relocated_assets = relocated_needs = 0
    if len(new_ids) or updated:
        progress("relocate")
        moved = relocate_items(db, ctx.city_id)
        relocated_assets, relocated_needs = len(moved["assets"]), len(moved["needs"])
    return LoadResult(len(new_ids), updated, relocated_assets, relocated_needs)


def _with_geometry(frame: pd.DataFrame, geometries: np.ndarray) -> Iterator[pd.DataFrame]:
    """Slices of frame with their geometries as EWKB, each encoded while the slice before is stored."""
    for start in range(0, len(frame), AREA_SLICE_ROWS):
        stop = start + AREA_SLICE_ROWS
        yield frame.iloc[start:stop].assign(geom=geometries_ewkb_hex(geometries[start:stop]))


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
