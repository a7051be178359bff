"""A council's published register of assets of community value, read from its CSV or XLSX file: which column is
which (suggested from the names, the user's `--map` on top, case-insensitive), UK dates, coordinates, and the
comparison keys that match a row's name and address to an asset. No database here: `register_import` does that.

The file is read by the import's own reader (`geo.io.read_source`: format by content, strict decoding, the sheet
of a workbook); a CSV that is not UTF-8 is read as cp1252 (Windows Western European, what Excel writes in the UK),
and easting/northing columns are British National Grid (EPSG:27700) unless `crs` says otherwise.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyproj
import shapely

from app.errors import InvalidInput
from geo.io import GeoFileError, ReadResult, read_source
from geo.io.delimited import LATITUDE_NAMES, LONGITUDE_NAMES, X_NAMES, Y_NAMES, column_key
from geo.io.errors import MappingError, SourceCRSError, SourceEncodingError
from geo.layers.mapping import merge_mapping

BRITISH_NATIONAL_GRID = "EPSG:27700"
FALLBACK_ENCODING = "cp1252"

# The register's fields and the column names (as column_key spells them) that councils give them, most usual first.
FIELDS: dict[str, tuple[str, ...]] = {
    "name": (
        "name",
        "asset_name",
        "name_of_asset",
        "asset",
        "property_name",
        "name_of_property",
        "property",
        "site_name",
        "site",
        "building_name",
        "premises",
        "asset_title",
    ),
    "address": (
        "address",
        "asset_address",
        "property_address",
        "site_address",
        "address_of_asset",
        "address_of_property",
        "full_address",
        "street_address",
        "address_line_1",
        "location",
    ),
    "postcode": ("postcode", "post_code", "postal_code"),
    "body": (
        "nominating_body",
        "nominated_by",
        "nominator",
        "community_body",
        "nominating_group",
        "nominating_organisation",
        "nominating_organization",
        "nominating_community_group",
        "nominee",
        "organisation",
        "applicant",
    ),
    "reference": (
        "reference",
        "ref",
        "ref_no",
        "reference_number",
        "case_reference",
        "acv_reference",
        "council_reference",
        "register_number",
        "case_number",
    ),
    "nominated_on": (
        "nominated_on",
        "date_nominated",
        "nomination_date",
        "date_of_nomination",
        "nomination_received",
        "date_nomination_received",
        "date_received",
        "nominated",
        "received",
    ),
    "listed_on": (
        "listed_on",
        "date_listed",
        "listing_date",
        "date_of_listing",
        "date_added_to_list",
        "date_added_to_register",
        "date_added",
        "listed",
    ),
    "unsuccessful_on": (
        "unsuccessful_on",
        "date_unsuccessful",
        "date_refused",
        "refusal_date",
        "date_rejected",
        "date_not_listed",
        "unsuccessful",
        "refused",
    ),
    "decided_on": ("decided_on", "decision_date", "date_of_decision", "date_decided", "determination_date"),
    "outcome": ("outcome", "status", "decision", "result", "listing_status"),
    "removed_on": (
        "removed_on",
        "date_removed",
        "removal_date",
        "date_removed_from_list",
        "date_delisted",
        "removed",
    ),
    "note": ("notes", "note", "comments", "comment", "remarks"),
}
FIELD_NAMES = tuple(FIELDS)
DATE_FIELDS = ("nominated_on", "listed_on", "unsuccessful_on", "decided_on", "removed_on")


@dataclass(slots=True)
class RegisterRow:
    """One row of the register: its line (CSV) or sheet row (XLSX), its mapped cells as text, and its point."""

    row: int
    values: dict[str, Any]
    point: tuple[float, float] | None = None
    point_problem: str | None = None


@dataclass(slots=True)
class RegisterFile:
    """The register as read: its rows, the mapping used, what was suggested, and how the file was read."""

    rows: list[RegisterRow]
    mapping: dict[str, str]
    suggested: dict[str, str]
    columns: list[str]
    unmapped_columns: list[str]
    format: str
    encoding: str | None
    notes: list[str] = field(default_factory=list)


def suggest_mapping(columns: Sequence[str]) -> dict[str, str]:
    """{register field: column}: each field's first synonym that one column spells (case and punctuation aside)."""
    keys = {column: column_key(column) for column in columns}
    used: set[str] = set()
    mapping: dict[str, str] = {}
    for target, synonyms in FIELDS.items():
        for synonym in synonyms:
            found = [c for c in columns if keys[c] == synonym and c not in used]
            if len(found) == 1:
                mapping[target] = found[0]
                used.add(found[0])
                break
    return mapping


