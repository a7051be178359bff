"""The dry-run report of an import: counts, a preview of the rows that would be stored, every problem."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import shapely

from geo.io.errors import Problem, error_rows
from geo.io.write import COORDINATE_DECIMALS
from geo.layers.mapping import explain_mapping
from geo.layers.profile import ColumnProfile, profiles_by_name
from geo.layers.schema import PROVENANCE_COLUMNS


def _json_value(value: object) -> object:
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return None if math.isnan(float(value)) else float(value)
    if isinstance(value, (np.bool_,)):
        return bool(value)
    if isinstance(value, (dt.date, dt.datetime, pd.Timestamp)):
        return value.isoformat()
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_json_value(v) for v in value]
    if isinstance(value, shapely.Geometry):
        rounded = shapely.set_precision(value, 10.0**-COORDINATE_DECIMALS)
        return shapely.geometry.mapping(rounded)
    return value


def preview_rows(rows: pd.DataFrame, n: int) -> list[dict[str, object]]:
    """Return the first n rows as JSON-serialisable dicts (geometry as GeoJSON, 6 decimals)."""
    head = rows.head(n)
    return [{str(k): _json_value(v) for k, v in record.items()} for record in head.to_dict(orient="records")]


def dry_run_report(
    read_result: Any,
    mapping: Mapping[str, str],
    rows: pd.DataFrame,
    problems: Sequence[Problem],
    n_preview: int = 5,
    *,
    layer: str | None = None,
    profiles: Sequence[ColumnProfile] | None = None,
) -> dict[str, object]:
    """Return a JSON-serialisable report of what an import would store, without storing anything."""
    info = read_result.to_dict() if hasattr(read_result, "to_dict") else dict(read_result)
    counts = {
        severity: sum(1 for p in problems if p.severity == severity)
        for severity in ("error", "warning", "info")
    }
    bad_rows = error_rows(problems)
    report: dict[str, object] = {
        **{key: _json_value(value) for key, value in info.items()},
        "target_layer": layer,
        "mapping": dict(mapping),
        "rows": len(rows),
        "rows_with_errors": len(bad_rows),
        "rows_ready": len(rows) - len(bad_rows),
        "problem_counts": counts,
        # Only rows that would be stored are previewed; the others are explained in "problems".
        "preview": preview_rows(
            rows[~rows["row_number"].isin(list(bad_rows))] if "row_number" in rows else rows, n_preview
        ),
        "problems": [p.to_dict() for p in problems],
    }
    if layer is not None:
        report.update(mapping_report(info.get("columns", []), layer, mapping, profiles))
    return report


def mapping_report(
    columns: Sequence[str],
    layer: str,
    mapping: Mapping[str, str],
    profiles: Sequence[ColumnProfile] | None = None,
) -> dict[str, object]:
    """The report's account of the columns: each with type, samples, target and why; the suggestion and its reasons."""
    suggestion = explain_mapping(columns, layer, profiles=profiles)
    by_name = profiles_by_name(profiles)
    used = {source: target for target, source in mapping.items()}
    suggested = {source: target for target, source in suggestion.mapping.items()}
    entries: list[dict[str, object]] = []
    for column in columns:
        if column in PROVENANCE_COLUMNS or column == "geometry":
            continue
        profile = by_name.get(column)
        target = used.get(column)
        reason = suggestion.reasons.get(target) if target is not None else None
        entries.append(
            {
                **(
                    profile.to_dict()
                    if profile
                    else {"name": column, "type": None, "samples": [], "values": None}
                ),
                "target": target,
                "suggested_target": suggested.get(column),
                "reason": reason.to_dict() if reason and reason.column == column else None,
                "rejected": [r.to_dict() for r in suggestion.rejected if r.column == column],
                "ambiguous_for": [t for t, sources in suggestion.ambiguous.items() if column in sources],
            }
        )
    return {
        "source_columns": entries,
        "suggested_mapping": suggestion.mapping,
        "suggestion_reasons": {t: r.to_dict() for t, r in suggestion.reasons.items()},
        "rejected_suggestions": [r.to_dict() for r in suggestion.rejected],
        "unmapped_columns": [c for c in columns if c not in set(mapping.values())],
        "ambiguous_columns": suggestion.ambiguous,
    }
