"""Imports with --where and --clip: a register three times wider than Berlin, clipped, filtered, and counted."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pyogrio
import pyproj
import pytest
import shapely
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from app.cli import cli
from tests.app.test_imports import count, post_import
from tests.conftest import Berlin

GRID = 23  # points per side of the register's grid
TO_UTM = pyproj.Transformer.from_crs(4326, 25833, always_xy=True)


def berlin_extent(db: Session, city_id: int) -> tuple[float, float, float, float]:
    row = db.execute(
        text(
            "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT ST_Extent(geom) e "
            "FROM neighbourhood WHERE city_id = :c) x"
        ),
        {"c": city_id},
    ).one()
    return float(row[0]), float(row[1]), float(row[2]), float(row[3])


def register_frame(db: Session, city_id: int) -> gpd.GeoDataFrame:
    """A national-style register: a grid three times as wide and tall as Berlin, centred on it, in EPSG:25833."""
    west, south, east, north = berlin_extent(db, city_id)
    width, height = east - west, north - south
    lons = np.linspace(west - width, east + width, GRID)
    lats = np.linspace(south - height, north + height, GRID)
    lon, lat = (a.ravel() for a in np.meshgrid(lons, lats))
    n = len(lon)
    statuses = np.array(["open", "closed", None, "Open"], dtype=object)[np.arange(n) % 4]
    x, y = TO_UTM.transform(lon, lat)
    return gpd.GeoDataFrame(
        {
            "register_id": [f"L{i:03d}" for i in range(n)],
            "Name": [f"Library {i}" for i in range(n)],
            "status": statuses,
            "seats": (np.arange(n) % 7) * 10,
        },
        geometry=shapely.points(x, y),
        crs="EPSG:25833",
    )


def gpkg(tmp_path: Path, frame: gpd.GeoDataFrame, name: str = "libraries.gpkg") -> list[tuple[str, bytes]]:
    path = tmp_path / name
    pyogrio.write_dataframe(frame, path, layer="libraries")
    return [(name, path.read_bytes())]


def inside_city(db: Session, city_id: int, frame: gpd.GeoDataFrame, buffer_m: float = 0.0) -> np.ndarray:
    """Which rows PostGIS puts inside the union of the city's neighbourhoods (grown by buffer_m on the ground)."""
    lonlat = frame.to_crs(4326).geometry
    flags = db.execute(
        text(
            "WITH city AS (SELECT ST_Union(geom) AS g FROM neighbourhood WHERE city_id = :c), "
            "pts AS (SELECT ST_SetSRID(ST_MakePoint(x, y), 4326) AS p, i "
            "FROM unnest(CAST(:xs AS float8[]), CAST(:ys AS float8[])) WITH ORDINALITY AS t(x, y, i)) "
            "SELECT CASE WHEN :b > 0 THEN ST_DWithin(city.g::geography, p::geography, :b) "
            "ELSE ST_Intersects(city.g, p) END FROM city, pts ORDER BY i"
        ),
        {"c": city_id, "b": buffer_m, "xs": lonlat.x.tolist(), "ys": lonlat.y.tolist()},
    ).scalars()
    return np.array(list(flags), dtype=bool)


def nested(depth: int) -> str:
    """seats = 1 and (seats = 2 or (seats = 3 and (...))): and/or alternating, `depth` levels deep."""
    expression = f"seats = {depth}"
    for level in range(depth - 1, 0, -1):
        expression = f"seats = {level} {'and' if level % 2 else 'or'} ({expression})"
    return expression


ASSET_FIELDS: dict[str, Any] = {
    "city": "Berlin",
    "layer": "assets",
    "mapping": {"source_id": "register_id", "name": "Name"},
    "defaults": {"category": "institution"},
    "source": "national-libraries",
}


