"""COPY in PostgreSQL's binary format, each slice of rows encoded whole with numpy.

The text format makes the client print every value (and the server parse it back); points went as hex EWKB, twice
the bytes. Here a slice becomes one buffer in a few vectorised passes: per column, each row's field length
(big-endian, -1 for NULL) and its bytes (big-endian numbers, one byte for booleans, the UTF-8 of text from its
Arrow buffers, 25 bytes of EWKB for a point) are scattered into their place in the rows. The server applies the
same input checks as for text (lengths of varchar, a geometry column's type and SRID, constraints, triggers).

Column kinds: int4, float8 (NaN is NULL), bool, text, point (a pair of x and y arrays in EPSG:4326; NaN is NULL),
ewkb (each row's EWKB bytes or None) and jsonb (each row's JSON text or None).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import psycopg
import pyarrow as pa
from psycopg.copy import QueuedLibpqWriter
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from sqlalchemy.orm import Session

from geo.io.wkb import points_ewkb

# The binary COPY signature, flags (none) and header extension length (none); the trailer is a field count of -1.
_SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00"
_TRAILER = b"\xff\xff"
_INT4 = (-(2**31), 2**31 - 1)
KINDS = ("int4", "float8", "bool", "text", "point", "ewkb", "jsonb")


class OutOfRange(ValueError):
    """A number that its column's binary form cannot hold (the text format would be refused by the server)."""


class _Field:
    """One column of a slice as binary COPY fields: each row's length (-1: NULL) and where its bytes come from."""

    __slots__ = ("data", "lengths", "width")

    def __init__(self, lengths: np.ndarray, data: np.ndarray, width: int | None) -> None:
        self.lengths = lengths  # int64 per row, -1 for NULL
        self.data = (
            data  # uint8: fixed width (rows, width) or the concatenated bytes of the rows that have any
        )
        self.width = width  # bytes per present row when fixed, None for text


def _fixed(values: np.ndarray, missing: np.ndarray, dtype: str) -> _Field:
    width = np.dtype(dtype).itemsize
    raw = np.ascontiguousarray(values.astype(dtype)).view(np.uint8).reshape(len(values), width)
    lengths = np.where(missing, -1, width).astype(np.int64)
    return _Field(lengths, raw, width)


def _int4(values: Any) -> _Field:
    series = pd.Series(values) if not isinstance(values, pd.Series) else values
    missing = series.isna().to_numpy(dtype=bool)
    numbers = series.to_numpy(dtype=np.int64, na_value=0)
    if len(numbers) and (numbers.min() < _INT4[0] or numbers.max() > _INT4[1]):
        raise OutOfRange("an integer does not fit a 4-byte integer column")
    return _fixed(numbers, missing, ">i4")


def _float8(values: Any) -> _Field:
    numbers = np.asarray(pd.Series(values).to_numpy(dtype=np.float64, na_value=np.nan), dtype=np.float64)
    return _fixed(numbers, np.isnan(numbers), ">f8")


def _bool(values: Any) -> _Field:
    series = pd.Series(values) if not isinstance(values, pd.Series) else values
    missing = series.isna().to_numpy(dtype=bool)
    return _fixed(series.to_numpy(dtype=bool, na_value=False), missing, "u1")