def final_mapping(columns: Sequence[str], given: Mapping[str, str] | None) -> dict[str, str]:
    """The suggestion with the user's `field=column` entries on top (fields and columns matched ignoring case)."""
    spelled: dict[str, str] = {}
    for target, column in (given or {}).items():
        name = str(target).strip().casefold()
        if name not in FIELDS:
            raise InvalidInput(
                f"--map: the register has no field {str(target)[:60]!r}: its fields are {', '.join(FIELD_NAMES)}",
                field="mapping",
            )
        spelled[name] = str(column)
    try:
        return merge_mapping(columns, suggest_mapping(columns), spelled)
    except MappingError as exc:
        raise InvalidInput(str(exc), field="mapping") from None


# --- dates -------------------------------------------------------------------------------------------------------

_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ),
        start=1,
    )
    for name in names
}
_WEEKDAY = r"(?:mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun)[a-z]*,?\s+"
_NUMERIC = re.compile(r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4}|\d{2})$")
_ISO = re.compile(r"^(\d{4})[-/](\d{1,2})[-/](\d{1,2})(?:[ t]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$")
_DAY_MONTH = re.compile(
    rf"^(?:{_WEEKDAY})?(\d{{1,2}})(?:st|nd|rd|th)?[\s\-/.]+([a-z]+)\.?,?[\s\-/.]+(\d{{4}}|\d{{2}})$"
)
_MONTH_DAY = re.compile(rf"^(?:{_WEEKDAY})?([a-z]+)\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(\d{{4}})$")
_NO_DATE = frozenset({"", "-", "--", "n/a", "na", "none", "nil", "tbc", "tba", "pending", "unknown", "?"})
# Excel's day 1 is 1 January 1900 and it counts a 29 February 1900 that never was: day 0 is 30 December 1899.
_EXCEL_EPOCH = dt.date(1899, 12, 30)
_EXCEL_SERIALS = (20_000, 80_000)  # 4 October 1954 .. 8 January 2119: a day a register holds


def _year(text: str) -> int:
    return 2000 + int(text) if len(text) == 2 else int(text)


def _day(year: int, month: int, day: int, value: str) -> dt.date:
    try:
        return dt.date(year, month, day)
    except ValueError:
        raise ValueError(
            f"{value!r} is not a day of the calendar (read as day {day}, month {month}, year {year})"
        ) from None


