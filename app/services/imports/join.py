"""Table joins: a table keyed by neighbourhood code updates fields of a city's existing neighbourhoods.

The table (CSV, XLSX, a DBF alone, a GeoPackage table, or a layer whose geometry is ignored) is matched on code;
nothing is created or deleted and no geometry changes. The stored rows go through the neighbourhood load's own
UPDATE (load.update_neighbourhood_fields), with the same history and the same lock.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import text
from sqlalchemy.orm import Session

from app.errors import InvalidInput
from geo.io import MappingError, Problem, ReadResult, error_rows
from geo.layers import dry_run_report
from geo.layers.join import (
    JOIN_KEY,
    JOIN_LAYER,
    JOINABLE_FIELDS,
    duplicate_codes,
    join_codes,
    join_values,
    plan_join,
)
from geo.problems import RowProblems

# Lists in the report (unmatched rows, neighbourhoods the table leaves out, padded codes) stop at this length.
MAX_LISTED = 1_000


@dataclass(slots=True)
class PreparedJoin:
    """The rows a join would store (matched, without errors), what they update, the report and the problems."""

    rows: pd.DataFrame
    fields: frozenset[str]
    report: dict[str, Any]
    problems: list[Problem]
    bad_rows: set[int]


def check_join_layer(layer: str) -> None:
    """A join writes onto neighbourhoods only: other layers are a clear 400."""
    if layer != JOIN_LAYER:
        raise InvalidInput(
            f"--join updates existing neighbourhoods from a table keyed by code; it cannot be used with the layer "
            f"{layer[:40]!r}: import {layer[:40]} without --join",
            field="join",
        )


def city_codes(db: Session, city_id: int) -> list[str]:
    """The codes of a city's neighbourhoods, ordered."""
    return list(
        db.scalars(text("SELECT code FROM neighbourhood WHERE city_id = :c ORDER BY code"), {"c": city_id})
    )


def _parent_problems(values: pd.DataFrame, codes_in_city: list[str]) -> list[Problem]:
    """A parent named by a join must be another neighbourhood of the city (the table creates none)."""
    problems = RowProblems(values["row_number"].to_numpy(), values[JOIN_KEY].to_numpy(dtype=object))
    parents, codes = values["parent_code"], values[JOIN_KEY]
    own = (parents.notna() & (parents == codes)).to_numpy(dtype=bool)
    problems.add(own, "parent_code", "a neighbourhood cannot be its own parent")
    missing = (parents.notna() & ~parents.isin(codes_in_city)).to_numpy(dtype=bool) & ~own
    problems.add(
        missing,
        "parent_code",
        [
            f"parent_code {parents.iloc[i]!r} is not a neighbourhood of the city: import the parent areas first"
            for i in np.flatnonzero(missing)
        ],
    )
    return problems.problems


