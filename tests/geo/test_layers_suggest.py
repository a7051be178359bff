"""Mapping suggestions that look at values: the traps a GIS officer hit, statistics-office names, column profiles."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
import shapely

from geo.io import MappingError, read_source
from geo.layers import explain_mapping, mapping_report, merge_mapping, profile_columns


def read_csv(tmp_path: Path, text: str, name: str = "table.csv") -> tuple[list[str], list]:
    """A real CSV read as an import reads it: (columns, profiles)."""
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    result = read_source(path)
    return result.columns, profile_columns(result.frame, result.columns)


def test_a_numeric_services_column_is_not_suggested_as_service_types(tmp_path: Path) -> None:
    # A deprivation score called 'services': by name a synonym of service_types, by value a number.
    columns, profiles = read_csv(
        tmp_path,
        "id,name,category,services,lon,lat\n"
        "A,Tafel,association,12.5,13.40,52.52\n"
        "B,Kita,institution,7.25,13.41,52.52\n"
        "C,Club,association,31,13.42,52.52\n",
    )
    suggestion = explain_mapping(columns, "assets", profiles=profiles)
    assert "service_types" not in suggestion.mapping
    assert "services" in suggestion.unmapped_columns
    [rejection] = [r for r in suggestion.rejected if r.column == "services"]
    assert rejection.target == "service_types"
    assert "number values" in rejection.reason and "service-type names" in rejection.reason


def test_a_services_column_of_names_is_still_suggested(tmp_path: Path) -> None:
    columns, profiles = read_csv(
        tmp_path,
        "id,name,category,services,lon,lat\nA,Tafel,association,food support; youth,13.40,52.52\n",
    )
    suggestion = explain_mapping(columns, "assets", profiles=profiles)
    assert suggestion.mapping["service_types"] == "services"
    reason = suggestion.reasons["service_types"]
    assert (reason.match, reason.detail, reason.check) == (
        "synonym",
        "synonym 'services'",
        "text values fit slug list",
    )


def test_weekly_hour_counts_are_not_opening_hours(tmp_path: Path) -> None:
    # The English library register: 'hours' counts opening hours per week; opening_hours wants times of day.
    columns, profiles = read_csv(
        tmp_path,
        "id,name,hours,lon,lat\nA,Altrincham,43,-2.35,53.39\nB,Hale,36,-2.34,53.38\n",
    )
    suggestion = explain_mapping(columns, "assets", profiles=profiles)
    assert "opening_hours" not in suggestion.mapping
    [rejection] = [r for r in suggestion.rejected if r.column == "hours"]
    assert "times of day" in rejection.reason
    columns, profiles = read_csv(
        tmp_path, "id,name,hours,lon,lat\nA,Altrincham,Mo-Fr 09:00-17:00,-2.35,53.39\n", name="times.csv"
    )
    assert explain_mapping(columns, "assets", profiles=profiles).mapping["opening_hours"] == "hours"


def test_ons_lsoa_columns_are_code_and_name() -> None:
    columns = ["FID", "LSOA11CD", "LSOA11NM", "LSOA11NMW", "BNG_E", "BNG_N", "Shape__Are"]
    suggestion = explain_mapping(columns, "neighbourhoods")
    assert (suggestion.mapping["code"], suggestion.mapping["name"]) == ("LSOA11CD", "LSOA11NM")
    assert suggestion.reasons["code"].match == "statistics_office"
    assert suggestion.reasons["code"].detail == "statistics-office pattern: the LSOA 2011 code"
    assert "LSOA11NMW" in suggestion.unmapped_columns


def test_ons_local_authority_columns_are_code_and_name() -> None:
    suggestion = explain_mapping(["OBJECTID", "LAD22CD", "LAD22NM", "LAD22NMW"], "neighbourhoods")
    assert (suggestion.mapping["code"], suggestion.mapping["name"]) == ("LAD22CD", "LAD22NM")


def test_an_msoa_code_alone_is_the_code() -> None:
    suggestion = explain_mapping(["MSOA21CD", "All Ages"], "neighbourhoods")
    # 'All Ages' is the ONS mid-year estimates' total.
    assert suggestion.mapping == {"code": "MSOA21CD", "population": "All Ages"}


def test_a_lookup_table_takes_its_finest_unit_as_the_code() -> None:
    suggestion = explain_mapping(["LAD11CD", "LAD11NM", "LSOA11NM", "LSOA11CD", "WD23CD"], "neighbourhoods")
    assert (suggestion.mapping["code"], suggestion.mapping["name"]) == ("LSOA11CD", "LSOA11NM")


def test_two_codes_of_the_same_unit_are_left_for_the_user() -> None:
    suggestion = explain_mapping(["LSOA11CD", "LSOA21CD", "name"], "neighbourhoods")
    assert "code" not in suggestion.mapping
    assert suggestion.ambiguous["code"] == ["LSOA11CD", "LSOA21CD"]
    assert "map one of them explicitly" in suggestion.problems[0].reason


def test_german_and_dutch_statistics_office_names() -> None:
    assert explain_mapping(["AGS", "GEN", "BEZ"], "neighbourhoods").mapping["code"] == "AGS"
    assert explain_mapping(["ARS", "Gemeindename"], "neighbourhoods").mapping == {
        "code": "ARS",
        "name": "Gemeindename",
    }
    dutch = explain_mapping(["gemeentecode", "wijkcode", "buurtcode", "buurtnaam"], "neighbourhoods")
    assert (dutch.mapping["code"], dutch.mapping["name"]) == ("buurtcode", "buurtnaam")


def test_a_dbf_truncated_gemeinde_name_is_the_name(tmp_path: Path) -> None:
    # GDAL cuts 'Gemeinde_name' to the DBF's 10 characters: 'Gemeinde_n'.
    frame = gpd.GeoDataFrame(
        {"AGS": ["09162000", "09564000"], "Gemeinde_name": ["München", "Nürnberg"]},
        geometry=[shapely.box(11.4, 48.0, 11.7, 48.2), shapely.box(11.0, 49.4, 11.2, 49.5)],
        crs="EPSG:4326",
    )
    pyogrio.write_dataframe(frame, tmp_path / "gemeinden.shp", encoding="UTF-8")
    result = read_source(sorted(tmp_path.glob("gemeinden.*")))
    assert "Gemeinde_n" in result.columns
    suggestion = explain_mapping(
        result.columns, "neighbourhoods", profiles=profile_columns(result.frame, result.columns)
    )
    assert suggestion.mapping == {"code": "AGS", "name": "Gemeinde_n"}
    assert suggestion.reasons["name"].match == "truncated"
    assert "from 'gemeinde_name'" in suggestion.reasons["name"].detail


def test_a_truncated_column_of_numbers_is_a_code_not_a_name(tmp_path: Path) -> None:
    columns, profiles = read_csv(
        tmp_path, "Stadtteil_,Bezeichnung,lon,lat\n11,Altstadt,13.4,52.5\n12,Nord,13.5,52.5\n"
    )
    suggestion = explain_mapping(columns, "neighbourhoods", profiles=profiles)
    assert suggestion.mapping == {"code": "Stadtteil_", "name": "Bezeichnung"}
    assert suggestion.reasons["code"].match == "truncated"
    alone = explain_mapping(
        ["Stadtteil_"], "neighbourhoods", profiles=[p for p in profiles if p.name == "Stadtteil_"]
    )
    assert alone.mapping == {"code": "Stadtteil_"}
    assert [(r.target, r.reason) for r in alone.rejected] == [
        ("name", "'Stadtteil_' holds integer values, not names")
    ]


def test_free_text_is_not_a_code_and_words_are_not_a_population(tmp_path: Path) -> None:
    columns, profiles = read_csv(
        tmp_path,
        "key,name,einwohner,lon,lat\n"
        '"the old town around the market",Altstadt,many,13.4,52.5\n'
        '"the new houses by the river",Nord,few,13.5,52.5\n',
    )
    suggestion = explain_mapping(columns, "neighbourhoods", profiles=profiles)
    assert "code" not in suggestion.mapping and "population" not in suggestion.mapping
    reasons = {r.target: r.reason for r in suggestion.rejected}
    assert "free text" in reasons["code"]
    assert "only 0% numbers" in reasons["population"]


def test_a_choice_column_none_of_whose_values_fit_is_not_suggested(tmp_path: Path) -> None:
    columns, profiles = read_csv(
        tmp_path,
        "id,name,category,traeger,lon,lat\nA,Kita,institution,AWO Berlin,13.4,52.5\nB,Club,association,Caritas,13.4,52.5\n",
    )
    suggestion = explain_mapping(columns, "assets", profiles=profiles)
    assert "ownership" not in suggestion.mapping
    assert [r.target for r in suggestion.rejected if r.column == "traeger"] == ["ownership"]


def test_two_columns_that_differ_only_by_case_are_not_guessed() -> None:
    suggestion = explain_mapping(["Name", "NAME", "code"], "neighbourhoods")
    assert "name" not in suggestion.mapping
    assert suggestion.ambiguous["name"] == ["Name", "NAME"]
    assert "differ only by case" in suggestion.problems[0].reason


def test_map_columns_match_ignoring_case_and_twins_are_refused() -> None:
    columns = ["SCHLUESSEL", "BEZEICHNUNG", "EW"]
    suggested = {"code": "SCHLUESSEL", "population": "EW"}
    assert merge_mapping(columns, suggested, {"name": "bezeichnung"}) == {
        "code": "SCHLUESSEL",
        "population": "EW",
        "name": "BEZEICHNUNG",
    }
    with pytest.raises(MappingError, match="differ from 'name' only by case"):
        merge_mapping(["Name", "NAME", "code"], {}, {"name": "name"})


def test_profiles_give_types_and_a_few_short_distinct_samples(tmp_path: Path) -> None:
    long_text = "Ein sehr langer Text über das Nachbarschaftshaus am Markt, das jeden Tag geöffnet hat"
    _columns, profiles = read_csv(
        tmp_path,
        "code,count,share,opened,open,note,lon,lat\n"
        + "".join(
            f'0{i % 7},{i * 10},{i}.5,2024-05-{i + 1:02d},{"ja" if i % 2 else "nein"},"{long_text} {i % 2}",13.4,52.5\n'
            for i in range(8)
        ),
    )
    by_name = {p.name: p for p in profiles}
    assert [(p.name, p.type) for p in profiles] == [
        ("code", "text"),  # leading zeros: a code, not the number 1
        ("count", "integer"),
        ("share", "number"),
        ("opened", "date"),
        ("open", "boolean"),
        ("note", "text"),
    ]
    assert by_name["code"].samples == ("00", "01", "02", "03", "04")
    assert by_name["open"].samples == ("nein", "ja")
    assert all(len(s) <= 40 and s.endswith("…") for s in by_name["note"].samples)
    assert by_name["count"].to_dict() == {
        "name": "count",
        "type": "integer",
        "samples": ["0", "10", "20", "30", "40"],
        "values": 8,
    }


def test_the_report_lists_every_column_with_its_field_reason_and_doubts(tmp_path: Path) -> None:
    columns, profiles = read_csv(
        tmp_path,
        "LSOA11CD,LSOA21CD,LSOA11NM,population,lon,lat\n"
        "E01000001,E01000001,City of London 001A,1500,-0.09,51.51\n"
        "E01000002,E01000002,City of London 001B,1400,-0.09,51.52\n",
    )
    report = mapping_report(columns, "neighbourhoods", {"population": "population"}, profiles)
    entries = {e["name"]: e for e in report["source_columns"]}
    assert list(entries) == ["LSOA11CD", "LSOA21CD", "LSOA11NM", "population"]
    assert entries["LSOA11CD"]["ambiguous_for"] == entries["LSOA21CD"]["ambiguous_for"] == ["code"]
    assert entries["population"]["target"] == "population"
    assert entries["population"]["reason"] == {
        "column": "population",
        "match": "field_name",
        "detail": "the field's own name",
        "type_check": "integer values fit int",
    }
    assert entries["LSOA11NM"]["samples"] == ["City of London 001A", "City of London 001B"]
    assert json.loads(json.dumps(report)) == report
