"""Demand units: population spread over H3 cell centres, need weights and mapped needs."""

from __future__ import annotations

import geopandas as gpd
import h3
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point, box

from geo.crs import AnalysisInputError
from geo.demand import demand_units

# About 1.4 km x 1.1 km in Berlin-Mitte (lon/lat): room for a dozen resolution-9 cells.
SQUARE = box(13.400, 52.500, 13.420, 52.510)
EAST_SQUARE = box(13.420, 52.500, 13.440, 52.510)  # shares SQUARE's eastern edge
TINY = box(13.5000, 52.5000, 13.5003, 52.5002)  # about 20 m x 22 m: no cell centre fits

BANDS = ("under_6", "6_15", "15_18", "18_27", "27_45", "45_55", "55_65", "over_65", "female", "foreigners")


def _neighbourhoods(rows: list[dict]) -> gpd.GeoDataFrame:
    records = []
    for row in rows:
        record = {"id": row["id"], "code": f"{row['id']:04d}", "name": f"area {row['id']}"}
        record["pop_total"] = row.get("total", 0.0)
        for band in BANDS:
            record[f"pop_{band}"] = row.get(band, 0.0)
        record["geometry"] = row["geometry"]
        records.append(record)
    return gpd.GeoDataFrame(records, geometry="geometry", crs="EPSG:4326")


def test_population_is_spread_evenly_over_the_cells_whose_centres_fall_inside() -> None:
    nb = _neighbourhoods([{"id": 1, "geometry": SQUARE, "total": 1200.0}])
    units = demand_units(nb)
    # h3's own polygon fill is a second, independent way to list the cells whose centres are inside.
    expected_cells = set(h3.geo_to_cells(SQUARE, 9))
    assert set(units["unit_id"]) == expected_cells
    assert units["population"].to_numpy() == pytest.approx(
        np.full(len(expected_cells), 1200.0 / len(expected_cells))
    )
    assert units["need"].sum() == pytest.approx(1200.0)
    assert (units["neighbourhood_id"] == 1).all()
    assert units.crs.to_epsg() == 4326


def test_resolution_8_gives_fewer_larger_units() -> None:
    nb = _neighbourhoods([{"id": 1, "geometry": SQUARE, "total": 1200.0}])
    units = demand_units(nb, resolution=8)
    assert set(units["unit_id"]) == set(h3.geo_to_cells(SQUARE, 8))
    assert units["population"].sum() == pytest.approx(1200.0)


def test_group_sums_its_age_bands() -> None:
    nb = _neighbourhoods(
        [{"id": 1, "geometry": SQUARE, "total": 5000.0, "under_6": 60, "6_15": 90, "15_18": 30}]
    )
    units = demand_units(nb, group="under_18")
    assert units["population"].sum() == pytest.approx(180.0)


def test_a_neighbourhood_too_small_for_a_cell_centre_gets_one_unit_at_a_point_inside() -> None:
    nb = _neighbourhoods(
        [{"id": 1, "geometry": SQUARE, "total": 100.0}, {"id": 2, "geometry": TINY, "total": 40.0}]
    )
    units = demand_units(nb)
    tiny_units = units[units["neighbourhood_id"] == 2]
    assert tiny_units["unit_id"].tolist() == ["nb:2"]
    assert tiny_units["population"].tolist() == [40.0]
    assert TINY.contains(tiny_units.geometry.iloc[0])


def test_shared_border_cells_are_counted_once_and_units_are_ordered() -> None:
    nb = _neighbourhoods(
        [{"id": 7, "geometry": EAST_SQUARE, "total": 100.0}, {"id": 3, "geometry": SQUARE, "total": 100.0}]
    )
    units = demand_units(nb)
    assert units["unit_id"].is_unique
    assert set(units["unit_id"]) == set(h3.geo_to_cells(SQUARE.union(EAST_SQUARE), 9))
    # Ordered by neighbourhood id, then unit id, whatever the input order.
    assert units["neighbourhood_id"].tolist() == sorted(units["neighbourhood_id"])
    for _, group in units.groupby("neighbourhood_id"):
        assert group["unit_id"].tolist() == sorted(group["unit_id"])
    pd.testing.assert_frame_equal(units, demand_units(nb.iloc[::-1]))


def test_unknown_population_contributes_nothing_and_is_flagged() -> None:
    nb = _neighbourhoods(
        [{"id": 1, "geometry": SQUARE, "total": np.nan}, {"id": 2, "geometry": EAST_SQUARE, "total": 300.0}]
    )
    units = demand_units(nb)
    unknown = units[units["neighbourhood_id"] == 1]
    assert (unknown["population"] == 0).all()
    assert not unknown["population_known"].any()
    assert units.loc[units["neighbourhood_id"] == 2, "population"].sum() == pytest.approx(300.0)
    assert units.loc[units["neighbourhood_id"] == 2, "population_known"].all()