def test_a_wide_register_is_refused_without_clip_and_the_message_suggests_it(
    client: TestClient, berlin: Berlin, db: Session, tmp_path: Path
) -> None:
    frame = register_frame(db, berlin.city_id)
    response = post_import(client, berlin, gpkg(tmp_path, frame), **ASSET_FIELDS, dry_run=True)
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    share = re.search(r"(\d+)% of the rows \(([\d,]+) of ([\d,]+)\) lie outside the city", detail)
    assert share, detail
    assert int(share.group(3)) == len(frame) and int(share.group(1)) > 50
    assert "the CRS (EPSG:25833, from the GeoPackage layer) fits the coordinates" in detail
    assert "--clip city" in detail
    # Even refused, the dry run shows the file's columns, so the user can write the --where and the mapping.
    columns = {c["name"]: c for c in response.json()["source_columns"]}
    assert set(frame.columns) - {"geometry"} <= set(columns)
    assert columns["Name"]["suggested_target"] == "name"
    assert columns["Name"]["type"] == "text" and columns["Name"]["samples"]


def test_clipped_and_filtered_register_imports_and_reports_what_was_dropped(
    client: TestClient, berlin: Berlin, db: Session, tmp_path: Path
) -> None:
    frame = register_frame(db, berlin.city_id)
    files = gpkg(tmp_path, frame)
    before = count(db, "asset", berlin.city_id)
    # Worked out independently: 'open' matches exactly (not 'Open', not null); then PostGIS says who is inside.
    is_open = (frame["status"] == "open").to_numpy()
    inside = inside_city(db, berlin.city_id, frame)
    expected_where = int((~is_open).sum())
    expected_outside = int((is_open & ~inside).sum())
    expected_kept = int((is_open & inside).sum())
    assert expected_kept > 5 and expected_outside > expected_kept  # most open libraries lie outside Berlin

    dry = post_import(
        client, berlin, files, **ASSET_FIELDS, where="status = 'open'", clip="city", dry_run=True
    )
    assert dry.status_code == 201, dry.text
    report = dry.json()["report"]
    assert report["dropped"] == {"where": expected_where, "outside_clip": expected_outside}
    assert report["filter"]["rows_read"] == len(frame) and report["filter"]["rows_kept"] == expected_kept
    assert report["rows_ready"] == expected_kept
    assert count(db, "asset", berlin.city_id) == before

    done = post_import(client, berlin, files, **ASSET_FIELDS, where="status = 'open'", clip="city")
    assert done.status_code == 201, done.text
    record = done.json()
    assert record["counts"]["inserted"] == expected_kept
    assert record["options"]["where"] == "status = 'open'"
    assert (record["options"]["clip"], record["options"]["clip_buffer_m"]) == ("city", 0.0)
    stored = db.execute(
        text("SELECT source_id FROM asset WHERE city_id = :c AND source = 'national-libraries' ORDER BY 1"),
        {"c": berlin.city_id},
    ).scalars()
    wanted = sorted(frame["register_id"][is_open & inside])
    assert list(stored) == wanted
    again = client.get(f"/api/imports/{record['id']}", headers=berlin.headers("gis")).json()
    assert again["report"]["dropped"] == {"where": expected_where, "outside_clip": expected_outside}


def test_a_buffer_keeps_rows_just_outside_the_city(
    client: TestClient, berlin: Berlin, db: Session, tmp_path: Path
) -> None:
    # One library 1 km west of Berlin's westernmost point, one in Mitte.
    wkb = db.execute(
        text("SELECT ST_AsBinary(ST_Union(geom)) FROM neighbourhood WHERE city_id = :c"),
        {"c": berlin.city_id},
    ).scalar_one()
    union = gpd.GeoSeries([shapely.from_wkb(bytes(wkb))], crs=4326).to_crs(25833).iloc[0]
    coords = shapely.get_coordinates(union.boundary)
    west = coords[np.argmin(coords[:, 0])]
    points = [(west[0] - 1000.0, west[1]), TO_UTM.transform(13.4132, 52.5219)]
    frame = gpd.GeoDataFrame(
        {"register_id": ["W1", "M1"], "Name": ["Beyond the border", "Mitte"], "status": ["open", "open"]},
        geometry=shapely.points(points),
        crs="EPSG:25833",
    )
    files = gpkg(tmp_path, frame)
    assert inside_city(db, berlin.city_id, frame).tolist() == [False, True]
    assert inside_city(db, berlin.city_id, frame, 2000).tolist() == [True, True]
    narrow = post_import(client, berlin, files, **ASSET_FIELDS, clip="city", clip_buffer_m=500, dry_run=True)
    wide = post_import(client, berlin, files, **ASSET_FIELDS, clip="city", clip_buffer_m=2000, dry_run=True)
    assert narrow.status_code == wide.status_code == 201, (narrow.text, wide.text)
    assert narrow.json()["report"]["dropped"]["outside_clip"] == 1
    assert wide.json()["report"]["dropped"]["outside_clip"] == 0
    assert wide.json()["options"]["clip_buffer_m"] == 2000.0


