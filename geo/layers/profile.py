"""Column profiles: each source column's type inferred from its values, a few sample values, and shares by type."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from geo.layers.coercion import as_text
from geo.layers.schema import PROVENANCE_COLUMNS

ColumnType = Literal["text", "integer", "number", "date", "boolean", "empty"]

SAMPLES = 5
SAMPLE_CHARS = 40
# Type shares are measured on at most this many evenly spaced values: enough to tell types apart, cheap on big files.
PROFILE_ROWS = 2_000
SAMPLE_HEAD = 200
# Distinct values kept (not reported) to check a column against a field's choices.
DISTINCT_KEPT = 200
# A column is of a type when at least this share of its non-empty values is.
TYPE_SHARE = 0.9
_NUMBER = re.compile(r"^[-+]?(\d+([.,]\d*)?|[.,]\d+)([eE][-+]?\d+)?$")
_WHOLE = re.compile(r"^[-+]?\d+$")
# "0930" is a code that keeps its zero, not the number 930.
_LEADING_ZERO = re.compile(r"^0\d")
_DATE = re.compile(r"^(\d{4}-\d\d-\d\d([T ].*)?|\d\d?\.\d\d?\.\d{4}|\d{4}/\d\d/\d\d)$")
_YES_NO = frozenset({"true", "false", "yes", "no", "ja", "nein", "wahr", "falsch", "t", "f", "y", "n", "j"})
_DIGIT_YES_NO = frozenset({"0", "1"})


@dataclass(frozen=True, slots=True)
class ColumnProfile:
    """One source column: inferred type, samples, how many values it has and the share of each kind of value."""

    name: str
    type: ColumnType
    samples: tuple[str, ...]
    values: int
    numeric_share: float
    whole_share: float
    date_share: float
    boolean_share: float
    free_text_share: float
    max_length: int
    distinct: tuple[str, ...]

    def to_dict(self) -> dict[str, object]:
        """The profile as a report shows it: name, type, samples and the count of non-empty values."""
        return {"name": self.name, "type": self.type, "samples": list(self.samples), "values": self.values}


def _sample(values: pd.Series) -> pd.Series:
    """The first rows (for samples in file order) and evenly spaced ones: what a profile reads of a big column."""
    if len(values) <= PROFILE_ROWS:
        return values
    head = np.arange(min(SAMPLE_HEAD, len(values)))
    spaced = np.linspace(0, len(values) - 1, PROFILE_ROWS - len(head)).astype(np.int64)
    return values.iloc[np.union1d(head, spaced)]


def _count_values(values: pd.Series) -> int:
    present = values.notna()
    if values.dtype == object or pd.api.types.is_string_dtype(values):
        present &= values.astype(object).map(lambda v: not (isinstance(v, str) and not v.strip()))
    return int(present.sum())


def _shorten(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= SAMPLE_CHARS else flat[: SAMPLE_CHARS - 1] + "…"


def _share(mask: np.ndarray) -> float:
    return float(mask.mean()) if len(mask) else 0.0


def profile_column(name: str, values: pd.Series) -> ColumnProfile:
    """Profile one column (any dtype: numbers from a DBF, text from a CSV, lists from GeoJSON).

    Types and shares are read from a sample of at most PROFILE_ROWS values; the count covers every row.
    """
    count = _count_values(values) if len(values) <= PROFILE_ROWS else None
    if count is None:
        count = int(values.notna().sum())
    values = _sample(values)
    if values.dtype == object and values.map(lambda v: isinstance(v, (list, tuple, np.ndarray))).any():
        values = values.map(
            lambda v: "; ".join(map(str, v)) if isinstance(v, (list, tuple, np.ndarray)) else v
        )
    text = as_text(values).dropna()
    raw = text.to_numpy(dtype=object)
    distinct = tuple(dict.fromkeys(raw.tolist()).keys())[:DISTINCT_KEPT] if len(raw) else ()
    samples = tuple(_shorten(v) for v in distinct[:SAMPLES])
    sample = raw.tolist()
    if pd.api.types.is_bool_dtype(values):
        shares = {"numeric": 0.0, "whole": 0.0, "date": 0.0, "boolean": 1.0}
    elif pd.api.types.is_datetime64_any_dtype(values):
        shares = {"numeric": 0.0, "whole": 0.0, "date": 1.0, "boolean": 0.0}
    elif pd.api.types.is_numeric_dtype(values):
        numbers = values.dropna().astype(float).to_numpy()
        whole = _share(numbers == np.round(numbers))
        shares = {
            "numeric": 1.0,
            "whole": whole,
            "date": 0.0,
            "boolean": _share(np.isin(numbers, (0.0, 1.0))),
        }
    else:
        numeric = np.array(
            [bool(_NUMBER.match(v)) and not _LEADING_ZERO.match(v) for v in sample], dtype=bool
        )
        shares = {
            "numeric": _share(numeric),
            "whole": _share(np.array([bool(_WHOLE.match(v)) for v in sample], dtype=bool)),
            "date": _share(np.array([bool(_DATE.match(v)) for v in sample], dtype=bool)),
            "boolean": _share(np.array([v.lower() in _YES_NO | _DIGIT_YES_NO for v in sample], dtype=bool)),
        }
    # Free text: long values, or sentences of three words or more (what a code never looks like).
    free = np.array([len(v) > 64 or len(v.split()) >= 3 for v in sample], dtype=bool)
    lengths = text.str.len()
    return ColumnProfile(
        name=name,
        type=_column_type(shares, values, sample),
        samples=samples,
        values=count,
        numeric_share=shares["numeric"],
        whole_share=shares["whole"],
        date_share=shares["date"],
        boolean_share=shares["boolean"],
        free_text_share=_share(free),
        max_length=int(lengths.max()) if len(lengths) else 0,
        distinct=distinct,
    )


def _column_type(shares: dict[str, float], values: pd.Series, sample: list[str]) -> ColumnType:
    if not sample:
        return "empty"
    if pd.api.types.is_bool_dtype(values):
        return "boolean"
    words = {v.lower() for v in sample}
    # 0/1 alone are numbers; yes/no words (with or without 0/1) are booleans.
    if (
        shares["boolean"] >= TYPE_SHARE
        and not words <= _DIGIT_YES_NO
        and not pd.api.types.is_numeric_dtype(values)
    ):
        return "boolean"
    if shares["date"] >= TYPE_SHARE:
        return "date"
    if shares["numeric"] >= TYPE_SHARE:
        return "integer" if shares["whole"] >= shares["numeric"] else "number"
    return "text"


def profile_columns(frame: pd.DataFrame, columns: Iterable[str] | None = None) -> list[ColumnProfile]:
    """Profile the frame's source columns (all but provenance and geometry, or those named), in file order."""
    names = [str(c) for c in (frame.columns if columns is None else columns)]
    geometry = getattr(frame, "_geometry_column_name", None)
    # A name the frame holds twice gives a frame, not a column: such a file is refused elsewhere, not profiled.
    counts = frame.columns.value_counts()
    return [
        profile_column(name, frame[name])
        for name in names
        if counts.get(name, 0) == 1 and name not in PROVENANCE_COLUMNS and name not in ("geometry", geometry)
    ]


def profiles_by_name(profiles: Sequence[ColumnProfile] | None) -> dict[str, ColumnProfile]:
    """Index profiles by column name (empty when none are given)."""
    return {p.name: p for p in profiles or ()}
