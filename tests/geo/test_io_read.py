"""Each accepted format reads with the right CRS, encoding, layer and count; the Berlin sample reads as-is."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely

from geo.io import ImportLimits, LayerChoiceError, SourceCRSError, SourceTooLargeError, read_source
from geo.validate import prepare_geometries

BERLIN = Path(__file__).resolve().parents[2] / "data" / "berlin"


def assets_frame(crs: str = "EPSG:25833") -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "source_id": ["A1", "A2", "A3"],
            "name": ["Bürgerhaus Köpenick", "Kiezladen Weißensee", "Café Größenwahn"],
            "capacity": [40.0, np.nan, 12.5],
        },
        geometry=shapely.points([[410_000, 5_812_000], [396_000, 5_827_000], [389_000, 5_819_000]]),
        crs=crs,
    )


def zipped_shapefile(tmp_path: Path, frame: gpd.GeoDataFrame, encoding: str, name: str = "assets") -> Path:
    folder = tmp_path / f"shp-{name}"
    folder.mkdir()
    pyogrio.write_dataframe(frame, folder / f"{name}.shp", encoding=encoding)
    archive = tmp_path / f"{name}.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zipped:
        for part in folder.iterdir():
            zipped.write(part, f"export/{part.name}")
    return archive


def test_zipped_shapefile_in_utm33_with_a_western_european_dbf(tmp_path: Path) -> None:
    result = read_source(zipped_shapefile(tmp_path, assets_frame(), "cp1252"))
    assert (result.format, result.feature_count, result.crs_epsg) == ("shapefile", 3, 25833)
    assert (result.encoding, result.encoding_source) == ("cp1252", ".cpg file")
    assert result.frame["name"].tolist() == ["Bürgerhaus Köpenick", "Kiezladen Weißensee", "Café Größenwahn"]
    assert result.frame.crs.to_epsg() == 4326
    assert result.frame["row_number"].tolist() == [1, 2, 3]
    assert result.frame["source_fid"].tolist() == [0, 1, 2]
    assert result.frame.total_bounds == pytest.approx(assets_frame().to_crs(4326).total_bounds, abs=1e-9)
    assert result.frame["capacity"].isna().tolist() == [False, True, False]


def test_loose_shapefile_parts_given_as_a_list(tmp_path: Path) -> None:
    pyogrio.write_dataframe(assets_frame(), tmp_path / "Assets.shp", encoding="UTF-8")
    parts = sorted(tmp_path.glob("Assets.*"))
    assert {p.suffix for p in parts} == {".shp", ".shx", ".dbf", ".prj", ".cpg"}
    result = read_source(parts)
    assert (result.layer, result.layers, result.feature_count) == ("Assets", ["Assets"], 3)
    assert result.columns == ["source_id", "name", "capacity"]


def test_a_zip_with_two_shapefiles_asks_which_one(tmp_path: Path) -> None:
    first = zipped_shapefile(tmp_path, assets_frame(), "UTF-8", "assets")
    with zipfile.ZipFile(first, "a") as zipped:
        other = tmp_path / "shp-other"
        other.mkdir()
        pyogrio.write_dataframe(assets_frame().head(1), other / "other.shp", encoding="UTF-8")
        for part in other.iterdir():
            zipped.write(part, part.name)
    with pytest.raises(LayerChoiceError, match=r"several datasets \(assets, other\): choose one") as caught:
        read_source(first)
    assert caught.value.choices == ["assets", "other"]
    assert read_source(first, layer="other").feature_count == 1


def test_geopackage_with_two_layers(tmp_path: Path) -> None:
    path = tmp_path / "city.gpkg"
    pyogrio.write_dataframe(assets_frame(), path, layer="assets")
    districts = gpd.GeoDataFrame(
        {"code": ["01", "02"], "name": ["Mitte", "Friedrichshain-Kreuzberg"]},
        geometry=[shapely.box(13.3, 52.5, 13.4, 52.55), shapely.box(13.4, 52.48, 13.48, 52.52)],
        crs="EPSG:4326",
    )
    pyogrio.write_dataframe(districts, path, layer="districts")
    with pytest.raises(
        LayerChoiceError, match=r"2 layers \(assets, districts\): choose one with --layer"
    ) as caught:
        read_source(path)
    assert caught.value.choices == ["assets", "districts"]
    with pytest.raises(LayerChoiceError, match="no layer named 'roads'; its layers are: assets, districts"):
        read_source(path, layer="roads")
    result = read_source(path, layer="districts")
    assert (result.format, result.layer, result.layers) == ("gpkg", "districts", ["assets", "districts"])
    assert result.crs_epsg == 4326
    assert result.frame["code"].tolist() == ["01", "02"]
    assert result.frame["source_fid"].tolist() == [1, 2]  # GeoPackage feature ids start at 1
    assert read_source(path, layer="assets").crs_epsg == 25833


def test_a_geopackage_layer_without_crs_asks_for_one(tmp_path: Path) -> None:
    path = tmp_path / "nocrs.gpkg"
    frame = assets_frame().set_crs(None, allow_override=True)
    with pytest.warns(UserWarning, match="crs"):
        pyogrio.write_dataframe(frame, path, layer="assets")
    with pytest.raises(SourceCRSError, match="the layer has no CRS: pass --crs EPSG:xxxx"):
        read_source(path)
    assert read_source(path, crs="EPSG:25833").frame.geometry.x.between(13, 14).all()


def test_an_attribute_table_in_a_geopackage_needs_no_crs(tmp_path: Path) -> None:
    path = tmp_path / "resources.gpkg"
    pyogrio.write_dataframe(
        pd.DataFrame({"kind": ["volunteers"], "quantity": [12.0]}), path, layer="resources"
    )
    result = read_source(path)
    assert (result.crs, result.geometry_types, result.feature_count) == (None, [], 1)
    assert result.frame.geometry.isna().all()


def test_the_feature_budget_is_enforced(tmp_path: Path) -> None:
    with pytest.raises(SourceTooLargeError, match="3 features, more than the limit of 2"):
        read_source(zipped_shapefile(tmp_path, assets_frame(), "UTF-8"), limits=ImportLimits(max_features=2))


def test_an_unclosed_ring_is_closed_and_reported(tmp_path: Path) -> None:
    path = tmp_path / "areas.geojson"
    open_ring = [[13.40, 52.50], [13.41, 52.50], [13.41, 52.51], [13.40, 52.51]]
    path.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "id": 7,
                        "properties": {"code": "A"},
                        "geometry": {"type": "Polygon", "coordinates": [open_ring]},
                    }
                ],
            }
        )
    )
    result = read_source(path)
    assert [(p.row_number, p.source_id, p.reason, p.severity) for p in result.problems] == [
        (1, "7", "a ring was not closed: closed it", "warning")
    ]
    assert result.frame.geometry.iloc[0].is_valid
    assert result.frame.geometry.iloc[0].area == pytest.approx(0.0001)


def test_berlin_forecast_areas_read_as_published() -> None:
    result = read_source(BERLIN / "berlin-lor-forecast-areas-from-2021.geojson")
    assert (result.format, result.feature_count, result.crs_epsg) == ("geojson", 58, 4326)
    assert result.crs == "urn:ogc:def:crs:EPSG::4326"
    assert result.geometry_types == ["MultiPolygon"]
    assert result.problems == []
    codes = result.frame["id"].tolist()
    assert "0930" in codes and all(len(code) == 4 for code in codes)
    assert result.frame.loc[result.frame["id"] == "0930", "name"].item() == "Treptow-Köpenick 3"
    # The non-scalar bounding_box property is kept as a list, not flattened into text.
    box = result.frame["bounding_box"].iloc[0]
    assert isinstance(box, list) and len(box) == 4
    assert result.frame.total_bounds == pytest.approx([13.088, 52.338, 13.761, 52.676], abs=1e-3)

    exteriors = shapely.get_exterior_ring(shapely.get_parts(result.frame.geometry.to_numpy()))
    assert not shapely.is_ccw(exteriors).any()  # published clockwise
    prepared, problems = prepare_geometries(result.frame, "polygon")
    assert problems == []
    exteriors = shapely.get_exterior_ring(shapely.get_parts(prepared.geometry.to_numpy()))
    assert shapely.is_ccw(exteriors).all()


def test_berlin_libraries_csv_reads_with_its_ids_intact() -> None:
    result = read_source(
        BERLIN / "berlin-points-of-interest-libraries-details.csv",
        expected_bounds=(13.08, 52.33, 13.77, 52.68),
    )
    assert (result.format, result.feature_count, result.crs_epsg, result.encoding) == (
        "csv",
        131,
        4326,
        "utf-8",
    )
    assert result.geometry_columns == ["lon", "lat"]
    assert result.columns == ["id", "name", "street", "zip_code", "geojson_feature_id"]
    first = result.frame.iloc[0]
    assert (first["name"], first["geojson_feature_id"], first["zip_code"]) == (
        "Bruno-Lösche-Bibliothek",
        "01200623",
        "10559",
    )
    assert first.geometry.equals(shapely.Point(13.3475136, 52.5312448))
    assert (result.frame["geojson_feature_id"] == "0").sum() == 23  # outside Berlin, kept as published
    assert result.problems == []


def test_berlin_community_centres_keep_doubled_quotes() -> None:
    result = read_source(BERLIN / "berlin-points-of-interest-community-centers-details.csv")
    assert result.feature_count == 444
    assert 'Jugendclub Erkner "Haus am See"' in result.frame["name"].tolist()
