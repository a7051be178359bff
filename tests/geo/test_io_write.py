"""Export in every format and import again gives the same stored rows."""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
import shapely.affinity

from geo.io import ExportProblem, read_source, shapefile_field_names, write_layer
from geo.layers import LAYERS, apply_mapping, suggest_mapping
from geo.validate import prepare_geometries

FORMATS = ["geojson", "gpkg", "shp", "csv"]


def stored(layer: str, frame: pd.DataFrame, geometries: list[shapely.Geometry | None]) -> gpd.GeoDataFrame:
    """Rows as the app would hold them: mapped, typed, geometry prepared, in EPSG:4326."""
    source = gpd.GeoDataFrame(
        {"row_number": np.arange(1, len(frame) + 1), "source_fid": np.arange(len(frame)), **frame},
        geometry=gpd.GeoSeries(geometries, crs="EPSG:4326"),
    )
    rows, problems = apply_mapping(source, layer, {c: c for c in frame.columns})
    assert problems == []
    schema = LAYERS[layer]
    rows, problems = prepare_geometries(rows, schema.geometry, geometry_optional=schema.geometry_optional)
    assert problems == []
    return rows.drop(columns=["row_number", "source_fid"])


def assets() -> gpd.GeoDataFrame:
    frame = pd.DataFrame(
        {
            "source_id": ["A-001", "A-002", "A-003"],
            "name": ['Bürgerhaus "Alte Schule"', "Kiezladen; Weißensee", "Café, Größenwahn"],
            "category": ["physical_space", "association", "economy"],
            "description": ["Räume für Gruppen,\nmit Küche", None, "Treffpunkt ab 18 Uhr"],
            "service_types": [["food_support", "youth"], [], ["older_people"]],
            "capacity": [40.0, None, 12.5],
            "capacity_unit": ["people", None, "seats"],
            "ownership": ["community", "charity", None],
            "contact": ["info@example.org", None, "+49 30 1234567"],
            "opening_hours": ["Mo-Fr 09:00-17:00", None, None],
            "verified": [True, False, None],
            "sensitive": [False, False, True],
        }
    )
    points = shapely.points([[13.4049541, 52.5200066], [13.4589, 52.5512], [13.3182004, 52.5025117]]).tolist()
    return stored("assets", frame, points)


def neighbourhoods() -> gpd.GeoDataFrame:
    frame = pd.DataFrame(
        {
            "code": ["0930", "0100", "1200"],
            "name": ["Treptow-Köpenick 3", "Mitte", "Reinickendorf"],
            "parent_code": ["09", "01", None],
            "population": [53_000, 101_000, None],
            "pop_under_6": [2_900, 5_100, None],
            "pop_over_65": [13_000, 12_500, 0],
        }
    )
    with_hole = shapely.Polygon(
        [(13.60, 52.40), (13.70, 52.40), (13.70, 52.45), (13.60, 52.45)],
        [[(13.62, 52.41), (13.64, 52.41), (13.64, 52.43), (13.62, 52.43)]],
    )
    two_parts = shapely.MultiPolygon(
        [shapely.box(13.35, 52.50, 13.40, 52.53), shapely.box(13.41, 52.50, 13.43, 52.52)]
    )
    return stored("neighbourhoods", frame, [with_hole, two_parts, shapely.box(13.2, 52.55, 13.35, 52.65)])


def resources() -> gpd.GeoDataFrame:
    frame = pd.DataFrame(
        {
            "source_id": ["R1", "R2"],
            "kind": ["volunteers", "space"],
            "quantity": [12.0, 1.0],
            "unit": ["people", "room"],
            "available_from": ["2024-05-01", None],
            "available_until": ["2024-09-30", "2025-01-31"],
            "description": ["Sommerfest-Helfer:innen", None],
            "asset_source_id": ["A-001", None],
            "neighbourhood_code": ["0930", "0100"],
        }
    )
    return stored("resources", frame, [shapely.Point(13.6, 52.42), shapely.Point(13.38, 52.51)])


def round_trip(rows: gpd.GeoDataFrame, layer: str, fmt: str, tmp_path: Path) -> gpd.GeoDataFrame:
    out = write_layer(rows, tmp_path / f"{layer}.{fmt}.out", fmt, layer)  # type: ignore[arg-type]
    # A CSV of polygons carries no CRS of its own; the user names it as for any WKT table.
    crs = "EPSG:4326" if fmt == "csv" and layer == "neighbourhoods" else None
    result = read_source(out, original_names=[f"{layer}.{'zip' if fmt == 'shp' else fmt}"], crs=crs)
    mapping = suggest_mapping(result.columns, layer)
    assert set(mapping) == set(rows.columns) - {"geometry"}
    schema = LAYERS[layer]
    # The import pipeline: read, prepare geometries, map fields.
    prepared, problems = prepare_geometries(
        result.frame, schema.geometry, geometry_optional=schema.geometry_optional
    )
    assert problems == []
    again, problems = apply_mapping(prepared, layer, mapping)
    assert problems == []
    return again.drop(columns=["row_number", "source_fid"])


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("layer", ["assets", "neighbourhoods", "resources"])
def test_export_then_import_gives_the_same_rows(layer: str, fmt: str, tmp_path: Path) -> None:
    rows = {"assets": assets, "neighbourhoods": neighbourhoods, "resources": resources}[layer]()
    again = round_trip(rows, layer, fmt, tmp_path)
    pd.testing.assert_frame_equal(
        pd.DataFrame(again.drop(columns="geometry")),
        pd.DataFrame(rows.drop(columns="geometry")),
        check_dtype=True,
    )
    # Shapefiles store rings clockwise and may start them elsewhere: compare normalised shapes.
    normalised = shapely.normalize(again.geometry.to_numpy()), shapely.normalize(rows.geometry.to_numpy())
    assert shapely.equals_exact(*normalised, tolerance=1e-6).all()
    assert again.geometry.geom_type.tolist() == rows.geometry.geom_type.tolist()


