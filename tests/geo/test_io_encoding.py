"""Shapefile and CSV text is decoded as declared (.cpg, DBF language id) or strict UTF-8, never guessed."""

from __future__ import annotations

import struct
from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
import shapely

from geo.io import SourceEncodingError, inspect_source, read_source

NAMES = ["Köpenick", "Gdańsk", "Rīga"]
LANGUAGE_ID_OFFSET = 29


def utf8_shapefile(folder: Path, names: list[str]) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    frame = gpd.GeoDataFrame(
        {"name": ["x" * 12] * len(names)},
        geometry=shapely.points([[392_000.0 + i, 5_820_000.0] for i in range(len(names))]),
        crs="EPSG:25833",
    )
    pyogrio.write_dataframe(frame, folder / "places.shp", encoding="UTF-8")
    parts = {p.suffix: p for p in folder.glob("places.*")}
    set_names(parts[".dbf"], [n.encode("utf-8") for n in names])
    return parts


def set_names(dbf: Path, values: list[bytes]) -> None:
    """Overwrite the first text field of each record with raw bytes (padded with blanks)."""
    data = bytearray(dbf.read_bytes())
    header_bytes, record_bytes = struct.unpack("<HH", data[8:12])
    width = data[32 + 16]
    for index, value in enumerate(values):
        start = header_bytes + index * record_bytes + 1
        data[start : start + width] = value.ljust(width, b" ")[:width]
    dbf.write_bytes(bytes(data))


def encoded_shapefile(
    folder: Path, names: list[str], encoding: str, *, cpg: str | None, language_id: int
) -> list[Path]:
    parts = utf8_shapefile(folder, names)
    set_names(parts[".dbf"], [n.encode(encoding) for n in names])
    data = bytearray(parts[".dbf"].read_bytes())
    data[LANGUAGE_ID_OFFSET] = language_id
    parts[".dbf"].write_bytes(bytes(data))
    parts[".cpg"].unlink()
    if cpg is not None:
        parts[".cpg"].write_text(cpg)
    return sorted(folder.glob("places.*"))


def names_read(paths: list[Path], **kwargs: object) -> list[str]:
    return read_source(paths, **kwargs).frame["name"].tolist()  # type: ignore[arg-type]


def test_cpg_declares_the_encoding(tmp_path: Path) -> None:
    paths = encoded_shapefile(tmp_path, ["Köpenick", "Neukölln"], "latin-1", cpg="ISO-8859-1", language_id=0)
    result = read_source(paths)
    assert result.frame["name"].tolist() == ["Köpenick", "Neukölln"]
    assert (result.encoding, result.encoding_source) == ("iso8859-1", ".cpg file")


def test_the_dbf_language_id_declares_the_encoding(tmp_path: Path) -> None:
    paths = encoded_shapefile(tmp_path, ["Köpenick", "Weißensee"], "cp1252", cpg=None, language_id=0x57)
    result = read_source(paths)
    assert result.frame["name"].tolist() == ["Köpenick", "Weißensee"]
    assert (result.encoding, result.encoding_source) == ("cp1252", "DBF language id 0x57")


def test_central_european_language_id_keeps_polish_letters(tmp_path: Path) -> None:
    paths = encoded_shapefile(tmp_path, ["Gdańsk", "Łódź"], "cp1250", cpg=None, language_id=0xC8)
    assert names_read(paths) == ["Gdańsk", "Łódź"]


def test_baltic_code_page_from_cpg(tmp_path: Path) -> None:
    paths = encoded_shapefile(tmp_path, ["Rīga", "Šiauliai"], "cp1257", cpg="1257", language_id=0)
    assert names_read(paths) == ["Rīga", "Šiauliai"]


def test_a_code_page_gdal_cannot_recode_is_still_read(tmp_path: Path) -> None:
    paths = encoded_shapefile(tmp_path, ["Köpenick"], "mac_roman", cpg=None, language_id=0x04)
    assert names_read(paths) == ["Köpenick"]


def test_undeclared_utf8_is_accepted_when_every_byte_decodes(tmp_path: Path) -> None:
    paths = encoded_shapefile(tmp_path, NAMES, "utf-8", cpg=None, language_id=0)
    result = read_source(paths)
    assert result.frame["name"].tolist() == NAMES
    assert result.encoding == "utf-8"
    assert "valid UTF-8" in (result.encoding_source or "")


def test_undeclared_undecodable_text_stops_and_asks_for_encoding(tmp_path: Path) -> None:
    paths = encoded_shapefile(tmp_path, ["Berlin", "Köpenick"], "cp1252", cpg=None, language_id=0)
    with pytest.raises(
        SourceEncodingError, match=r"places\.dbf.*not declared.*row 2, field 'name'.*--encoding"
    ):
        read_source(paths)
    with pytest.raises(SourceEncodingError, match="--encoding"):
        inspect_source(paths)
    assert names_read(paths, encoding="cp1252") == ["Berlin", "Köpenick"]


def test_a_wrong_declaration_is_refused_not_garbled(tmp_path: Path) -> None:
    utf8_but_declared_ansi = encoded_shapefile(
        tmp_path / "a", ["Köpenick"], "utf-8", cpg=None, language_id=0x57
    )
    with pytest.raises(
        SourceEncodingError, match=r"says cp1252, but the text is valid UTF-8.*--encoding utf-8"
    ):
        read_source(utf8_but_declared_ansi)
    latin1_but_declared_utf8 = encoded_shapefile(
        tmp_path / "b", ["Köpenick"], "latin-1", cpg="UTF-8", language_id=0
    )
    with pytest.raises(SourceEncodingError, match=r"not valid utf-8 as declared by the \.cpg file"):
        read_source(latin1_but_declared_utf8)


def test_unknown_encodings_are_refused(tmp_path: Path) -> None:
    paths = encoded_shapefile(tmp_path, ["Berlin"], "ascii", cpg="KLINGON-7", language_id=0)
    with pytest.raises(SourceEncodingError, match="names the encoding 'KLINGON-7', which is unknown"):
        read_source(paths)
    with pytest.raises(SourceEncodingError, match="is not a known encoding"):
        read_source(paths, encoding="no-such-codec")


def test_csv_must_be_utf8_unless_told(tmp_path: Path) -> None:
    path = tmp_path / "assets.csv"
    path.write_bytes("name,lat,lon\nMitte,52.52,13.40\nKöpenick,52.44,13.58\n".encode("cp1252"))
    with pytest.raises(SourceEncodingError, match=r"not UTF-8 \(line 3 has the byte 0xF6\).*--encoding"):
        read_source(path)
    result = read_source(path, encoding="cp1252")
    assert result.frame["name"].tolist() == ["Mitte", "Köpenick"]
    assert result.encoding_source == "--encoding"


def test_csv_with_a_byte_order_mark_reads_its_first_column(tmp_path: Path) -> None:
    path = tmp_path / "assets.csv"
    path.write_bytes("\ufeffname,lat,lon\nRīga,56.95,24.11\n".encode())
    result = read_source(path)
    assert result.columns[0] == "name"
    assert result.frame["name"].tolist() == ["Rīga"]


def test_geojson_that_is_not_utf8_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "a.geojson"
    text = '{"type": "FeatureCollection", "features": [\n{"type": "Feature", "properties": {"name": "Köpenick"}, '
    text += '"geometry": {"type": "Point", "coordinates": [13.5, 52.4]}}]}'
    path.write_bytes(text.encode("latin-1"))
    with pytest.raises(SourceEncodingError, match=r"not valid UTF-8 \(line 2\)"):
        read_source(path)
