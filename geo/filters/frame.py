"""Evaluate a row-filter tree on a DataFrame, vectorised, with SQL's three-valued logic (nulls never match)."""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Sequence
from functools import reduce
from typing import Any

import numpy as np
import pandas as pd

from geo.filters.expression import (
    And,
    Column,
    Expression,
    In,
    IsNull,
    Like,
    Literal,
    Not,
    Or,
    WhereError,
    columns_of,
)
from geo.layers.coercion import as_number, as_text
from geo.layers.mapping import resolve_column

_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "=": operator.eq,
    "<>": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_BOOL_TEXT = {"true": True, "false": False}


class _Columns:
    """The frame's columns as the filter sees them: resolved by name once, converted to text or numbers once."""

    def __init__(self, frame: pd.DataFrame, resolved: dict[str, str]) -> None:
        self.frame = frame
        self.resolved = resolved
        self._text: dict[str, pd.Series] = {}
        self._numbers: dict[str, pd.Series] = {}

    def raw(self, column: Column) -> pd.Series:
        return self.frame[self.resolved[column.name]]

    def holds_numbers(self, column: Column) -> bool:
        values = self.raw(column)
        return pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)

    def text(self, column: Column) -> pd.Series:
        if column.name not in self._text:
            self._text[column.name] = as_text(self.raw(column).reset_index(drop=True))
        return self._text[column.name]

    def numbers(self, column: Column) -> pd.Series:
        if column.name not in self._numbers:
            self._numbers[column.name] = as_number(self.raw(column).reset_index(drop=True))
        return self._numbers[column.name]

    def all_numeric_text(self, column: Column) -> bool:
        """Whether every present value of a text column reads as a number (so < and > compare numerically)."""
        return bool(self.numbers(column).notna().sum() == self.text(column).notna().sum())


def evaluate_where(expression: Expression, frame: pd.DataFrame, columns: Sequence[str]) -> np.ndarray:
    """Return a boolean mask of the frame's rows that match; `columns` are the names the filter may use.

    Column names match case-insensitively (MappingError when none or several match). A comparison with a
    missing value is unknown and never matches, also under not.
    """
    resolved = {name: resolve_column(columns, name, option="--where") for name in columns_of(expression)}
    result = _evaluate(expression, _Columns(frame, resolved), len(frame))
    return np.asarray(result.fillna(False).to_numpy(dtype=bool))


def _known(values: np.ndarray, known: np.ndarray) -> pd.arrays.BooleanArray:
    return pd.arrays.BooleanArray(np.asarray(values, dtype=bool) & known, ~known)


def _evaluate(node: Expression, columns: _Columns, n: int) -> pd.arrays.BooleanArray:
    if isinstance(node, And):
        return reduce(operator.and_, (_evaluate(item, columns, n) for item in node.items))
    if isinstance(node, Or):
        return reduce(operator.or_, (_evaluate(item, columns, n) for item in node.items))
    if isinstance(node, Not):
        return ~_evaluate(node.item, columns, n)
    if isinstance(node, IsNull):
        return pd.arrays.BooleanArray(columns.text(node.column).isna().to_numpy(), np.zeros(n, dtype=bool))
    if isinstance(node, Like):
        text = columns.text(node.column)
        matched = text.str.fullmatch(_like_regex(node.pattern), flags=re.DOTALL)
        return pd.array(matched, dtype="boolean")
    if isinstance(node, In):
        parts = [_compare("=", node.column, value, columns) for value in _grouped(node.values)]
        return reduce(operator.or_, parts)
    if isinstance(node.left, Column) and isinstance(node.right, Column):
        return _compare_columns(node.op, node.left, node.right, columns)
    assert isinstance(node.left, Column) and isinstance(node.right, Literal)
    return _compare(node.op, node.left, node.right, columns)


def _grouped(values: tuple[Literal, ...]) -> list[Literal | tuple[Literal, ...]]:
    """In-lists compare text values in one isin; numbers and true/false one by one."""
    texts = tuple(v for v in values if isinstance(v.value, str))
    return [*(v for v in values if not isinstance(v.value, str)), *([texts] if texts else [])]


