"""CSV and other delimited text: strict decoding, sniffed delimiter, header check, coordinate or WKT columns."""

from __future__ import annotations

import csv
import io
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import shapely
from shapely.errors import GEOSException

from geo.io.dbf import checked_user_encoding
from geo.io.detect import sniff_delimiter
from geo.io.errors import (
    MalformedSourceError,
    Problem,
    SourceCRSError,
    SourceEncodingError,
    SourceTooLargeError,
)
from geo.io.limits import ImportLimits
from geo.io.source_crs import WGS84, SourceCRS, make_source_crs

GeometryColumns = Literal["wkt", "lonlat", "xy"]

LONGITUDE_NAMES = ("lon", "lng", "long", "longitude")
LATITUDE_NAMES = ("lat", "latitude")
X_NAMES = ("x", "easting", "x_coord", "xcoord", "coord_x", "rechtswert")
Y_NAMES = ("y", "northing", "y_coord", "ycoord", "coord_y", "hochwert")
WKT_NAMES = ("wkt", "wkt_geom", "geometry_wkt", "geometry", "geom", "the_geom")
_NUMBER = re.compile(r"^\s*[-+]?(\d+([.,]\d*)?|[.,]\d+)([eE][-+]?\d+)?\s*$")


@dataclass(slots=True)
class DelimitedTable:
    """A parsed delimited file: text columns, geometries in the source CRS, and the decisions taken."""

    frame: pd.DataFrame
    geometries: np.ndarray
    geometry_columns: tuple[str, ...]
    geometry_kind: GeometryColumns | None
    line_numbers: np.ndarray
    crs: SourceCRS | None
    delimiter: str
    encoding: str
    encoding_source: str
    problems: list[Problem]


_TRANSLITERATION = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "é": "e", "è": "e", "à": "a"})


def column_key(name: str) -> str:
    """Return a column name's comparison key: lower case, umlauts spelled out, other symbols as '_'."""
    return re.sub(r"[^a-z0-9]+", "_", name.strip().lower().translate(_TRANSLITERATION)).strip("_")


def _decode(data: bytes, label: str, encoding: str | None) -> tuple[str, str, str]:
    if encoding:
        codec, source = checked_user_encoding(encoding), "--encoding"
    else:
        codec, source = "utf-8-sig", "UTF-8 (strict)"
    try:
        text = data.decode(codec)
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        if encoding:
            raise SourceEncodingError(
                f"{label} is not valid {codec} (line {line}, byte 0x{data[exc.start]:02X}): pass the right --encoding"
            ) from None
        raise SourceEncodingError(
            f"{label} is not UTF-8 (line {line} has the byte 0x{data[exc.start]:02X}): pass --encoding, e.g. "
            "--encoding cp1252 for Western European or cp1250 for Central European text"
        ) from None
    return text, ("utf-8" if codec == "utf-8-sig" else codec), source


def _parse_rows(text: str, delimiter: str, label: str) -> tuple[list[str], list[list[str]], list[int]]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    rows: list[list[str]] = []
    lines: list[int] = []
    start = 1
    try:
        for row in reader:
            if row:  # blank lines carry no row
                rows.append(row)
                lines.append(start)
            start = reader.line_num + 1
    except csv.Error as exc:
        raise MalformedSourceError(
            f"{label}: the row that starts on line {start} has a broken quote ({exc}): a quoted field must end "
            f"with a quote followed by the delimiter {delimiter!r} or the end of the line; check the quotes on "
            f"line {start}"
        ) from None
    if not rows:
        raise MalformedSourceError(f"{label} holds no rows: add a header row and data")
    return rows[0], rows[1:], lines[1:]


