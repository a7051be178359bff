"""Imports through the API: every format, the report, counts on re-import, one transaction, history."""

from __future__ import annotations

import json
import sqlite3
import zipfile
from pathlib import Path
from typing import Any

import geopandas as gpd
import httpx
import pyogrio
import pytest
import shapely
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from tests.conftest import Berlin

BERLIN_DATA = Path(__file__).resolve().parents[2] / "data" / "berlin"
FORECAST_AREAS = BERLIN_DATA / "berlin-lor-forecast-areas-from-2021.geojson"
LIBRARIES = BERLIN_DATA / "berlin-points-of-interest-libraries-details.csv"
# Points in Berlin in ETRS89 / UTM 33N (metres): Köpenick, Mitte, Spandau.
BERLIN_UTM33 = [(410_000.0, 5_812_000.0), (392_000.0, 5_820_000.0), (375_000.0, 5_824_000.0)]

Files = list[tuple[str, bytes]]


# ------------------------------------------------------------------------------------------- helpers


def new_city(client: TestClient, berlin: Berlin, name: str = "Neustadt") -> int:
    """Create an empty city through the API and return its id."""
    response = client.post("/api/cities", json={"name": name}, headers=berlin.headers("gis"))
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def post_import(
    client: TestClient, berlin: Berlin, files: Files, *, role: str = "gis", **fields: Any
) -> httpx.Response:
    """POST /api/imports with the files as 'file' parts and the other fields as form fields."""
    data = {
        key: json.dumps(value)
        if isinstance(value, dict)
        else str(value).lower()
        if isinstance(value, bool)
        else value
        for key, value in fields.items()
        if value is not None
    }
    parts = [("file", (name, content, "application/octet-stream")) for name, content in files]
    return client.post("/api/imports", files=parts, data=data, headers=berlin.headers(role))


def imported(client: TestClient, berlin: Berlin, files: Files, **fields: Any) -> dict[str, Any]:
    """Import and return the record, asserting success."""
    response = post_import(client, berlin, files, **fields)
    assert response.status_code == 201, response.text
    return response.json()


def count(db: Session, table: str, city_id: int) -> int:
    """Rows of a table in a city (table names are this test's own constants)."""
    return int(
        db.execute(text(f"SELECT count(*) FROM {table} WHERE city_id = :c"), {"c": city_id}).scalar_one()
    )


def forecast_areas() -> Files:
    return [(FORECAST_AREAS.name, FORECAST_AREAS.read_bytes())]


def places_frame(names: list[str], crs: str = "EPSG:25833", **columns: list[Any]) -> gpd.GeoDataFrame:
    """Asset-like points in Berlin in a projected CRS."""
    points = gpd.GeoSeries(shapely.points(BERLIN_UTM33[: len(names)]), crs="EPSG:25833").to_crs(crs)
    return gpd.GeoDataFrame(
        {"source_id": [f"P{i + 1}" for i in range(len(names))], "name": names, **columns}, geometry=points
    )


def shapefile_parts(
    folder: Path, frame: gpd.GeoDataFrame, encoding: str = "UTF-8", stem: str = "places"
) -> Files:
    """A shapefile written by GDAL, as (name, bytes) for each of its files."""
    folder.mkdir(parents=True, exist_ok=True)
    pyogrio.write_dataframe(frame, folder / f"{stem}.shp", encoding=encoding)
    return [(p.name, p.read_bytes()) for p in sorted(folder.glob(f"{stem}.*"))]


def zipped(parts: Files, name: str = "places.zip") -> Files:
    """The parts zipped into one archive (in a folder, as GIS tools do)."""
    target = Path(name)
    buffer = __import__("io").BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for part_name, content in parts:
            archive.writestr(f"export/{part_name}", content)
    return [(target.name, buffer.getvalue())]


def items_in_history(db: Session, import_id: int) -> list[int]:
    """The ids of the items an import's history rows name: one row per changed item, one per batch it created."""
    return list(
        db.scalars(
            text(
                "SELECT coalesce(item_id, i) FROM change "
                "LEFT JOIN LATERAL unnest(item_ids) AS r ON true "
                "LEFT JOIN LATERAL generate_series(lower(r), upper(r) - 1) AS i ON true "
                "WHERE import_id = :i ORDER BY 1"
            ),
            {"i": import_id},
        )
    )


def asset_names(db: Session, city_id: int) -> list[str]:
    return list(
        db.scalars(text("SELECT name FROM asset WHERE city_id = :c ORDER BY source_id"), {"c": city_id})
    )


# ------------------------------------------------------------------------------------------- the Berlin sample's files


