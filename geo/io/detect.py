"""Format detection by content (magic bytes and parsing), and the choice of the one dataset to read."""

from __future__ import annotations

import codecs
import csv
import io
import re
import sqlite3
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import quote

from geo.io.dbf import looks_like_dbf
from geo.io.errors import (
    LayerChoiceError,
    MalformedSourceError,
    MissingCompanionError,
    SourceEncodingError,
    UnsupportedFormatError,
)
from geo.io.safe_zip import looks_like_zip
from geo.io.spreadsheet import is_xlsx
from geo.io.stage import StagedFile

SourceFormat = Literal["shapefile", "gpkg", "geojson", "csv", "xlsx", "dbf"]
# Formats that hold a table without geometry: they can be joined onto boundaries by a key.
TABLE_FORMATS = ("xlsx", "dbf")

SHAPEFILE_CODE = b"\x00\x00\x27\x0a"  # 9994, big-endian
SQLITE_MAGIC = b"SQLite format 3\x00"
OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy .xls (and other Office binary files)
GPKG_APPLICATION_IDS = frozenset({b"GPKG", b"GP10", b"GP11"})
SHAPE_TYPES = frozenset({0, 1, 3, 5, 8, 11, 13, 15, 18, 21, 23, 25, 28, 31})
CSV_DELIMITERS = (",", ";", "\t", "|")
_GEOJSON_TYPE = re.compile(
    r'"type"\s*:\s*"(FeatureCollection|Feature|Point|MultiPoint|LineString|MultiLineString|Polygon|'
    r'MultiPolygon|GeometryCollection)"'
)
_SIDECAR_BYTES = 64 * 1024

_DESCRIPTIONS = {
    "empty": "is empty (0 bytes)",
    "shp": "is a shapefile",
    "shx": "is a shapefile index (.shx)",
    "dbf": "is a dBase table (.dbf)",
    "gpkg": "is a GeoPackage",
    "sqlite": "is an SQLite database but not a GeoPackage",
    "geojson": "is GeoJSON",
    "json": "is JSON but not GeoJSON (no top-level type FeatureCollection, Feature or a geometry)",
    "kml": "is KML, which is not supported: save it as GeoJSON or GeoPackage",
    "xml": "looks like XML (a GDAL VRT or metadata?)",
    "html": "looks like an HTML page",
    "csv": "is a delimited text table (CSV)",
    "xlsx": "is an XLSX spreadsheet",
    "xls": "is a legacy Excel (.xls) or other Office binary file: save it as XLSX or CSV",
    "zip": "is a zip archive of an unknown kind",
    "text": "is text but not a table with a header row and a consistent delimiter",
    "binary": "is binary data of an unknown kind",
    "prj": "is a projection file (.prj)",
    "cpg": "is a code page file (.cpg)",
}


@dataclass(slots=True)
class Dataset:
    """The one dataset chosen from the staged files, renamed to a generated path fit for its reader."""

    format: SourceFormat
    path: Path
    label: str
    name: str
    prj: bytes | None = None
    cpg: bytes | None = None
    dbf: Path | None = None
    dbf_label: str = ""
    layer: str | None = None
    candidates: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)


