"""Hostile and broken files through the API: a clear 4xx that says what was wrong, and nothing half-written."""

from __future__ import annotations

import io
import json
import stat
import struct
import zipfile
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
import shapely
from fastapi.testclient import TestClient
from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

from app.deps import get_db
from app.main import create_app
from tests.app.test_imports import Files, count, new_city, post_import, shapefile_parts, zipped
from tests.conftest import Berlin, make_settings

POINT_COLLECTION = json.dumps(
    {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"id": "K1", "name": "Köpenick", "category": "culture"},
                "geometry": {"type": "Point", "coordinates": [13.5749, 52.4454]},
            }
        ],
    }
).encode()
VRT_REMOTE = b"""<OGRVRTDataSource><OGRVRTLayer name="secret">
<SrcDataSource>/vsicurl/http://127.0.0.1:9/secret.csv</SrcDataSource></OGRVRTLayer></OGRVRTDataSource>"""


def zip_of(members: list[tuple[str | zipfile.ZipInfo, bytes]], name: str = "upload.zip") -> Files:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for member, data in members:
            archive.writestr(member, data)
    return [(name, buffer.getvalue())]


def symlink_member() -> zipfile.ZipInfo:
    info = zipfile.ZipInfo("points.geojson")
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return info


def berlin_points(folder: Path, crs: str = "EPSG:25833") -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"source_id": ["A1", "A2"], "name": ["Köpenick", "Mitte"], "category": ["culture", "economy"]},
        geometry=shapely.points([[410_000.0, 5_812_000.0], [392_000.0, 5_820_000.0]]),
        crs=crs,
    )


def shapefile_without(folder: Path, suffix: str) -> Files:
    return [part for part in shapefile_parts(folder, berlin_points(folder)) if not part[0].endswith(suffix)]


def shapefile_with_prj(folder: Path, prj_from: str) -> Files:
    """Coordinates in UTM 33N metres, described by another CRS's .prj."""
    parts = dict(shapefile_parts(folder / "real", berlin_points(folder)))
    other = folder / "other"
    other.mkdir(parents=True)
    pyogrio.write_dataframe(berlin_points(folder).set_crs(prj_from, allow_override=True), other / "o.shp")
    parts["places.prj"] = (other / "o.prj").read_bytes()
    return list(parts.items())


def truncated_shapefile(folder: Path) -> Files:
    parts = dict(shapefile_parts(folder, berlin_points(folder)))
    parts["places.shp"] = parts["places.shp"][:-10]
    return list(parts.items())


def shapefile_with_undeclared_cp1252(folder: Path) -> Files:
    parts = dict(shapefile_parts(folder, berlin_points(folder)))
    dbf = bytearray(parts["places.dbf"])
    position = bytes(dbf).index("Köpenick".encode())
    # Replace the UTF-8 'ö' (2 bytes) by cp1252's (1 byte) and pad: the text no longer decodes as UTF-8.
    dbf[position : position + 9] = "Köpenick".encode("cp1252") + b" "
    parts["places.dbf"] = bytes(dbf)
    del parts["places.cpg"]
    return list(parts.items())


def csv(text_: str, name: str = "places.csv") -> Files:
    return [(name, text_.encode())]


