"""Exports through the API: every format round-trips through the importer, privacy holds, shapefiles are whole."""

from __future__ import annotations

import re
import zipfile
from io import BytesIO
from pathlib import Path

import httpx
import pandas as pd
import pytest
import shapely
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from geo.io import read_source
from geo.layers import LAYERS, suggest_mapping
from geo.privacy import blur_points
from tests.app.helpers import MITTE_POINT, create_asset
from tests.app.test_imports import imported, new_city
from tests.conftest import Berlin

FORMATS = ["geojson", "gpkg", "shp", "csv"]
EXTENSIONS = {"geojson": "geojson", "gpkg": "gpkg", "shp": "zip", "csv": "csv"}


def export(
    client: TestClient, berlin: Berlin, layer: str, role: str | None = "planner", **params: str
) -> httpx.Response:
    return client.get(f"/api/exports/{layer}", params=params, headers=berlin.headers(role))


def read_back(tmp_path: Path, content: bytes, filename: str, layer: str, crs: str | None) -> pd.DataFrame:
    """An export read with the import pipeline's reader: the layer's fields, sorted by key, and geometries."""
    path = tmp_path / f"read-{len(list(tmp_path.iterdir()))}"
    path.write_bytes(content)
    result = read_source(path, original_names=[filename], crs=crs)
    frame = result.frame
    mapping = suggest_mapping(result.columns, layer)  # shapefile names such as 'service_ty' map back
    key = LAYERS[layer].key
    out = pd.DataFrame({target: frame[source] for target, source in mapping.items()})
    out = out.assign(geometry=frame.geometry.to_numpy())
    return out.sort_values(key).reset_index(drop=True)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("layer", ["neighbourhoods", "assets"])
def test_export_then_import_gives_the_same_data(
    client: TestClient, berlin: Berlin, db: Session, tmp_path: Path, layer: str, fmt: str
) -> None:
    # Assets of Mitte (district 01 and its forecast areas); every neighbourhood of Berlin (districts and areas).
    scope = {"neighbourhood": "01"} if layer == "assets" else {}
    first = export(client, berlin, layer, city="Berlin", format=fmt, **scope)
    assert first.status_code == 200, first.text
    filename = re.search(r'filename="([^"]+)"', first.headers["content-disposition"]).group(1)  # type: ignore[union-attr]
    assert filename == f"berlin-{layer}{'-01' if scope else ''}.{EXTENSIONS[fmt]}"
    assert first.headers["content-disposition"].startswith("attachment")

    city_id = new_city(client, berlin, "Kopie")
    # A CSV of polygons holds WKT without a CRS; the user names it as for any WKT table.
    crs = "EPSG:4326" if fmt == "csv" and layer == "neighbourhoods" else None
    record = imported(
        client, berlin, [(filename, first.content)], city="Kopie", layer=layer, crs=crs, source="osm"
    )
    expected_rows = {"neighbourhoods": 70, "assets": 394}[layer]
    assert record["counts"] == {"inserted": expected_rows, "updated": 0, "skipped": 0}
    table = "neighbourhood" if layer == "neighbourhoods" else "asset"
    assert (
        db.scalar(text(f"SELECT count(*) FROM {table} WHERE city_id = :c"), {"c": city_id}) == expected_rows
    )

    second = export(client, berlin, layer, city="Kopie", format=fmt)
    assert second.status_code == 200
    before = read_back(tmp_path, first.content, filename, layer, crs)
    after = read_back(tmp_path, second.content, filename, layer, crs)
    pd.testing.assert_frame_equal(before.drop(columns="geometry"), after.drop(columns="geometry"))
    normalised = shapely.normalize(before.geometry.to_numpy()), shapely.normalize(after.geometry.to_numpy())
    assert shapely.equals_exact(*normalised, tolerance=1e-6).all()
    # The Berlin data really is in there: codes with leading zeros, umlauts, service types.
    if layer == "neighbourhoods":
        assert "0110" in set(after["code"]) and "Treptow-Köpenick 3" in set(after["name"])
    else:
        assert after["name"].str.contains("ö|ü|ä|ß").any()
        assert (after["service_types"].dropna().str.len() > 0).any()


def test_an_individual_is_blurred_for_the_public_and_exact_for_a_planner(
    client: TestClient, berlin: Berlin
) -> None:
    # enough people in 0110 that they are not a suppressed small count (test_security_privacy covers fewer)
    for i in range(berlin.settings.small_count_threshold - 1):
        create_asset(client, berlin, name=f"Neighbour {i}", category="individual")
    person = create_asset(
        client,
        berlin,
        name="Hilde, knits with neighbours",
        category="individual",
        contact="030 1234",
        geometry=MITTE_POINT,
    )
    lon, lat = (float(c) for c in MITTE_POINT["coordinates"])  # type: ignore[arg-type]
    blurred_lon, blurred_lat = blur_points([lon], [lat], berlin.settings.privacy_h3_resolution)

    def exported(role: str | None) -> dict:
        response = export(
            client, berlin, "assets", role=role, city="Berlin", format="geojson", neighbourhood="0110"
        )
        assert response.status_code == 200 and response.headers["content-type"].startswith(
            "application/geo+json"
        )
        features = [
            f for f in response.json()["features"] if f["properties"]["name"] == person["properties"]["name"]
        ]
        assert len(features) == 1
        return features[0]

    public = exported(None)
    assert public["geometry"]["coordinates"] == pytest.approx([blurred_lon[0], blurred_lat[0]], abs=1e-6)
    assert public["geometry"]["coordinates"] != pytest.approx([lon, lat], abs=1e-5)
    assert public["properties"]["contact"] is None and public["properties"]["location_blurred"] is True
    organiser = exported("organiser")
    assert organiser["geometry"] == public["geometry"]
    planner = exported("planner")
    assert planner["geometry"]["coordinates"] == pytest.approx([lon, lat], abs=1e-6)
    assert (
        planner["properties"]["contact"] == "030 1234" and planner["properties"]["location_blurred"] is False
    )