def _decode_head(head: bytes) -> str | None:
    """Decode the first bytes as UTF-8 (BOM allowed), tolerating a character cut at the end of the sample."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    try:
        return decoder.decode(head, final=False)
    except UnicodeDecodeError:
        pass
    # Text in a single-byte code page (a cp1252 CSV) still has to be recognised as text; its reader then insists
    # on UTF-8 or an --encoding. Binary data has NUL bytes or many control characters.
    controls = sum(1 for byte in head if byte < 0x09 or 0x0D < byte < 0x20)
    if b"\x00" in head or controls > len(head) // 100:
        return None
    return head.decode("latin-1")


def sniff_delimiter(sample: str) -> str | None:
    """Return the delimiter among , ; tab | that splits the sample's lines into the most, equal, fields."""
    lines = sample.splitlines(keepends=True)
    if len(lines) > 1 and not sample.endswith(("\n", "\r")):
        lines = lines[:-1]  # the sample may end in the middle of a row
    lines = lines[:50]
    best: tuple[int, str] | None = None
    for delimiter in CSV_DELIMITERS:
        try:
            rows = [row for row in csv.reader(io.StringIO("".join(lines)), delimiter=delimiter) if row]
        except csv.Error:
            continue
        if not rows:
            continue
        width = len(rows[0])
        # Most rows must match the header's width; a few broken rows are reported by the reader, not here.
        matching = sum(1 for row in rows if len(row) == width)
        tolerated = max(1, len(rows) // 5)
        if width >= 2 and matching >= len(rows) - tolerated and (best is None or width > best[0]):
            best = (width, delimiter)
    return best[1] if best else None


def _is_gpkg(staged: StagedFile) -> bool:
    if staged.head[68:72] in GPKG_APPLICATION_IDS:
        return True
    # Some writers leave application_id unset; the mandatory gpkg_contents table still identifies a GeoPackage.
    uri = f"file:{quote(str(staged.path))}?mode=ro&immutable=1"
    try:
        with sqlite3.connect(uri, uri=True) as connection:
            row = connection.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'gpkg_contents'"
            ).fetchone()
    except sqlite3.DatabaseError:
        return False
    return row is not None


def classify(staged: StagedFile) -> str:
    """Return what a file is, judged by its content (the user's extension only names shapefile sidecars)."""
    head = staged.head
    if staged.size == 0:
        return "empty"
    if head.startswith(SHAPEFILE_CODE):
        # Main file and index share the header; the first record starts with record number 1 in the main
        # file and with the offset 50 (words) in the index.
        first = int.from_bytes(head[100:104], "big") if len(head) >= 104 else None
        if first == 1:
            return "shp"
        if first == 50:
            return "shx"
        return "shx" if staged.suffix == ".shx" else "shp"
    if looks_like_zip(head):
        # Zips were unpacked when staged; one still here is a workbook that its reader unpacks.
        return "xlsx" if is_xlsx(staged.path) else "zip"
    if head.startswith(OLE2_MAGIC):
        return "xls"
    if head.startswith(SQLITE_MAGIC):
        return "gpkg" if _is_gpkg(staged) else "sqlite"
    if _looks_like_dbf_strictly(head, staged.size):
        return "dbf"
    if staged.suffix in (".prj", ".qpj"):
        return "prj"
    if staged.suffix == ".cpg":
        return "cpg"
    text = _decode_head(head)
    if text is None or "\x00" in text:
        return "binary"
    stripped = text.lstrip()
    if stripped.startswith("{"):
        return "geojson" if _GEOJSON_TYPE.search(stripped) else "json"
    if stripped.startswith("["):
        return "json"
    if stripped.startswith("<"):
        lowered = stripped[:4096].lower()
        if "<kml" in lowered:
            return "kml"
        if "<html" in lowered or "<!doctype html" in lowered:
            return "html"
        return "xml"
    return "csv" if sniff_delimiter(text) else "text"


def _looks_like_dbf_strictly(head: bytes, size: int) -> bool:
    if not looks_like_dbf(head, size):
        return False
    # Text can start with a byte that is also a dBase version ('0', 'C'...), so the binary date and the
    # descriptor terminator must fit as well.
    _year, month, day = head[1], head[2], head[3]
    header_bytes = struct.unpack("<H", head[8:10])[0]
    terminator_ok = header_bytes > len(head) or head[header_bytes - 1] in (0x0D, 0x00)
    return month <= 12 and day <= 31 and terminator_ok


def describe(kind: str) -> str:
    """Return a sentence fragment that says what a file is, for error messages."""
    return _DESCRIPTIONS.get(kind, "is of an unknown kind")


def _read_sidecar(staged: StagedFile) -> bytes:
    if staged.size > _SIDECAR_BYTES:
        raise MalformedSourceError(
            f"{staged.label} is {staged.size:,} bytes, far too big for a {staged.suffix} file"
        )
    return staged.path.read_bytes()