def _number_of(text: str) -> float | None:
    """A text value as a number by the same rule as imports use (decimal point or comma), else None."""
    number = float(as_number(pd.Series([text], dtype=object)).iloc[0])
    return None if np.isnan(number) else number


def _compare(
    op: str, column: Column, literal: Literal | tuple[Literal, ...], columns: _Columns
) -> pd.arrays.BooleanArray:
    if isinstance(literal, tuple):  # text values of an in-list
        wanted = [str(v.value) for v in literal]
        if columns.holds_numbers(column):
            numbers = [_number_of(text) for text in wanted]
            if any(number is None for number in numbers):
                raise _numbers_only(column)
            values = columns.numbers(column)
            return _known(values.isin(numbers).to_numpy(), values.notna().to_numpy())
        text = columns.text(column)
        return _known(text.isin(wanted).fillna(False).to_numpy(dtype=bool), text.notna().to_numpy())
    value = literal.value
    if isinstance(value, bool):
        if op not in ("=", "<>"):
            raise WhereError(f"--where: true and false can only be compared with = or <> ({column.name})")
        raw = columns.raw(column)
        if pd.api.types.is_bool_dtype(raw):
            flags = pd.array(raw.reset_index(drop=True), dtype="boolean")
        else:
            flags = pd.array(columns.text(column).str.lower().map(_BOOL_TEXT.get), dtype="boolean")
        return pd.array(_OPS[op](flags, value), dtype="boolean")
    if isinstance(value, str):
        number = _number_of(value)
        if columns.holds_numbers(column):
            if number is None:
                raise _numbers_only(column)
            return _numeric(op, columns.numbers(column), number)
        text = columns.text(column)
        # Codes keep their leading zeros: = and <> compare text as text; < and > numerically when all is numbers.
        if op not in ("=", "<>") and number is not None and columns.all_numeric_text(column):
            return _numeric(op, columns.numbers(column), number)
        return _textual(op, text, value)
    return _numeric(op, columns.numbers(column), float(value))


def _numbers_only(column: Column) -> WhereError:
    return WhereError(
        f"--where: the column {column.name!r} holds numbers: compare it with a number, e.g. {column.name} >= 10"
    )


def _numeric(op: str, values: pd.Series, number: float) -> pd.arrays.BooleanArray:
    array = values.to_numpy(dtype=float)
    known = ~np.isnan(array)
    with np.errstate(invalid="ignore"):
        return _known(_OPS[op](array, number), known)


def _textual(op: str, text: pd.Series, value: str) -> pd.arrays.BooleanArray:
    array = text.to_numpy(dtype=object, na_value="")
    known = text.notna().to_numpy()
    return _known(np.asarray(_OPS[op](array, value), dtype=bool), known)


def _compare_columns(op: str, left: Column, right: Column, columns: _Columns) -> pd.arrays.BooleanArray:
    if columns.holds_numbers(left) and columns.holds_numbers(right):
        a, b = columns.numbers(left).to_numpy(dtype=float), columns.numbers(right).to_numpy(dtype=float)
        with np.errstate(invalid="ignore"):
            return _known(_OPS[op](a, b), ~np.isnan(a) & ~np.isnan(b))
    ta, tb = columns.text(left), columns.text(right)
    known = ta.notna().to_numpy() & tb.notna().to_numpy()
    values = _OPS[op](ta.to_numpy(dtype=object, na_value=""), tb.to_numpy(dtype=object, na_value=""))
    return _known(np.asarray(values, dtype=bool), known)


def _like_regex(pattern: str) -> str:
    """A regular expression for a like pattern that cannot backtrack badly (atomic groups between the %s)."""
    segments: list[str] = [""]
    characters = iter(pattern)
    for character in characters:
        if character == "\\":
            segments[-1] += re.escape(next(characters, "\\"))
        elif character == "%":
            segments.append("")
        elif character == "_":
            segments[-1] += "."
        else:
            segments[-1] += re.escape(character)
    if len(segments) == 1:
        return segments[0]
    first, *middle, last = segments
    # Each middle part is found at its leftmost place and never retried, as fnmatch does for *.
    return first + "".join(f"(?>.*?{part})" for part in middle if part) + ".*" + last
