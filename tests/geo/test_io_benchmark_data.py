"""The benchmark generator writes readable zipped shapefiles with the promised content."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from geo.io import read_source
from geo.layers import apply_mapping, suggest_mapping
from geo.validate import prepare_geometries

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "make_import_data.py"


def load_generator() -> object:
    spec = importlib.util.spec_from_file_location("make_import_data", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_small_benchmark_files_import_with_their_bowties_reported(tmp_path: Path) -> None:
    generator = load_generator()
    assert generator.main([str(tmp_path), "--points", "300", "--polygons", "20000", "--seed", "7"]) == 0  # type: ignore[attr-defined]

    points = read_source(tmp_path / "assets_points.zip", expected_bounds=(13.08, 52.33, 13.77, 52.68))
    assert (points.feature_count, points.crs_epsg, points.encoding) == (300, 25833, "utf-8")
    rows, problems = apply_mapping(points.frame, "assets", suggest_mapping(points.columns, "assets"))
    assert problems == []
    assert rows["name"].str.contains("[äöüß]").any()

    polygons = read_source(tmp_path / "neighbourhood_polygons.zip")
    assert polygons.feature_count == 20000
    assert polygons.frame["code"].str.len().eq(8).all() and polygons.frame["code"].iloc[0] == "00000001"
    _prepared, problems = prepare_geometries(polygons.frame, "polygon")
    assert [p.severity for p in problems] == ["warning", "warning"]
    assert all("Self-intersection" in p.reason for p in problems)


def test_the_same_seed_gives_the_same_files(tmp_path: Path) -> None:
    generator = load_generator()
    for folder in ("a", "b"):
        generator.main([str(tmp_path / folder), "--points", "50", "--polygons", "0", "--seed", "3"])  # type: ignore[attr-defined]
    first = read_source(tmp_path / "a" / "assets_points.zip").frame
    second = read_source(tmp_path / "b" / "assets_points.zip").frame
    assert first.drop(columns="geometry").equals(second.drop(columns="geometry"))
    assert first.geometry.geom_equals(second.geometry).all()
