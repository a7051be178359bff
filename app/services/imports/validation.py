"""The rows' checks before a load: geometry repair, field mapping, text and key problems and the database
checks, every problem named by its row."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy.orm import Session

from app.services.imports import checks
from app.services.imports.request import ImportRequest, _Pending
from geo.io import MappingError, Problem, ReadResult, error_rows
from geo.layers import LAYERS, ColumnProfile, apply_mapping, explain_mapping, mapping_report, merge_mapping
from geo.layers.coercion import coerce_values
from geo.problems import RowProblems
from geo.validate import prepare_geometries

_TEXT_KINDS = ("text", "code")


_STRING = pd.StringDtype("python")


@dataclass
class _Checked:
    rows: pd.DataFrame
    mapping: dict[str, str]
    problems: list[Problem]
    extras: dict[str, pd.Series] = field(default_factory=dict)


def _final_mapping(
    read: ReadResult,
    layer: str,
    given: Mapping[str, str] | None,
    profiles: Sequence[ColumnProfile],
    pending: _Pending,
) -> dict[str, str]:
    """The suggested mapping (names checked against values) with the user's entries on top, columns matched by case.

    A mapping that names no column of the file fails with the file's columns in the failed run's report.
    """
    suggested = explain_mapping(read.columns, layer, profiles=profiles).mapping
    try:
        return merge_mapping(read.columns, suggested, given)
    except MappingError:
        pending.report = {**pending.report, **mapping_report(read.columns, layer, suggested, profiles)}
        raise


def _check_rows(
    db: Session, city_id: int, layer: str, read: ReadResult, request: ImportRequest, mapping: dict[str, str]
) -> _Checked:
    """Geometry repair, field mapping and the database checks; every problem names its row."""
    schema = LAYERS[layer]
    problems: list[Problem] = list(read.problems)
    frame = read.frame
    if layer == "resources":
        # Resources have no place of their own: they belong to an asset or a neighbourhood.
        if (~frame.geometry.isna()).any():
            problems.append(
                Problem(
                    None,
                    None,
                    "geometry",
                    "resources are stored without a location (they belong to an asset or a neighbourhood): the "
                    "file's geometries are not imported",
                    "info",
                )
            )
    else:
        frame, geometry_problems = prepare_geometries(
            frame, schema.geometry, geometry_optional=schema.geometry_optional
        )
        problems += geometry_problems
    rows, mapping_problems = apply_mapping(frame, layer, mapping, defaults=request.defaults)
    problems += mapping_problems
    problems += _text_problems(rows, layer)
    mapped = set(mapping) | set(request.defaults or {})
    extras: dict[str, pd.Series] = {}
    key = schema.key
    if layer != "neighbourhoods":
        rows[key], key_problems = checks.fill_row_keys(rows, key)
        problems += key_problems + _duplicate_keys(rows, key)
    if layer == "assets" and "service_types" in mapped:
        extras["service_type_ids"], found = checks.check_asset_service_types(db, rows, key)
        problems += found
    elif layer == "needs":
        extras["service_type_id"], found = checks.check_need_service_type(db, rows, key)
        problems += found
    elif layer == "resources":
        extras["asset_id"], extras["neighbourhood_id"], found = checks.resolve_resource_owners(
            db, city_id, rows, key
        )
        problems += found
    elif layer == "neighbourhoods" and "parent_code" in mapped:
        problems += checks.check_parent_codes(db, city_id, rows, key)
    problems = _named_by_key(problems, rows, key)
    problems.sort(key=lambda p: (p.row_number or 0, p.field or ""))
    return _Checked(rows, mapping, problems, extras)


def _named_by_key(problems: list[Problem], rows: pd.DataFrame, key: str) -> list[Problem]:
    """Name every row problem by the row's own key (code, source_id) once it is known, not by its feature id."""
    if not any(p.row_number is not None for p in problems):
        return problems
    keys = rows[key].astype(object)
    known = dict(zip(rows["row_number"].tolist(), keys.where(keys.notna(), None).tolist(), strict=True))
    return [
        replace(p, source_id=str(known[p.row_number]))
        if p.row_number is not None and known.get(p.row_number) is not None
        else p
        for p in problems
    ]


def _text_problems(rows: pd.DataFrame, layer: str) -> list[Problem]:
    """PostgreSQL text cannot hold a NUL character: such values are row errors rather than a failed load."""
    problems: list[Problem] = []
    for spec in LAYERS[layer].fields:
        if spec.kind not in _TEXT_KINDS or spec.name not in rows:
            continue
        column = rows[spec.name]
        if not isinstance(column.dtype, pd.StringDtype):
            raw = column.to_numpy(dtype=object, na_value=None)
            kind = pd.api.types.infer_dtype(raw, skipna=True)
            if kind == "empty":
                continue  # an unmapped or empty field
            # filter(None, ...) drops the missing values (and empty text, which holds no NUL) in C.
            if kind == "string" and "\x00" not in "".join(filter(None, raw.tolist())):
                continue  # all text, and none of it holds a NUL: the usual case, settled by one search
        # Text columns (the usual case) are searched in one vectorised pass.
        values = column if isinstance(column.dtype, pd.StringDtype) else column.astype(_STRING)
        has_nul = values.str.contains("\x00", regex=False).fillna(False).to_numpy(dtype=bool)
        for index in np.flatnonzero(has_nul):
            problems.append(
                Problem(
                    int(rows["row_number"].iloc[index]),
                    str(rows["source_fid"].iloc[index]),
                    spec.name,
                    "contains a NUL character (byte 0), which cannot be stored",
                )
            )
    return problems


