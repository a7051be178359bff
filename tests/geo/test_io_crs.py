"""A CRS comes from a .prj, a GeoJSON crs member or an EPSG code, and must fit the coordinates."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import pyproj
import pytest
import shapely

from geo.io import SourceCRSError, parse_user_crs, read_source

BERLIN_BOUNDS = (13.08, 52.33, 13.77, 52.68)
# Alexanderplatz and Tempelhof in ETRS89 / UTM 33N (EPSG:25833), metres.
BERLIN_UTM33 = [[392_300.0, 5_820_700.0], [391_500.0, 5_814_500.0]]


def shapefile(folder: Path, coordinates: list[list[float]], *, prj: str | None) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    # Written with some CRS (pyogrio warns otherwise); the .prj is then replaced by the one under test.
    frame = gpd.GeoDataFrame(
        {"name": ["a", "b"][: len(coordinates)]}, geometry=shapely.points(coordinates), crs="EPSG:3857"
    )
    pyogrio.write_dataframe(frame, folder / "layer.shp", encoding="UTF-8")
    prj_path = folder / "layer.prj"
    prj_path.unlink(missing_ok=True)
    if prj is not None:
        prj_path.write_text(prj)
    return sorted(folder.glob("layer.*"))


def geojson(path: Path, coordinates: list[list[float]], crs: object | None) -> Path:
    collection: dict[str, object] = {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "properties": {"n": i}, "geometry": {"type": "Point", "coordinates": c}}
            for i, c in enumerate(coordinates)
        ],
    }
    if crs is not None:
        collection = {"type": "FeatureCollection", "crs": crs, "features": collection["features"]}
    path.write_text(json.dumps(collection))
    return path


@pytest.mark.parametrize("given", ["EPSG:25833", "epsg:25833", " EPSG : 25833 ", "25833", 25833])
def test_user_crs_accepts_epsg_codes(given: str | int) -> None:
    parsed = parse_user_crs(given)
    assert parsed.epsg == 25833
    assert parsed.source == "--crs"


@pytest.mark.parametrize(
    ("given", "reason"),
    [
        ("https://spatialreference.org/ref/epsg/25833/ogcwkt/", "URLs and file paths are not accepted"),
        ("/usr/share/proj/proj.db", "URLs and file paths are not accepted"),
        ("+proj=utm +zone=33 +ellps=GRS80", "not an EPSG code"),
        ("ETRS89 / UTM zone 33N", "not an EPSG code"),
        ("EPSG:25833; DROP TABLE asset", "not an EPSG code"),
    ],
)
def test_user_crs_refuses_urls_paths_and_other_text(given: str, reason: str) -> None:
    with pytest.raises(SourceCRSError, match=f"{reason}.*pass an EPSG code such as EPSG:25833"):
        parse_user_crs(given)


def test_user_crs_refuses_unknown_codes() -> None:
    with pytest.raises(SourceCRSError, match="EPSG:999999 is not a known EPSG code"):
        parse_user_crs("EPSG:999999")


def test_a_url_crs_is_refused_before_the_file_is_read(tmp_path: Path) -> None:
    path = geojson(tmp_path / "a.geojson", [[13.4, 52.5]], None)
    with pytest.raises(SourceCRSError, match="not accepted"):
        read_source(path, crs="http://127.0.0.1:9/crs.wkt")


def test_a_shapefile_without_prj_asks_for_crs(tmp_path: Path) -> None:
    parts = shapefile(tmp_path, BERLIN_UTM33, prj=None)
    with pytest.raises(SourceCRSError, match=r"layer\.shp has no \.prj: pass --crs EPSG:xxxx"):
        read_source(parts)
    result = read_source(parts, crs="EPSG:25833")
    assert (result.crs, result.crs_epsg, result.crs_source) == ("EPSG:25833", 25833, "--crs")
    assert result.frame.geometry.x.between(13.3, 13.5).all()


def test_an_esri_prj_without_code_is_read_and_its_code_reported(tmp_path: Path) -> None:
    esri = pyproj.CRS.from_epsg(25833).to_wkt("WKT1_ESRI")
    assert "25833" not in esri
    result = read_source(shapefile(tmp_path, BERLIN_UTM33, prj=esri))
    assert result.crs_epsg == 25833
    assert result.crs_source == ".prj file"
    assert result.crs == "ETRS_1989_UTM_Zone_33N"
    to_lonlat = pyproj.Transformer.from_crs(25833, 4326, always_xy=True)
    lon, lat = to_lonlat.transform(*np.array(BERLIN_UTM33).T)
    np.testing.assert_allclose(result.frame.geometry.x, lon, atol=1e-9)
    np.testing.assert_allclose(result.frame.geometry.y, lat, atol=1e-9)


def test_metres_labelled_as_degrees_are_refused(tmp_path: Path) -> None:
    wgs84 = pyproj.CRS.from_epsg(4326).to_wkt("WKT1_ESRI")
    with pytest.raises(SourceCRSError, match=r"cannot be degrees.*probably projected.*--crs"):
        read_source(shapefile(tmp_path, BERLIN_UTM33, prj=wgs84))


def test_degrees_labelled_as_metres_are_refused(tmp_path: Path) -> None:
    utm = pyproj.CRS.from_epsg(25833).to_wkt()
    with pytest.raises(SourceCRSError, match="far outside the area where that CRS is used"):
        read_source(shapefile(tmp_path, [[13.40, 52.52], [13.38, 52.46]], prj=utm))


def test_a_neighbouring_utm_zone_is_caught_by_expected_bounds(tmp_path: Path) -> None:
    zone_32 = pyproj.CRS.from_epsg(25832).to_wkt()
    parts = shapefile(tmp_path, BERLIN_UTM33, prj=zone_32)
    assert read_source(parts).frame.geometry.x.lt(8).all()  # plausible on its own, but in the wrong place
    with pytest.raises(SourceCRSError, match=r"far from the expected area.*from the .prj file.*--crs"):
        read_source(parts, expected_bounds=BERLIN_BOUNDS)


def test_a_legacy_geojson_crs_member_is_used(tmp_path: Path) -> None:
    # Cologne cathedral in ETRS89 / UTM 32N.
    path = geojson(
        tmp_path / "koeln.geojson",
        [[356_600.0, 5_645_600.0]],
        {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::25832"}},
    )
    result = read_source(path)
    assert (result.crs, result.crs_epsg) == ("urn:ogc:def:crs:EPSG::25832", 25832)
    point = result.frame.geometry.iloc[0]
    assert point.x == pytest.approx(6.958, abs=0.01)
    assert point.y == pytest.approx(50.941, abs=0.01)


def test_epsg_4326_urn_is_taken_as_lon_lat(tmp_path: Path) -> None:
    path = geojson(
        tmp_path / "a.geojson",
        [[13.4, 52.5]],
        {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::4326"}},
    )
    result = read_source(path, expected_bounds=BERLIN_BOUNDS)
    assert (result.frame.geometry.x.iloc[0], result.frame.geometry.y.iloc[0]) == (13.4, 52.5)


@pytest.mark.parametrize(
    ("member", "reason"),
    [
        (
            {"type": "link", "properties": {"href": "http://127.0.0.1:9/crs", "type": "proj4"}},
            "never fetched",
        ),
        ({"type": "name", "properties": {"name": "/etc/passwd"}}, "not an EPSG or OGC code"),
        ({"type": "name", "properties": {"name": "+proj=longlat"}}, "not an EPSG or OGC code"),
    ],
)
def test_unusable_geojson_crs_members_are_refused(tmp_path: Path, member: object, reason: str) -> None:
    path = geojson(tmp_path / "a.geojson", [[13.4, 52.5]], member)
    with pytest.raises(SourceCRSError, match=reason):
        read_source(path)


def test_swapped_axes_are_named(tmp_path: Path) -> None:
    path = geojson(tmp_path / "swapped.geojson", [[52.52, 13.40], [52.46, 13.38]], None)
    with pytest.raises(SourceCRSError, match="longitude and latitude look swapped"):
        read_source(path, expected_bounds=BERLIN_BOUNDS)


def test_swapped_axes_with_latitude_beyond_90_are_named_without_expected_bounds(tmp_path: Path) -> None:
    path = geojson(tmp_path / "swapped.geojson", [[-33.9, 151.2], [-33.8, 151.3]], None)
    with pytest.raises(SourceCRSError, match=r"latitude beyond 90 degrees.*look swapped"):
        read_source(path)


def test_a_few_points_off_the_globe_are_row_problems(tmp_path: Path) -> None:
    path = geojson(tmp_path / "a.geojson", [[13.4, 52.5], [13.3, 52.4], [13.5, 52.6], [500.0, 40.0]], None)
    result = read_source(path)
    assert [(p.row_number, p.field) for p in result.problems] == [(4, "geometry")]
    assert "outside longitude/latitude range" in result.problems[0].reason