def _arrow_text(values: Any) -> pa.LargeStringArray:
    """Text as one Arrow array with 64-bit offsets; values that are not text are written as str() of them."""
    try:
        array = pa.array(values, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        array = None
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    if array is None or not (pa.types.is_string(array.type) or pa.types.is_large_string(array.type)):
        if array is not None and pa.types.is_null(array.type):
            return pa.nulls(len(array), type=pa.large_string())
        objects = pd.Series(values, dtype=object)
        present = objects.notna().to_numpy(dtype=bool)
        texts = [str(v) if keep else None for v, keep in zip(objects.tolist(), present.tolist(), strict=True)]
        array = pa.array(texts, type=pa.large_string())
    return array.cast(pa.large_string())


def _text(values: Any) -> _Field:
    array = _arrow_text(values)
    n = len(array)
    _validity, offsets_buffer, data_buffer = array.buffers()
    offsets = np.frombuffer(offsets_buffer, dtype=np.int64)[array.offset : array.offset + n + 1]
    lengths = np.diff(offsets)
    missing = array.is_null().to_numpy(zero_copy_only=False) if array.null_count else np.zeros(n, dtype=bool)
    lengths = np.where(missing, -1, lengths)
    if data_buffer is None or not n:
        data = np.empty(0, dtype=np.uint8)
    else:
        data = np.frombuffer(data_buffer, dtype=np.uint8)[offsets[0] : offsets[-1]]
    return _Field(lengths.astype(np.int64), data, None)


def _payloads(chunks: list[bytes | None]) -> _Field:
    """Variable-length fields from each row's bytes (None: NULL)."""
    lengths = np.fromiter((-1 if c is None else len(c) for c in chunks), dtype=np.int64, count=len(chunks))
    data = np.frombuffer(b"".join(c for c in chunks if c is not None), dtype=np.uint8)
    return _Field(lengths, data, None)


def _ewkb(values: Any) -> _Field:
    return _payloads([None if v is None else bytes(v) for v in np.asarray(values, dtype=object).tolist()])


def _jsonb(values: Any) -> _Field:
    # jsonb's binary form is a version byte (1) and the JSON text.
    objects = pd.Series(values, dtype=object)
    present = objects.notna().to_numpy(dtype=bool).tolist()
    return _payloads(
        [
            b"\x01" + str(v).encode() if keep else None
            for v, keep in zip(objects.tolist(), present, strict=True)
        ]
    )


def _point(values: Any) -> _Field:
    x, y = (np.asarray(v, dtype=np.float64) for v in values)
    missing = np.isnan(x) | np.isnan(y)
    raw = points_ewkb(x, y).view(np.uint8).reshape(len(x), -1)
    return _Field(np.where(missing, -1, raw.shape[1]).astype(np.int64), raw, raw.shape[1])


_ENCODERS = {
    "int4": _int4,
    "float8": _float8,
    "bool": _bool,
    "text": _text,
    "point": _point,
    "ewkb": _ewkb,
    "jsonb": _jsonb,
}


def encode_rows(columns: Sequence[tuple[str, str]], values: Mapping[str, Any], count: int) -> bytes:
    """count rows of binary COPY data (no signature or trailer): values[name] per column, of its kind."""
    if not count:
        return b""
    fields = []
    for name, kind in columns:
        field = _ENCODERS[kind](values[name])
        if len(field.lengths) != count:
            raise ValueError(f"column {name} has {len(field.lengths)} values for {count} rows")
        fields.append(field)
    sizes = np.full(count, 2, dtype=np.int64)
    for field in fields:
        sizes += 4 + np.maximum(field.lengths, 0)
    starts = np.zeros(count, dtype=np.int64)
    np.cumsum(sizes[:-1], out=starts[1:])
    out = np.empty(int(starts[-1] + sizes[-1]), dtype=np.uint8)
    # The field count, big-endian, at the start of every row.
    counted = np.array([len(fields)], dtype=">i2").view(np.uint8)
    out[starts] = counted[0]
    out[starts + 1] = counted[1]
    position = starts + 2
    four = np.arange(4)
    for field in fields:
        out[position[:, None] + four] = field.lengths.astype(">i4").view(np.uint8).reshape(count, 4)
        present = field.lengths > 0
        begin = position + 4
        if field.width is not None:
            if present.all():
                out[begin[:, None] + np.arange(field.width)] = field.data
            elif present.any():
                out[begin[present][:, None] + np.arange(field.width)] = field.data[present]
        elif len(field.data):
            # Text: the rows' bytes lie one after the other in data; each byte goes to its row's place.
            lengths = np.maximum(field.lengths, 0)
            source_starts = np.zeros(count, dtype=np.int64)
            np.cumsum(lengths[:-1], out=source_starts[1:])
            shift = np.repeat(begin - source_starts, lengths)
            out[shift + np.arange(len(field.data))] = field.data
        position = begin + np.maximum(field.lengths, 0)
    return out.tobytes()


def copy_binary(
    db: Session,
    table: str,
    columns: Sequence[tuple[str, str]],
    slices: Iterable[tuple[Mapping[str, Any], int]],
    constants: Mapping[str, tuple[str, Any]] | None = None,
) -> None:
    """COPY slices of rows into table in binary format, on the session's connection and transaction.

    columns: (name, kind) in order; each slice is (values by column name, row count); constants: name -> (kind,
    value) for columns with one value on every row (None: NULL). table and the column names must come from the
    caller's allow-lists: they are written into the statement. A worker thread sends each slice while the next one
    is made. Errors the server raises arrive as SQLAlchemy's IntegrityError, DataError or OperationalError.
    """
    fixed = dict(constants or {})
    every = [*columns, *((name, kind) for name, (kind, _v) in fixed.items())]
    for name, kind in every:
        if kind not in KINDS:
            raise ValueError(f"unknown binary COPY kind {kind!r} for column {name}")
    statement = f"COPY {table} ({', '.join(name for name, _k in every)}) FROM STDIN (FORMAT binary)"
    driver = db.connection().connection.driver_connection
    try:
        cursor = driver.cursor()  # type: ignore[union-attr]
        with cursor, cursor.copy(statement, writer=QueuedLibpqWriter(cursor)) as copy:
            copy.write(_SIGNATURE)
            for values, count in slices:
                every_value = {
                    **values,
                    **{name: _repeat(kind, value, count) for name, (kind, value) in fixed.items()},
                }
                data = encode_rows(every, every_value, count)
                if data:
                    copy.write(data)
            copy.write(_TRAILER)
    except psycopg.errors.IntegrityError as exc:
        raise IntegrityError(statement, None, exc) from None
    except (psycopg.errors.DataError, OutOfRange) as exc:
        raise DataError(statement, None, exc) from None
    except psycopg.errors.OperationalError as exc:
        raise OperationalError(statement, None, exc) from None


def _repeat(kind: str, value: Any, count: int) -> Any:
    """A constant column's values for count rows."""
    if kind == "text":
        return pa.array([value] * count, type=pa.large_string())
    if kind == "point":
        x, y = (np.nan, np.nan) if value is None else value
        return np.full(count, x, dtype=np.float64), np.full(count, y, dtype=np.float64)
    if kind in ("ewkb", "jsonb"):
        return [value] * count
    if kind == "float8":
        return np.full(count, np.nan if value is None else value, dtype=np.float64)
    dtype = "Int64" if kind == "int4" else "boolean"
    return pd.Series(pd.array([pd.NA if value is None else value] * count, dtype=dtype))