def test_bbox_clip_keeps_what_lies_in_the_box(
    client: TestClient, berlin: Berlin, db: Session, tmp_path: Path
) -> None:
    frame = register_frame(db, berlin.city_id)
    box = (13.3, 52.4, 13.6, 52.6)
    lonlat = frame.to_crs(4326).geometry
    in_box = (
        (lonlat.x >= box[0]) & (lonlat.x <= box[2]) & (lonlat.y >= box[1]) & (lonlat.y <= box[3])
    ).to_numpy()
    assert 0 < in_box.sum() < len(frame)
    response = post_import(
        client, berlin, gpkg(tmp_path, frame), **ASSET_FIELDS, clip="bbox=13.3,52.4,13.6,52.6", dry_run=True
    )
    assert response.status_code == 201, response.text
    report = response.json()["report"]
    assert report["dropped"] == {"where": 0, "outside_clip": int((~in_box).sum())}
    assert report["filter"]["clip"] == "bbox=13.3,52.4,13.6,52.6"


@pytest.mark.parametrize(
    ("fields", "field", "reason"),
    [
        ({"where": "upper(Name) = 'X'"}, "where", "cannot use the function upper()"),
        ({"where": "status = 'open'; DELETE FROM asset"}, "where", "at character 16"),
        ({"where": "status = 'open' OR 1=1 --"}, "where", "cannot read the expression"),
        ({"where": "seats + 1 > 2"}, "where", "arithmetic"),
        ({"where": nested(14)}, "where", "nests more than"),
        ({"where": "status = 'open'", "clip": "everywhere"}, "clip", "is not known"),
        ({"clip": "bbox=13.6,52.4,13.3,52.6"}, "clip", "west must be less than east"),
        ({"clip": "bbox=13.3,52.4,nan,52.6"}, "clip", "four numbers"),
        ({"clip_buffer_m": 300}, "clip_buffer_m", "needs --clip"),
        ({"clip": "city", "clip_buffer_m": -5}, "clip_buffer_m", "from 0 to"),
        ({"clip": "city", "clip_buffer_m": "wide"}, "clip_buffer_m", "number of metres"),
    ],
)
def test_bad_filters_and_clips_are_refused_before_reading(
    client: TestClient,
    berlin: Berlin,
    db: Session,
    tmp_path: Path,
    fields: dict[str, Any],
    field: str,
    reason: str,
) -> None:
    before = count(db, "asset", berlin.city_id)
    response = post_import(
        client, berlin, gpkg(tmp_path, register_frame(db, berlin.city_id)), **{**ASSET_FIELDS, **fields}
    )
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["field"] == field and reason in body["detail"], body
    assert count(db, "asset", berlin.city_id) == before