def _starting_with(column: pd.Series, prefix: str) -> np.ndarray:
    """The positions of the values that are text starting with prefix (searched in Arrow when all are text)."""
    try:
        texts = pa.array(column, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        texts = None
    if texts is not None and (pa.types.is_string(texts.type) or pa.types.is_large_string(texts.type)):
        found = pc.starts_with(texts, prefix)
        return np.flatnonzero(found.fill_null(False).to_numpy(zero_copy_only=False))
    every = column.to_numpy(dtype=object, na_value=None).tolist()
    return np.flatnonzero([k is not None and str(k).startswith(prefix) for k in every])


def _duplicate_keys(rows: pd.DataFrame, key: str) -> list[Problem]:
    """Keys made up for rows without one could meet a real id such as 'row-3'; each key must be unique."""
    # Only keys that look made up are reported (apply_mapping reports the others), and such a key can only repeat
    # another such key: the search runs on those few.
    column = rows[key]
    prefix = checks.ROW_KEY_PREFIX
    made_up = _starting_with(column, prefix)
    keys = column.iloc[made_up].to_numpy(dtype=object, na_value=None)
    duplicated = np.flatnonzero(pd.Series(keys, dtype=object).duplicated(keep=False).to_numpy(dtype=bool))
    return [
        Problem(
            int(rows["row_number"].iloc[made_up[j]]),
            str(keys[j]),
            key,
            f"{key} {keys[j]!r} is used by more than one row",
        )
        for j in duplicated
    ]


# ------------------------------------------------------------------------------------------- streamed checks


@dataclass
class _KeyPass:
    """The whole file's row keys, checked before any slice is: each key once, the made-up ones included."""

    keys: pd.Series
    problems: list[Problem]


def _key_pass(
    read: ReadResult, layer: str, request: ImportRequest, mapping: dict[str, str]
) -> _KeyPass | None:
    """The whole-file checks a streamed import runs first, on the key column alone.

    None when the file takes the whole-file path: a repeated key (or a coordinate problem, a key given as a
    default), whose report names rows all over the file, so nothing is streamed.
    """
    schema = LAYERS[layer]
    key = schema.key
    frame = read.frame
    if key in (request.defaults or {}) or error_rows(read.problems):
        return None
    row_numbers = frame["row_number"].to_numpy()
    if key in mapping:
        probe = RowProblems(row_numbers, np.full(len(frame), None, dtype=object))
        typed = coerce_values(frame[mapping[key]], schema.field(key), probe)
        if error_rows(probe.problems) or (typed.duplicated(keep=False) & typed.notna()).any():
            return None
    else:
        typed = pd.Series(np.full(len(frame), None, dtype=object), index=frame.index, dtype=object)
    keyed = pd.DataFrame({"row_number": frame["row_number"], key: typed}, index=frame.index)
    if layer == "neighbourhoods":
        return _KeyPass(typed, [])  # a code is required: a row without one is a row error of its slice
    filled, problems = checks.fill_row_keys(keyed, key)
    keyed[key] = filled
    if _duplicate_keys(keyed, key):
        return None
    return _KeyPass(filled, problems)


@dataclass
class _CheckedSlice:
    rows: pd.DataFrame
    # Problems in the order the whole-file checks make them: before the key's (geometry, mapping, text) and after.
    early: list[Problem]
    late: list[Problem]
    extras: dict[str, pd.Series]
    # Whether the slice's geometries lost Z/M values (noted for the whole file, not per slice).
    flattened: bool = False


def _check_slice(
    part: pd.DataFrame,
    layer: str,
    request: ImportRequest,
    mapping: dict[str, str],
    keys: pd.Series,
    known_types: dict[str, int] | None,
) -> _CheckedSlice:
    """One slice of an assets file checked as _check_rows checks the whole file (its keys from _key_pass)."""
    schema = LAYERS[layer]
    key = schema.key
    frame, early = prepare_geometries(part, schema.geometry, geometry_optional=schema.geometry_optional)
    # Z/M values dropped are counted for the whole file in one note: such a file takes the whole-file path.
    flat = any(p.row_number is None and p.field == "geometry" for p in early)
    rows, mapping_problems = apply_mapping(frame, layer, mapping, defaults=request.defaults)
    early += mapping_problems
    early += _text_problems(rows, layer)
    rows[key] = keys
    late: list[Problem] = []
    extras: dict[str, pd.Series] = {}
    if known_types is not None:
        extras["service_type_ids"], late = checks.check_asset_service_types(None, rows, key, known_types)
    return _CheckedSlice(rows, _named_by_key(early, rows, key), _named_by_key(late, rows, key), extras, flat)


def _streamed_problems(
    read: ReadResult, key_pass: _KeyPass, slices: Sequence[_CheckedSlice], key: str
) -> list[Problem]:
    """Every slice's problems as _check_rows lists them for the whole file (layer-wide ones once)."""
    keyed = pd.DataFrame({"row_number": read.frame["row_number"], key: key_pass.keys})
    problems = _named_by_key(list(read.problems), keyed, key)
    seen: set[Problem] = set()
    for part in slices:
        for problem in part.early:
            if problem.row_number is None:
                if problem in seen:
                    continue  # a layer-wide note (a column's type) is made by every slice
                seen.add(problem)
            problems.append(problem)
    problems += key_pass.problems
    for part in slices:
        problems += part.late
    problems.sort(key=lambda p: (p.row_number or 0, p.field or ""))
    return problems