def _check_shapefile_header(staged: StagedFile, index_kind: bool) -> None:
    head = staged.head
    if len(head) < 100:
        raise MalformedSourceError(
            f"{staged.label} is truncated: a shapefile header has 100 bytes, this file has {staged.size}"
        )
    declared = struct.unpack(">i", head[24:28])[0] * 2
    if declared != staged.size:
        raise MalformedSourceError(
            f"{staged.label} is truncated or damaged: its header says {declared:,} bytes, the file has "
            f"{staged.size:,}; copy or export the shapefile again"
        )
    version, shape_type = struct.unpack("<ii", head[28:36])
    if version != 1000 or shape_type not in SHAPE_TYPES:
        raise MalformedSourceError(f"{staged.label} has an invalid shapefile header (version or shape type)")
    if index_kind and (staged.size - 100) % 8:
        raise MalformedSourceError(f"{staged.label} is not a valid shapefile index")


def _not_a_dataset_message(files: Sequence[tuple[StagedFile, str]]) -> str:
    for staged, kind in files:
        if staged.suffix == ".shp" and kind not in ("shp", "shx"):
            return f"{staged.label} is not a shapefile (a .shp starts with the file code 9994): it {describe(kind)}"
    if len(files) == 1:
        staged, kind = files[0]
        if kind in ("dbf", "shx", "prj", "cpg"):
            return f"{staged.label} {describe(kind)}, only part of a shapefile: add the .shp, .shx and .dbf"
        return f"{staged.label} {describe(kind)}; accepted are zipped or loose shapefiles, GeoPackage, GeoJSON, CSV and XLSX"
    listed = "; ".join(f"{staged.label} {describe(kind)}" for staged, kind in files[:8])
    return f"none of the files is a shapefile, GeoPackage, GeoJSON, CSV or XLSX: {listed}"


def locate_dataset(staged_files: Sequence[StagedFile], folder: Path, layer: str | None) -> Dataset:
    """Classify the staged files, choose the dataset to read and move it to a generated path for its reader."""
    if not staged_files:
        raise UnsupportedFormatError("the upload holds no files (an empty zip?): add the data files")
    kinds = [(staged, classify(staged)) for staged in staged_files]
    primaries = [
        (staged, kind) for staged, kind in kinds if kind in ("shp", "gpkg", "geojson", "csv", "xlsx")
    ]
    tables = [(staged, kind) for staged, kind in kinds if kind == "dbf"]
    only_sidecars = all(kind in ("dbf", "cpg", "prj") and staged.suffix != ".shp" for staged, kind in kinds)
    if not primaries and len(tables) == 1 and only_sidecars:
        # A dBase table alone is an attribute table (to be joined by a key), not a broken shapefile.
        primaries = tables
    if not primaries:
        raise UnsupportedFormatError(_not_a_dataset_message(kinds))

    def candidate_name(staged: StagedFile, kind: str) -> str:
        return (
            staged.basename[: -len(staged.suffix)]
            if kind in ("shp", "dbf") and staged.suffix
            else staged.basename
        )

    names = [candidate_name(staged, kind) for staged, kind in primaries]
    wanted = [i for i, name in enumerate(names) if layer is not None and name.lower() == layer.lower()]
    if not wanted and any(kind != "csv" for _staged, kind in primaries):
        # Text tables next to a shapefile, GeoPackage or GeoJSON are documentation (README, field lists) unless
        # the user names one as the layer.
        keep = [i for i, (_staged, kind) in enumerate(primaries) if kind != "csv"]
        primaries = [primaries[i] for i in keep]
        names = [names[i] for i in keep]
    if len(primaries) > 1:
        chosen = [i for i, name in enumerate(names) if layer is not None and name.lower() == layer.lower()]
        if len(chosen) != 1:
            raise LayerChoiceError(
                f"the upload holds several datasets ({', '.join(names)}): choose one with --layer",
                choices=names,
            )
        index = chosen[0]
        layer = None  # used up choosing the file
    else:
        index = 0
    main, kind = primaries[index]
    used = {main.path}
    if kind == "shp":
        dataset = _shapefile_dataset(main, kinds, folder, used)
    elif kind == "dbf":
        dataset = _dbf_dataset(main, kinds, folder, used)
    else:
        extension = {"gpkg": ".gpkg", "geojson": ".geojson", "csv": ".csv", "xlsx": ".xlsx"}[kind]
        target = folder / f"layer{extension}"
        main.path.rename(target)
        dataset = Dataset(kind, target, main.label, names[index])  # type: ignore[arg-type]
        if kind == "geojson":
            check_utf8(target, main.label)
    dataset.candidates = names
    dataset.ignored = [staged.label for staged, _kind in kinds if staged.path not in used]
    dataset.layer = (
        layer  # a layer inside the chosen file (GeoPackage), unless it was used to choose the file
    )
    return dataset


