"""Childcare for under-6s in Berlin (sample data): the coverage share checked a second, independent way."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import h3
import numpy as np
import pandas as pd
import pytest
import shapely

from geo.gaps import GapParams, analyse_gaps

DATA = Path(__file__).resolve().parents[2] / "data" / "berlin"
BERLIN_CRS = "EPSG:25833"  # ETRS89 / UTM 33N, Berlin's own
RADIUS_M = 500.0
POPULATION_COLUMNS = {
    "inhabitants": "pop_total",
    "inhabitants_age_below_6": "pop_under_6",
    "inhabitants_age_6_15": "pop_6_15",
    "inhabitants_age_15_18": "pop_15_18",
    "inhabitants_age_18_27": "pop_18_27",
    "inhabitants_age_27_45": "pop_27_45",
    "inhabitants_age_45_55": "pop_45_55",
    "inhabitants_age_55_65": "pop_55_65",
    "inhabitants_age_above_65": "pop_over_65",
    "inhabitants_female": "pop_female",
    "inhabitants_foreigners": "pop_foreigners",
}


@pytest.fixture(scope="module")
def population() -> pd.DataFrame:
    table = pd.read_csv(DATA / "berlin-lor-population-2024-02-t2-forecast-areas.csv", dtype={"id": str})
    return table.rename(columns=POPULATION_COLUMNS)[["id", *POPULATION_COLUMNS.values()]]


@pytest.fixture(scope="module")
def forecast_areas(population) -> gpd.GeoDataFrame:
    areas = gpd.read_file(DATA / "berlin-lor-forecast-areas-from-2021.geojson")[["id", "name", "geometry"]]
    areas = areas.merge(population, on="id", how="left", validate="one_to_one").rename(columns={"id": "code"})
    areas["id"] = np.arange(1, len(areas) + 1)
    return areas


@pytest.fixture(scope="module")
def kindergartens() -> gpd.GeoDataFrame:
    table = pd.read_csv(DATA / "berlin-points-of-interest-kindergartens-details.csv", dtype={"id": str})
    return gpd.GeoDataFrame(
        {"id": np.arange(len(table)), "name": table["name"], "capacity": np.nan},
        geometry=gpd.points_from_xy(table["lon"], table["lat"]),
        crs="EPSG:4326",
    )


@pytest.fixture(scope="module")
def childcare(forecast_areas, kindergartens):
    return analyse_gaps(
        forecast_areas, kindergartens, GapParams(group="under_6", radius_m=RADIUS_M), crs=BERLIN_CRS
    )


def test_every_under_6_is_counted_once(childcare, population) -> None:
    assert childcare.totals["population"] == pytest.approx(population["pop_under_6"].sum())
    by_area = childcare.neighbourhoods.set_index("code")["population"]
    expected = population.set_index("id")["pop_under_6"]
    assert by_area.sort_index().to_numpy() == pytest.approx(expected.sort_index().to_numpy())


def test_the_cells_tile_berlin(childcare, forecast_areas) -> None:
    # Sanity: the demand cells' own areas add up to Berlin's area within 1 % (cells are assigned by centre).
    cells = childcare.units.loc[~childcare.units["unit_id"].str.startswith("nb:"), "unit_id"]
    cells_km2 = sum(h3.cell_area(cell, unit="km^2") for cell in cells)
    berlin_km2 = forecast_areas.to_crs(BERLIN_CRS).area.sum() / 1e6
    assert cells_km2 == pytest.approx(berlin_km2, rel=0.01)
    assert 880 < berlin_km2 < 895  # Berlin is 891 km^2


def test_share_of_under_6s_within_500_m_matches_a_shapely_check(childcare, kindergartens) -> None:
    units = childcare.units.to_crs(BERLIN_CRS)
    kitas = kindergartens.to_crs(BERLIN_CRS)
    # Second way: GEOS distance predicate between unit points and kindergarten points, no KD-tree.
    unit_index, _ = shapely.STRtree(kitas.geometry.values).query(
        units.geometry.values, predicate="dwithin", distance=RADIUS_M
    )
    within = np.zeros(len(units), dtype=bool)
    within[unit_index] = True
    people = units["population"].to_numpy()
    share = people[within].sum() / people.sum()
    assert childcare.totals["covered_share"] == pytest.approx(share, abs=1e-12)
    assert childcare.units["covered"].to_numpy().tolist() == within.tolist()
    # The number a reader can check, with sanity bounds: the OSM extract is incomplete (PROVENANCE.md), so
    # about half of Berlin's under-6s, not nearly all, live within 500 m of a mapped kindergarten.
    assert 0.3 < share < 0.8


def test_buffer_union_gives_the_same_share_up_to_polygon_approximation(childcare, kindergartens) -> None:
    units = childcare.units.to_crs(BERLIN_CRS)
    reach = kindergartens.to_crs(BERLIN_CRS).buffer(RADIUS_M, quad_segs=32).union_all()
    inside = shapely.contains_xy(reach, units.geometry.x.to_numpy(), units.geometry.y.to_numpy())
    people = units["population"].to_numpy()
    buffer_share = people[inside].sum() / people.sum()
    # A 128-gon lies inside its circle (by at most 500 m * (1 - cos(pi/128)) = 0.15 m): never more, barely
    # less.
    assert buffer_share <= childcare.totals["covered_share"] + 1e-12
    assert childcare.totals["covered_share"] - buffer_share < 0.002


def test_kindergartens_outside_berlin_cover_border_areas(forecast_areas, kindergartens, childcare) -> None:
    berlin = forecast_areas.union_all()
    inside_only = kindergartens[kindergartens.within(berlin)]
    assert len(kindergartens) - len(inside_only) == 39  # PROVENANCE.md: 39 kindergartens lie outside Berlin
    without_edge = analyse_gaps(
        forecast_areas, inside_only, GapParams(group="under_6", radius_m=RADIUS_M), crs=BERLIN_CRS
    )
    assert without_edge.totals["covered_share"] < childcare.totals["covered_share"]


def test_no_capacity_known_means_no_unmet_need_ranking(childcare) -> None:
    # The sample lists no kindergarten's places: unmet need is not computable, the ranking is by reach.
    nb, totals = childcare.neighbourhoods, childcare.totals
    assert totals["n_unknown_capacity"] == totals["n_assets"] == len(childcare.assets)
    assert nb["unmet_need"].isna().all() and nb["gap_share"].isna().all()
    assert totals["unmet_need"] is None and totals["capacity_computable"] is False
    assert totals["ranked_by"] == "uncovered_need"
    assert "capacity unknown for" in totals["unmet_need_reason"]
    assert nb["covered_share"].notna().all()
    assert totals["uncovered_need"] == pytest.approx(nb["uncovered_need"].sum())


def test_deserts_and_gaps_are_consistent_with_a_default_capacity(forecast_areas, kindergartens) -> None:
    run = analyse_gaps(
        forecast_areas,
        kindergartens,
        GapParams(group="under_6", radius_m=RADIUS_M, default_capacity=60.0),
        crs=BERLIN_CRS,
    )
    nb = run.neighbourhoods
    assert nb["gap_share"].between(0, 1).all()
    # Every unit out of reach has shortfall = need: unmet need is at least the uncovered need.
    assert (nb["unmet_need"] >= nb["uncovered_need"] - 1e-9).all()
    assert run.totals["total_capacity"] == pytest.approx(60.0 * len(kindergartens))
    assert run.totals["n_default_capacity"] == len(kindergartens)
