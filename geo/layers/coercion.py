"""Typed per-column coercion of source values to a target field, with a row problem for each unusable value."""

from __future__ import annotations

import gc
import math
import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from geo.io.delimited import column_key
from geo.layers.schema import FieldSpec
from geo.problems import RowProblems

_SLUG_MAX = 64
_LIST_SPLIT = re.compile(r"\s*[;,|]\s*")
_TRUE = frozenset({"true", "t", "yes", "y", "1", "ja", "j", "wahr", "x"})
_FALSE = frozenset({"false", "f", "no", "n", "0", "nein", "falsch"})
# Python-backed strings behave the same whether or not pyarrow is installed (pandas picks Arrow when it is).
_STRING = pd.StringDtype("python")


def _is_list(values: pd.Series) -> np.ndarray:
    if values.dtype != object:
        return np.zeros(len(values), dtype=bool)
    return values.map(lambda v: isinstance(v, (list, tuple, np.ndarray))).to_numpy(dtype=bool)


def _numeric_as_text(values: pd.Series) -> pd.Series:
    if pd.api.types.is_bool_dtype(values):
        return values.astype(_STRING).str.lower()
    numbers = values.astype(float)
    whole = np.isfinite(numbers) & (numbers == np.round(numbers))
    text = values.astype(_STRING)
    # 930.0 read from a DBF numeric field is the code 930, not "930.0".
    as_int = pd.Series(np.where(whole, numbers, 0).astype(np.int64), index=values.index).astype(_STRING)
    return text.where(~pd.Series(whole, index=values.index), as_int).mask(~np.isfinite(numbers))


def _plain_text(values: pd.Series) -> np.ndarray | None:
    """The values as an object array of str and None when they are all text or missing (else None)."""
    if not isinstance(values.dtype, pd.StringDtype) and values.dtype != object:
        return None
    raw = values.to_numpy(dtype=object, na_value=None)
    if values.dtype == object and pd.api.types.infer_dtype(raw, skipna=True) not in ("string", "empty"):
        return None
    return raw


def as_text(values: pd.Series) -> pd.Series:
    """Return values as stripped text (StringDtype); empty text is missing."""
    raw = _plain_text(values)
    if raw is not None:
        # Text already (the usual case): stripped straight from Python strings, without a copy as StringDtype.
        out = np.empty(len(raw), dtype=object)
        out[:] = [(v.strip() or None) if v is not None else None for v in raw.tolist()]
        return pd.Series(pd.arrays.StringArray(out, dtype=_STRING), index=values.index)
    if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        text = _numeric_as_text(values)
    elif pd.api.types.is_datetime64_any_dtype(values):
        text = values.dt.strftime("%Y-%m-%d").astype(_STRING)
    else:
        text = values.astype(_STRING)
    # Stripped in one list comprehension: pandas' .str.strip() costs about ten times as much per value.
    raw = text.to_numpy(dtype=object, na_value=None)
    stripped = pd.array([v.strip() if v is not None else None for v in raw], dtype=_STRING)
    text = pd.Series(stripped, index=values.index)
    return text.mask(text == "")


def empty_lists(n: int, index: pd.Index) -> pd.Series:
    """A Series of n distinct empty lists (built without pandas trying to read them as a 2D shape)."""
    # Half a million new lists would start the garbage collector hundreds of times (7x the time); none can form
    # a reference cycle here, so it is paused while they are made.
    paused = gc.isenabled()
    gc.disable()
    try:
        lists: list[list[Any]] = [[] for _ in range(n)]
    finally:
        if paused:
            gc.enable()
    return pd.Series(lists, index=index, dtype=object)


