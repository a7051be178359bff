"""Geometries are repaired, flattened, typed for their layer and oriented, and every change is reported."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely

from geo.validate import prepare_geometries


def frame_of(*wkt: str | None) -> gpd.GeoDataFrame:
    geometries = [shapely.from_wkt(w) if w is not None else None for w in wkt]
    return gpd.GeoDataFrame(
        {"row_number": np.arange(1, len(wkt) + 1), "source_fid": [f"f{i}" for i in range(len(wkt))]},
        geometry=gpd.GeoSeries(geometries, crs="EPSG:4326"),
    )


def found(problems: list) -> list[tuple[int | None, str | None, str, str]]:
    return [(p.row_number, p.source_id, p.severity, p.reason) for p in problems]


BOWTIE = "POLYGON ((0 0, 1 1, 1 0, 0 1, 0 0))"
SQUARE = "POLYGON ((0 0, 1 0, 1 1, 0 1, 0 0))"


def test_a_bowtie_is_repaired_into_two_triangles() -> None:
    prepared, problems = prepare_geometries(frame_of(BOWTIE), "polygon")
    geometry = prepared.geometry.iloc[0]
    assert geometry.geom_type == "MultiPolygon"
    assert geometry.is_valid
    assert len(geometry.geoms) == 2
    assert geometry.area == pytest.approx(0.5)
    assert found(problems) == [(1, "f0", "warning", "invalid geometry repaired (Self-intersection[0.5 0.5])")]


def test_a_ring_with_too_few_points_is_refused() -> None:
    prepared, problems = prepare_geometries(frame_of("POLYGON ((0 0, 1 0, 0 0))", SQUARE), "polygon")
    assert prepared.geometry.isna().tolist() == [True, False]
    [(row, fid, severity, reason)] = found(problems)
    assert (row, fid, severity) == (1, "f0", "error")
    assert reason.startswith("invalid geometry (Too few points") and reason.endswith(
        "has nothing left once repaired"
    )


def test_z_and_m_values_are_dropped_and_reported_once() -> None:
    prepared, problems = prepare_geometries(
        frame_of(
            "POINT Z (13.4 52.5 34)", "POINT M (13.4 52.5 7)", "POINT ZM (13.4 52.5 1 2)", "POINT (1 2)"
        ),
        "point",
    )
    assert not shapely.has_z(prepared.geometry.to_numpy()).any()
    assert prepared.geometry.iloc[0].equals(shapely.Point(13.4, 52.5))
    assert found(problems) == [
        (None, None, "info", "Z/M values dropped from 3 features (geometries are stored in 2D)")
    ]


def test_mixed_polygons_and_multipolygons_become_multipolygons() -> None:
    prepared, problems = prepare_geometries(
        frame_of(SQUARE, "MULTIPOLYGON (((2 2, 3 2, 3 3, 2 2)), ((5 5, 6 5, 6 6, 5 5)))"), "polygon"
    )
    assert prepared.geometry.geom_type.tolist() == ["MultiPolygon", "MultiPolygon"]
    assert prepared.geometry.iloc[0].area == 1
    assert problems == []


def test_points_and_lines_where_polygons_are_expected_are_refused_per_row() -> None:
    prepared, problems = prepare_geometries(
        frame_of(SQUARE, "POINT (1 1)", "LINESTRING (0 0, 1 1)"), "polygon"
    )
    assert found(problems) == [
        (2, "f1", "error", "a point where a polygon is expected"),
        (3, "f2", "error", "a line where a polygon is expected"),
    ]
    assert prepared.geometry.isna().tolist() == [False, True, True]


def test_polygons_where_points_are_expected_are_refused() -> None:
    _prepared, problems = prepare_geometries(frame_of("POINT (1 1)", SQUARE), "point")
    assert found(problems) == [(2, "f1", "error", "a polygon where a point is expected")]


def test_null_and_empty_geometries_are_reported() -> None:
    _prepared, problems = prepare_geometries(frame_of(None, "POLYGON EMPTY", SQUARE), "polygon")
    assert found(problems) == [(1, "f0", "error", "no geometry"), (2, "f1", "error", "empty geometry")]
    _prepared, problems = prepare_geometries(frame_of(None, "POINT (1 1)"), "point", geometry_optional=True)
    assert problems == []


def test_a_collection_of_polygons_is_merged_and_a_mixed_one_refused() -> None:
    prepared, problems = prepare_geometries(
        frame_of(
            "GEOMETRYCOLLECTION (POLYGON ((0 0, 1 0, 1 1, 0 0)), POLYGON ((5 5, 6 5, 6 6, 5 5)))",
            "GEOMETRYCOLLECTION (POLYGON ((0 0, 1 0, 1 1, 0 0)), LINESTRING (3 3, 4 4))",
        ),
        "polygon",
    )
    assert prepared.geometry.iloc[0].geom_type == "MultiPolygon"
    assert prepared.geometry.iloc[0].area == pytest.approx(1.0)
    assert prepared.geometry.iloc[1] is None
    assert [(row, severity) for row, _fid, severity, _reason in found(problems)] == [
        (1, "warning"),
        (2, "error"),
    ]
    assert "mixes polygons with points or lines" in problems[1].reason


def test_single_point_multipoints_become_points_and_larger_ones_are_refused() -> None:
    prepared, problems = prepare_geometries(
        frame_of("MULTIPOINT ((1 2))", "MULTIPOINT ((1 2), (3 4))"), "point"
    )
    assert prepared.geometry.iloc[0].equals(shapely.Point(1, 2))
    assert found(problems) == [(2, "f1", "error", "2 points in one row; one point is expected")]


def test_needs_keep_points_and_polygons() -> None:
    prepared, problems = prepare_geometries(frame_of("POINT (1 1)", SQUARE), "point_or_polygon")
    assert prepared.geometry.geom_type.tolist() == ["Point", "MultiPolygon"]
    assert problems == []


def test_exteriors_are_counter_clockwise_and_holes_clockwise() -> None:
    clockwise_with_ccw_hole = "POLYGON ((0 0, 0 10, 10 10, 10 0, 0 0), (2 2, 4 2, 4 4, 2 4, 2 2))"
    original = frame_of(clockwise_with_ccw_hole)
    prepared, _problems = prepare_geometries(original, "polygon")
    polygon = prepared.geometry.iloc[0].geoms[0]
    assert polygon.exterior.is_ccw
    assert not polygon.interiors[0].is_ccw
    assert not original.geometry.iloc[0].exterior.is_ccw  # the input frame is not changed


def test_unknown_kinds_are_a_programming_error() -> None:
    with pytest.raises(ValueError, match="unknown geometry kind 'line'"):
        prepare_geometries(frame_of(SQUARE), "line")  # type: ignore[arg-type]