# Each case: (id, files, form fields, status, words the detail must contain)
REFUSED_FILES = [
    (
        "zip slip",
        lambda p: zip_of([("../evil.geojson", POINT_COLLECTION)]),
        {},
        422,
        "climbs out of the archive",
    ),
    (
        "absolute member",
        lambda p: zip_of([("/tmp/evil.geojson", POINT_COLLECTION)]),
        {},
        422,
        "absolute path",
    ),
    ("backslash member", lambda p: zip_of([("..\\evil.geojson", POINT_COLLECTION)]), {}, 422, "backslashes"),
    ("symlink member", lambda p: zip_of([(symlink_member(), b"/etc/passwd")]), {}, 422, "symbolic link"),
    (
        "nested archive",
        lambda p: zip_of([("inner.zip", zip_of([("a.geojson", POINT_COLLECTION)])[0][1])]),
        {},
        422,
        "itself an archive",
    ),
    ("too many members", lambda p: zip_of([(f"f{i}.txt", b"x") for i in range(65)]), {}, 422, "at most 64"),
    (
        "zip bomb",
        lambda p: zip_of([("points.geojson", POINT_COLLECTION + b" " * (8 * 1024 * 1024))]),
        {},
        422,
        "zip bomb",
    ),
    (
        "VRT disguised as .shp",
        lambda p: [("places.shp", VRT_REMOTE), *shapefile_without(p, ".shp")],
        {},
        422,
        "not a shapefile",
    ),
    (
        "HTML as .shp",
        lambda p: [
            ("places.shp", b"<!DOCTYPE html><html><body>404</body></html>"),
            *shapefile_without(p, ".shp"),
        ],
        {},
        422,
        "HTML",
    ),
    ("empty file", lambda p: [("places.geojson", b"")], {}, 422, "empty"),
    ("truncated shapefile", truncated_shapefile, {}, 422, "truncated"),
    (
        "CRS as a URL",
        lambda p: csv("id,name,category,x,y\nA,b,culture,392000,5820000\n"),
        {"crs": "http://example.com/25833.prj"},
        422,
        "EPSG",
    ),
    (
        "CRS garbage",
        lambda p: csv("id,name,category,x,y\nA,b,culture,392000,5820000\n"),
        {"crs": "'; DROP TABLE asset; --"},
        422,
        "EPSG",
    ),
    (
        "CRS as a PROJ pipeline",
        lambda p: csv("id,name,category,x,y\nA,b,culture,392000,5820000\n"),
        {"crs": "+proj=pipeline +step +proj=utm"},
        422,
        "EPSG",
    ),
    ("no .prj", lambda p: shapefile_without(p, ".prj"), {}, 422, "has no .prj: pass --crs"),
    (
        ".prj says degrees for metres",
        lambda p: shapefile_with_prj(p, "EPSG:4326"),
        {},
        422,
        "cannot be degrees",
    ),
    (".prj of a far-away CRS", lambda p: shapefile_with_prj(p, "EPSG:32618"), {}, 422, "--crs"),
    (
        "lon/lat swapped",
        lambda p: csv(
            "id,name,category,lat,lon\nA,Mitte,culture,13.41,52.52\nB,Spandau,culture,13.20,52.53\n"
        ),
        {},
        422,
        "swapped",
    ),
    ("undecodable DBF", shapefile_with_undeclared_cp1252, {}, 422, "--encoding"),
    (
        "wrong encoding given",
        lambda p: csv("id,name,category,lat,lon\nA,Mitte,culture,52.52,13.41\n"),
        {"encoding": "klingon"},
        422,
        "encoding",
    ),
    (
        "broken CSV quote",
        lambda p: csv('id,name,category,lat,lon\nA,"Mitte,culture,52.52,13.41\nB,x,culture,52.5,13.4\n'),
        {},
        422,
        "quote",
    ),
    (
        "bad mapping",
        lambda p: csv("id,name,category,lat,lon\nA,Mitte,culture,52.52,13.41\n"),
        {"mapping": {"name": "BEZEICHNUNG"}},
        422,
        "the file has no column 'BEZEICHNUNG'",
    ),
    (
        "unknown target field",
        lambda p: csv("id,name,category,lat,lon\nA,Mitte,culture,52.52,13.41\n"),
        {"mapping": {"colour": "name"}},
        422,
        "has no field 'colour'",
    ),
    (
        "bad source label",
        lambda p: csv("id,name,category,lat,lon\nA,Mitte,culture,52.52,13.41\n"),
        {"source": "../../etc"},
        422,
        "source must be a label",
    ),
    (
        "unknown layer",
        lambda p: csv("id,name,category,lat,lon\nA,Mitte,culture,52.52,13.41\n"),
        {"layer": "roads"},
        422,
        "unknown layer 'roads'",
    ),
]