def test_forecast_areas_geojson_become_the_neighbourhoods_of_a_new_city(
    client: TestClient, berlin: Berlin, db: Session
) -> None:
    city_id = new_city(client, berlin)
    record = imported(client, berlin, forecast_areas(), city="Neustadt", layer="neighbourhoods")
    assert record["status"] == "succeeded"
    assert record["counts"] == {"inserted": 58, "updated": 0, "skipped": 0}
    assert (record["layer"], record["city"], record["filename"]) == (
        "neighbourhoods",
        "Neustadt",
        FORECAST_AREAS.name,
    )
    assert len(record["sha256"]) == 64
    report = record["report"]
    assert (report["format"], report["feature_count"], report["geometry_types"]) == (
        "geojson",
        58,
        ["MultiPolygon"],
    )
    assert report["crs_epsg"] == 4326
    assert report["mapping"] == {"code": "id", "name": "name"}
    codes = set(db.scalars(text("SELECT code FROM neighbourhood WHERE city_id = :c"), {"c": city_id}))
    assert len(codes) == 58 and {"0930", "0110", "0120"} <= codes  # leading zeros kept
    listed = client.get("/api/neighbourhoods", params={"city": "Neustadt", "q": "0930"}).json()
    assert listed["features"][0]["properties"]["name"] == "Treptow-Köpenick 3"


def test_facilities_csv_imports_as_assets_located_in_imported_neighbourhoods(
    client: TestClient, berlin: Berlin, db: Session
) -> None:
    city_id = new_city(client, berlin)
    imported(client, berlin, forecast_areas(), city="Neustadt", layer="neighbourhoods")
    record = imported(
        client,
        berlin,
        [(LIBRARIES.name, LIBRARIES.read_bytes())],
        city="Neustadt",
        layer="assets",
        defaults={"category": "institution", "service_types": "learning; digital-inclusion"},
        skip_invalid=True,
    )
    report = record["report"]
    assert (report["format"], report["crs_epsg"], report["encoding"]) == ("csv", 4326, "utf-8")
    assert report["mapping"] == {"source_id": "id", "name": "name"}
    # Six libraries have no name in OpenStreetMap: they are listed, the other 125 land.
    assert record["counts"] == {"inserted": 125, "updated": 0, "skipped": 6}
    assert {p["reason"] for p in report["problems"]} == {"name is required but empty"}
    assert all(p["row_number"] and p["source_id"] for p in report["problems"])
    row = db.execute(
        text(
            """
            SELECT a.source, n.code, a.category, ST_X(a.geom), ST_Y(a.geom), ST_Distance(a.geom, a.blurred_location)
            FROM asset a LEFT JOIN neighbourhood n ON n.id = a.neighbourhood_id
            WHERE a.city_id = :c AND a.source_id = '29071031'
            """
        ),
        {"c": city_id},
    ).one()
    assert row[:3] == ("berlin-points-of-interest-libraries-details", "0120", "institution")
    assert (row[3], row[4]) == pytest.approx((13.3475136, 52.5312448), abs=1e-9)
    assert 0 < row[5] < 0.01  # the blurred location is the H3 cell centre, near but not at the library
    slugs = client.get("/api/assets", params={"city": "Neustadt", "q": "Bruno-Lösche"}).json()
    assert slugs["features"][0]["properties"]["service_types"] == ["digital-inclusion", "learning"]


# ------------------------------------------------------------------------------------------- each format


def test_zipped_shapefile_in_utm33_with_a_latin1_dbf(
    client: TestClient, berlin: Berlin, tmp_path: Path, db: Session
) -> None:
    city_id = new_city(client, berlin)
    frame = places_frame(
        ["Bürgerhaus Köpenick", "Kiezladen Weißensee"], category=["physical_space", "association"]
    )
    record = imported(
        client,
        berlin,
        zipped(shapefile_parts(tmp_path, frame, "ISO-8859-1")),
        city="Neustadt",
        layer="assets",
    )
    report = record["report"]
    assert (report["format"], report["crs_epsg"]) == ("shapefile", 25833)
    assert (report["encoding"], report["encoding_source"]) == ("iso8859-1", ".cpg file")
    assert asset_names(db, city_id) == ["Bürgerhaus Köpenick", "Kiezladen Weißensee"]
    lon, lat = db.execute(
        text("SELECT ST_X(geom), ST_Y(geom) FROM asset WHERE city_id = :c AND source_id = 'P1'"),
        {"c": city_id},
    ).one()
    expected = gpd.GeoSeries(shapely.points([BERLIN_UTM33[0]]), crs="EPSG:25833").to_crs(4326).iloc[0]
    assert (lon, lat) == pytest.approx((expected.x, expected.y), abs=1e-9)


