"""Bulk writes to PostgreSQL: COPY a frame in text format, and array literals for bound parameters or COPY data."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd
import psycopg
from psycopg.copy import QueuedLibpqWriter
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from sqlalchemy.orm import Session

# COPY data is sent in slices of this many rows, so memory stays flat on large files (and the server stores one
# slice while the next one is formatted).
COPY_SLICE_ROWS = 50_000
# COPY's text format: backslash escapes for these characters, \N for NULL.
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_COPY_NULL = "\\N"
_NEEDS_ESCAPE = re.compile(r"[\\\t\n\r]")


def int_array_literal(values: Sequence[int]) -> str:
    """A PostgreSQL array literal of integers: {1,5}."""
    return "{" + ",".join(str(int(v)) for v in values) + "}"


def text_array_literal(texts: Iterable[str]) -> str:
    """A PostgreSQL array literal of texts that need no quoting (numbers, NULL, t/f, plain identifiers), in order.

    Binding one text per column is many times faster than letting the driver adapt long Python lists.
    """
    return "{" + ",".join(texts) + "}"


def sorted_text_array_literal(texts: Iterable[str]) -> str:
    """A PostgreSQL array literal of texts that need no quoting (slugs, plain identifiers), sorted: {a,b}."""
    return text_array_literal(sorted(texts))


def float_array_literal(values: pd.Series) -> str:
    """A PostgreSQL array literal of doubles, NaN and infinities as NULL: {1.5,NULL}."""
    # repr of a Python float is the shortest text that reads back as the same float: nothing is rounded.
    return text_array_literal(
        repr(v) if math.isfinite(v) else "NULL" for v in values.to_numpy(dtype=np.float64).tolist()
    )


def copy_text_fields(values: pd.Series) -> list[str]:
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


def copy_frame(
    db: Session, table: str, frame: pd.DataFrame, constants: Mapping[str, str | int | None] | None = None
) -> None:
    """COPY a frame into table (columns by name) in text format on the session's own connection and transaction.

    table and the column names must come from the caller's allow-lists: they are written into the statement.
    constants are columns with one value for every row (None: NULL).
    """
    copy_slices(db, table, list(frame.columns), _slices(frame), constants)


def _slices(frame: pd.DataFrame) -> Iterable[pd.DataFrame]:
    for start in range(0, len(frame), COPY_SLICE_ROWS):
        yield frame.iloc[start : start + COPY_SLICE_ROWS]


def copy_slices(
    db: Session,
    table: str,
    columns: Sequence[str],
    slices: Iterable[pd.DataFrame],
    constants: Mapping[str, str | int | None] | None = None,
) -> None:
    """COPY frames (each with `columns`, made one at a time) into table, plus `constants` on every row.

    A worker thread sends each slice while the next one is made and formatted, so the server stores rows while
    Python works. Errors the server raises arrive as SQLAlchemy's IntegrityError or DataError, like those of
    statements run through the session.
    """
    driver = db.connection().connection.driver_connection
    constant_text = "".join(
        "\t" + (_COPY_NULL if v is None else str(v).translate(_COPY_ESCAPES))
        for v in (constants or {}).values()
    )
    statement = f"COPY {table} ({', '.join([*columns, *(constants or {})])}) FROM STDIN"
    try:
        cursor = driver.cursor()  # type: ignore[union-attr]
        with cursor, cursor.copy(statement, writer=QueuedLibpqWriter(cursor)) as copy:
            for part in slices:
                fields = [copy_text_fields(part[column]) for column in columns]
                lines = map("\t".join, zip(*fields, strict=True))
                copy.write(f"{constant_text}\n".join(lines) + f"{constant_text}\n" if len(part) else "")
    except psycopg.errors.IntegrityError as exc:
        raise IntegrityError(statement, None, exc) from None
    except psycopg.errors.DataError as exc:
        raise DataError(statement, None, exc) from None
    except psycopg.errors.OperationalError as exc:
        raise OperationalError(statement, None, exc) from None