def test_vulnerable_groups_add_weighted_need() -> None:
    nb = _neighbourhoods(
        [{"id": 1, "geometry": SQUARE, "total": 1000.0, "over_65": 200.0, "foreigners": 100.0}]
    )
    units = demand_units(nb, vulnerable_weights={"over_65": 0.5, "foreigners": 0.2})
    n = len(units)
    # N_i = P_i + 0.5 V_over65 + 0.2 V_foreigners = (1000 + 100 + 20) / n for every unit.
    assert units["need"].to_numpy() == pytest.approx(np.full(n, 1120.0 / n))
    assert units["population"].sum() == pytest.approx(1000.0)


def test_mapped_needs_go_to_the_nearest_unit() -> None:
    nb = _neighbourhoods([{"id": 1, "geometry": SQUARE, "total": 0.0}])
    plain = demand_units(nb)
    target = plain.iloc[3]
    # A need 30 m north of a cell centre: that centre is its nearest unit (centres are about 350 m apart).
    spot = Point(target.geometry.x, target.geometry.y + 0.00027)
    needs = gpd.GeoDataFrame({"people_affected": [25.0]}, geometry=[spot], crs="EPSG:4326")
    units = demand_units(nb, needs=needs, needs_weight=2.0)
    assert units["needs_people"].sum() == pytest.approx(25.0)
    assert units.loc[units["unit_id"] == target["unit_id"], "needs_people"].item() == pytest.approx(25.0)
    # N_i = P_i + beta Q_i with beta = 2 and P_i = 0.
    assert units.loc[units["unit_id"] == target["unit_id"], "need"].item() == pytest.approx(50.0)


def test_mapped_needs_are_split_over_units_within_the_radius() -> None:
    nb = _neighbourhoods([{"id": 1, "geometry": SQUARE, "total": 0.0}])
    plain = demand_units(nb)
    centre = plain.geometry.union_all().centroid
    needs = gpd.GeoDataFrame({"people_affected": [60.0]}, geometry=[centre], crs="EPSG:4326")
    units = demand_units(nb, needs=needs, needs_weight=1.0, needs_radius_m=400.0, crs="EPSG:25833")
    # Independent check with shapely distances in EPSG:25833.
    metric = plain.to_crs("EPSG:25833")
    near = metric.distance(gpd.GeoSeries([centre], crs="EPSG:4326").to_crs("EPSG:25833").iloc[0]) <= 400.0
    assert 1 < near.sum() < len(units)
    assert units.loc[near.to_numpy(), "needs_people"].to_numpy() == pytest.approx(
        np.full(near.sum(), 60.0 / near.sum())
    )
    assert units.loc[~near.to_numpy(), "needs_people"].sum() == 0


def test_area_needs_are_placed_at_a_point_inside_the_area() -> None:
    nb = _neighbourhoods([{"id": 1, "geometry": SQUARE, "total": 0.0}])
    area = box(13.401, 52.501, 13.403, 52.502)
    needs = gpd.GeoDataFrame({"people_affected": [10.0]}, geometry=[area], crs="EPSG:4326")
    units = demand_units(nb, needs=needs, needs_weight=1.0)
    assert units["needs_people"].sum() == pytest.approx(10.0)


def test_missing_population_column_names_the_column() -> None:
    nb = _neighbourhoods([{"id": 1, "geometry": SQUARE, "total": 10.0}]).drop(columns=["pop_over_65"])
    with pytest.raises(AnalysisInputError, match="pop_over_65"):
        demand_units(nb, group="over_65")


def test_unknown_group_lists_the_known_ones() -> None:
    nb = _neighbourhoods([{"id": 1, "geometry": SQUARE, "total": 10.0}])
    with pytest.raises(ValueError, match="under_6"):
        demand_units(nb, group="toddlers")


def test_duplicate_neighbourhood_ids_are_refused() -> None:
    nb = _neighbourhoods([{"id": 1, "geometry": SQUARE}, {"id": 1, "geometry": EAST_SQUARE}])
    with pytest.raises(AnalysisInputError, match="unique"):
        demand_units(nb)


def test_needs_without_people_are_refused() -> None:
    nb = _neighbourhoods([{"id": 1, "geometry": SQUARE, "total": 10.0}])
    needs = gpd.GeoDataFrame({"people_affected": [np.nan]}, geometry=[SQUARE.centroid], crs="EPSG:4326")
    with pytest.raises(AnalysisInputError, match="people_affected"):
        demand_units(nb, needs=needs, needs_weight=1.0)