def test_geopackage_with_two_layers_needs_the_layer_named(
    client: TestClient, berlin: Berlin, tmp_path: Path, db: Session
) -> None:
    city_id = new_city(client, berlin)
    target = tmp_path / "city.gpkg"
    places = places_frame(
        ["Stadtteilzentrum Rīga", "Bibliothek Gdańsk"], crs="EPSG:3035", category=["culture", "institution"]
    )
    pyogrio.write_dataframe(places, target, layer="places")
    pyogrio.write_dataframe(places_frame(["other"], category=["economy"]), target, layer="shops")
    content = [("city.gpkg", target.read_bytes())]

    refused = post_import(client, berlin, content, city="Neustadt", layer="assets")
    assert refused.status_code == 422
    assert refused.json()["layers"] == ["places", "shops"]
    assert "places, shops" in refused.json()["detail"]
    assert count(db, "asset", city_id) == 0

    record = imported(client, berlin, content, city="Neustadt", layer="assets", gpkg_layer="places")
    assert (record["report"]["format"], record["report"]["crs_epsg"], record["report"]["layer"]) == (
        "gpkg",
        3035,
        "places",
    )
    assert asset_names(db, city_id) == ["Stadtteilzentrum Rīga", "Bibliothek Gdańsk"]


def test_geojson_with_a_legacy_crs_member_in_utm32(client: TestClient, berlin: Berlin, db: Session) -> None:
    city_id = new_city(client, berlin)
    points = gpd.GeoSeries(shapely.points(BERLIN_UTM33[:2]), crs="EPSG:25833").to_crs("EPSG:25832")
    document = {
        "type": "FeatureCollection",
        "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::25832"}},
        "features": [
            {
                "type": "Feature",
                "properties": {"id": f"G{i}", "name": name, "category": "association"},
                "geometry": {"type": "Point", "coordinates": [p.x, p.y]},
            }
            for i, (name, p) in enumerate(zip(["Gdańsk-Verein", "Rīga-Chor"], points, strict=True))
        ],
    }
    record = imported(
        client, berlin, [("places.geojson", json.dumps(document).encode())], city="Neustadt", layer="assets"
    )
    assert (record["report"]["crs_epsg"], record["report"]["format"]) == (25832, "geojson")
    located = db.execute(
        text("SELECT name, ST_X(geom), ST_Y(geom) FROM asset WHERE city_id = :c ORDER BY source_id"),
        {"c": city_id},
    ).all()
    expected = gpd.GeoSeries(shapely.points(BERLIN_UTM33[:2]), crs="EPSG:25833").to_crs(4326)
    assert [r[0] for r in located] == ["Gdańsk-Verein", "Rīga-Chor"]
    coordinates = [c for r in located for c in (r[1], r[2])]
    assert coordinates == pytest.approx([c for p in expected for c in (p.x, p.y)], abs=1e-7)


@pytest.mark.parametrize(
    ("name", "content", "crs"),
    [
        (
            "lonlat.csv",
            "id;name;category;lat;lon\nC1;Gdańsk;culture;52,5219;13,4132\nC2;Rīga;economy;52.5353;13.2001\n",
            None,
        ),
        (
            "xy.csv",
            "id,name,category,x,y\nC1,Gdańsk,culture,392000,5820000\nC2,Rīga,economy,375000,5824000\n",
            "EPSG:25833",
        ),
        (
            "wkt.csv",
            'id,name,category,wkt\nC1,Gdańsk,culture,"POINT (13.4132 52.5219)"\nC2,Rīga,economy,"POINT (13.2001 52.5353)"\n',
            "EPSG:4326",
        ),
    ],
)
def test_csv_with_coordinates_in_each_layout(
    client: TestClient, berlin: Berlin, db: Session, name: str, content: str, crs: str | None
) -> None:
    city_id = new_city(client, berlin)
    record = imported(client, berlin, [(name, content.encode())], city="Neustadt", layer="assets", crs=crs)
    assert record["counts"]["inserted"] == 2
    assert record["report"]["crs_epsg"] in (4326, 25833)
    assert asset_names(db, city_id) == ["Gdańsk", "Rīga"]
    inside_berlin = db.scalar(
        text(
            "SELECT bool_and(ST_Within(geom, ST_MakeEnvelope(13.0, 52.3, 13.8, 52.7, 4326))) FROM asset WHERE city_id = :c"
        ),
        {"c": city_id},
    )
    assert inside_berlin


