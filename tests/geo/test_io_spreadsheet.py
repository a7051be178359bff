"""XLSX workbooks: told apart from other zips by content, checked like any archive, read with text kept as text."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import openpyxl
import pytest

from geo.io import ImportLimits, UnsafeArchiveError, UnsupportedFormatError, read_source


def workbook(path: Path) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["Code", "Name", "Einwohner"])
    sheet.append(["0110", "Mitte", 1200])
    sheet.append([120, "Moabit", 800.0])
    book.save(path)
    return path


def test_a_workbook_is_recognised_by_content_whatever_it_is_called(tmp_path: Path) -> None:
    path = workbook(tmp_path / "export.csv")  # a misleading name
    read = read_source(path)
    assert (read.format, read.columns, read.geometry_types) == ("xlsx", ["Code", "Name", "Einwohner"], [])
    rows = read.frame[["Code", "Name", "Einwohner"]].to_numpy().tolist()
    # The text code keeps its zero; the numbers stay numbers (a join pads codes from the city's codes).
    assert rows == [["0110", "Mitte", 1200], [120, "Moabit", 800]]
    assert read.frame["source_fid"].tolist() == [2, 3]  # the sheet's row numbers


def with_member(source: Path, target: Path, name: str, data: bytes) -> Path:
    """The workbook with one more member added to its zip."""
    buffer = io.BytesIO(source.read_bytes())
    with zipfile.ZipFile(buffer, "a", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, data)
    target.write_bytes(buffer.getvalue())
    return target


def test_a_workbook_with_a_climbing_member_or_a_bomb_is_refused_before_it_is_read(tmp_path: Path) -> None:
    plain = workbook(tmp_path / "plain.xlsx")
    climbing = with_member(plain, tmp_path / "climb.xlsx", "../../etc/evil.xml", b"<x/>")
    with pytest.raises(UnsafeArchiveError, match="climbs out"):
        read_source(climbing)
    bomb = with_member(plain, tmp_path / "bomb.xlsx", "xl/media/padding.bin", bytes(4_000_000))
    with pytest.raises(UnsafeArchiveError, match="zip bomb"):
        read_source(bomb, limits=ImportLimits(ratio_floor_bytes=100_000))


def test_a_legacy_xls_is_named_with_what_to_do(tmp_path: Path) -> None:
    path = tmp_path / "table.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600))
    with pytest.raises(UnsupportedFormatError, match="save it as XLSX or CSV"):
        read_source(path)