def test_geojson_follows_rfc_7946(tmp_path: Path) -> None:
    rows = neighbourhoods()
    rows.loc[0, "geometry"] = shapely.affinity.translate(rows.geometry.iloc[0], 0.123456789, 0.0)
    out = write_layer(rows, tmp_path / "n.geojson", "geojson", "neighbourhoods")
    text = out.read_text()
    assert '"crs"' not in text
    assert "[ 13.723457, 52.4 ]" in text  # lon before lat, 6 decimals
    data = json.loads(text)
    exterior, hole = data["features"][0]["geometry"]["coordinates"][0]
    assert shapely.LinearRing(exterior).is_ccw and not shapely.LinearRing(hole).is_ccw
    coordinates = re.findall(r"-?\d+\.\d+", json.dumps([f["geometry"] for f in data["features"]]))
    assert max(len(c.split(".")[1]) for c in coordinates) <= 6


def test_shapefile_zip_holds_the_parts_a_utf8_cpg_and_the_field_names(tmp_path: Path) -> None:
    out = write_layer(resources(), tmp_path / "resources.zip", "shp", "resources")
    with zipfile.ZipFile(out) as archive:
        names = sorted(archive.namelist())
        assert names == ["fields.txt", *(f"resources.{ext}" for ext in ("cpg", "dbf", "prj", "shp", "shx"))]
        assert archive.read("resources.cpg").decode().strip().upper() in ("UTF-8", "UTF8")
        fields = archive.read("fields.txt").decode()
    assert "available_\tavailable_from" in fields
    assert "availabl01\tavailable_until" in fields
    assert "neighbourh\tneighbourhood_code" in fields


def test_shapefile_field_names_are_cut_predictably_and_never_collide() -> None:
    names = shapefile_field_names(
        [
            "name",
            "inhabitants_age_below_6",
            "inhabitants_age_6_15",
            "inhabitants",
            "Inhabitant",
            "straßenname_lang",
        ]
    )
    assert names == {
        "name": "name",
        "inhabitants_age_below_6": "inhabitant",
        "inhabitants_age_6_15": "inhabita01",
        "inhabitants": "inhabita02",
        "Inhabitant": "Inhabita03",
        "straßenname_lang": "straßenna",  # ß takes two of the ten bytes
    }
    assert all(len(short.encode()) <= 10 for short in names.values())


def test_colliding_columns_survive_a_shapefile_round_trip(tmp_path: Path) -> None:
    frame = gpd.GeoDataFrame(
        {"service_types_offered": ["a"], "service_types_wanted": ["b"]},
        geometry=[shapely.Point(13.4, 52.5)],
        crs="EPSG:4326",
    )
    out = write_layer(frame, tmp_path / "x.zip", "shp", "assets")
    result = read_source(out)
    assert result.columns == ["service_ty", "service_01"]
    assert result.frame["service_ty"].tolist() == ["a"] and result.frame["service_01"].tolist() == ["b"]


def test_exports_refuse_what_they_cannot_write(tmp_path: Path) -> None:
    rows = assets()
    with pytest.raises(ExportProblem, match="must be in EPSG:4326"):
        write_layer(rows.to_crs(25833), tmp_path / "a.gpkg", "gpkg", "assets")
    with pytest.raises(ExportProblem, match="layer name 'assets; DROP' is not allowed"):
        write_layer(rows, tmp_path / "a.gpkg", "gpkg", "assets; DROP")
    with pytest.raises(ExportProblem, match="unknown export format 'kml'"):
        write_layer(rows, tmp_path / "a.kml", "kml", "assets")  # type: ignore[arg-type]
    mixed = gpd.GeoDataFrame(
        {"n": [1, 2]}, geometry=[shapely.Point(13.4, 52.5), shapely.box(13, 52, 13.1, 52.1)], crs=4326
    )
    with pytest.raises(
        ExportProblem, match=r"one kind of geometry.*point, polygon: export it as GeoPackage or GeoJSON"
    ):
        write_layer(mixed, tmp_path / "m.zip", "shp", "needs")
    assert not list(tmp_path.iterdir())


def test_needs_with_points_and_polygons_round_trip_in_geopackage(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "source_id": ["N1", "N2"],
            "service_type": ["food_support", "youth"],
            "severity": [4, 2],
            "observed_on": ["2024-03-01", None],
        }
    )
    rows = stored("needs", frame, [shapely.Point(13.4, 52.5), shapely.box(13.3, 52.4, 13.35, 52.45)])
    again = round_trip(rows, "needs", "gpkg", tmp_path)
    assert again.geometry.geom_type.tolist() == ["Point", "MultiPolygon"]
    assert again["observed_on"].tolist() == rows["observed_on"].tolist()