def test_csv_with_projected_coordinates_and_no_crs_asks_for_one(
    client: TestClient, berlin: Berlin, db: Session
) -> None:
    city_id = new_city(client, berlin)
    response = post_import(
        client,
        berlin,
        [("xy.csv", b"id,name,category,x,y\nC1,A,culture,392000,5820000\n")],
        city="Neustadt",
        layer="assets",
    )
    assert response.status_code == 422
    assert "--crs EPSG" in response.json()["detail"]
    assert count(db, "asset", city_id) == 0


# ------------------------------------------------------------------------------------------- dry run and re-import


def test_a_dry_run_reports_everything_and_stores_no_feature(
    client: TestClient, berlin: Berlin, db: Session, tmp_path: Path
) -> None:
    city_id = new_city(client, berlin)
    frame = places_frame(
        ["Nachbarschaftshaus", "", "Café Größenwahn"], category=["physical_space", "culture", "rocket"]
    )
    record = imported(
        client,
        berlin,
        zipped(shapefile_parts(tmp_path, frame)),
        city="Neustadt",
        layer="assets",
        dry_run=True,
    )
    assert record["status"] == "dry_run"
    assert count(db, "asset", city_id) == 0
    assert db.scalar(text("SELECT count(*) FROM change WHERE import_id = :i"), {"i": record["id"]}) == 0
    report = record["report"]
    assert (
        report["format"],
        report["crs_epsg"],
        report["encoding"],
        report["geometry_types"],
        report["feature_count"],
    ) == (
        "shapefile",
        25833,
        "utf-8",
        ["Point"],
        3,
    )
    assert (
        report["suggested_mapping"]
        == report["mapping"]
        == {"source_id": "source_id", "name": "name", "category": "category"}
    )
    assert [row["name"] for row in report["preview"]] == ["Nachbarschaftshaus"]
    assert report["preview"][0]["geometry"]["type"] == "Point"
    assert sorted((p["row_number"], p["source_id"], p["field"]) for p in report["problems"]) == [
        (2, "P2", "name"),
        (3, "P3", "category"),
    ]
    assert record["counts"]["skipped"] == 2
    stored = client.get(f"/api/imports/{record['id']}", headers=berlin.headers("gis")).json()
    assert stored["status"] == "dry_run" and stored["report"]["problems"] == report["problems"]


def test_reimport_changes_nothing_and_an_updated_file_updates_rows(
    client: TestClient, berlin: Berlin, db: Session, tmp_path: Path
) -> None:
    city_id = new_city(client, berlin)
    first = places_frame(
        ["Kiezladen", "Bürgerhaus", "Tafel"], category=["economy", "physical_space", "association"]
    )
    files = zipped(shapefile_parts(tmp_path / "a", first))
    assert imported(client, berlin, files, city="Neustadt", layer="assets")["counts"]["inserted"] == 3
    again = imported(client, berlin, files, city="Neustadt", layer="assets")
    assert again["counts"] == {"inserted": 0, "updated": 0, "skipped": 0}
    assert again["report"]["unchanged"] == 3
    assert count(db, "asset", city_id) == 3

    changed = places_frame(
        ["Kiezladen", "Bürgerhaus am Park", "Tafel"], category=["economy", "physical_space", "association"]
    )
    extra = places_frame(["Chor"], category=["culture"])
    extra["source_id"] = ["P9"]
    changed = gpd.GeoDataFrame(
        __import__("pandas").concat([changed, extra], ignore_index=True), crs=changed.crs
    )
    record = imported(
        client, berlin, zipped(shapefile_parts(tmp_path / "b", changed)), city="Neustadt", layer="assets"
    )
    assert record["counts"] == {"inserted": 1, "updated": 1, "skipped": 0}
    assert record["report"]["unchanged"] == 2
    assert asset_names(db, city_id) == ["Kiezladen", "Bürgerhaus am Park", "Tafel", "Chor"]
    version = db.scalar(
        text("SELECT version FROM asset WHERE city_id = :c AND source_id = 'P2'"), {"c": city_id}
    )
    assert version == 2

    # The history names the import that made each version.
    asset_id = db.scalar(text("SELECT id FROM asset WHERE city_id = :c AND source_id = 'P2'"), {"c": city_id})
    history = client.get(f"/api/assets/{asset_id}/history", headers=berlin.headers("gis")).json()["items"]
    assert [(h["action"], h["version"], h["after"]["name"]) for h in history] == [
        ("import", 1, "Bürgerhaus"),
        ("import", 2, "Bürgerhaus am Park"),
    ]
    assert history[1]["import_id"] == record["id"] and history[1]["user"] == "test-gis"
    assert history[1]["after"]["geom"]["type"] == "Point"