def _header(raw: list[str], label: str, problems: list[Problem]) -> list[str]:
    cells = [cell.strip() for cell in raw]
    if all(_NUMBER.match(cell) for cell in cells if cell) or not any(cells):
        raise MalformedSourceError(
            f"{label} has no header row (the first row holds only numbers or nothing): add a first row naming the "
            "columns, e.g. name;lat;lon"
        )
    names: list[str] = []
    seen: dict[str, int] = {}
    for position, cell in enumerate(cells, start=1):
        name = cell or f"column_{position}"
        if not cell:
            problems.append(
                Problem(None, None, name, f"column {position} has no name; it is called {name}", "info")
            )
        key = name.lower()
        if key in seen:
            raise MalformedSourceError(
                f"{label} has two columns named {name!r} (columns {seen[key]} and {position}): rename one"
            )
        seen[key] = position
        names.append(name)
    return names


def _find(columns: list[str], candidates: tuple[str, ...]) -> str | None:
    by_normal = {column_key(c): c for c in columns}
    return next((by_normal[name] for name in candidates if name in by_normal), None)


def _numbers(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Return (floats with NaN, mask of values that were present but not finite numbers); '52,5' reads as 52.5."""
    text = values.fillna("").astype(str).str.strip()
    comma_decimal = text.str.contains(",", regex=False) & ~text.str.contains(".", regex=False)
    text = text.where(~comma_decimal, text.str.replace(",", ".", regex=False))
    numbers = pd.to_numeric(text.where(text != "", None), errors="coerce").to_numpy(dtype=float)
    unusable = (text != "").to_numpy() & ~np.isfinite(numbers)
    return numbers, unusable


def read_delimited(
    path: Path, label: str, *, encoding: str | None, user_crs: SourceCRS | None, limits: ImportLimits
) -> DelimitedTable:
    """Parse a delimited text file into text columns and geometries (WKT, lon/lat or x/y columns)."""
    text, codec, encoding_source = _decode(path.read_bytes(), label, encoding)
    delimiter = sniff_delimiter(text[:65536]) or ","
    previous_limit = csv.field_size_limit()
    csv.field_size_limit(min(sys.maxsize, 64 * 1024 * 1024))
    try:
        raw_header, rows, lines = _parse_rows(text, delimiter, label)
    finally:
        csv.field_size_limit(previous_limit)
    if len(rows) > limits.max_features:
        raise SourceTooLargeError(
            f"{label} has {len(rows):,} rows, more than the limit of {limits.max_features:,}"
        )
    problems: list[Problem] = []
    columns = _header(raw_header, label, problems)
    width = len(columns)
    for index, row in enumerate(rows):
        if len(row) != width:
            problems.append(
                Problem(
                    index + 1,
                    str(lines[index]),
                    None,
                    f"line {lines[index]} has {len(row)} fields, the header has {width}: check delimiters and quotes",
                )
            )
            rows[index] = (row + [""] * width)[:width]
    frame = pd.DataFrame(rows, columns=columns, dtype=object)
    frame = frame.where(frame != "", None)
    row_numbers = np.arange(1, len(frame) + 1)
    line_ids = np.array([str(line) for line in lines], dtype=object)

    wkt_column = _find(columns, WKT_NAMES)
    lon_column, lat_column = _find(columns, LONGITUDE_NAMES), _find(columns, LATITUDE_NAMES)
    x_column, y_column = _find(columns, X_NAMES), _find(columns, Y_NAMES)
    if (lon_column is None) != (lat_column is None) and wkt_column is None:
        have = lon_column or lat_column
        raise MalformedSourceError(
            f"{label} has a {have!r} column but not its partner: name the columns lat and lon "
            "(or latitude/longitude)"
        )
    kind: GeometryColumns | None = None
    geometry_columns: tuple[str, ...] = ()
    point_columns: tuple[str, str] | None = None
    geometries = np.full(len(frame), None, dtype=object)
    if wkt_column is not None:
        kind, geometry_columns = "wkt", (wkt_column,)
        geometries = _parse_wkt(frame[wkt_column], row_numbers, line_ids, wkt_column, problems)
    elif lon_column is not None and lat_column is not None:
        kind, point_columns = "lonlat", (lon_column, lat_column)
    elif x_column is not None and y_column is not None:
        kind, point_columns = "xy", (x_column, y_column)

    crs = _decide_crs(kind, lon_column is not None and lat_column is not None, user_crs, label)
    if point_columns is not None:
        geometry_columns = point_columns
        geometries = _parse_points(
            frame,
            *point_columns,
            geographic=crs is not None and crs.crs.is_geographic,
            row_numbers=row_numbers,
            line_ids=line_ids,
            problems=problems,
        )
    return DelimitedTable(
        frame,
        geometries,
        geometry_columns,
        kind,
        np.asarray(lines, dtype=np.int64),
        crs,
        delimiter,
        codec,
        encoding_source,
        problems,
    )


def _decide_crs(
    kind: GeometryColumns | None, has_lonlat: bool, user_crs: SourceCRS | None, label: str
) -> SourceCRS | None:
    if user_crs is not None or kind is None:
        return user_crs
    if kind == "lonlat" or has_lonlat:
        return make_source_crs(WGS84, "EPSG:4326", "default for longitude/latitude columns")
    what = "WKT geometries" if kind == "wkt" else "x/y coordinates"
    raise SourceCRSError(
        f"{label} has {what} but no CRS: pass --crs EPSG:xxxx (e.g. EPSG:25833 for ETRS89 / UTM 33N, "
        "EPSG:4326 for longitude/latitude)"
    )


def _parse_wkt(
    values: pd.Series, row_numbers: np.ndarray, line_ids: np.ndarray, column: str, problems: list[Problem]
) -> np.ndarray:
    text = values.to_numpy(dtype=object)
    present = pd.notna(values).to_numpy()
    geometries = np.full(len(text), None, dtype=object)
    geometries[present] = shapely.from_wkt(text[present].astype(str), on_invalid="ignore")
    failed = np.flatnonzero(present & pd.isna(geometries))
    for index in failed:  # only the failures are parsed one by one, to say why
        try:
            shapely.from_wkt(str(text[index]))
            reason = "could not be read as WKT"
        except GEOSException as exc:
            reason = f"could not be read as WKT ({str(exc)[:160]})"
        problems.append(Problem(int(row_numbers[index]), str(line_ids[index]), column, reason))
    for index in np.flatnonzero(~present):
        problems.append(
            Problem(int(row_numbers[index]), str(line_ids[index]), column, "no geometry (empty WKT)")
        )
    return geometries


def _parse_points(
    frame: pd.DataFrame,
    x_name: str,
    y_name: str,
    *,
    geographic: bool,
    row_numbers: np.ndarray,
    line_ids: np.ndarray,
    problems: list[Problem],
) -> np.ndarray:
    x, x_unusable = _numbers(frame[x_name])
    y, y_unusable = _numbers(frame[y_name])
    x_missing = frame[x_name].isna().to_numpy()
    y_missing = frame[y_name].isna().to_numpy()
    ok = np.isfinite(x) & np.isfinite(y)
    if geographic:
        x_range = np.abs(x) > 180
        y_range = np.abs(y) > 90
        ok &= ~x_range & ~y_range
    for index in np.flatnonzero(~ok):
        row, line = int(row_numbers[index]), str(line_ids[index])
        if x_missing[index] or y_missing[index]:
            missing = [
                name for name, gone in ((x_name, x_missing[index]), (y_name, y_missing[index])) if gone
            ]
            problems.append(
                Problem(row, line, missing[0], f"missing coordinates ({' and '.join(missing)} empty)")
            )
        elif x_unusable[index] or y_unusable[index]:
            name = x_name if x_unusable[index] else y_name
            problems.append(Problem(row, line, name, f"{frame.at[index, name]!r} is not a number"))
        elif geographic and abs(y[index]) > 90:
            problems.append(Problem(row, line, y_name, f"latitude {y[index]:g} is outside -90..90"))
        else:
            problems.append(Problem(row, line, x_name, f"longitude {x[index]:g} is outside -180..180"))
    geometries = np.full(len(frame), None, dtype=object)
    geometries[ok] = shapely.points(x[ok], y[ok])
    return geometries