def _shapefile_dataset(
    main: StagedFile, kinds: Sequence[tuple[StagedFile, str]], folder: Path, used: set[Path]
) -> Dataset:
    _check_shapefile_header(main, index_kind=False)
    siblings = [(s, k) for s, k in kinds if s.stem_key == main.stem_key and s.path != main.path]
    shx = next((s for s, k in siblings if k == "shx"), None)
    dbf = next((s for s, k in siblings if k == "dbf"), None)
    stem = main.basename[: -len(main.suffix)] if main.suffix else main.basename
    if shx is None:
        raise MissingCompanionError(
            f"{main.label} comes without its index {stem}.shx: add the .shx file (upload the whole zip)"
        )
    if dbf is None:
        raise MissingCompanionError(
            f"{main.label} comes without its attribute table {stem}.dbf: add the .dbf file (upload the whole zip)"
        )
    _check_shapefile_header(shx, index_kind=True)
    prj = next((s for s, k in siblings if k == "prj" and s.suffix == ".prj"), None)
    cpg = next((s for s, k in siblings if k == "cpg"), None)
    # Only the three files GDAL needs are moved next to each other; .prj and .cpg are read by us, so GDAL
    # can neither use nor misread them.
    target = folder / "layer.shp"
    main.path.rename(target)
    shx.path.rename(folder / "layer.shx")
    dbf_target = folder / "layer.dbf"
    dbf.path.rename(dbf_target)
    used.update({main.path, shx.path, dbf.path})
    prj_bytes = cpg_bytes = None
    if prj is not None:
        prj_bytes = _read_sidecar(prj)
        used.add(prj.path)
    if cpg is not None:
        cpg_bytes = _read_sidecar(cpg)
        used.add(cpg.path)
    return Dataset(
        "shapefile",
        target,
        main.label,
        stem,
        prj=prj_bytes,
        cpg=cpg_bytes,
        dbf=dbf_target,
        dbf_label=dbf.label,
    )


def _dbf_dataset(
    main: StagedFile, kinds: Sequence[tuple[StagedFile, str]], folder: Path, used: set[Path]
) -> Dataset:
    cpg = next((s for s, k in kinds if k == "cpg" and s.stem_key == main.stem_key), None)
    target = folder / "layer.dbf"
    main.path.rename(target)
    used.add(main.path)
    cpg_bytes = None
    if cpg is not None:
        cpg_bytes = _read_sidecar(cpg)
        used.add(cpg.path)
    stem = main.basename[: -len(main.suffix)] if main.suffix else main.basename
    return Dataset("dbf", target, main.label, stem, cpg=cpg_bytes, dbf=target, dbf_label=main.label)


def check_utf8(path: Path, label: str) -> None:
    """Refuse a text file that is not strict UTF-8, naming the line of the first bad byte."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    line = 1
    with path.open("rb") as handle:
        while chunk := handle.read(1024 * 1024):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                line += chunk.count(b"\n", 0, exc.start)
                raise SourceEncodingError(
                    f"{label} is not valid UTF-8 (line {line}); GeoJSON must be UTF-8: save it as UTF-8"
                ) from None
            line += chunk.count(b"\n")
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            raise SourceEncodingError(
                f"{label} ends in the middle of a UTF-8 character: save it again"
            ) from None