def _number(values: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Return (float Series with NaN for missing, mask of values present but not a finite number)."""
    if pd.api.types.is_bool_dtype(values):
        return values.astype(float), np.zeros(len(values), dtype=bool)
    if pd.api.types.is_numeric_dtype(values):
        numbers = values.astype(float)
        return numbers, ~np.isfinite(numbers.to_numpy()) & values.notna().to_numpy()
    text = as_text(values)
    comma_decimal = text.str.fullmatch(r"[-+]?\d*,\d+").fillna(False).astype(bool)
    text = text.where(~comma_decimal, text.str.replace(",", ".", regex=False))
    numbers = pd.to_numeric(text, errors="coerce").astype(float)
    unusable = text.notna().to_numpy() & ~np.isfinite(numbers.to_numpy())
    return numbers.where(np.isfinite(numbers)), unusable


def as_number(values: pd.Series) -> pd.Series:
    """Return values as floats (numbers as they are, text parsed with a decimal point or comma); NaN otherwise."""
    return _number(values)[0]


def _range_reason(spec: FieldSpec) -> str:
    if spec.minimum is not None and spec.maximum is not None:
        return f"must be between {spec.minimum:g} and {spec.maximum:g}"
    if spec.minimum is not None:
        return f"must be {spec.minimum:g} or more"
    return f"must be {spec.maximum:g} or less"


def _shown(values: pd.Series, index: int | np.integer) -> str:
    """The source value of one row as a user would recognise it, for a message (numbers without '.0')."""
    value = values.iloc[index]
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _check_range(numbers: pd.Series, spec: FieldSpec, rows: RowProblems, values: pd.Series) -> np.ndarray:
    array = numbers.to_numpy()
    bad = np.zeros(len(array), dtype=bool)
    with np.errstate(invalid="ignore"):
        if spec.minimum is not None:
            bad |= array < spec.minimum
        if spec.maximum is not None:
            bad |= array > spec.maximum
    rows.add(bad, spec.name, [f"{_shown(values, i)} {_range_reason(spec)}" for i in np.flatnonzero(bad)])
    return bad


def _slug(text: str) -> str:
    """A choice key as the vocabulary spells it: lower case with underscores ('Physical space' -> physical_space)."""
    return column_key(text)[:_SLUG_MAX].strip("_")


def service_slug(text: str) -> str:
    """A service-type slug as the database spells it: kebab-case ('Food support' -> food-support), or ''."""
    return column_key(text).replace("_", "-")[:_SLUG_MAX].strip("-")


def _per_distinct(values: pd.Series, func: Callable[[Any], Any]) -> pd.Series:
    """Apply func once per distinct non-missing value: category-like columns repeat a handful of values."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    mapped = np.array([*(func(u) for u in uniques), None], dtype=object)  # code -1 (missing) takes the None
    return pd.Series(mapped[codes], index=values.index, dtype=object)


def coerce_values(values: pd.Series, spec: FieldSpec, rows: RowProblems) -> pd.Series:
    """Coerce one source column to a target field's type; failures become missing values and row errors."""
    lists = _is_list(values)
    if spec.kind != "slug_list" and lists.any():
        rows.add(lists, spec.name, "holds a list where a single value is expected")
        values = values.mask(pd.Series(lists, index=values.index))
    if spec.kind in ("text", "code"):
        return _coerce_text(values, spec, rows)
    if spec.kind in ("int", "float"):
        return _coerce_number(values, spec, rows)
    if spec.kind == "bool":
        return _coerce_bool(values, spec, rows)
    if spec.kind == "date":
        return _coerce_date(values, spec, rows)
    if spec.kind == "choice":
        return _coerce_choice(values, spec, rows)
    if spec.kind == "slug":
        text = as_text(values)
        slugs = _per_distinct(text, lambda v: service_slug(v) or "")
        emptied = (slugs == "").to_numpy(dtype=bool)
        rows.add(
            emptied,
            spec.name,
            [f"{text.iloc[i]!r} has no letters or digits" for i in np.flatnonzero(emptied)],
        )
        return slugs.where(~emptied, None)
    return _coerce_slug_list(values, lists)


def _coerce_text(values: pd.Series, spec: FieldSpec, rows: RowProblems) -> pd.Series:
    text = as_text(values)
    if spec.max_length is not None:
        too_long = (text.str.len() > spec.max_length).fillna(False).to_numpy(dtype=bool)
        rows.add(too_long, spec.name, f"is longer than {spec.max_length} characters")
        text = text.mask(pd.Series(too_long, index=text.index))
    return pd.Series(text.to_numpy(dtype=object, na_value=None), index=text.index, dtype=object)


def _coerce_number(values: pd.Series, spec: FieldSpec, rows: RowProblems) -> pd.Series:
    numbers, unusable = _number(values)
    rows.add(
        unusable, spec.name, [f"{_shown(values, i)!r} is not a number" for i in np.flatnonzero(unusable)]
    )
    out_of_range = _check_range(numbers, spec, rows, values)
    numbers = numbers.mask(pd.Series(out_of_range | unusable, index=numbers.index))
    if spec.kind == "float":
        return numbers.astype(float)
    fractional = (numbers.notna() & (numbers != numbers.round())).to_numpy()
    rows.add(
        fractional,
        spec.name,
        [f"{_shown(values, i)} is not a whole number" for i in np.flatnonzero(fractional)],
    )
    return numbers.mask(pd.Series(fractional, index=numbers.index)).round().astype("Int64")


def _yes_no(text: str) -> bool | str:
    word = text.lower()
    word = word[0] if word in ("1.0", "0.0") else word
    return True if word in _TRUE else False if word in _FALSE else word


def _coerce_bool(values: pd.Series, spec: FieldSpec, rows: RowProblems) -> pd.Series:
    if pd.api.types.is_bool_dtype(values):
        return values.astype("boolean")
    answers = _per_distinct(as_text(values), _yes_no)
    unknown = answers.map(lambda a: isinstance(a, str)).to_numpy(dtype=bool)
    rows.add(
        unknown,
        spec.name,
        [f"{answers.iloc[i]!r} is not yes/no (use true or false)" for i in np.flatnonzero(unknown)],
    )
    return answers.where(~unknown, None).astype("boolean")


_DATE_FORMATS = ("%Y-%m-%d", "%d.%m.%Y", "%Y/%m/%d")


def _coerce_date(values: pd.Series, spec: FieldSpec, rows: RowProblems) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(values):
        parsed = values
    else:
        text = as_text(values)
        parsed = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")
        # 2024-05-31, 2024-05-31T10:00:00 (the time is dropped), 31.05.2024, 2024/05/31
        text_day = text.str.slice(0, 10).where(
            text.str.fullmatch(r"\d{4}-\d\d-\d\d([T ].*)?").fillna(False), text
        )
        for date_format in _DATE_FORMATS:
            todo = parsed.isna() & text_day.notna()
            if not todo.any():
                break
            parsed[todo] = pd.to_datetime(text_day[todo], format=date_format, errors="coerce")
        unparsed = (parsed.isna() & text.notna()).to_numpy()
        rows.add(
            unparsed,
            spec.name,
            [f"{text.iloc[i]!r} is not a date (use e.g. 2024-05-31)" for i in np.flatnonzero(unparsed)],
        )
    dates = parsed.dt.date
    return dates.astype(object).where(parsed.notna(), None)


def _coerce_choice(values: pd.Series, spec: FieldSpec, rows: RowProblems) -> pd.Series:
    text = as_text(values)

    def choose(value: str) -> str:
        key = _slug(value)
        return spec.value_synonyms.get(key, key)

    keys = _per_distinct(text, choose)
    unknown = (keys.notna() & ~keys.isin(list(spec.choices))).to_numpy(dtype=bool)
    rows.add(
        unknown,
        spec.name,
        [
            f"{text.iloc[i]!r} is not a {spec.name}: use one of {', '.join(spec.choices)}"
            for i in np.flatnonzero(unknown)
        ],
    )
    return keys.where(~unknown, None)


def _slug_list(value: object) -> list[str]:
    if isinstance(value, (list, tuple, np.ndarray)):
        parts = [str(v) for v in value if v is not None]
    elif value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        parts = []
    else:
        parts = _LIST_SPLIT.split(str(value))
    return list(dict.fromkeys(slug for slug in (service_slug(p) for p in parts) if slug))


def _coerce_slug_list(values: pd.Series, lists: np.ndarray) -> pd.Series:
    out = pd.Series([[] for _ in range(len(values))], index=values.index, dtype=object)
    if lists.any():
        out[lists] = values[lists].map(_slug_list)
    text = values[~lists]
    # Each row gets its own list object, so a caller changing one row cannot change another.
    out[~lists] = _per_distinct(text, _slug_list).map(lambda v: list(v) if v is not None else [])
    return out
