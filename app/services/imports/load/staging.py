"""What every layer's load shares: the work tables, staged values, matching by natural key, inserts and
updates with their history, and the ids taken from a sequence."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import shapely
from geoalchemy2 import Geometry
from sqlalchemy import text
from sqlalchemy.orm import Session

from geo.locate import NO_AREA, anchor_points, smallest_covering

STAGE = "import_stage"
UPDATED = "import_updated"  # the ids of the existing items this import changed
# An import may take longer than an API query; its own transaction gets this statement timeout.
IMPORT_STATEMENT_TIMEOUT = "30min"
IMPORT_WORK_MEM = "256MB"

# Columns that are NOT NULL with a default: an empty value in the file means the default.
_DEFAULTS = {"verified": "false", "sensitive": "false", "severity": "3", "level": "'neighbourhood'"}


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
