"""Zip archives are checked member by member and nothing lands outside the private work folder."""

from __future__ import annotations

import io
import json
import stat
import struct
import zipfile
from pathlib import Path

import pytest

from geo.io import (
    ImportLimits,
    MalformedSourceError,
    SourceTooLargeError,
    UnsafeArchiveError,
    read_source,
)

FEATURE_COLLECTION = json.dumps(
    {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"name": "Köpenick"},
                "geometry": {"type": "Point", "coordinates": [13.5, 52.4]},
            }
        ],
    }
).encode()


def make_zip(path: Path, members: list[tuple[str | zipfile.ZipInfo, bytes]]) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members:
            archive.writestr(name, data)
    return path


def files_under(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


@pytest.fixture
def work(tmp_path: Path) -> Path:
    folder = tmp_path / "work"
    folder.mkdir()
    return folder


def read_refused(archive: Path, work: Path, error: type[Exception], match: str, **kwargs: object) -> None:
    before = files_under(archive.parent)
    with pytest.raises(error, match=match):
        read_source(archive, work_dir=work, **kwargs)  # type: ignore[arg-type]
    # The private folder is removed and nothing appeared anywhere else.
    assert files_under(work) == set()
    assert files_under(archive.parent) == before


def test_a_good_zip_is_read_and_its_work_folder_removed(tmp_path: Path, work: Path) -> None:
    archive = make_zip(
        tmp_path / "data.zip", [("data/points.geojson", FEATURE_COLLECTION), ("README.txt", b"hi")]
    )
    result = read_source(archive, work_dir=work)
    assert result.feature_count == 1
    assert result.frame["name"].tolist() == ["Köpenick"]
    assert files_under(work) == set()


@pytest.mark.parametrize(
    ("member", "reason"),
    [
        ("../escape.geojson", "climbs out of the archive"),
        ("data/../../escape.geojson", "climbs out of the archive"),
        ("/tmp/absolute.geojson", "absolute path"),
        ("C:/windows/absolute.geojson", "absolute path"),
        ("data\\..\\escape.geojson", "backslashes"),
    ],
)
def test_member_names_that_could_escape_are_refused(
    tmp_path: Path, work: Path, member: str, reason: str
) -> None:
    archive = make_zip(
        tmp_path / "evil.zip", [("ok.geojson", FEATURE_COLLECTION), (member, FEATURE_COLLECTION)]
    )
    read_refused(archive, work, UnsafeArchiveError, reason)
    assert not (tmp_path / "escape.geojson").exists()
    assert not Path("/tmp/absolute.geojson").exists()


def test_a_symlink_member_is_refused(tmp_path: Path, work: Path) -> None:
    link = zipfile.ZipInfo("link.geojson")
    link.create_system = 3
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    archive = make_zip(tmp_path / "link.zip", [("ok.geojson", FEATURE_COLLECTION), (link, b"/etc/passwd")])
    read_refused(archive, work, UnsafeArchiveError, "symbolic link")


def test_a_nested_archive_is_refused_by_name(tmp_path: Path, work: Path) -> None:
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as nested:
        nested.writestr("points.geojson", FEATURE_COLLECTION)
    archive = make_zip(tmp_path / "outer.zip", [("inner.zip", inner.getvalue())])
    read_refused(archive, work, UnsafeArchiveError, "itself an archive")


def test_a_nested_archive_is_refused_by_content_whatever_its_name(tmp_path: Path, work: Path) -> None:
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as nested:
        nested.writestr("points.geojson", FEATURE_COLLECTION)
    archive = make_zip(tmp_path / "outer.zip", [("innocent.geojson", inner.getvalue())])
    read_refused(archive, work, UnsafeArchiveError, "itself an archive")


def test_too_many_members_are_refused(tmp_path: Path, work: Path) -> None:
    archive = make_zip(tmp_path / "many.zip", [(f"f{i}.txt", b"x") for i in range(65)])
    read_refused(archive, work, UnsafeArchiveError, "65 members; at most 64")


def test_a_high_ratio_zip_bomb_is_refused(tmp_path: Path, work: Path) -> None:
    archive = make_zip(
        tmp_path / "bomb.zip", [("points.geojson", FEATURE_COLLECTION + b" " * (8 * 1024 * 1024))]
    )
    read_refused(archive, work, UnsafeArchiveError, "zip bomb")


def test_a_declared_size_over_the_limit_is_refused_before_extraction(tmp_path: Path, work: Path) -> None:
    archive = make_zip(
        tmp_path / "big.zip", [("points.geojson", FEATURE_COLLECTION), ("pad.txt", bytes(range(256)) * 64)]
    )
    limits = ImportLimits(max_total_bytes=4096)
    read_refused(archive, work, SourceTooLargeError, "more than the limit of 4,096", limits=limits)


def test_a_member_that_lies_about_its_size_is_refused(tmp_path: Path, work: Path) -> None:
    archive = make_zip(tmp_path / "liar.zip", [("points.geojson", FEATURE_COLLECTION)])
    data = bytearray(archive.read_bytes())
    # Shrink the uncompressed size recorded in the local header and the central directory to 10 bytes.
    struct.pack_into("<I", data, 22, 10)
    central = data.rfind(b"PK\x01\x02")
    struct.pack_into("<I", data, central + 24, 10)
    archive.write_bytes(bytes(data))
    before = files_under(tmp_path)
    with pytest.raises((UnsafeArchiveError, MalformedSourceError)):
        read_source(archive, work_dir=work)
    assert files_under(work) == set()
    assert files_under(tmp_path) == before


def test_encrypted_members_are_refused(tmp_path: Path, work: Path) -> None:
    archive = make_zip(tmp_path / "secret.zip", [("points.geojson", FEATURE_COLLECTION)])
    data = bytearray(archive.read_bytes())
    struct.pack_into("<H", data, 6, 0x1)  # general purpose flag bit 0: encrypted
    central = data.rfind(b"PK\x01\x02")
    struct.pack_into("<H", data, central + 8, 0x1)
    archive.write_bytes(bytes(data))
    read_refused(archive, work, UnsafeArchiveError, "encrypted")


def test_a_damaged_zip_says_so(tmp_path: Path, work: Path) -> None:
    archive = tmp_path / "broken.zip"
    archive.write_bytes(b"PK\x03\x04" + b"\x00" * 40)
    read_refused(archive, work, MalformedSourceError, "not a readable zip archive")


def test_macos_metadata_members_are_skipped(tmp_path: Path, work: Path) -> None:
    archive = make_zip(
        tmp_path / "mac.zip",
        [("points.geojson", FEATURE_COLLECTION), ("__MACOSX/._points.geojson", b"\x00\x05\x16\x07junk")],
    )
    assert read_source(archive, work_dir=work).feature_count == 1
