"""Formats are detected by content, never by name; names given by users never reach GDAL or a shell."""

from __future__ import annotations

import json
import os
import sqlite3
import zipfile
from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
import shapely

from geo.io import (
    MalformedSourceError,
    MissingCompanionError,
    UnsupportedFormatError,
    inspect_source,
    read_source,
)

VRT_REMOTE = b"""<OGRVRTDataSource><OGRVRTLayer name="x">
<SrcDataSource>/vsicurl/http://127.0.0.1:9/secret.csv</SrcDataSource></OGRVRTLayer></OGRVRTDataSource>"""
VRT_LOCAL = b"""<OGRVRTDataSource><OGRVRTLayer name="passwd">
<SrcDataSource>CSV:/etc/passwd</SrcDataSource></OGRVRTLayer></OGRVRTDataSource>"""


def points_frame() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"name": ["Köpenick", "Neukölln"], "code": ["0930", "0810"]},
        geometry=shapely.points([[392000, 5815000], [393000, 5816000]]),
        crs="EPSG:25833",
    )


def write_shapefile(folder: Path, stem: str = "assets") -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    pyogrio.write_dataframe(points_frame(), folder / f"{stem}.shp", encoding="UTF-8")
    return {p.suffix: p for p in folder.glob(f"{stem}.*")}


def geojson_bytes() -> bytes:
    return json.dumps(
        {
            "type": "FeatureCollection",
            "features": [
                {
                    "type": "Feature",
                    "properties": {"name": "Mitte"},
                    "geometry": {"type": "Point", "coordinates": [13.4, 52.5]},
                }
            ],
        }
    ).encode()


@pytest.mark.parametrize(
    ("content", "looks_like"),
    [
        (VRT_REMOTE, "XML"),
        (VRT_LOCAL, "XML"),
        (b"<!DOCTYPE html><html><body>404</body></html>", "HTML"),
        (b"", "empty"),
    ],
)
def test_a_shp_that_is_not_a_shapefile_is_refused(tmp_path: Path, content: bytes, looks_like: str) -> None:
    parts = write_shapefile(tmp_path / "real")
    fake = tmp_path / "evil.shp"
    fake.write_bytes(content)
    paths = [fake, parts[".shx"], parts[".dbf"], parts[".prj"]]
    names = ["evil.shp", "evil.shx", "evil.dbf", "evil.prj"]
    with pytest.raises(UnsupportedFormatError, match=rf"evil\.shp is not a shapefile.*{looks_like}"):
        read_source(paths, original_names=names)


def test_a_vrt_alone_is_refused_whatever_it_is_called(tmp_path: Path) -> None:
    for name in ("layer.vrt", "layer.geojson", "layer.csv"):
        path = tmp_path / name
        path.write_bytes(VRT_REMOTE)
        with pytest.raises(UnsupportedFormatError, match="looks like XML"):
            read_source(path)


def test_a_truncated_shapefile_is_refused(tmp_path: Path) -> None:
    parts = write_shapefile(tmp_path)
    data = parts[".shp"].read_bytes()
    parts[".shp"].write_bytes(data[:-10])
    with pytest.raises(MalformedSourceError, match="truncated or damaged: its header says"):
        read_source(list(parts.values()))


def test_a_shapefile_cut_inside_its_header_is_refused(tmp_path: Path) -> None:
    parts = write_shapefile(tmp_path)
    parts[".shp"].write_bytes(parts[".shp"].read_bytes()[:60])
    with pytest.raises(MalformedSourceError, match="truncated"):
        read_source(list(parts.values()))


def test_a_truncated_dbf_is_refused(tmp_path: Path) -> None:
    parts = write_shapefile(tmp_path)
    parts[".dbf"].write_bytes(parts[".dbf"].read_bytes()[:-20])
    with pytest.raises(MalformedSourceError, match=r"assets\.dbf is truncated"):
        read_source(list(parts.values()))


def test_a_shapefile_without_its_index_or_table_says_which_file_to_add(tmp_path: Path) -> None:
    parts = write_shapefile(tmp_path)
    with pytest.raises(MissingCompanionError, match=r"without its index assets\.shx"):
        read_source([parts[".shp"], parts[".dbf"], parts[".prj"]])
    with pytest.raises(MissingCompanionError, match=r"without its attribute table assets\.dbf"):
        read_source([parts[".shp"], parts[".shx"], parts[".prj"]])