def parse_date(value: Any) -> dt.date | None:
    """A register's day, in the forms UK councils write: 12/03/2021 and 12.03.21 (always day first, never the US
    month-first), 12 March 2021, 12th Mar 2021, Friday 12 March 2021, 12-Mar-2021, 2021-03-12, and an Excel serial
    day (44267) as a workbook stores a date cell without a date format. None for an empty cell or 'n/a'; a
    ValueError saying why for anything else."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a date")
    if isinstance(value, (int, float, np.integer, np.floating)):
        if float(value).is_integer() and _EXCEL_SERIALS[0] <= value <= _EXCEL_SERIALS[1]:
            return _EXCEL_EPOCH + dt.timedelta(days=int(value))
        raise ValueError(
            f"{value!r} is a number, not a date (an Excel day number lies between 20000 and 80000)"
        )
    text = " ".join(str(value).split()).strip().lower()
    if text in _NO_DATE:
        return None
    if text.isdigit() and len(text) == 5 and _EXCEL_SERIALS[0] <= int(text) <= _EXCEL_SERIALS[1]:
        return _EXCEL_EPOCH + dt.timedelta(days=int(text))
    if match := _ISO.match(text):
        return _day(int(match[1]), int(match[2]), int(match[3]), str(value))
    if match := _NUMERIC.match(text):
        day, month = int(match[1]), int(match[2])
        if month > 12:
            raise ValueError(
                f"{value!r} has month {month}: the register's dates are read day first (dd/mm/yyyy, the UK "
                "order), never month first; correct the cell or write it as yyyy-mm-dd"
            )
        return _day(_year(match[3]), month, day, str(value))
    if match := _DAY_MONTH.match(text):
        month_number = _MONTHS.get(match[2])
        if month_number is not None:
            return _day(_year(match[3]), month_number, int(match[1]), str(value))
    if match := _MONTH_DAY.match(text):
        month_number = _MONTHS.get(match[1])
        if month_number is not None:
            return _day(int(match[3]), month_number, int(match[2]), str(value))
    raise ValueError(
        f"{str(value)[:60]!r} is not a date in a form the import reads: write dd/mm/yyyy, 12 March 2021, "
        "12-Mar-2021 or yyyy-mm-dd"
    )


# --- names and addresses -----------------------------------------------------------------------------------------


def match_key(text: str | None) -> str:
    """A name's or address's comparison key: accents, case, punctuation and spacing aside, '&' as 'and', and a
    leading 'The' dropped ("The Red Lion, " and "red lion" compare equal)."""
    if not text:
        return ""
    decomposed = unicodedata.normalize("NFKD", str(text))
    plain = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold().replace("&", " and ")
    words = re.sub(r"[^0-9a-z]+", " ", plain.replace("'", "").replace("\u2019", "")).split()
    if len(words) > 1 and words[0] == "the":
        words = words[1:]
    return " ".join(words)


def postcode_key(text: str | None) -> str:
    """A UK postcode's comparison key (upper case, no spaces), or '' when the text holds none."""
    found = re.search(r"\b([A-Z]{1,2}\d[A-Z\d]?)\s*(\d[A-Z]{2})\b", (text or "").upper())
    return f"{found[1]}{found[2]}" if found else ""


# --- reading -----------------------------------------------------------------------------------------------------


def _read(
    path: Path, name: str, crs: str | None, encoding: str | None, sheet: str | None
) -> tuple[ReadResult, list[str]]:
    notes: list[str] = []
    tried_encoding, tried_crs = encoding, crs
    for _attempt in range(3):
        try:
            return (
                read_source(path, original_names=[name], crs=tried_crs, encoding=tried_encoding, sheet=sheet),
                notes,
            )
        except SourceEncodingError:
            if tried_encoding is not None:
                raise
            tried_encoding = FALLBACK_ENCODING
            notes.append(
                f"the file is not UTF-8: read as {FALLBACK_ENCODING} (Windows Western European, as Excel saves a "
                "CSV in the UK); pass an encoding if its accents or £ signs look wrong"
            )
        except SourceCRSError:
            if tried_crs is not None:
                raise
            tried_crs = BRITISH_NATIONAL_GRID
            notes.append(
                "easting and northing read as British National Grid (EPSG:27700); pass a CRS for another grid"
            )
    raise InvalidInput(f"{name} could not be read", field="file")


