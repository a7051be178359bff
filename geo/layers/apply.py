"""apply_mapping: source rows to the rows a layer would store, typed and checked, with every row problem."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from geo.io.errors import MappingError, Problem, error_rows
from geo.layers.coercion import as_text, coerce_values, empty_lists
from geo.layers.schema import PROVENANCE_COLUMNS, FieldSpec
from geo.layers.targets import layer_schema
from geo.problems import RowProblems


def _default_series(spec: FieldSpec, value: object, n: int, index: pd.Index, layer: str) -> pd.Series:
    probe = RowProblems(np.array([0]), np.array([None], dtype=object))
    coerced = coerce_values(pd.Series([value], dtype=object), spec, probe)
    if probe.problems:
        raise MappingError(f"the default for {layer}.{spec.name} is not usable: {probe.problems[0].reason}")
    single = coerced.iloc[0]
    series = pd.Series([single] * n, index=index, dtype=coerced.dtype if n else object)
    return series


def unmapped_required_reason(
    layer: str, mapping: Mapping[str, str], defaults: Mapping[str, object] | None = None
) -> str | None:
    """Why the mapping cannot import (required fields with neither a column nor a default), or None."""
    schema = layer_schema(layer)
    given = set(mapping) | set(defaults or {})
    missing = [f.name for f in schema.fields if f.required and f.name not in given]
    if not missing:
        return None
    one = len(missing) == 1
    return (
        f"required {'field' if one else 'fields'} {', '.join(missing)} of {layer} {'is' if one else 'are'} not "
        "mapped: map a column to each (or give a default)"
    )


def apply_mapping(
    frame: pd.DataFrame,
    layer: str,
    mapping: Mapping[str, str],
    *,
    defaults: Mapping[str, object] | None = None,
) -> tuple[pd.DataFrame, list[Problem]]:
    """Return the rows as they would be stored (typed, validated; geometry untouched) and every row problem.

    mapping is {target field: source column}; defaults fill targets that are unmapped or empty in a row.
    Rows keep their place; a value that cannot be used becomes missing and its row gets an error.
    """
    schema = layer_schema(layer)
    defaults = dict(defaults or {})
    for target in [*mapping, *defaults]:
        schema.field(target)
    missing_columns = [source for source in mapping.values() if source not in frame.columns]
    if missing_columns:
        available = ", ".join(str(c) for c in frame.columns if c not in (*PROVENANCE_COLUMNS, "geometry"))
        raise MappingError(
            f"the mapping names {', '.join(repr(c) for c in missing_columns)}, not a column of the file: "
            f"its columns are {available}"
        )
    refusal = unmapped_required_reason(layer, mapping, defaults)
    if refusal is not None:
        raise MappingError(refusal)
    n = len(frame)
    index = frame.index
    row_numbers = frame["row_number"].to_numpy() if "row_number" in frame else np.arange(1, n + 1)
    fids = frame["source_fid"].to_numpy() if "source_fid" in frame else np.array([None] * n, dtype=object)
    # Problems name a row by the layer's key (code, source_id) when it has one, else by the source feature id.
    fallback_ids = pd.Series(fids, index=index, dtype=object)
    if schema.key in mapping:
        keys = as_text(frame[mapping[schema.key]])
        source_ids = keys.astype(object).where(keys.notna(), fallback_ids).to_numpy(dtype=object)
    else:
        source_ids = fallback_ids.to_numpy(dtype=object)
    rows = RowProblems(row_numbers, source_ids)

    columns: dict[str, pd.Series] = {
        "row_number": pd.Series(row_numbers, index=index),
        "source_fid": pd.Series(fids, index=index),
    }
    for spec in schema.fields:
        if spec.name in mapping:
            source = frame[mapping[spec.name]]
            if (
                spec.kind == "code"
                and pd.api.types.is_numeric_dtype(source)
                and not pd.api.types.is_bool_dtype(source)
            ):
                rows.add_for_layer(
                    spec.name,
                    f"column {mapping[spec.name]!r} holds numbers: codes with leading zeros (e.g. '0930') may "
                    "have lost them in the file; store codes as text",
                    "warning",
                )
            values = coerce_values(source, spec, rows)
        else:
            values = (
                empty_lists(n, index)
                if spec.kind == "slug_list"
                else pd.Series(np.full(n, None, dtype=object), index=index, dtype=object)
            )
        if spec.name in defaults:
            fill = _default_series(spec, defaults[spec.name], n, index, layer)
            empty = values.map(
                lambda v: v is None or v is pd.NA or v == [] or (isinstance(v, float) and math.isnan(v))
            )
            values = values.astype(object).where(~empty, fill.astype(object))
            values = _retype(values, spec)
        elif spec.name not in mapping:
            values = _retype(values, spec)
        columns[spec.name] = values
        if spec.required:
            already = error_rows(p for p in rows.problems if p.field == spec.name)
            absent = values.isna().to_numpy(dtype=bool) & ~np.isin(row_numbers, list(already))
            rows.add(absent, spec.name, f"{spec.name} is required but empty")
    _check_unique_key(columns[schema.key], schema.key, rows)
    out = pd.DataFrame(columns, index=index)
    if isinstance(frame, gpd.GeoDataFrame) and frame.geometry.name in frame:
        out = gpd.GeoDataFrame(out, geometry=frame.geometry.copy(), crs=frame.crs)
    return out, rows.problems


def _retype(values: pd.Series, spec: FieldSpec) -> pd.Series:
    if spec.kind == "int":
        return pd.to_numeric(values, errors="coerce").astype("Int64")
    if spec.kind == "float":
        return pd.to_numeric(values, errors="coerce").astype(float)
    if spec.kind == "bool":
        return values.astype("boolean")
    return values.astype(object).where(values.notna(), None)


def _check_unique_key(keys: pd.Series, name: str, rows: RowProblems) -> None:
    present = keys.notna()
    duplicated = (keys.duplicated(keep=False) & present).to_numpy(dtype=bool)
    if not duplicated.any():
        return
    positions: dict[Any, list[int]] = {}
    for index in np.flatnonzero(duplicated):
        positions.setdefault(keys.iloc[index], []).append(int(rows.row_numbers[index]))
    reasons = [
        f"{name} {keys.iloc[i]!r} appears {len(positions[keys.iloc[i]])} times (rows "
        f"{', '.join(map(str, positions[keys.iloc[i]][:10]))}): each {name} must be unique"
        for i in np.flatnonzero(duplicated)
    ]
    rows.add(duplicated, name, reasons)
