"""DBF (shapefile attribute table) header reading and the encoding decision: .cpg, language id, strict UTF-8."""

from __future__ import annotations

import codecs
import re
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from geo.io.errors import MalformedSourceError, SourceEncodingError

# dBase/ESRI language driver ids (byte 29 of the header) and the code page each one means.
LANGUAGE_DRIVER_CODEPAGES: dict[int, str] = {
    0x01: "cp437",
    0x02: "cp850",
    0x03: "cp1252",
    0x04: "mac_roman",
    0x08: "cp865",
    0x09: "cp437",
    0x0A: "cp850",
    0x0B: "cp437",
    0x0D: "cp437",
    0x0E: "cp850",
    0x0F: "cp437",
    0x10: "cp850",
    0x11: "cp437",
    0x12: "cp850",
    0x13: "cp932",
    0x14: "cp850",
    0x15: "cp437",
    0x16: "cp850",
    0x17: "cp865",
    0x18: "cp437",
    0x19: "cp437",
    0x1A: "cp850",
    0x1B: "cp437",
    0x1C: "cp863",
    0x1D: "cp850",
    0x1F: "cp852",
    0x22: "cp852",
    0x23: "cp852",
    0x24: "cp860",
    0x25: "cp850",
    0x26: "cp866",
    0x37: "cp850",
    0x40: "cp852",
    0x4D: "cp936",
    0x4E: "cp949",
    0x4F: "cp950",
    0x50: "cp874",
    0x57: "cp1252",  # "ANSI": the writer's Windows code page, in practice Western European
    0x58: "cp1252",
    0x59: "cp1252",
    0x64: "cp852",
    0x65: "cp866",
    0x66: "cp865",
    0x67: "cp861",
    0x6A: "cp737",
    0x6B: "cp857",
    0x6C: "cp863",
    0x78: "cp950",
    0x79: "cp949",
    0x7A: "cp936",
    0x7B: "cp932",
    0x7C: "cp874",
    0x86: "cp737",
    0x87: "cp852",
    0x88: "cp857",
    0x96: "mac_cyrillic",
    0x97: "mac_latin2",
    0x98: "mac_greek",
    0xC8: "cp1250",
    0xC9: "cp1251",
    0xCA: "cp1254",
    0xCB: "cp1253",
    0xCC: "cp1257",
}

_DBF_VERSIONS = frozenset(
    {0x02, 0x03, 0x04, 0x05, 0x30, 0x31, 0x32, 0x43, 0x63, 0x83, 0x8B, 0x8E, 0xCB, 0xF5, 0xFB}
)
_MULTIBYTE_UTF8 = re.compile(rb"[\xc2-\xf4][\x80-\xbf]+")


@dataclass(frozen=True, slots=True)
class DbfField:
    """One column of a DBF: raw name bytes, type letter, byte offset in the record and width."""

    name: bytes
    kind: str
    offset: int
    width: int


@dataclass(frozen=True, slots=True)
class DbfHeader:
    """The parts of a DBF header that the encoding decision and the sanity checks need."""

    n_records: int
    header_bytes: int
    record_bytes: int
    language_driver_id: int
    fields: tuple[DbfField, ...]


def looks_like_dbf(head: bytes, size: int) -> bool:
    """Return True when the bytes start like a dBase table whose declared layout fits the file size."""
    if len(head) < 32 or head[0] not in _DBF_VERSIONS:
        return False
    _n_records, header_bytes, record_bytes = struct.unpack("<IHH", head[4:12])
    return 33 <= header_bytes <= size and record_bytes >= 1


def read_dbf_header(path: Path, label: str) -> DbfHeader:
    """Parse a DBF header and field descriptors; a truncated table is refused with the sizes involved."""
    size = path.stat().st_size
    with path.open("rb") as handle:
        head = handle.read(32)
        if len(head) < 32 or head[0] not in _DBF_VERSIONS:
            raise MalformedSourceError(f"{label} is not a dBase (.dbf) table: export the shapefile again")
        n_records, header_bytes, record_bytes = struct.unpack("<IHH", head[4:12])
        if header_bytes < 33 or header_bytes > size:
            raise MalformedSourceError(f"{label} has a broken header: export the shapefile again")
        descriptors = handle.read(header_bytes - 32)
    fields: list[DbfField] = []
    offset = 1  # each record starts with its deletion flag
    for start in range(0, len(descriptors) - 31, 32):
        block = descriptors[start : start + 32]
        if block[0] == 0x0D:
            break
        name = block[:11].split(b"\x00", 1)[0]
        width = block[16]
        fields.append(DbfField(name, chr(block[11]), offset, width))
        offset += width
    needed = header_bytes + n_records * record_bytes
    if size < needed:
        raise MalformedSourceError(
            f"{label} is truncated: its header announces {n_records:,} records ({needed:,} bytes) but the file "
            f"has {size:,} bytes; copy or export the shapefile again"
        )
    return DbfHeader(n_records, header_bytes, record_bytes, head[29], tuple(fields))


def text_codec(name: str) -> str:
    """The Python name of a text encoding; LookupError for an unknown name or a codec that is not text
    (rot13, base64, zlib, hex, bz2, uu: bytes-to-bytes or str-to-str transforms that bytes.decode refuses)."""
    info = codecs.lookup(name)
    if not getattr(info, "_is_text_encoding", True):
        raise LookupError(f"{name!r} is not a text encoding")
    return info.name