@pytest.mark.parametrize(
    ("case", "make", "fields", "status", "words"), REFUSED_FILES, ids=[c[0] for c in REFUSED_FILES]
)
def test_bad_files_are_refused_with_a_clear_4xx_and_nothing_written(
    client: TestClient,
    berlin: Berlin,
    db: Session,
    tmp_path: Path,
    case: str,
    make,
    fields: dict,
    status: int,
    words: str,
) -> None:
    # Imported into Berlin: its neighbourhoods give the expected area that catches a wrong CRS.
    assets_before = count(db, "asset", berlin.city_id)
    changes_before = db.scalar(text("SELECT count(*) FROM change"))
    form = {"city": "Berlin", "layer": "assets", **fields}
    response = post_import(client, berlin, make(tmp_path), **form)
    assert response.status_code == status, response.text
    detail = response.json()["detail"]
    assert words in detail, detail
    assert "Traceback" not in response.text and "/tmp/assetmap-" not in detail
    assert count(db, "asset", berlin.city_id) == assets_before
    assert db.scalar(text("SELECT count(*) FROM change")) == changes_before


def test_a_refused_file_leaves_a_failed_import_run_with_the_reason(
    client: TestClient, berlin: Berlin, tmp_path: Path
) -> None:
    response = post_import(client, berlin, shapefile_without(tmp_path, ".prj"), city="Berlin", layer="assets")
    run = client.get(f"/api/imports/{response.json()['import_id']}", headers=berlin.headers("gis")).json()
    assert run["status"] == "failed"
    assert "has no .prj" in run["report"]["error"]
    assert [f["name"] for f in run["report"]["files"]] == [
        "places.cpg",
        "places.dbf",
        "places.shp",
        "places.shx",
    ]


# Row-level trouble in polygon layers: (id, geometry as GeoJSON, refused?, words in the problem)
POLYGON_CASES = [
    (
        "bow-tie",
        {
            "type": "Polygon",
            "coordinates": [[[13.40, 52.50], [13.42, 52.52], [13.42, 52.50], [13.40, 52.52], [13.40, 52.50]]],
        },
        False,
        "invalid geometry repaired",
    ),
    (
        "unclosed ring",
        {
            "type": "Polygon",
            "coordinates": [[[13.40, 52.50], [13.41, 52.50], [13.41, 52.51], [13.40, 52.51]]],
        },
        False,
        "not closed",
    ),
    (
        "Z and M values",
        {
            "type": "Polygon",
            "coordinates": [[[13.40, 52.50, 30], [13.41, 52.50, 31], [13.41, 52.51, 32], [13.40, 52.50, 30]]],
        },
        False,
        "Z/M values dropped",
    ),
    (
        "ring of 3 points",
        {"type": "Polygon", "coordinates": [[[13.40, 52.50], [13.41, 52.51], [13.40, 52.50]]]},
        True,
        "",
    ),
    (
        "points and polygons mixed",
        {
            "type": "GeometryCollection",
            "geometries": [
                {"type": "Point", "coordinates": [13.4, 52.5]},
                {
                    "type": "Polygon",
                    "coordinates": [[[13.40, 52.50], [13.41, 52.50], [13.41, 52.51], [13.40, 52.50]]],
                },
            ],
        },
        True,
        "mixes polygons with points",
    ),
    (
        "a point where polygons are expected",
        {"type": "Point", "coordinates": [13.4, 52.5]},
        True,
        "a point where a polygon is expected",
    ),
]