def test_items_an_import_created_keep_a_history_that_reverts_and_restores(
    client: TestClient, berlin: Berlin, db: Session, tmp_path: Path
) -> None:
    city_id = new_city(client, berlin)
    frame = places_frame(
        ["Kiezladen", "Bürgerhaus", "Tafel"], category=["economy", "physical_space", "association"]
    )
    record = imported(
        client, berlin, zipped(shapefile_parts(tmp_path, frame)), city="Neustadt", layer="assets"
    )
    ids = db.scalars(text("SELECT id FROM asset WHERE city_id = :c ORDER BY id"), {"c": city_id}).all()
    # One history row names all three new items; each item's history shows it as the import stored it.
    assert db.scalar(text("SELECT count(*) FROM change WHERE import_id = :i"), {"i": record["id"]}) == 1
    assert items_in_history(db, record["id"]) == ids
    admin = berlin.headers("admin")
    url = f"/api/assets/{ids[1]}"
    history = client.get(f"{url}/history", headers=admin).json()["items"]
    assert [(h["action"], h["version"], h["import_id"], h["user"]) for h in history] == [
        ("import", 1, record["id"], "test-gis")
    ]
    assert history[0]["after"]["name"] == "Bürgerhaus" and history[0]["after"]["geom"]["type"] == "Point"

    # After an edit, version 1 is still what the import stored, and reverting to it brings it back.
    edited = client.patch(
        url, json={"name": "Haus der Nachbarn", "capacity": 80, "version": 1}, headers=admin
    )
    assert edited.status_code == 200
    history = client.get(f"{url}/history", headers=admin).json()["items"]
    assert [(h["action"], h["version"], h["after"]["name"]) for h in history] == [
        ("import", 1, "Bürgerhaus"),
        ("update", 2, "Haus der Nachbarn"),
    ]
    reverted = client.post(f"{url}/revert", json={"version": 1}, headers=admin)
    assert reverted.status_code == 200
    assert reverted.json()["properties"]["name"] == "Bürgerhaus"
    assert reverted.json()["properties"]["capacity"] is None

    # An imported item deleted before anyone edited it can be restored as the import stored it.
    other = f"/api/assets/{ids[2]}"
    assert client.request("DELETE", other, headers={**admin, "If-Match": '"1"'}).status_code == 204
    assert client.post(f"{other}/restore", headers=admin).status_code == 201
    restored = client.get(other, headers=admin).json()["properties"]
    assert restored["name"] == "Tafel" and restored["category"] == "association"
    history = client.get(f"{other}/history", headers=admin).json()["items"]
    assert [(h["action"], h["after"] and h["after"]["name"]) for h in history] == [
        ("import", "Tafel"),
        ("delete", None),
        ("restore", "Tafel"),
    ]


def test_every_item_names_a_city_that_exists(client: TestClient, berlin: Berlin, db: Session) -> None:
    """City references are checked per statement (migration 0004): a missing city, a move to another city and a
    deleted city are handled as the foreign keys did."""
    from sqlalchemy.exc import DBAPIError

    city_id = new_city(client, berlin)
    values = "(:c, 'culture', 'Chor', ST_SetSRID(ST_MakePoint(13.4, 52.5), 4326), ST_SetSRID(ST_MakePoint(13.4, 52.5), 4326))"
    insert = f"INSERT INTO asset (city_id, category, name, geom, blurred_location) VALUES {values}"
    with pytest.raises(DBAPIError, match="names city 999999, which does not exist"), db.begin_nested():
        db.execute(text(insert), {"c": 999_999})
    asset_id = db.scalar(text(insert + " RETURNING id"), {"c": city_id})
    with pytest.raises(DBAPIError, match="cannot move to another city"), db.begin_nested():
        db.execute(text("UPDATE asset SET city_id = :b WHERE id = :a"), {"a": asset_id, "b": berlin_id(db)})
    db.execute(text("DELETE FROM city WHERE id = :c"), {"c": city_id})
    assert db.scalar(text("SELECT count(*) FROM asset WHERE id = :a"), {"a": asset_id}) == 0


def berlin_id(db: Session) -> int:
    return int(db.scalar(text("SELECT id FROM city WHERE name = 'Berlin'")) or 0)