def _number(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    try:
        return float(str(value).strip().replace(",", ""))
    except ValueError:
        return None


def _sheet_points(result: ReadResult, crs: str | None, rows: list[RegisterRow], notes: list[str]) -> None:
    """A workbook's coordinates: longitude/latitude columns, else easting/northing (British National Grid)."""
    keys = {column_key(c): c for c in result.columns}
    pairs = (
        (LONGITUDE_NAMES, LATITUDE_NAMES, crs or "EPSG:4326"),
        (X_NAMES, Y_NAMES, crs or BRITISH_NATIONAL_GRID),
    )
    for x_names, y_names, source in pairs:
        x_column = next((keys[n] for n in x_names if n in keys), None)
        y_column = next((keys[n] for n in y_names if n in keys), None)
        if x_column is None or y_column is None:
            continue
        if source == BRITISH_NATIONAL_GRID:
            notes.append(
                f"{x_column}/{y_column} read as British National Grid (EPSG:27700); pass a CRS for another grid"
            )
        try:
            transformer = pyproj.Transformer.from_crs(source, "EPSG:4326", always_xy=True)
        except pyproj.exceptions.CRSError:
            raise InvalidInput(f"{crs!r} is not a CRS: write it as EPSG:27700", field="crs") from None
        frame = result.frame
        for index, row in enumerate(rows):
            x, y = _number(frame[x_column].iat[index]), _number(frame[y_column].iat[index])
            if x is None and y is None:
                continue
            if x is None or y is None:
                row.point_problem = f"{x_column}/{y_column}: one of the two is missing or not a number"
                continue
            lon, lat = transformer.transform(x, y)
            if not (np.isfinite(lon) and np.isfinite(lat) and -180 <= lon <= 180 and -90 <= lat <= 90):
                row.point_problem = f"{x_column} {x:g}, {y_column} {y:g} is not a place on Earth in {source}"
                continue
            row.point = (float(lon), float(lat))
        return


def read_register(
    path: Path,
    name: str,
    *,
    mapping: Mapping[str, str] | None = None,
    crs: str | None = None,
    encoding: str | None = None,
    sheet: str | None = None,
) -> RegisterFile:
    """Read a register's rows with the mapping (suggested, the user's on top); a file that cannot be read, or
    without a name column, is an InvalidInput that says what to do."""
    try:
        result, notes = _read(path, name, crs, encoding, sheet)
    except GeoFileError as exc:
        raise InvalidInput(str(exc), field="file") from None
    if result.format not in ("csv", "xlsx"):
        raise InvalidInput(
            f"{name} {('is ' + result.format) if result.format else 'is not a table'}: a register is imported from "
            "a CSV or an XLSX file",
            field="file",
        )
    columns = [str(c) for c in result.columns if c not in ("row_number", "source_fid", "geometry")]
    used = final_mapping(columns, mapping)
    if "name" not in used:
        raise InvalidInput(
            f"no column of {name} is the asset's name: map one with --map name=COLUMN (the file's columns are "
            f"{', '.join(repr(c) for c in columns[:40])})",
            field="mapping",
            extra={"columns": columns, "suggested_mapping": suggest_mapping(columns)},
        )
    frame = result.frame
    rows: list[RegisterRow] = []
    fids = frame["source_fid"].to_numpy()
    for index in range(len(frame)):
        values = {}
        for target, column in used.items():
            cell = frame[column].iat[index]
            values[target] = None if cell is None or (isinstance(cell, float) and np.isnan(cell)) else cell
        rows.append(RegisterRow(int(fids[index]), values))
    if result.format == "csv":
        geometries = frame.geometry.to_numpy()
        for row, geometry in zip(rows, geometries, strict=True):
            if geometry is None or shapely.is_empty(geometry):
                continue
            if geometry.geom_type != "Point":
                row.point_problem = f"its geometry is a {geometry.geom_type}: a register's place is a point"
                continue
            x, y = float(shapely.get_x(geometry)), float(shapely.get_y(geometry))
            if np.isfinite(x) and np.isfinite(y):
                row.point = (x, y)
        for problem in result.problems:
            if problem.row_number is not None and problem.severity == "error":
                named = rows[problem.row_number - 1]
                named.point_problem = named.point_problem or problem.reason
    else:
        _sheet_points(result, crs, rows, notes)
    notes += [p.reason for p in result.problems if p.row_number is None and p.severity != "info"]
    return RegisterFile(
        rows=rows,
        mapping=used,
        suggested=suggest_mapping(columns),
        columns=columns,
        unmapped_columns=[c for c in columns if c not in used.values()],
        format=result.format,
        encoding=result.encoding,
        notes=notes,
    )