@pytest.mark.parametrize(
    ("case", "geometry", "refused", "words"), POLYGON_CASES, ids=[c[0] for c in POLYGON_CASES]
)
def test_broken_polygons_are_repaired_and_reported_or_refused_by_row(
    client: TestClient, berlin: Berlin, db: Session, case: str, geometry: dict, refused: bool, words: str
) -> None:
    city_id = new_city(client, berlin)
    good = {
        "type": "Polygon",
        "coordinates": [[[13.30, 52.50], [13.31, 52.50], [13.31, 52.51], [13.30, 52.50]]],
    }
    document = {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "properties": {"code": "A", "name": "good"}, "geometry": good},
            {"type": "Feature", "properties": {"code": "B", "name": case}, "geometry": geometry},
        ],
    }
    response = post_import(
        client,
        berlin,
        [("areas.geojson", json.dumps(document).encode())],
        city="Neustadt",
        layer="neighbourhoods",
    )
    if refused:
        assert response.status_code == 422, response.text
        body = response.json()
        assert "nothing was imported" in body["detail"]
        assert [(p["row_number"], p["source_id"]) for p in body["problems"] if p["severity"] == "error"] == [
            (2, "B")
        ]
        assert words in " ".join(p["reason"] for p in body["problems"])
        assert count(db, "neighbourhood", city_id) == 0
        return
    assert response.status_code == 201, response.text
    record = response.json()
    assert record["counts"]["inserted"] == 2
    assert words in " ".join(p["reason"] for p in record["report"]["problems"])
    valid, two_d, kind = db.execute(
        text(
            "SELECT ST_IsValid(geom), ST_NDims(geom) = 2, GeometryType(geom) FROM neighbourhood WHERE city_id = :c AND code = 'B'"
        ),
        {"c": city_id},
    ).one()
    assert (valid, two_d, kind) == (True, True, "MULTIPOLYGON")


@pytest.mark.parametrize(
    ("case", "content", "row", "words"),
    [
        (
            "missing coordinates",
            "id,name,category,lat,lon\nA,Mitte,culture,52.52,13.41\nB,Nowhere,culture,,\n",
            2,
            "missing coordinates",
        ),
        (
            "latitude out of range",
            "id,name,category,lat,lon\nA,Mitte,culture,52.52,13.41\nB,Far,culture,152.5,13.4\nC,Spandau,culture,52.53,13.2\n",
            2,
            "latitude 152.5 is outside -90..90",
        ),
    ],
)
def test_csv_rows_without_usable_coordinates_are_named(
    client: TestClient, berlin: Berlin, db: Session, case: str, content: str, row: int, words: str
) -> None:
    city_id = new_city(client, berlin)
    response = post_import(client, berlin, csv(content), city="Neustadt", layer="assets")
    assert response.status_code == 422, response.text
    problems = [p for p in response.json()["problems"] if p["severity"] == "error"]
    assert problems and {p["row_number"] for p in problems} == {row}
    assert any(words in p["reason"] for p in problems), problems
    assert count(db, "asset", city_id) == 0


def test_columns_that_collide_once_truncated_are_not_guessed(
    client: TestClient, berlin: Berlin, db: Session, tmp_path: Path
) -> None:
    city_id = new_city(client, berlin)
    frame = berlin_points(tmp_path)
    frame["beschreibu"] = ["erste", "zweite"]
    frame["beschreib"] = ["first", "second"]
    response = post_import(
        client, berlin, zipped(shapefile_parts(tmp_path, frame)), city="Neustadt", layer="assets"
    )
    assert response.status_code == 201, response.text
    report = response.json()["report"]
    assert "description" not in report["mapping"]
    assert report["ambiguous_columns"] == {"description": ["beschreibu", "beschreib"]}
    assert db.scalar(text("SELECT count(description) FROM asset WHERE city_id = :c"), {"c": city_id}) == 0


HOSTILE_NAMES = [
    "$(touch /tmp/assetmap-pwned).geojson",
    "a; rm -rf ~.geojson",
    'it\'s "quoted".geojson',
    "new\nline.geojson",
    "/vsicurl/http://127.0.0.1:9/x.geojson",
    "PG:dbname=assetmap host=127.0.0.1",
    "../../../../etc/passwd",
]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_hostile_file_names_are_only_labels(
    client: TestClient, berlin: Berlin, db: Session, name: str
) -> None:
    city_id = new_city(client, berlin)
    response = post_import(
        client, berlin, [(name, POINT_COLLECTION)], city="Neustadt", layer="assets", source="hostile"
    )
    assert response.status_code == 201, response.text
    record = response.json()
    assert record["counts"]["inserted"] == 1
    assert "\n" not in record["filename"] and len(record["filename"]) <= 300
    assert not Path("/tmp/assetmap-pwned").exists()
    assert db.scalar(text("SELECT name FROM asset WHERE city_id = :c"), {"c": city_id}) == "Köpenick"