def test_the_same_ids_from_another_source_are_other_assets(
    client: TestClient, berlin: Berlin, db: Session, tmp_path: Path
) -> None:
    city_id = new_city(client, berlin)
    files = zipped(shapefile_parts(tmp_path, places_frame(["A", "B"], category=["culture", "culture"])))
    imported(client, berlin, files, city="Neustadt", layer="assets", source="register-2023")
    record = imported(client, berlin, files, city="Neustadt", layer="assets", source="register-2024")
    assert record["counts"]["inserted"] == 2
    assert count(db, "asset", city_id) == 4


def test_neighbourhood_reimport_updates_population_and_parents(
    client: TestClient, berlin: Berlin, db: Session
) -> None:
    city_id = new_city(client, berlin)
    square = shapely.box(13.30, 52.45, 13.40, 52.55)

    def document(population: int) -> bytes:
        features = [
            {
                "type": "Feature",
                "properties": {"code": "01", "name": "Bezirk", "level": "district", "population": 200},
                "geometry": shapely.geometry.mapping(square),
            },
            {
                "type": "Feature",
                "properties": {
                    "code": "0101",
                    "name": "Kiez",
                    "parent_code": "01",
                    "population": population,
                    "pop_over_65": 12,
                },
                "geometry": shapely.geometry.mapping(shapely.box(13.30, 52.45, 13.35, 52.50)),
            },
        ]
        return json.dumps({"type": "FeatureCollection", "features": features}).encode()

    first = imported(
        client, berlin, [("areas.geojson", document(100))], city="Neustadt", layer="neighbourhoods"
    )
    assert first["counts"]["inserted"] == 2
    rows = db.execute(
        text(
            """SELECT n.code, n.level, p.code, n.population, n.population_by_group FROM neighbourhood n
               LEFT JOIN neighbourhood p ON p.id = n.parent_id WHERE n.city_id = :c ORDER BY n.code"""
        ),
        {"c": city_id},
    ).all()
    assert [tuple(r) for r in rows] == [
        ("01", "district", None, 200, {}),
        ("0101", "neighbourhood", "01", 100, {"over_65": 12}),
    ]
    second = imported(
        client, berlin, [("areas.geojson", document(120))], city="Neustadt", layer="neighbourhoods"
    )
    assert second["counts"] == {"inserted": 0, "updated": 1, "skipped": 0}


# ------------------------------------------------------------------------------------------- one transaction


def invalid_row_files(tmp_path: Path) -> Files:
    frame = places_frame(
        ["Kiezladen", "Bürgerhaus", "Tafel"], category=["economy", "spaceship", "association"]
    )
    return zipped(shapefile_parts(tmp_path, frame))


def test_one_invalid_row_lands_nothing(
    client: TestClient, berlin: Berlin, db: Session, tmp_path: Path
) -> None:
    city_id = new_city(client, berlin)
    response = post_import(client, berlin, invalid_row_files(tmp_path), city="Neustadt", layer="assets")
    assert response.status_code == 422
    body = response.json()
    assert "1 of 3 rows cannot be stored, so nothing was imported" in body["detail"]
    assert [(p["row_number"], p["source_id"], p["field"]) for p in body["problems"]] == [
        (2, "P2", "category")
    ]
    assert "'spaceship' is not a category" in body["problems"][0]["reason"]
    assert count(db, "asset", city_id) == 0
    # GIS staff can still see what happened.
    run = client.get(f"/api/imports/{body['import_id']}", headers=berlin.headers("gis")).json()
    assert run["status"] == "failed"
    assert run["report"]["rows_with_errors"] == 1 and "nothing was imported" in run["report"]["error"]
    assert db.scalar(text("SELECT count(*) FROM change WHERE import_id = :i"), {"i": body["import_id"]}) == 0


def test_skip_invalid_lands_the_valid_rows_and_lists_the_bad_one(
    client: TestClient, berlin: Berlin, db: Session, tmp_path: Path
) -> None:
    city_id = new_city(client, berlin)
    record = imported(
        client, berlin, invalid_row_files(tmp_path), city="Neustadt", layer="assets", skip_invalid=True
    )
    assert record["counts"] == {"inserted": 2, "updated": 0, "skipped": 1}
    assert record["report"]["skipped_rows"] == [2]
    assert asset_names(db, city_id) == ["Kiezladen", "Tafel"]
    stored = db.scalars(text("SELECT id FROM asset WHERE city_id = :c ORDER BY id"), {"c": city_id}).all()
    assert items_in_history(db, record["id"]) == stored