def test_only_published_entries_unless_staff_ask_for_more(client: TestClient, berlin: Berlin) -> None:
    proposal = create_asset(client, berlin, role="contributor", name="Proposed repair café")
    assert proposal["properties"]["status"] == "pending"

    def names(role: str | None, **params: str) -> set[str]:
        response = export(
            client, berlin, "assets", role=role, city="Berlin", format="csv", neighbourhood="0110", **params
        )
        assert response.status_code == 200, response.text
        return set(pd.read_csv(BytesIO(response.content), dtype=str)["name"])

    assert "Proposed repair café" not in names(None)
    assert "Proposed repair café" not in names("gis")
    assert "Proposed repair café" in names("gis", status="all")
    assert "Proposed repair café" in names("contributor", status="pending")  # their own proposal
    refused = export(client, berlin, "assets", role=None, city="Berlin", status="pending")
    assert refused.status_code == 403


def test_a_shapefile_export_is_a_zip_with_prj_utf8_cpg_and_the_field_names(
    client: TestClient, berlin: Berlin
) -> None:
    response = export(client, berlin, "assets", city="Berlin", format="shp", neighbourhood="0110")
    assert response.status_code == 200 and response.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(BytesIO(response.content)) as archive:
        names = archive.namelist()
        assert sorted(Path(n).suffix for n in names) == [".cpg", ".dbf", ".prj", ".shp", ".shx", ".txt"]
        assert archive.read("assets.cpg").decode().strip() == "UTF-8"
        assert (
            "WGS_1984" in archive.read("assets.prj").decode()
            or "WGS 84" in archive.read("assets.prj").decode()
        )
        pairs = dict(
            line.split("\t")
            for line in archive.read("fields.txt").decode().splitlines()
            if not line.startswith("#")
        )
        dbf = archive.read("assets.dbf")
    assert pairs["opening_ho"] == "opening_hours" and pairs["capacity_u"] == "capacity_unit"
    assert pairs["location_b"] == "location_blurred" and pairs["neighbourh"] == "neighbourhood_code"
    header_length = int.from_bytes(dbf[8:10], "little")
    fields = [dbf[i : i + 11].split(b"\x00")[0].decode() for i in range(32, header_length - 1, 32)]
    assert fields == list(pairs) and all(len(f.encode()) <= 10 for f in fields)


def test_needs_with_points_and_areas_cannot_be_one_shapefile(client: TestClient, berlin: Berlin) -> None:
    for geometry in (
        MITTE_POINT,
        {
            "type": "Polygon",
            "coordinates": [[[13.40, 52.51], [13.42, 52.51], [13.42, 52.53], [13.40, 52.51]]],
        },
    ):
        created = client.post(
            "/api/needs",
            json={"city": "Berlin", "service_type": "food-support", "geometry": geometry, "severity": 4},
            headers=berlin.headers("admin"),
        )
        assert created.status_code == 201, created.text
    refused = export(client, berlin, "needs", city="Berlin", format="shp")
    assert refused.status_code == 422 and "export it as GeoPackage or GeoJSON" in refused.json()["detail"]
    package = export(client, berlin, "needs", city="Berlin", format="gpkg")
    assert package.status_code == 200 and package.content[:16] == b"SQLite format 3\x00"


@pytest.mark.parametrize(
    ("path", "params", "status", "words"),
    [
        ("/api/exports/roads", {"city": "Berlin"}, 404, "no layer 'roads'"),
        ("/api/exports/assets", {"city": "Berlin", "format": "kml"}, 422, "unknown format 'kml'"),
        ("/api/exports/assets", {"city": "Atlantis"}, 404, "no city 'Atlantis'"),
        (
            "/api/exports/assets",
            {"city": "Berlin", "neighbourhood": "9999"},
            404,
            "no neighbourhood with the code '9999'",
        ),
        ("/api/exports/assets", {}, 422, "city"),
        ("/api/exports/assets", {"city": "Berlin", "status": "everything"}, 422, "status must be one of"),
    ],
)
def test_bad_export_requests_are_named(
    client: TestClient, path: str, params: dict, status: int, words: str
) -> None:
    response = client.get(path, params=params)
    assert response.status_code == status, response.text
    assert words in response.json()["detail"]


def test_an_export_of_nothing_is_an_empty_file(client: TestClient, berlin: Berlin) -> None:
    new_city(client, berlin, "Leer")
    for fmt in FORMATS:
        response = export(client, berlin, "assets", city="Leer", format=fmt)
        assert response.status_code == 200, (fmt, response.text)
    empty = export(client, berlin, "assets", city="Leer", format="geojson").json()
    assert empty["type"] == "FeatureCollection" and empty["features"] == []


def test_resources_are_exported_where_their_owner_is(client: TestClient, berlin: Berlin, db: Session) -> None:
    asset = create_asset(client, berlin, name="Gemeinschaftsraum")
    created = client.post(
        "/api/resources",
        json={"asset_id": asset["id"], "kind": "space", "quantity": 1, "unit": "room"},
        headers=berlin.headers("admin"),
    )
    assert created.status_code == 201, created.text
    response = export(client, berlin, "resources", city="Berlin", format="geojson")
    assert response.status_code == 200
    features = [f for f in response.json()["features"] if f["properties"]["id"] == created.json()["id"]]
    assert features[0]["geometry"]["coordinates"] == pytest.approx(MITTE_POINT["coordinates"], abs=1e-6)
    assert features[0]["properties"]["kind"] == "space"
