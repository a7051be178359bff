"""The one HTML-escaping helper for community-typed text in the app's pages and a map page's <title>.

Maps carry every other text as JSON data (geo/render/text.py); escaping is not what keeps text out of a template.
See docs/SECURITY.md, section on text.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any, TypeVar

import pandas as pd

# html.escape covers & < > " '; the characters that matter inside JavaScript template literals (` $ \\) are
# encoded too, so escaped text stays inert wherever a page's script might place it.
_ENTITIES = {
    "&": "&amp;",
    "<": "&lt;",
    ">": "&gt;",
    '"': "&quot;",
    "'": "&#39;",
    "`": "&#96;",
    "$": "&#36;",
    "\\": "&#92;",
}
_TABLE = str.maketrans(_ENTITIES)

FrameT = TypeVar("FrameT", bound=pd.DataFrame)


def is_missing(value: Any) -> bool:
    """Return True for None, NaN, pandas NA and NaT: values a map shows as empty."""
    if value is None:
        return True
    if isinstance(value, float):
        return math.isnan(value)
    try:
        return bool(pd.isna(value)) if pd.api.types.is_scalar(value) else False
    except (TypeError, ValueError):
        return False


def escape_text(value: Any) -> str:
    """Return `value` as text safe in HTML, attributes and JavaScript template literals ('' if missing)."""
    if is_missing(value):
        return ""
    if isinstance(value, bytes | bytearray):
        text = bytes(value).decode("utf-8", errors="replace")
    else:
        text = str(value)
    return text.translate(_TABLE)


def escape_properties(frame: FrameT, columns: Iterable[str] | None = None) -> FrameT:
    """Return a copy of `frame` whose `columns` (default: all text columns) escaped; missing stays None."""
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"'frame' should be a DataFrame or GeoDataFrame, got {type(frame).__name__}")
    geometry_name = getattr(frame, "_geometry_column_name", None)
    if columns is None:
        chosen = [
            name
            for name in frame.columns
            if name != geometry_name
            and (pd.api.types.is_object_dtype(frame[name]) or pd.api.types.is_string_dtype(frame[name]))
        ]
    else:
        chosen = list(columns)
        unknown = [name for name in chosen if name not in frame.columns]
        if unknown:
            raise KeyError(f"cannot escape columns {unknown}: the frame has {list(frame.columns)}")
        if geometry_name in chosen:
            raise ValueError(f"{geometry_name!r} is the geometry column, not text")
    out = frame.copy()
    for name in chosen:
        # object dtype keeps None as a JSON null instead of the string "None" or a float NaN.
        out[name] = pd.Series(
            [None if is_missing(value) else escape_text(value) for value in frame[name]],
            index=frame.index,
            dtype=object,
        )
    return out