def test_unknown_service_types_are_row_errors_that_list_the_known_ones(
    client: TestClient, berlin: Berlin, db: Session
) -> None:
    city_id = new_city(client, berlin)
    content = b"id,name,category,services,lat,lon\nS1,Tafel,association,Food support,52.52,13.41\nS2,Club,association,Rocketry,52.53,13.42\n"
    response = post_import(client, berlin, [("a.csv", content)], city="Neustadt", layer="assets")
    assert response.status_code == 422
    problem = response.json()["problems"][0]
    assert (problem["row_number"], problem["field"]) == (2, "service_types")
    assert (
        "unknown service type 'rocketry': use one of" in problem["reason"]
        and "food-support" in problem["reason"]
    )
    assert count(db, "asset", city_id) == 0


def test_needs_and_resources_import_with_their_owners(
    client: TestClient, berlin: Berlin, db: Session
) -> None:
    city_id = new_city(client, berlin)
    imported(client, berlin, forecast_areas(), city="Neustadt", layer="neighbourhoods")
    imported(
        client,
        berlin,
        [("a.csv", b"id,name,category,lat,lon\nA1,Tafel,association,52.5219,13.4132\n")],
        city="Neustadt",
        layer="assets",
    )
    needs = imported(
        client,
        berlin,
        [("needs.csv", b"id,thema,betroffene,quelle,lat,lon\nN1,Food support,40,Umfrage,52.5219,13.4132\n")],
        city="Neustadt",
        layer="needs",
    )
    assert needs["counts"]["inserted"] == 1
    need = db.execute(
        text(
            "SELECT st.slug, n.people_affected, n.severity, n.source, nb.code FROM need n JOIN service_type st ON st.id = n.service_type_id "
            "LEFT JOIN neighbourhood nb ON nb.id = n.neighbourhood_id WHERE n.city_id = :c"
        ),
        {"c": city_id},
    ).one()
    assert tuple(need) == ("food-support", 40, 3, "survey", "0110")
    content = (
        "id,kind,quantity,asset_source_id,neighbourhood_code,available_from,available_until\n"
        "R1,volunteers,12,A1,,2024-05-01,2024-09-30\nR2,space,1,,0930,,\nR3,funding,5,NOPE,,,\nR4,space,1,,,2024-05-01,2024-01-01\n"
    )
    refused = post_import(client, berlin, [("res.csv", content.encode())], city="Neustadt", layer="resources")
    assert refused.status_code == 422
    reasons = {(p["row_number"], p["reason"]) for p in refused.json()["problems"] if p["severity"] == "error"}
    assert (3, "no asset of this city has source_id 'NOPE'") in reasons
    assert (4, "available_until is before available_from") in reasons
    assert (
        4,
        "a resource belongs to an asset or a neighbourhood: give asset_source_id or neighbourhood_code",
    ) in reasons
    record = imported(
        client, berlin, [("res.csv", content.encode())], city="Neustadt", layer="resources", skip_invalid=True
    )
    assert record["counts"] == {"inserted": 2, "updated": 0, "skipped": 2}
    owners = db.execute(
        text(
            "SELECT r.source_ref, a.source_id, n.code FROM resource r LEFT JOIN asset a ON a.id = r.asset_id "
            "LEFT JOIN neighbourhood n ON n.id = r.neighbourhood_id WHERE r.city_id = :c ORDER BY r.source_ref"
        ),
        {"c": city_id},
    ).all()
    assert [tuple(o) for o in owners] == [("R1", "A1", None), ("R2", None, "0930")]


# ------------------------------------------------------------------------------------------- who and where


def test_imports_are_listed_newest_first_and_kept_with_who_and_what(
    client: TestClient, berlin: Berlin
) -> None:
    new_city(client, berlin)
    first = imported(client, berlin, forecast_areas(), city="Neustadt", layer="neighbourhoods", dry_run=True)
    second = imported(client, berlin, forecast_areas(), city="Neustadt", layer="neighbourhoods", role="admin")
    listed = client.get("/api/imports", params={"city": "Neustadt"}, headers=berlin.headers("gis")).json()[
        "items"
    ]
    assert [(i["id"], i["status"], i["user"]) for i in listed] == [
        (second["id"], "succeeded", "test-admin"),
        (first["id"], "dry_run", "test-gis"),
    ]
    assert "report" not in listed[0]
    assert listed[0]["options"]["source"] == "berlin-lor-forecast-areas-from-2021"
    assert client.get("/api/imports/999999", headers=berlin.headers("gis")).status_code == 404
    assert client.get("/api/imports", headers=berlin.headers("planner")).status_code == 403
    assert (
        post_import(
            client, berlin, forecast_areas(), role="organiser", city="Neustadt", layer="neighbourhoods"
        ).status_code
        == 403
    )