def prepare_join(
    db: Session,
    city_id: int,
    city_name: str,
    read: ReadResult,
    join: str,
    mapping: Mapping[str, str] | None,
    preview_rows: int,
) -> PreparedJoin:
    """Plan the join, read and check every value, match codes to the city's neighbourhoods, and report."""
    codes_in_city = city_codes(db, city_id)
    if not codes_in_city:
        raise InvalidInput(
            f"{city_name} has no neighbourhoods to join a table onto: import its boundaries first "
            "(assetmap import BOUNDARIES --city ... --layer neighbourhoods)",
            field="city",
        )
    frame = read.frame
    try:
        plan = plan_join(read.columns, join, mapping)
    except MappingError as exc:
        raise InvalidInput(str(exc), field="join" if str(exc).startswith("--join") else "mapping") from None
    row_numbers = frame["row_number"].to_numpy()
    keys = join_codes(frame[plan.key_column], row_numbers, codes_in_city)
    values, problems = join_values(frame, plan, keys.codes)
    if duplicate_codes(keys.codes, row_numbers):
        # A lookup at a finer level (one row per output area) repeats each area's row word for word: a row equal
        # to an earlier one in its code and every value says nothing new and is counted once.
        same = values.duplicated(subset=[c for c in values.columns if c != "row_number"]).to_numpy()
        echo = same & keys.codes.notna().to_numpy()
        repeated = duplicate_codes(keys.codes[~echo], row_numbers[~echo])
        if repeated:
            listed = "; ".join(
                f"{code!r} in rows {', '.join(map(str, rows[:10]))}"
                for code, rows in list(repeated.items())[:20]
            )
            raise InvalidInput(
                f"the table gives {len(repeated):,} codes more than once with different values ({listed}): a join "
                "needs one row per code; narrow the table with --where, or remove or sum the repeated rows",
                field="file",
                extra={"duplicate_codes": {code: rows for code, rows in list(repeated.items())[:MAX_LISTED]}},
            )
        dropped = set(row_numbers[echo].tolist())
        plan.notes.append(
            f"{len(dropped):,} rows repeat an earlier row exactly (the same code and values) and are counted once"
        )
        values = values[~echo]
        keys = replace(keys, codes=keys.codes[~echo])
        problems = [p for p in problems if p.row_number not in dropped]
    if "parent_code" in plan.sources:
        problems += _parent_problems(values, codes_in_city)
    # The table's geometry is ignored, so what is wrong with it does not matter here.
    problems = [*(p for p in read.problems if p.field != "geometry"), *problems]
    known = set(codes_in_city)
    present = keys.codes.notna()
    matched = present & keys.codes.isin(known)
    unmatched = [
        {"row_number": int(r), "code": str(c)}
        for r, c in zip(
            values.loc[present & ~matched, "row_number"], keys.codes[present & ~matched], strict=True
        )
    ]
    if not matched.any():
        table_codes = [str(c) for c in keys.codes[present].head(3)]
        raise InvalidInput(
            f"none of the table's {int(present.sum()):,} codes in {plan.key_column!r} matches a neighbourhood of "
            f"{city_name} (the table has {', '.join(repr(c) for c in table_codes) or 'no codes'}; the city has "
            f"{', '.join(repr(c) for c in codes_in_city[:3])} ...): check the join column",
            field="join",
        )
    mentioned = set(keys.codes[matched])
    not_in_table = [code for code in codes_in_city if code not in mentioned]
    # Rows that match no neighbourhood are not stored, so their problems are listed but stop nothing.
    bad_rows = error_rows(problems) & set(values.loc[matched.to_numpy(), "row_number"].tolist())
    ready = values[matched.to_numpy() & ~values["row_number"].isin(list(bad_rows)).to_numpy()]
    mapping_used = {target: "+".join(source.columns) for target, source in plan.sources.items()}
    report: dict[str, Any] = dry_run_report(
        read, mapping_used, values[matched.to_numpy()], problems, preview_rows, layer=None
    )
    report["target_layer"] = JOIN_LAYER
    report["join"] = {
        "key_column": plan.key_column,
        "table_rows": len(frame),
        "matched": int(matched.sum()),
        "repeated_rows_counted_once": int(len(frame) - len(values)),
        "rows_ready": len(ready),
        "unmatched_rows_total": len(unmatched),
        "unmatched_rows": unmatched[:MAX_LISTED],
        "neighbourhoods_not_in_table_total": len(not_in_table),
        "neighbourhoods_not_in_table": not_in_table[:MAX_LISTED],
        "fields": sorted(plan.sources),
        "sources": {
            target: plan.sources[target].to_dict() for target in JOINABLE_FIELDS if target in plan.sources
        },
        "age_columns": plan.age_columns,
        "notes": plan.notes + _hints(unmatched, codes_in_city, keys.width),
        "unused_columns": plan.unused_columns,
        "padded_codes": {
            "width": keys.width,
            "count": len(keys.padded),
            "rows": [
                {"row_number": r, "in_file": a, "matched_as": b} for r, a, b in keys.padded[:MAX_LISTED]
            ],
        },
    }
    report["rows_ready"] = len(ready)
    report["rows_with_errors"] = len(bad_rows)
    return PreparedJoin(ready, frozenset(plan.sources), report, problems, bad_rows)


def _hints(unmatched: list[dict[str, Any]], codes_in_city: list[str], width: int | None) -> list[str]:
    """Say when unmatched text codes would match with their leading zeros back (a spreadsheet dropped them)."""
    if width is None:
        return []
    known = set(codes_in_city)
    would = [u["code"] for u in unmatched if u["code"].isdigit() and u["code"].zfill(width) in known]
    if not would:
        return []
    return [
        f"{len(would):,} unmatched codes would match with leading zeros (e.g. {would[0]!r} -> "
        f"{would[0].zfill(width)!r}): the city's codes have {width} digits; a spreadsheet program may have "
        "dropped the zeros: store the column as text and export again"
    ]
