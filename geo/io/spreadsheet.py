"""XLSX spreadsheets: recognised by content (a zip holding xl/workbook.xml), read one sheet as a table of cells."""

from __future__ import annotations

import datetime as dt
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from geo.io.errors import LayerChoiceError, MalformedSourceError, Problem, SourceTooLargeError
from geo.io.limits import ImportLimits

WORKBOOK_MEMBER = "xl/workbook.xml"
# A number format made only of zeros ("0000") shows an integer with leading zeros: the code the user sees.
_ZERO_PADDED = re.compile(r"^0{2,}$")
_RESERVED = ("row_number", "source_fid", "geometry")


class SheetChoiceError(LayerChoiceError):
    """The sheet asked for is not in the workbook; choices lists its sheets."""


@dataclass(slots=True)
class SheetTable:
    """One sheet read as a table: cells as Python values (text stays text), the sheet's row of each line."""

    frame: pd.DataFrame
    sheet_rows: np.ndarray
    sheet: str
    sheets: list[str]
    problems: list[Problem]


def is_xlsx(path: Path) -> bool:
    """Return True when the file is a zip archive with an Excel workbook part (XLSX), judged by its members."""
    try:
        with zipfile.ZipFile(path) as archive:
            return WORKBOOK_MEMBER in archive.namelist()
    except (zipfile.BadZipFile, OSError):
        return False


def _cell_value(value: Any, number_format: str | None) -> Any:
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        value = int(value)
    if isinstance(value, int) and number_format and _ZERO_PADDED.match(number_format):
        return str(value).zfill(len(number_format))
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, str):
        return value.strip() or None
    return value


def _header(cells: list[Any], label: str, sheet: str) -> list[str]:
    names: list[str] = []
    seen: dict[str, int] = {}
    for position, cell in enumerate(cells, start=1):
        name = str(cell).strip() if cell is not None and str(cell).strip() else f"column_{position}"
        if name in _RESERVED:
            name = f"{name}_src"  # as GDAL-read columns of these names are renamed
        key = name.lower()
        if key in seen:
            raise MalformedSourceError(
                f"{label}, sheet {sheet!r}, has two columns named {name!r} (columns {seen[key]} and {position}): "
                "rename one"
            )
        seen[key] = position
        names.append(name)
    return names


def read_xlsx(path: Path, label: str, *, sheet: str | None, limits: ImportLimits) -> SheetTable:
    """Read one sheet (the first, or the one named, case-insensitively): the first non-empty row names the columns.

    Text cells stay text ('0110' keeps its zero); whole numbers become int; a whole number shown with a format
    of zeros ('0000') becomes the zero-padded text it shows. Formulas give the value Excel last computed.
    """
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise MalformedSourceError(
            f"{label} could not be read as an XLSX workbook ({str(exc)[:160]})"
        ) from None
    try:
        sheets = [str(name) for name in workbook.sheetnames]
        if not sheets:
            raise MalformedSourceError(f"{label} holds no sheets")
        if sheet is None:
            chosen = sheets[0]
        else:
            matches = [s for s in sheets if s == sheet] or [s for s in sheets if s.lower() == sheet.lower()]
            if len(matches) != 1:
                raise SheetChoiceError(
                    f"{label} has no sheet named {sheet[:80]!r}; its sheets are: {', '.join(sheets)}",
                    choices=sheets,
                )
            chosen = matches[0]
        rows: list[list[Any]] = []
        numbers: list[int] = []
        header: list[str] | None = None
        for row_number, cells in enumerate(workbook[chosen].iter_rows(min_row=1), start=1):
            values = [_cell_value(c.value, getattr(c, "number_format", None)) for c in cells]
            if all(v is None for v in values):
                continue
            if header is None:
                while values and values[-1] is None:
                    values.pop()
                header = _header(values, label, chosen)
                continue
            if len(rows) >= limits.max_features:
                raise SourceTooLargeError(
                    f"{label}, sheet {chosen!r}, has more than {limits.max_features:,} rows, the limit"
                )
            rows.append(values)
            numbers.append(row_number)
    finally:
        workbook.close()
    if header is None:
        raise MalformedSourceError(f"{label}, sheet {chosen!r}, is empty: add a header row and data")
    width = len(header)
    problems: list[Problem] = []
    table: list[list[Any]] = []
    for index, values in enumerate(rows):
        extra = [v for v in values[width:] if v is not None]
        if extra:
            problems.append(
                Problem(
                    index + 1,
                    str(numbers[index]),
                    None,
                    f"sheet row {numbers[index]} has values right of the last named column; they are not read",
                    "warning",
                )
            )
        table.append((values + [None] * width)[:width])
    frame = pd.DataFrame(table, columns=header, dtype=object) if table else pd.DataFrame(columns=header)
    return SheetTable(frame.astype(object), np.asarray(numbers, dtype=np.int64), chosen, sheets, problems)
