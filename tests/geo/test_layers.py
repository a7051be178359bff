"""Field mapping from source columns to the four layers, typed coercion and the dry-run report."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from geo.io import MappingError, error_rows, read_source, shapefile_field_names
from geo.layers import LAYERS, apply_mapping, dry_run_report, explain_mapping, suggest_mapping
from geo.vocab import ASSET_CATEGORIES, POPULATION_BANDS

BERLIN = Path(__file__).resolve().parents[2] / "data" / "berlin"


def table(**columns: list[object]) -> pd.DataFrame:
    n = len(next(iter(columns.values())))
    return pd.DataFrame({"row_number": range(1, n + 1), "source_fid": range(n), **columns})


def errors(problems: list) -> list[tuple[int | None, str | None, str | None, str]]:
    return [(p.row_number, p.source_id, p.field, p.reason) for p in problems if p.severity == "error"]


def test_the_layers_use_the_shared_vocabulary() -> None:
    assert LAYERS["assets"].field("category").choices == ASSET_CATEGORIES
    assert [f.name for f in LAYERS["neighbourhoods"].fields if f.name.startswith("pop_")][:8] == [
        f"pop_{band}" for band in POPULATION_BANDS
    ]


def test_berlin_population_columns_map_to_neighbourhood_fields() -> None:
    columns = pd.read_csv(BERLIN / "berlin-lor-population-2024-02-t2-forecast-areas.csv", nrows=0).columns
    suggestion = explain_mapping(columns, "neighbourhoods")
    assert suggestion.mapping == {
        "code": "id",
        "population": "inhabitants",
        "pop_under_6": "inhabitants_age_below_6",
        "pop_6_15": "inhabitants_age_6_15",
        "pop_15_18": "inhabitants_age_15_18",
        "pop_18_27": "inhabitants_age_18_27",
        "pop_27_45": "inhabitants_age_27_45",
        "pop_45_55": "inhabitants_age_45_55",
        "pop_55_65": "inhabitants_age_55_65",
        "pop_over_65": "inhabitants_age_above_65",
        "pop_female": "inhabitants_female",
        "pop_foreigners": "inhabitants_foreigners",
    }
    assert all(column.endswith("_percentage") for column in suggestion.unmapped_columns)


def test_german_names_and_case_are_recognised() -> None:
    mapping = suggest_mapping(["Schlüssel", "BEZEICHNUNG", "Einwohner", "Bezirk"], "neighbourhoods")
    assert mapping == {
        "code": "Schlüssel",
        "name": "BEZEICHNUNG",
        "population": "Einwohner",
        "parent_code": "Bezirk",
    }


def test_names_cut_to_ten_characters_by_a_shapefile_are_recognised() -> None:
    assert suggest_mapping(["code", "name", "populatio"], "neighbourhoods")["population"] == "populatio"
    mapping = suggest_mapping(
        ["name", "categ", "opening_ho", "descriptio", "service_ty", "capacity_u"], "assets"
    )
    assert mapping == {
        "name": "name",
        "category": "categ",
        "opening_hours": "opening_ho",
        "description": "descriptio",
        "service_types": "service_ty",
        "capacity_unit": "capacity_u",
    }


def test_our_own_shapefile_names_map_back_to_every_field() -> None:
    for layer, schema in LAYERS.items():
        short = shapefile_field_names(schema.field_names)
        assert all(len(name.encode()) <= 10 for name in short.values())
        assert suggest_mapping(list(short.values()), layer) == {full: s for full, s in short.items()}, layer
    assert shapefile_field_names(LAYERS["resources"].field_names)["available_until"] == "availabl01"


def test_two_columns_that_look_alike_once_truncated_are_not_guessed() -> None:
    # 'beschreibung' cut by two different tools: either could be the description.
    suggestion = explain_mapping(["name", "beschreibu", "beschreib"], "assets")
    assert "description" not in suggestion.mapping
    assert suggestion.ambiguous == {"description": ["beschreibu", "beschreib"]}
    assert "map one of them explicitly" in suggestion.problems[0].reason


def test_asset_values_are_coerced_and_bad_ones_named() -> None:
    frame = table(
        id=["A1", "A2", "A3", "A4"],
        name=[" Nachbarschaftshaus ", "Kita Sonnenschein", "", "Tafel"],
        kind=["Physical space", "institution", "association", "sports club"],
        services=["Food support; youth work", "childcare,childcare", None, "Older People|Digital-Inclusion"],
        places=["12,5", "-3", "lots", ""],
        checked=["ja", "no", "maybe", None],
    )
    mapping = {
        "source_id": "id",
        "name": "name",
        "category": "kind",
        "service_types": "services",
        "capacity": "places",
        "verified": "checked",
    }
    rows, problems = apply_mapping(frame, "assets", mapping)
    assert rows["category"].tolist() == ["physical_space", "institution", "association", None]
    assert rows["service_types"].tolist() == [
        ["food-support", "youth-work"],
        ["childcare"],
        [],
        ["older-people", "digital-inclusion"],
    ]
    assert rows["capacity"].iloc[0] == 12.5 and rows["capacity"].iloc[1:].isna().all()
    assert rows["verified"].tolist()[:2] == [True, False]
    assert rows["name"].iloc[0] == "Nachbarschaftshaus"
    assert sorted(errors(problems)) == [
        (2, "A2", "capacity", "-3 must be 0 or more"),
        (3, "A3", "capacity", "'lots' is not a number"),
        (3, "A3", "name", "name is required but empty"),
        (3, "A3", "verified", "'maybe' is not yes/no (use true or false)"),
        (4, "A4", "category", "'sports club' is not a category: use one of " + ", ".join(ASSET_CATEGORIES)),
    ]
    assert error_rows(problems) == {2, 3, 4}


def test_need_values_are_coerced() -> None:
    frame = table(
        thema=["Food support", "youth", "!!!"],
        betroffene=["120", "2.5", "7"],
        prioritaet=["5", "0", "3"],
        quelle=["Ethnographic", "survey", "rumour"],
        datum=["2024-05-31", "31.05.2024", "next week"],
    )
    rows, problems = apply_mapping(frame, "needs", suggest_mapping(frame.columns, "needs"))
    assert rows["service_type"].tolist() == ["food-support", "youth", None]
    assert rows["people_affected"].tolist()[0] == 120
    assert rows["source"].tolist()[:2] == ["ethnographic_observation", "survey"]
    assert rows["observed_on"].tolist()[:2] == [dt.date(2024, 5, 31), dt.date(2024, 5, 31)]
    assert sorted((p.row_number, p.field) for p in problems) == [
        (2, "people_affected"),
        (2, "severity"),
        (3, "observed_on"),
        (3, "service_type"),
        (3, "source"),
    ]
    assert "2.5 is not a whole number" in [p.reason for p in problems]
    assert "0 must be between 1 and 5" in [p.reason for p in problems]


def test_service_type_slugs_are_kebab_case_like_the_database() -> None:
    slug = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
    frame = table(
        name=["a", "b", "c"],
        kind=["culture", "culture", "culture"],
        services=[
            "Sport and play; Housing_Advice",
            "  -- Community space --",
            "Ältere Menschen|digital  inclusion",
        ],
        need=["Food_Support", "older people", "Sport & Play"],
    )
    assets, _ = apply_mapping(
        frame, "assets", {"name": "name", "category": "kind", "service_types": "services"}
    )
    assert assets["service_types"].tolist() == [
        ["sport-and-play", "housing-advice"],
        ["community-space"],
        ["aeltere-menschen", "digital-inclusion"],
    ]
    needs, _ = apply_mapping(frame, "needs", {"service_type": "need"})
    assert needs["service_type"].tolist() == ["food-support", "older-people", "sport-play"]
    every = [s for lst in assets["service_types"] for s in lst] + needs["service_type"].tolist()
    assert all(slug.fullmatch(s) for s in every)
    # Choice values keep the vocabulary's underscores.
    assert apply_mapping(
        table(name=["a"], kind=["Physical space"]), "assets", {"name": "name", "category": "kind"}
    )[0]["category"].tolist() == ["physical_space"]


def test_mapping_mistakes_are_errors_that_name_the_culprit() -> None:
    frame = table(name=["x"], kind=["culture"])
    with pytest.raises(MappingError, match="assets has no field 'colour': its fields are source_id, name"):
        apply_mapping(frame, "assets", {"name": "name", "category": "kind", "colour": "kind"})
    with pytest.raises(
        MappingError, match="the mapping names 'Nmae', not a column of the file: its columns are name, kind"
    ):
        apply_mapping(frame, "assets", {"name": "Nmae", "category": "kind"})
    with pytest.raises(MappingError, match="required field category of assets is not mapped"):
        apply_mapping(frame, "assets", {"name": "name"})
    with pytest.raises(MappingError, match="unknown layer 'roads'"):
        apply_mapping(frame, "roads", {})


def test_defaults_fill_unmapped_and_empty_values_and_are_checked() -> None:
    frame = table(name=["Tafel", "Chor"], kind=[None, "culture"])
    rows, problems = apply_mapping(
        frame,
        "assets",
        {"name": "name", "category": "kind"},
        defaults={"category": "economy", "verified": "yes"},
    )
    assert rows["category"].tolist() == ["economy", "culture"]
    assert rows["verified"].tolist() == [True, True]
    assert errors(problems) == []
    with pytest.raises(
        MappingError, match=r"default for assets.category is not usable: 'shop' is not a category"
    ):
        apply_mapping(frame, "assets", {"name": "name"}, defaults={"category": "shop"})


def test_codes_keep_leading_zeros_and_numeric_codes_are_flagged() -> None:
    rows, problems = apply_mapping(
        table(id=["0930", "0810"], name=["a", "b"]), "neighbourhoods", {"code": "id", "name": "name"}
    )
    assert rows["code"].tolist() == ["0930", "0810"]
    assert problems == []
    rows, problems = apply_mapping(
        table(id=[930.0, 810.0], name=["a", "b"]), "neighbourhoods", {"code": "id", "name": "name"}
    )
    assert rows["code"].tolist() == ["930", "810"]
    assert [p.severity for p in problems] == ["warning"]
    assert "leading zeros" in problems[0].reason


def test_berlin_population_table_is_stored_as_whole_numbers() -> None:
    result = read_source(BERLIN / "berlin-lor-population-2024-02-t2-forecast-areas.csv")
    rows, problems = apply_mapping(
        result.frame,
        "neighbourhoods",
        suggest_mapping(result.columns, "neighbourhoods"),
        defaults={"name": "unnamed"},
    )
    assert problems == []
    assert str(rows["population"].dtype) == "Int64"
    assert int(rows["population"].sum()) == 3_897_145
    assert (rows[[f"pop_{band}" for band in POPULATION_BANDS]].sum(axis=1) == rows["population"]).all()


def test_the_duplicated_berlin_planning_area_code_is_refused_on_both_rows() -> None:
    result = read_source(BERLIN / "berlin-lor-planning-areas-until-2020.geojson")
    rows, problems = apply_mapping(
        result.frame, "neighbourhoods", suggest_mapping(result.columns, "neighbourhoods")
    )
    duplicates = [p for p in problems if p.field == "code"]
    assert len(duplicates) == 2
    assert {p.source_id for p in duplicates} == {"06010102"}
    assert "'06010102' appears 2 times" in duplicates[0].reason
    assert len(rows) == 448


def test_dry_run_report_is_json_and_shows_what_would_be_stored() -> None:
    result = read_source(BERLIN / "berlin-points-of-interest-playgrounds-details.csv")
    mapping = suggest_mapping(result.columns, "assets")
    rows, problems = apply_mapping(result.frame, "assets", mapping, defaults={"category": "physical_space"})
    report = dry_run_report(result, mapping, rows, result.problems + problems, n_preview=3, layer="assets")
    decoded = json.loads(json.dumps(report))
    assert decoded["format"] == "csv" and decoded["crs_epsg"] == 4326 and decoded["feature_count"] == 1059
    assert decoded["mapping"] == {"source_id": "id", "name": "name"}
    assert decoded["suggested_mapping"] == mapping
    assert len(decoded["preview"]) == 3
    assert decoded["preview"][0]["geometry"]["type"] == "Point"
    assert all(row["name"] for row in decoded["preview"])  # unnamed playgrounds are not stored, so not shown
    assert decoded["rows_with_errors"] == 1005  # unnamed playgrounds: name is required
    assert decoded["rows_ready"] == 1059 - 1005
    assert len(decoded["problems"]) == 1005


def test_apply_mapping_keeps_the_geometry_and_row_provenance() -> None:
    frame = gpd.GeoDataFrame(
        {"row_number": [1], "source_fid": [5], "name": ["Kiez"], "code": ["01"]},
        geometry=[shapely.box(0, 0, 1, 1)],
        crs="EPSG:4326",
    )
    rows, _problems = apply_mapping(frame, "neighbourhoods", {"code": "code", "name": "name"})
    assert isinstance(rows, gpd.GeoDataFrame)
    assert list(rows.columns[:4]) == ["row_number", "source_fid", "code", "name"]
    assert rows.crs.to_epsg() == 4326
    assert rows.geometry.iloc[0].equals(shapely.box(0, 0, 1, 1))