def test_form_mistakes_are_named(client: TestClient, berlin: Berlin) -> None:
    new_city(client, berlin)
    files = [("a.geojson", POINT_COLLECTION)]
    cases = [
        ({"city": "Neustadt"}, "layer is required"),
        ({"city": "Neustadt", "layer": "assets", "dry_run": "maybe"}, "dry_run must be true or false"),
        ({"city": "Neustadt", "layer": "assets", "mapping": "[1, 2]"}, "mapping must be a JSON object"),
        ({"city": "Neustadt", "layer": "assets", "mapping": "{not json"}, "mapping must be a JSON object"),
        ({"city": "Neustadt", "layer": "assets", "dryrun": "true"}, "unknown field 'dryrun'"),
    ]
    for form, words in cases:
        response = client.post(
            "/api/imports", files=[("file", f) for f in files], data=form, headers=berlin.headers("gis")
        )
        assert response.status_code == 422 and words in response.json()["detail"], (form, response.text)
    no_file = client.post(
        "/api/imports", data={"city": "Neustadt", "layer": "assets"}, headers=berlin.headers("gis")
    )
    assert no_file.status_code == 422 and "'file'" in no_file.json()["detail"]
    as_json = client.post("/api/imports", json={"city": "Neustadt"}, headers=berlin.headers("gis"))
    assert as_json.status_code == 422 and "multipart/form-data" in as_json.json()["detail"]


# ------------------------------------------------------------------------------------------- size limits


@pytest.fixture
def small_client(berlin: Berlin, connection: Connection) -> Iterator[TestClient]:
    """The app with a 16 KiB upload limit (so unpacked data may be 64 KiB), in the test's transaction."""
    app = create_app(make_settings(berlin.url, upload_max_bytes=16 * 1024))

    def test_db() -> Iterator[Session]:
        with Session(
            bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
        ) as session:
            yield session

    app.dependency_overrides[get_db] = test_db
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def test_an_upload_over_the_limit_is_a_413(small_client: TestClient, berlin: Berlin, db: Session) -> None:
    changes_before = db.scalar(text("SELECT count(*) FROM change"))
    runs_before = db.scalar(text("SELECT count(*) FROM import_run"))
    big = POINT_COLLECTION + b" " * (20 * 1024)
    response = post_import(small_client, berlin, [("big.geojson", big)], city="Berlin", layer="assets")
    assert response.status_code == 413
    assert "larger than the limit of 16,384 bytes" in response.json()["detail"]
    assert db.scalar(text("SELECT count(*) FROM change")) == changes_before
    assert db.scalar(text("SELECT count(*) FROM import_run")) == runs_before


def test_a_zip_that_declares_more_than_the_limit_is_a_413(
    small_client: TestClient, berlin: Berlin, db: Session
) -> None:
    assets_before = count(db, "asset", berlin.city_id)
    # 100 KB of zeros compress to almost nothing: small enough to upload, too big to unpack here.
    upload = zip_of([("points.geojson", POINT_COLLECTION), ("pad.txt", bytes(100_000))])
    assert len(upload[0][1]) < 16 * 1024
    response = post_import(small_client, berlin, upload, city="Berlin", layer="assets")
    assert response.status_code == 413, response.text
    assert (
        "unpacks to" in response.json()["detail"]
        and "more than the limit of 65,536" in response.json()["detail"]
    )
    assert count(db, "asset", berlin.city_id) == assets_before


def test_a_member_that_lies_about_its_size_is_refused(
    client: TestClient, berlin: Berlin, db: Session
) -> None:
    assets_before = count(db, "asset", berlin.city_id)
    data = bytearray(zip_of([("points.geojson", POINT_COLLECTION)])[0][1])
    struct.pack_into("<I", data, 22, 10)
    central = bytes(data).rfind(b"PK\x01\x02")
    struct.pack_into("<I", data, central + 24, 10)
    response = post_import(client, berlin, [("liar.zip", bytes(data))], city="Berlin", layer="assets")
    assert response.status_code == 422, response.text
    assert count(db, "asset", berlin.city_id) == assets_before