def test_an_unknown_city_is_a_404_and_records_nothing(
    client: TestClient, berlin: Berlin, db: Session
) -> None:
    before = db.scalar(text("SELECT count(*) FROM import_run"))
    response = post_import(client, berlin, forecast_areas(), city="Atlantis", layer="neighbourhoods")
    assert response.status_code == 404 and "Atlantis" in response.json()["detail"]
    assert db.scalar(text("SELECT count(*) FROM import_run")) == before


def test_sqlite_file_that_is_not_a_geopackage_is_refused(
    client: TestClient, berlin: Berlin, tmp_path: Path
) -> None:
    new_city(client, berlin)
    plain = tmp_path / "plain.sqlite"
    with sqlite3.connect(plain) as conn:
        conn.execute("CREATE TABLE t (x)")
    response = post_import(
        client, berlin, [("data.gpkg", plain.read_bytes())], city="Neustadt", layer="assets"
    )
    assert response.status_code == 422
    assert response.json()["detail"]


def test_changed_service_types_alone_update_an_asset_and_its_links(
    client: TestClient, berlin: Berlin, db: Session
) -> None:
    city_id = new_city(client, berlin)
    header = "id,name,category,services,lat,lon\n"
    first = header + "T1,Tafel,association,Food support,52.52,13.41\nT2,Chor,culture,Culture,52.53,13.42\n"
    imported(client, berlin, [("a.csv", first.encode())], city="Neustadt", layer="assets")
    second = (
        header
        + "T1,Tafel,association,Food support; Older people,52.52,13.41\nT2,Chor,culture,Culture,52.53,13.42\n"
    )
    record = imported(client, berlin, [("a.csv", second.encode())], city="Neustadt", layer="assets")
    assert record["counts"] == {"inserted": 0, "updated": 1, "skipped": 0}
    listed = client.get("/api/assets", params={"city": "Neustadt", "q": "Tafel"}).json()["features"][0]
    assert listed["properties"]["service_types"] == ["food-support", "older-people"]
    history = client.get(f"/api/assets/{listed['id']}/history", headers=berlin.headers("gis")).json()["items"]
    assert [h["after"]["service_types"] for h in history] == [
        ["food-support"],
        ["food-support", "older-people"],
    ]
    third = header + "T1,Tafel,association,Older people,52.52,13.41\nT2,Chor,culture,Culture,52.53,13.42\n"
    imported(client, berlin, [("a.csv", third.encode())], city="Neustadt", layer="assets")
    links = db.scalars(
        text(
            "SELECT st.slug FROM asset_service_type x JOIN service_type st ON st.id = x.service_type_id "
            "JOIN asset a ON a.id = x.asset_id WHERE a.city_id = :c AND a.source_id = 'T1'"
        ),
        {"c": city_id},
    ).all()
    assert links == ["older-people"]


def test_new_boundaries_locate_the_assets_already_there(
    client: TestClient, berlin: Berlin, db: Session
) -> None:
    city_id = new_city(client, berlin)
    imported(
        client,
        berlin,
        [("a.csv", b"id,name,category,lat,lon\nA1,Tafel,association,52.5219,13.4132\n")],
        city="Neustadt",
        layer="assets",
    )
    assert db.scalar(text("SELECT neighbourhood_id FROM asset WHERE city_id = :c"), {"c": city_id}) is None
    record = imported(client, berlin, forecast_areas(), city="Neustadt", layer="neighbourhoods")
    assert record["report"]["relocated"] == {"assets": 1, "needs": 0}
    code = db.scalar(
        text(
            "SELECT n.code FROM asset a JOIN neighbourhood n ON n.id = a.neighbourhood_id WHERE a.city_id = :c"
        ),
        {"c": city_id},
    )
    assert code == "0110"


def test_fields_the_file_does_not_map_are_left_as_they_are(
    client: TestClient, berlin: Berlin, db: Session
) -> None:
    city_id = new_city(client, berlin)
    full = b"id,name,category,description,lat,lon\nA1,Tafel,association,Mittwochs 10-12,52.52,13.41\n"
    imported(client, berlin, [("register.csv", full)], city="Neustadt", layer="assets")
    renamed = b"id,name,category,lat,lon\nA1,Tafel Mitte,association,52.52,13.41\n"
    record = imported(client, berlin, [("register.csv", renamed)], city="Neustadt", layer="assets")
    assert record["counts"]["updated"] == 1
    row = db.execute(text("SELECT name, description FROM asset WHERE city_id = :c"), {"c": city_id}).one()
    assert tuple(row) == ("Tafel Mitte", "Mittwochs 10-12")
