"""Zip archives checked member by member before anything is unpacked, then unpacked under generated names."""

from __future__ import annotations

import re
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from geo.io.errors import MalformedSourceError, SourceTooLargeError, UnsafeArchiveError
from geo.io.limits import ImportLimits

ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
_CHUNK_BYTES = 1024 * 1024

# Magic bytes of archive and compressed formats; a member starting with one of these is a nested archive.
_ARCHIVE_MAGIC: tuple[tuple[int, bytes], ...] = (
    (0, b"PK\x03\x04"),
    (0, b"PK\x05\x06"),
    (0, b"PK\x07\x08"),
    (0, b"\x1f\x8b"),
    (0, b"BZh"),
    (0, b"\xfd7zXZ\x00"),
    (0, b"7z\xbc\xaf\x27\x1c"),
    (0, b"Rar!\x1a\x07"),
    (0, b"\x28\xb5\x2f\xfd"),
    (257, b"ustar"),
)
_ARCHIVE_SUFFIXES = frozenset(
    {".zip", ".kmz", ".gz", ".tgz", ".tar", ".bz2", ".xz", ".7z", ".rar", ".zst", ".jar", ".shz"}
)
# Files that zip tools on macOS and Windows add next to the data; they are never data, so they are skipped.
_JUNK = re.compile(r"(^|/)(__MACOSX/|\._[^/]*$|\.DS_Store$|Thumbs\.db$|desktop\.ini$)", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class ExtractedMember:
    """A member unpacked under a generated name; original_name is the archive's name, for messages only."""

    path: Path
    original_name: str
    size: int


def looks_like_zip(head: bytes) -> bool:
    """Return True when the bytes start like a zip archive (local file header or empty archive)."""
    return head.startswith(ZIP_MAGIC)


def looks_like_archive(head: bytes) -> bool:
    """Return True when the bytes start like any archive or compressed stream (zip, gzip, 7z, rar, tar...)."""
    return any(head[offset : offset + len(magic)] == magic for offset, magic in _ARCHIVE_MAGIC)


def unsafe_member_reason(name: str) -> str | None:
    """Return why a member name could escape the extraction folder, or None when it is a plain relative name."""
    if not name:
        return "has an empty name"
    if _CONTROL.search(name):
        return "has control characters in its name"
    if "\\" in name:
        return "uses backslashes in its path"
    if name.startswith("/") or re.match(r"^[A-Za-z]:", name):
        return "has an absolute path"
    if ".." in PurePosixPath(name).parts:
        return "climbs out of the archive with '..'"
    return None


def _checked_members(archive: zipfile.ZipFile, label: str, limits: ImportLimits) -> list[zipfile.ZipInfo]:
    infos = archive.infolist()
    if len(infos) > limits.max_members:
        raise UnsafeArchiveError(
            f"{label} has {len(infos)} members; at most {limits.max_members} are accepted: "
            "zip only the files of the layer you import"
        )
    members: list[zipfile.ZipInfo] = []
    declared_total = compressed_total = 0
    for info in infos:
        shown = _CONTROL.sub("?", info.filename)[:120]
        reason = unsafe_member_reason(info.filename)
        if reason:
            raise UnsafeArchiveError(f"{label}: member {shown!r} {reason}; nothing was extracted")
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode):
            raise UnsafeArchiveError(
                f"{label}: member {shown!r} is a symbolic link; zip the files themselves, not links"
            )
        if stat.S_IFMT(mode) not in (0, stat.S_IFREG, stat.S_IFDIR):
            raise UnsafeArchiveError(f"{label}: member {shown!r} is not a regular file")
        if info.flag_bits & 0x1:
            raise UnsafeArchiveError(f"{label}: member {shown!r} is encrypted; zip it without a password")
        if info.is_dir() or _JUNK.search(info.filename):
            continue
        if PurePosixPath(info.filename).suffix.lower() in _ARCHIVE_SUFFIXES:
            raise UnsafeArchiveError(
                f"{label}: member {shown!r} is itself an archive; unpack it and upload its files in one zip"
            )
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > limits.ratio_floor_bytes and ratio > limits.max_member_ratio:
            raise UnsafeArchiveError(
                f"{label}: member {shown!r} expands {ratio:.0f} times (limit {limits.max_member_ratio:.0f}); "
                "this looks like a zip bomb and is refused"
            )
        declared_total += info.file_size
        compressed_total += info.compress_size
        members.append(info)
    if declared_total > limits.max_total_bytes:
        raise SourceTooLargeError(
            f"{label} unpacks to {declared_total:,} bytes, more than the limit of {limits.max_total_bytes:,}: "
            "split the data or ask an administrator to raise the import size limit"
        )
    total_ratio = declared_total / max(compressed_total, 1)
    if declared_total > limits.ratio_floor_bytes and total_ratio > limits.max_total_ratio:
        raise UnsafeArchiveError(
            f"{label} expands {total_ratio:.0f} times overall (limit {limits.max_total_ratio:.0f}); "
            "this looks like a zip bomb and is refused"
        )
    return members


def check_unpacked_reading(archive_path: Path, *, label: str, limits: ImportLimits) -> None:
    """Check every member of a zip that a reader will unpack itself (an XLSX workbook) like one we extract."""
    try:
        with zipfile.ZipFile(archive_path) as archive:
            _checked_members(archive, label, limits)
    except zipfile.BadZipFile as exc:
        raise MalformedSourceError(f"{label} is not a readable zip archive ({exc}): save it again") from None


def extract_zip(
    archive_path: Path, dest_dir: Path, *, label: str, limits: ImportLimits, prefix: str = "member"
) -> list[ExtractedMember]:
    """Check every member of a zip, then unpack the data files into dest_dir under generated names."""
    try:
        with zipfile.ZipFile(archive_path) as archive:
            members = _checked_members(archive, label, limits)
            extracted: list[ExtractedMember] = []
            budget = limits.max_total_bytes
            for index, info in enumerate(members):
                target = dest_dir / f"{prefix}-{index:03d}"
                written = _copy_member(archive, info, target, label=label, budget=budget)
                budget -= written
                extracted.append(ExtractedMember(target, info.filename, written))
            return extracted
    except zipfile.BadZipFile as exc:
        raise MalformedSourceError(
            f"{label} is not a readable zip archive ({exc}): zip the files again"
        ) from None
    except NotImplementedError as exc:  # compression methods zipfile cannot unpack (e.g. deflate64)
        raise UnsafeArchiveError(f"{label}: {exc}; zip the files again with ordinary deflate") from None


def _copy_member(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path, *, label: str, budget: int
) -> int:
    shown = _CONTROL.sub("?", info.filename)[:120]
    written = 0
    # Opened exclusively: a generated name that already exists means something else wrote there.
    with archive.open(info) as source, target.open("xb") as sink:
        while chunk := source.read(_CHUNK_BYTES):
            if written == 0 and looks_like_archive(chunk):
                raise UnsafeArchiveError(
                    f"{label}: member {shown!r} is itself an archive; unpack it and upload its files in one zip"
                )
            written += len(chunk)
            # zipfile stops at the declared size, but the budget is checked here too so a lying header or a
            # future zipfile change cannot make us write more than was promised.
            if written > info.file_size:
                raise UnsafeArchiveError(f"{label}: member {shown!r} unpacks to more bytes than it declares")
            if written > budget:
                raise SourceTooLargeError(f"{label} unpacks to more than the import size limit")
            sink.write(chunk)
    return written