def encoding_from_cpg(text: bytes, label: str) -> str:
    """Return the Python codec named by a .cpg file ('UTF-8', '1252', 'ANSI 1252', '88591', 'CP1250'...)."""
    value = text.decode("ascii", errors="replace").strip().strip("\x00").strip()
    upper = value.upper().replace(" ", "")
    candidates: list[str] = []
    if upper in ("65001", "UTF8", "UTF-8"):
        candidates.append("utf-8")
    elif m := re.fullmatch(r"(?:ANSI|CP|WINDOWS-?)?([0-9]{3,5})", upper):
        number = m.group(1)
        if number.startswith("8859") and len(number) > 4:
            candidates.append(f"iso8859-{number[4:]}")
        else:
            candidates.append(f"cp{number}")
    elif m := re.fullmatch(r"ISO-?8859-?([0-9]{1,2})", upper):
        candidates.append(f"iso8859-{m.group(1)}")
    candidates.append(value)
    for candidate in candidates:
        try:
            return text_codec(candidate)
        except (LookupError, ValueError):
            continue
    raise SourceEncodingError(
        f"{label} names the encoding {value[:40]!r}, which is unknown or not a text encoding: fix the .cpg or pass "
        "--encoding (e.g. --encoding utf-8 or --encoding cp1252)"
    )


def checked_user_encoding(encoding: str) -> str:
    """Return the codec name for a user's --encoding, or refuse it with a clear message."""
    try:
        return text_codec(encoding.strip())
    except (LookupError, ValueError):
        raise SourceEncodingError(
            f"--encoding {encoding[:40]!r} is not a known encoding (or not a text encoding): use e.g. utf-8, cp1252, latin-1 or cp1250"
        ) from None


def _text_blocks(path: Path, header: DbfHeader) -> list[tuple[DbfField, np.ndarray]]:
    """Return (field, bytes matrix n_records x width+1) for every text field that holds non-ASCII bytes."""
    text_fields = [f for f in header.fields if f.kind in ("C", "V") and f.width > 0]
    if not text_fields or header.n_records == 0:
        return []
    records = np.fromfile(
        path, dtype=np.uint8, count=header.n_records * header.record_bytes, offset=header.header_bytes
    ).reshape(header.n_records, header.record_bytes)
    blocks = []
    for field in text_fields:
        column = records[:, field.offset : field.offset + field.width]
        if (column >= 0x80).any():
            # A newline after each value keeps a multi-byte character from straddling two values.
            separator = np.full((header.n_records, 1), 0x0A, dtype=np.uint8)
            blocks.append((field, np.concatenate([column, separator], axis=1)))
    return blocks


def _first_undecodable(blocks: list[tuple[DbfField, np.ndarray]], names: bytes, encoding: str) -> str | None:
    try:
        names.decode(encoding)
    except UnicodeDecodeError:
        return "in the field names"
    for field, block in blocks:
        try:
            block.tobytes().decode(encoding)
        except UnicodeDecodeError as exc:
            row = exc.start // block.shape[1] + 1
            return f"in row {row}, field {field.name.decode('latin-1')!r}"
    return None


def decide_dbf_encoding(
    dbf_path: Path, *, cpg: bytes | None, user_encoding: str | None, label: str
) -> tuple[str, str]:
    """Return (codec, how it was decided) for a shapefile's text: --encoding, .cpg, language id, strict UTF-8."""
    header = read_dbf_header(dbf_path, label)
    blocks = _text_blocks(dbf_path, header)
    names = b"".join(f.name + b"\n" for f in header.fields)
    if user_encoding:
        encoding, source = checked_user_encoding(user_encoding), "--encoding"
    elif cpg is not None and cpg.strip():
        encoding, source = encoding_from_cpg(cpg, f"{label} (.cpg)"), ".cpg file"
    elif header.language_driver_id in LANGUAGE_DRIVER_CODEPAGES:
        encoding = LANGUAGE_DRIVER_CODEPAGES[header.language_driver_id]
        source = f"DBF language id 0x{header.language_driver_id:02X}"
    else:
        where = _first_undecodable(blocks, names, "utf-8")
        if where is None:
            return ("utf-8", "no .cpg or language id; all text is valid UTF-8")
        raise SourceEncodingError(
            f"{label}: the text encoding is not declared (no .cpg, no DBF language id) and the text is not UTF-8 "
            f"({where}): pass --encoding, e.g. --encoding cp1252 for Western European or cp1250 for Central European"
        )
    # Checked before decoding: UTF-8 bytes read as a single-byte code page decode "successfully" into mojibake.
    if source != "--encoding" and encoding != "utf-8" and _reads_as_utf8(blocks):
        raise SourceEncodingError(
            f"{label}: the {source} says {encoding}, but the text is valid UTF-8 with non-ASCII letters, so "
            f"reading it as {encoding} would garble them (e.g. 'Ã¶' for 'ö'): pass --encoding utf-8, or "
            f"--encoding {encoding} if the declaration is right"
        )
    where = _first_undecodable(blocks, names, encoding)
    if where is not None:
        raise SourceEncodingError(
            f"{label}: the text is not valid {encoding} as declared by the {source} ({where}): "
            "pass the right --encoding (e.g. utf-8, cp1252, cp1250)"
        )
    return (encoding, source)


def _reads_as_utf8(blocks: list[tuple[DbfField, np.ndarray]]) -> bool:
    if not blocks:
        return False
    joined = b"".join(block.tobytes() for _field, block in blocks)
    try:
        joined.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return _MULTIBYTE_UTF8.search(joined) is not None