def test_a_lone_dbf_is_read_as_a_table_and_a_lone_index_is_named_as_part_of_a_shapefile(
    tmp_path: Path,
) -> None:
    parts = write_shapefile(tmp_path)
    table = read_source(parts[".dbf"])  # an attribute table, to be joined onto boundaries by a key
    assert (table.format, table.geometry_types, table.feature_count) == ("dbf", [], 2)
    with pytest.raises(UnsupportedFormatError, match="only part of a shapefile"):
        read_source(parts[".shx"])


def test_kml_plain_sqlite_and_other_json_are_named(tmp_path: Path) -> None:
    kml = tmp_path / "places.kml"
    kml.write_bytes(b'<?xml version="1.0"?><kml xmlns="http://www.opengis.net/kml/2.2"><Document/></kml>')
    with pytest.raises(UnsupportedFormatError, match="KML, which is not supported"):
        read_source(kml)
    database = tmp_path / "data.gpkg"
    with sqlite3.connect(database) as connection:
        connection.execute("CREATE TABLE t (a INTEGER)")
    with pytest.raises(UnsupportedFormatError, match="SQLite database but not a GeoPackage"):
        read_source(database)
    topo = tmp_path / "topo.geojson"
    topo.write_text(json.dumps({"type": "Topology", "objects": {}}))
    with pytest.raises(UnsupportedFormatError, match="JSON but not GeoJSON"):
        read_source(topo)


def test_content_decides_the_format_not_the_extension(tmp_path: Path) -> None:
    disguised = tmp_path / "table.csv"
    disguised.write_bytes(geojson_bytes())
    assert read_source(disguised).format == "geojson"
    text_table = tmp_path / "export.txt"
    text_table.write_text("name;lat;lon\nMitte;52.52;13.40\n", encoding="utf-8")
    result = read_source(text_table)
    assert result.format == "csv"
    assert result.frame.geometry.iloc[0].equals(shapely.Point(13.40, 52.52))


HOSTILE_NAMES = [
    "$(touch pwned).geojson",
    "a;touch pwned;.geojson",
    'it\'s "quoted".geojson',
    "line\nbreak.geojson",
    "/vsicurl/http://127.0.0.1:9/x.geojson",
    "PG:dbname=postgres host=127.0.0.1",
    "../../etc/passwd",
]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_hostile_original_names_are_only_labels(
    tmp_path: Path, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    upload = tmp_path / "upload-1"
    upload.write_bytes(geojson_bytes())
    result = read_source(upload, original_names=[name])
    assert result.feature_count == 1
    assert result.frame["name"].tolist() == ["Mitte"]
    assert not (tmp_path / "pwned").exists()
    assert "\n" not in result.source_name


def test_hostile_names_on_disk_and_in_a_shapefile_set_still_read_by_content(tmp_path: Path) -> None:
    parts = write_shapefile(tmp_path / "real")
    stem = "$(touch pwned); rm -rf x 'q' PG:"
    named = []
    for suffix, path in parts.items():
        target = tmp_path / f"{stem}{suffix}"
        os.link(path, target)
        named.append(target)
    result = read_source(named)
    assert result.format == "shapefile"
    assert result.frame["code"].tolist() == ["0930", "0810"]
    assert not (tmp_path / "pwned").exists()


def test_a_zip_with_hostile_member_names_reads_by_content(tmp_path: Path) -> None:
    parts = write_shapefile(tmp_path / "real")
    archive = tmp_path / "upload.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for suffix, path in parts.items():
            zipped.write(path, f"dir/$(reboot);PG:x{suffix}")
    result = read_source(archive)
    assert result.feature_count == 2
    assert result.crs_epsg == 25833


def test_inspect_describes_without_reading_everything(tmp_path: Path) -> None:
    parts = write_shapefile(tmp_path)
    info = inspect_source(list(parts.values()))
    assert (info.format, info.feature_count, info.crs_epsg, info.encoding) == ("shapefile", 2, 25833, "utf-8")
    assert info.columns == ["name", "code"]
    assert info.geometry_types == ["Point"]
    assert not hasattr(info, "frame")
