"""The measuring CRS: metres only, never degrees or a world Mercator."""

from __future__ import annotations

import geopandas as gpd
import pyproj
import pytest
from shapely.geometry import Point

from geo.crs import AnalysisInputError, GeographicCRSError, measuring_crs, require_projected, to_measuring


def _berlin_points() -> gpd.GeoDataFrame:
    # Two points on the 52nd parallel, 0.01 degrees of longitude apart.
    return gpd.GeoDataFrame(geometry=[Point(13.40, 52.0), Point(13.41, 52.0)], crs="EPSG:4326")


@pytest.mark.parametrize("crs", ["EPSG:4326", "EPSG:4258", "OGC:CRS84"])
def test_geographic_crs_is_refused_with_a_way_out(crs: str) -> None:
    with pytest.raises(GeographicCRSError) as caught:
        require_projected(crs)
    message = str(caught.value)
    assert "geographic" in message
    assert "UTM" in message  # tells the user what to pass instead


def test_geographic_crs_error_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        require_projected(_berlin_points())


@pytest.mark.parametrize("crs", ["EPSG:3857", "EPSG:3395"])
def test_world_mercator_is_refused_because_it_inflates_lengths(crs: str) -> None:
    with pytest.raises(GeographicCRSError, match="Mercator"):
        require_projected(crs)


def test_crs_in_feet_is_refused() -> None:
    # NAD83 / New York Long Island (ftUS): a radius in metres would be read as feet.
    with pytest.raises(GeographicCRSError, match="not metres"):
        require_projected("EPSG:2263")


def test_projected_crs_in_metres_is_accepted() -> None:
    assert require_projected("EPSG:25833") == pyproj.CRS("EPSG:25833")


def test_frame_without_crs_is_refused() -> None:
    with pytest.raises(AnalysisInputError, match="no CRS"):
        require_projected(gpd.GeoDataFrame(geometry=[Point(0, 0)]))


def test_unknown_crs_text_is_refused_with_an_example() -> None:
    with pytest.raises(AnalysisInputError, match="EPSG"):
        require_projected("not-a-crs")


def test_city_crs_wins_when_projected() -> None:
    assert measuring_crs(_berlin_points(), "EPSG:25833") == pyproj.CRS("EPSG:25833")


@pytest.mark.parametrize("city_crs", [None, "EPSG:4326", "EPSG:3857"])
def test_utm_zone_when_the_city_has_no_usable_crs(city_crs: str | None) -> None:
    # 13.4 E lies in UTM zone 33 (12 E to 18 E), northern hemisphere: EPSG:32633.
    assert measuring_crs(_berlin_points(), city_crs).to_epsg() == 32633


def test_empty_frame_needs_an_explicit_crs() -> None:
    with pytest.raises(AnalysisInputError, match="empty"):
        measuring_crs(gpd.GeoDataFrame(geometry=[], crs="EPSG:4326"))


def test_projected_distance_matches_the_hand_computed_one() -> None:
    projected = to_measuring(_berlin_points(), measuring_crs(_berlin_points()))
    a, b = projected.geometry
    # 0.01 degrees of longitude at 52 N on the WGS84 ellipsoid: pi/180 * N * cos(52) * 0.01 with
    # N = a / sqrt(1 - e^2 sin^2(52)) = 6,391,437 m gives 686.78 m; UTM 33's scale factor at 13.4 E
    # (0.9996 * (1 + 110 km^2 / (2 R^2)) = 0.99975) makes it 686.61 m on the grid.
    assert a.distance(b) == pytest.approx(686.61, abs=0.05)


def test_to_measuring_refuses_degrees() -> None:
    with pytest.raises(GeographicCRSError):
        to_measuring(_berlin_points(), "EPSG:4326")