def test_columns_match_ignoring_case_and_unknown_or_ambiguous_ones_are_named(
    client: TestClient, berlin: Berlin, db: Session, tmp_path: Path
) -> None:
    frame = register_frame(db, berlin.city_id)
    files = gpkg(tmp_path, frame)
    upper = post_import(
        client, berlin, files, **ASSET_FIELDS, where="STATUS = 'open'", clip="city", dry_run=True
    )
    lower = post_import(
        client, berlin, files, **ASSET_FIELDS, where="status = 'open'", clip="city", dry_run=True
    )
    assert upper.status_code == lower.status_code == 201
    assert upper.json()["report"]["dropped"] == lower.json()["report"]["dropped"]

    unknown = post_import(
        client, berlin, files, **ASSET_FIELDS, where="opening = 'yes'", clip="city", dry_run=True
    )
    assert unknown.status_code == 422
    assert unknown.json()["field"] == "where"
    assert "no column 'opening'" in unknown.json()["detail"] and "'status'" in unknown.json()["detail"]

    # GeoPackages and CSVs refuse two such columns; a GeoJSON's properties can have them.
    twice = tmp_path / "twice.geojson"
    feature = {
        "type": "Feature",
        "properties": {"register_id": "L1", "Name": "Mitte", "status": "open", "STATUS": "closed"},
        "geometry": {"type": "Point", "coordinates": [13.4132, 52.5219]},
    }
    twice.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}), "utf-8")
    ambiguous = post_import(
        client,
        berlin,
        [(twice.name, twice.read_bytes())],
        **ASSET_FIELDS,
        where="Status = 'open'",
        clip="city",
    )
    assert ambiguous.status_code == 422
    assert "differ from 'Status' only by case" in ambiguous.json()["detail"]


def test_resources_cannot_be_clipped(client: TestClient, berlin: Berlin, tmp_path: Path) -> None:
    path = tmp_path / "rooms.csv"
    path.write_text("source_id,kind,quantity,neighbourhood_code\nR1,rooms,2,0110\n", encoding="utf-8")
    response = post_import(
        client, berlin, [(path.name, path.read_bytes())], city="Berlin", layer="resources", clip="city"
    )
    assert response.status_code == 422
    assert response.json()["field"] == "clip" and "no location of their own" in response.json()["detail"]


def test_the_command_line_clips_filters_and_prints_the_counts(
    berlin: Berlin, db: Session, tmp_path: Path
) -> None:
    frame = register_frame(db, berlin.city_id)
    path = tmp_path / "libraries.gpkg"
    pyogrio.write_dataframe(frame, path, layer="libraries")
    env = {
        "ASSETMAP_DATABASE_URL": berlin.url,
        "ASSETMAP_ENVIRONMENT": "test",
        "ASSETMAP_SECRET_KEY": "test-secret-0123456789abcdef",
        "COLUMNS": "200",
    }
    lonlat = frame.to_crs(4326).geometry
    in_box = ((lonlat.x >= 13.2) & (lonlat.x <= 13.6) & (lonlat.y >= 52.4) & (lonlat.y <= 52.6)).to_numpy()
    seats_ok = (frame["seats"] >= 20).to_numpy()
    args = [
        "import",
        str(path),
        "--city",
        "Berlin",
        "--layer",
        "assets",
        "--map",
        "source_id=register_id",
        "--map",
        "name=Name",
        "--default",
        "category=institution",
        "--dry-run",
        "--clip",
        "bbox=13.2,52.4,13.6,52.6",
        "--where",
        "seats >= 20",
    ]
    result = CliRunner().invoke(cli, args, env=env)
    try:
        assert result.exit_code == 0, result.output
        kept, read = int((in_box & seats_ok).sum()), len(frame)
        line = (
            f"kept {kept:,} of {read:,} rows: {int((~seats_ok).sum()):,} dropped by --where, "
            f"{int((seats_ok & ~in_box).sum()):,} outside the clip area"
        )
        assert line in " ".join(result.output.split())
        refused = CliRunner().invoke(cli, args[:-4], env=env)
        assert refused.exit_code != 0 and "--clip city" in " ".join(refused.output.split())
        assert "Columns of the file" in refused.output
    finally:
        with berlin.engine.begin() as conn:
            conn.execute(text("DELETE FROM import_run WHERE filename = 'libraries.gpkg'"))
