"""Tables joined onto a city's neighbourhoods by code: CSV, XLSX and DBF, through the API and the command line."""

from __future__ import annotations

import io
import json
import random
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pyogrio
import pytest
import shapely
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from app.cli import cli
from tests.app.test_imports import Files, imported, new_city, post_import
from tests.conftest import Berlin

CITY = "Neustadt"
# Three neighbourhoods whose codes start with a zero; 0130 is missing from every table below.
AREAS = {"0110": "Altstadt", "0120": "Hafen", "0130": "Nordfeld"}


def boundaries() -> Files:
    features = [
        {
            "type": "Feature",
            "properties": {"code": code, "name": name, "population": 1000, "pop_over_65": 200},
            "geometry": shapely.geometry.mapping(
                shapely.box(13.30 + 0.05 * i, 52.45, 13.35 + 0.05 * i, 52.50)
            ),
        }
        for i, (code, name) in enumerate(AREAS.items())
    ]
    return [("areas.geojson", json.dumps({"type": "FeatureCollection", "features": features}).encode())]


@pytest.fixture
def city(client: TestClient, berlin: Berlin) -> int:
    city_id = new_city(client, berlin, CITY)
    record = imported(client, berlin, boundaries(), city=CITY, layer="neighbourhoods")
    assert record["counts"]["inserted"] == 3
    return city_id


def csv_file(rows: list[list[Any]], name: str = "population.csv", encoding: str = "utf-8") -> Files:
    buffer = io.StringIO()
    pd.DataFrame(rows[1:], columns=rows[0]).to_csv(buffer, index=False, sep=";")
    return [(name, buffer.getvalue().encode(encoding))]


def xlsx_file(
    rows: list[list[Any]],
    sheet: str = "Tabelle1",
    formats: dict[str, str] | None = None,
    notes_first: bool = False,
) -> Files:
    """A workbook written by openpyxl with the table on one sheet and a sheet of notes before or after it."""
    workbook = openpyxl.Workbook()
    first = workbook.active
    assert first is not None
    first.title = "Notes"
    first.append(["This sheet only explains the table"])
    ws = workbook.create_sheet(sheet, 1 if notes_first else 0)
    for row in rows:
        ws.append(row)
    for cell, number_format in (formats or {}).items():
        ws[cell].number_format = number_format
    buffer = io.BytesIO()
    workbook.save(buffer)
    return [("Bevoelkerung.xlsx", buffer.getvalue())]


def areas(client: TestClient) -> dict[str, dict[str, Any]]:
    """The city's neighbourhoods as the API shows them, by code."""
    response = client.get("/api/neighbourhoods", params={"city": CITY, "limit": 100})
    assert response.status_code == 200, response.text
    return {f["properties"]["code"]: {"id": f["id"], **f["properties"]} for f in response.json()["features"]}


def summary(client: TestClient, code: str) -> dict[str, Any]:
    response = client.get(f"/api/neighbourhoods/{areas(client)[code]['id']}/summary")
    assert response.status_code == 200, response.text
    return response.json()


def geometries(db: Session, city_id: int) -> list[bytes]:
    return [
        bytes(g)
        for g in db.scalars(
            text("SELECT ST_AsBinary(geom) FROM neighbourhood WHERE city_id = :c ORDER BY code"),
            {"c": city_id},
        )
    ]


# ------------------------------------------------------------------------------------------- CSV over the API


def test_a_population_csv_updates_the_matched_neighbourhoods_and_reports_both_ways(
    client: TestClient, berlin: Berlin, db: Session, city: int
) -> None:
    shapes = geometries(db, city)
    table = csv_file(
        [
            ["Gebiet", "Einwohner", "Einwohner unter 6"],
            ["0110", 1500, 90],
            ["0999", 10, 1],  # no such neighbourhood
            ["0120", 2500, 150],
        ]
    )
    record = imported(client, berlin, table, city=CITY, layer="neighbourhoods", join="code=gebiet")
    join = record["report"]["join"]
    assert join["key_column"] == "Gebiet"  # matched ignoring case
    assert join["matched"] == 2
    assert join["unmatched_rows"] == [{"row_number": 2, "code": "0999"}]
    assert join["neighbourhoods_not_in_table"] == ["0130"]
    assert join["fields"] == ["pop_under_6", "population"]
    assert join["sources"]["population"] == {"columns": ["Einwohner"], "how": "suggested"}
    assert record["counts"] == {"inserted": 0, "updated": 2, "skipped": 0}

    shown = areas(client)
    assert {code: shown[code]["population"] for code in AREAS} == {"0110": 1500, "0120": 2500, "0130": 1000}
    # The group the table does not give (over 65) and the names are left as they were.
    assert summary(client, "0110")["population_by_group"] == {"under_6": 90, "over_65": 200}
    assert {code: shown[code]["name"] for code in AREAS} == AREAS
    assert geometries(db, city) == shapes
    assert db.scalar(text("SELECT count(*) FROM neighbourhood WHERE city_id = :c"), {"c": city}) == 3

    history = client.get(f"/api/neighbourhoods/{shown['0110']['id']}/history", headers=berlin.headers("gis"))
    assert history.status_code == 200, history.text
    created, last = history.json()["items"]  # oldest first: the boundary import, then the join
    assert created["import_id"] != record["id"]
    assert last["action"] == "import"
    assert last["message"] == "joined from population.csv"
    assert last["import_id"] == record["id"]
    assert (last["before"]["population"], last["after"]["population"]) == (1000, 1500)
    assert last["before"]["geom"] == last["after"]["geom"]
    assert last["after"]["population_by_group"] == {"under_6": 90, "over_65": 200}

    again = imported(client, berlin, table, city=CITY, layer="neighbourhoods", join="code=Gebiet")
    assert again["counts"] == {"inserted": 0, "updated": 0, "skipped": 0}
    assert again["report"]["unchanged"] == 2
    changes = db.scalar(text("SELECT count(*) FROM change WHERE import_id = :i"), {"i": again["id"]})
    assert changes == 0


def test_a_dry_run_reports_the_join_and_stores_nothing(
    client: TestClient, berlin: Berlin, db: Session, city: int
) -> None:
    table = csv_file([["code", "population"], ["0110", 7], ["0120", 8]])
    record = imported(
        client, berlin, table, city=CITY, layer="neighbourhoods", join="code=code", dry_run=True
    )
    assert record["status"] == "dry_run"
    assert record["report"]["join"]["matched"] == 2
    assert record["report"]["preview"][0]["population"] == 7
    assert {p["population"] for p in areas(client).values()} == {1000}


def test_a_cp1252_csv_needs_its_encoding_and_then_renames(
    client: TestClient, berlin: Berlin, city: int
) -> None:
    table = csv_file(
        [["Schluessel", "Name"], ["0110", "Müllerstraße"], ["0120", "Hafen-Süd"]], encoding="cp1252"
    )
    refused = post_import(client, berlin, table, city=CITY, layer="neighbourhoods", join="code=Schluessel")
    assert refused.status_code == 422, refused.text
    assert "--encoding" in refused.json()["detail"]
    assert {p["name"] for p in areas(client).values()} == set(AREAS.values())

    record = imported(
        client, berlin, table, city=CITY, layer="neighbourhoods", join="code=Schluessel", encoding="cp1252"
    )
    assert record["report"]["join"]["fields"] == ["name"]
    assert areas(client)["0110"]["name"] == "Müllerstraße"
    assert areas(client)["0120"]["name"] == "Hafen-Süd"


def test_codes_in_a_csv_that_lost_their_zeros_are_unmatched_with_a_hint(
    client: TestClient, berlin: Berlin, city: int
) -> None:
    table = csv_file([["code", "population"], ["110", 5], ["0120", 6]])
    record = imported(client, berlin, table, city=CITY, layer="neighbourhoods", join="code=code")
    join = record["report"]["join"]
    assert join["matched"] == 1
    assert join["unmatched_rows"] == [{"row_number": 1, "code": "110"}]
    assert any("'110' -> '0110'" in note for note in join["notes"])


# ------------------------------------------------------------------------------------------- XLSX


def test_an_xlsx_sheet_keeps_text_codes_and_pads_codes_stored_as_numbers(
    client: TestClient, berlin: Berlin, city: int
) -> None:
    table = xlsx_file(
        [["Code", "Population"], ["0110", 1100], [120, 1200], [130, 1300]],
        sheet="Einwohner 2024",
        formats={"A4": "0000"},  # shown as 0130 in Excel
        notes_first=True,
    )
    record = imported(
        client, berlin, table, city=CITY, layer="neighbourhoods", join="code=code", sheet="einwohner 2024"
    )
    report = record["report"]
    assert report["format"] == "xlsx"
    assert report["layer"] == "Einwohner 2024"
    join = report["join"]
    assert join["matched"] == 3
    assert join["neighbourhoods_not_in_table"] == []
    # 120 was a plain number: padded to the city's four digits and said so; 130 showed its zeros already.
    assert join["padded_codes"] == {
        "width": 4,
        "count": 1,
        "rows": [{"row_number": 2, "in_file": "120", "matched_as": "0120"}],
    }
    assert {code: p["population"] for code, p in areas(client).items()} == {
        "0110": 1100,
        "0120": 1200,
        "0130": 1300,
    }


def test_an_unknown_sheet_is_refused_naming_the_sheets(client: TestClient, berlin: Berlin, city: int) -> None:
    table = xlsx_file([["Code", "Population"], ["0110", 1]])
    response = post_import(
        client, berlin, table, city=CITY, layer="neighbourhoods", join="code=code", sheet="Daten"
    )
    assert response.status_code == 422, response.text
    assert "Tabelle1, Notes" in response.json()["detail"]
    assert response.json()["field"] == "sheet"


def test_an_xlsx_without_join_is_refused_with_what_to_do(
    client: TestClient, berlin: Berlin, city: int
) -> None:
    response = post_import(
        client, berlin, xlsx_file([["Code", "Population"], ["0110", 1]]), city=CITY, layer="neighbourhoods"
    )
    assert response.status_code == 422, response.text
    assert "--join code=COLUMN" in response.json()["detail"]


# ------------------------------------------------------------------------------------------- age groups


def test_single_years_of_age_are_summed_into_the_configured_groups(
    client: TestClient, berlin: Berlin, city: int
) -> None:
    rng = random.Random(12)
    header = ["Schluessel", *(f"Alter_{age}" for age in range(95)), "95 und älter"]
    counts = {code: [rng.randint(0, 40) for _ in range(96)] for code in ("0110", "0120")}
    table = xlsx_file([header, *([code, *values] for code, values in counts.items())])
    record = imported(client, berlin, table, city=CITY, layer="neighbourhoods", join="code=schluessel")
    sources = record["report"]["join"]["sources"]
    assert sources["pop_under_6"] == {"columns": [f"Alter_{a}" for a in range(6)], "how": "age columns"}
    assert sources["pop_over_65"]["columns"][-1] == "95 und älter"
    # Worked out independently: a group [low, high) sums the counts of the ages low .. high - 1.
    bands = {
        "under_6": (0, 6),
        "6_15": (6, 15),
        "15_18": (15, 18),
        "18_27": (18, 27),
        "27_45": (27, 45),
        "45_55": (45, 55),
        "55_65": (55, 65),
        "over_65": (65, 96),
    }
    for code, values in counts.items():
        expected = {group: sum(values[low:high]) for group, (low, high) in bands.items()}
        assert summary(client, code)["population_by_group"] == expected
    # No total column: the total stays as it was.
    assert areas(client)["0110"]["population"] == 1000


def test_bands_that_straddle_a_group_boundary_are_refused(
    client: TestClient, berlin: Berlin, city: int
) -> None:
    table = csv_file([["code", "0-2", "3-7", "8-14"], ["0110", 1, 2, 3]])
    response = post_import(client, berlin, table, city=CITY, layer="neighbourhoods", join="code=code")
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert "'3-7'" in detail and "straddles" in detail and "pop_under_6" in detail


def test_other_bands_and_an_explicit_sum(client: TestClient, berlin: Berlin, city: int) -> None:
    table = csv_file(
        [
            ["code", "0-2", "3-5", "6-9", "10-14", "a", "b"],
            ["0110", 10, 11, 12, 13, 100, 23],
            ["0120", 1, 2, 3, 4, 5, 6],
        ]
    )
    record = imported(
        client,
        berlin,
        table,
        city=CITY,
        layer="neighbourhoods",
        join="code=code",
        mapping={"population": "A+b"},
    )
    sources = record["report"]["join"]["sources"]
    assert sources["population"] == {"columns": ["a", "b"], "how": "sum given"}
    assert sources["pop_6_15"]["columns"] == ["6-9", "10-14"]
    assert areas(client)["0110"]["population"] == 123
    assert summary(client, "0110")["population_by_group"] == {"under_6": 21, "6_15": 25, "over_65": 200}


# ------------------------------------------------------------------------------------------- wrong use


@pytest.mark.parametrize(
    ("rows", "fields", "words"),
    [
        ([["code", "population"], ["0110", 1]], {"layer": "assets", "join": "code=code"}, "neighbourhoods"),
        ([["code", "population"], ["0110", 1]], {"join": "code=Kennung"}, "no column 'Kennung'"),
        ([["code", "population"], ["0110", 1]], {"join": "name=code"}, "code=COLUMN"),
        ([["code", "population"], ["0110", 1]], {"join": "code=code", "clip": "city"}, "--clip"),
        ([["Name", "population"], ["Altstadt", 1]], {"join": "code=name"}, "none of the table's 1 codes"),
        (
            [["code", "population"], ["0110", 1], ["0120", 2], ["0110", 3]],
            {"join": "code=code"},
            "'0110' in rows 1, 3",
        ),
        ([["code", "population"], ["0110", 1], ["0120", "viele"]], {"join": "code=code"}, "cannot be used"),
    ],
)
def test_wrong_use_is_a_clear_400_and_changes_nothing(
    client: TestClient, berlin: Berlin, city: int, rows: list[list[Any]], fields: dict[str, str], words: str
) -> None:
    response = post_import(client, berlin, csv_file(rows), city=CITY, **{"layer": "neighbourhoods", **fields})
    assert response.status_code == 422, response.text
    assert words in response.json()["detail"]
    if "viele" in json.dumps(rows):
        problems = response.json()["problems"]
        assert [(p["row_number"], p["source_id"]) for p in problems if p["severity"] == "error"] == [
            (2, "0120")
        ]
    assert {p["population"] for p in areas(client).values()} == {1000}


def test_a_long_table_is_narrowed_with_where_before_codes_are_matched(
    client: TestClient, berlin: Berlin, city: int
) -> None:
    # Statistics offices publish one row per area and sex; without --where every code would repeat three times.
    rows = [["area_code", "sex", "all_ages"]]
    for code, persons in (("0110", 30), ("0120", 50)):
        rows += [
            [code, "Persons", persons],
            [code, "Females", persons // 2 + 1],
            [code, "Males", persons // 2 - 1],
        ]
    repeated = post_import(
        client, berlin, csv_file(rows), city=CITY, layer="neighbourhoods", join="code=area_code", dry_run=True
    )
    assert repeated.status_code == 422, repeated.text
    assert "more than once" in repeated.json()["detail"]

    record = imported(
        client,
        berlin,
        csv_file(rows),
        city=CITY,
        layer="neighbourhoods",
        join="code=area_code",
        where="sex = 'Females'",
        mapping={"pop_female": "all_ages"},
    )
    assert record["report"]["dropped"] == {"where": 4, "outside_clip": 0}
    assert record["report"]["join"]["repeated_rows_counted_once"] == 0
    assert record["report"]["join"]["matched"] == 2
    # The mapping names all_ages for pop_female, so the total (suggested from all_ages otherwise) is left alone.
    assert {a["population"] for a in areas(client).values()} == {1000}
    assert summary(client, "0110")["population_by_group"]["female"] == 16
    assert summary(client, "0120")["population_by_group"]["female"] == 26


def test_rows_that_repeat_an_earlier_row_exactly_are_counted_once(
    client: TestClient, berlin: Berlin, city: int
) -> None:
    # A lookup at a finer level: one row per output area, so each area's row comes several times, word for word.
    rows = [["lsoa", "einwohner"], ["0110", 11], ["0110", 11], ["0120", 22], ["0110", 11], ["0120", 22]]
    record = imported(client, berlin, csv_file(rows), city=CITY, layer="neighbourhoods", join="code=lsoa")
    join = record["report"]["join"]
    assert (join["matched"], join["repeated_rows_counted_once"]) == (2, 3)
    assert any("3 rows repeat an earlier row exactly" in note for note in join["notes"])
    assert {code: a["population"] for code, a in areas(client).items()} == {
        "0110": 11,
        "0120": 22,
        "0130": 1000,
    }
    # The same code with another value is still refused, naming the code and its rows.
    rows.append(["0120", 23])
    response = post_import(
        client, berlin, csv_file(rows), city=CITY, layer="neighbourhoods", join="code=lsoa"
    )
    assert response.status_code == 422
    assert (
        "'0120' in rows 3, 6" in response.json()["detail"] and "different values" in response.json()["detail"]
    )


def test_parents_come_from_a_lookup_and_the_district_adds_up_its_areas(
    client: TestClient, berlin: Berlin, city: int
) -> None:
    # 0130 becomes the district of 0110 and 0120, as an output-area lookup says (each area's row repeated).
    rows = [["oa", "lsoa", "msoa"], ["a1", "0110", "0130"], ["a2", "0110", "0130"], ["a3", "0120", "0130"]]
    record = imported(
        client,
        berlin,
        csv_file(rows),
        city=CITY,
        layer="neighbourhoods",
        join="code=lsoa",
        mapping={"parent_code": "msoa"},
    )
    assert record["report"]["join"]["fields"] == ["parent_code"]
    assert record["counts"]["updated"] == 2
    district = summary(client, "0130")
    assert district["includes_children"]["areas"] == 2
    # 0130 keeps its own 1,000 residents; its over-65s are its own figure too.
    assert district["population"] == 1000 and district["population_source"] == "own"
    # A parent the city lacks, or an area as its own parent, names the row and changes nothing.
    for bad in (["b1", "0110", "0999"], ["b2", "0120", "0120"]):
        response = post_import(
            client,
            berlin,
            csv_file([rows[0], bad]),
            city=CITY,
            layer="neighbourhoods",
            join="code=lsoa",
            mapping={"parent_code": "msoa"},
        )
        assert response.status_code == 422, response.text
        [problem] = [p for p in response.json()["problems"] if p["severity"] == "error"]
        assert problem["field"] == "parent_code"
    assert summary(client, "0130")["includes_children"]["areas"] == 2


def test_a_city_without_neighbourhoods_has_nothing_to_join_onto(client: TestClient, berlin: Berlin) -> None:
    new_city(client, berlin, "Leerdorf")
    response = post_import(
        client,
        berlin,
        csv_file([["code", "population"], ["0110", 1]]),
        city="Leerdorf",
        layer="neighbourhoods",
        join="code=code",
    )
    assert response.status_code == 422, response.text
    assert "import its boundaries first" in response.json()["detail"]


# ------------------------------------------------------------------------------------------- DBF, command line


def test_a_dbf_alone_is_joined(client: TestClient, berlin: Berlin, city: int, tmp_path: Path) -> None:
    pyogrio.write_dataframe(
        pd.DataFrame({"KENNUNG": ["0110", "0130"], "EW": [111, 333]}),
        tmp_path / "ew.dbf",
        driver="ESRI Shapefile",
    )
    record = imported(
        client,
        berlin,
        [("ew.dbf", (tmp_path / "ew.dbf").read_bytes())],
        city=CITY,
        layer="neighbourhoods",
        join="code=kennung",
        encoding="utf-8",
    )
    assert record["report"]["format"] == "dbf"
    assert {code: p["population"] for code, p in areas(client).items()} == {
        "0110": 111,
        "0120": 1000,
        "0130": 333,
    }


@pytest.fixture
def cli_city(berlin: Berlin, tmp_path: Path) -> Iterator[str]:
    """A committed city with the three neighbourhoods (the CLI works in its own session); removed afterwards."""
    name = f"Join-{secrets.token_hex(3)}"
    with berlin.engine.begin() as conn:
        city_id = conn.execute(
            text("INSERT INTO city (name) VALUES (:n) RETURNING id"), {"n": name}
        ).scalar_one()
    path = tmp_path / "areas.geojson"
    path.write_bytes(boundaries()[0][1])
    env = cli_env(berlin)
    result = CliRunner().invoke(
        cli, ["import", str(path), "--city", name, "--layer", "neighbourhoods"], env=env
    )
    assert result.exit_code == 0, result.output
    yield name
    with berlin.engine.begin() as conn:
        conn.execute(text("DELETE FROM change WHERE city_id = :c"), {"c": city_id})
        conn.execute(text("DELETE FROM city WHERE id = :c"), {"c": city_id})


def cli_env(berlin: Berlin) -> dict[str, str]:
    return {
        "ASSETMAP_DATABASE_URL": berlin.url,
        "ASSETMAP_ENVIRONMENT": "test",
        "ASSETMAP_SECRET_KEY": "test-secret-0123456789abcdef",
        "COLUMNS": "200",
    }


def test_the_command_line_joins_and_prints_both_sides(berlin: Berlin, cli_city: str, tmp_path: Path) -> None:
    path = tmp_path / "ew.csv"
    path.write_text(
        "Gebiet;a0;a1;a2;a3;a4;a5;EW\n0110;1;2;3;4;5;6;900\n0999;1;1;1;1;1;1;6\n", encoding="utf-8"
    )
    args = [
        "import",
        str(path),
        "--city",
        cli_city,
        "--layer",
        "neighbourhoods",
        "--join",
        "code=GEBIET",
        "--map",
        "pop_under_6=a0+a1+a2+a3+a4+a5",
        "--map",
        "population=EW",
    ]
    runner = CliRunner()
    dry = runner.invoke(cli, [*args, "--dry-run"], env=cli_env(berlin))
    assert dry.exit_code == 0, dry.output
    assert "nothing was stored" in dry.output
    result = runner.invoke(cli, args, env=cli_env(berlin))
    assert result.exit_code == 0, result.output
    output = " ".join(result.output.split())
    for words in (
        "1 of 2 table rows match a neighbourhood",
        "rows whose code matches no neighbourhood: row 2 (0999)",
        "neighbourhoods the table leaves out: 0120, 0130",
        "a0 + a1 + a2 + a3 + a4 + a5",
        "1 updated, 0 unchanged",
    ):
        assert words in output, result.output
    with berlin.engine.connect() as conn:
        row = conn.execute(
            text(
                "SELECT n.population, n.population_by_group FROM neighbourhood n JOIN city c ON c.id = n.city_id "
                "WHERE c.name = :n AND n.code = '0110'"
            ),
            {"n": cli_city},
        ).one()
    assert tuple(row) == (900, {"under_6": 21, "over_65": 200})
    bad = tmp_path / "bad.csv"
    bad.write_text("Gebiet;EW\n0110;viele\n", encoding="utf-8")
    refused = runner.invoke(cli, ["import", str(bad), *args[2:8], "--dry-run"], env=cli_env(berlin))
    assert refused.exit_code == 3, refused.output  # the real join would fail: a script can tell
    assert "'viele' is not a number" in " ".join(refused.output.split())
    wrong = runner.invoke(cli, [*args[:5], "assets", *args[6:]], env=cli_env(berlin))
    assert wrong.exit_code != 0
    assert "--join" in wrong.output


def test_rows_that_match_nothing_stop_nothing(client: TestClient, berlin: Berlin, city: int) -> None:
    """A total row without a code and a footnote row with text in a count are listed, but the join goes on."""
    table = csv_file([["code", "population"], ["0110", 1234], [None, 99999], ["Quelle: Statistik", "n. a."]])
    record = imported(client, berlin, table, city=CITY, layer="neighbourhoods", join="code=code")
    assert record["counts"]["updated"] == 1
    listed = {(p["row_number"], p["severity"]) for p in record["report"]["problems"]}
    assert listed == {(2, "warning"), (3, "error")}
    assert record["report"]["join"]["unmatched_rows"] == [{"row_number": 3, "code": "Quelle: Statistik"}]
    assert areas(client)["0110"]["population"] == 1234


def test_a_geopackage_table_and_a_geojson_far_away_are_joined_without_their_geometry(
    client: TestClient, berlin: Berlin, db: Session, city: int, tmp_path: Path
) -> None:
    shapes = geometries(db, city)
    pyogrio.write_dataframe(
        pd.DataFrame({"gebiet": ["0110"], "einwohner": [4321]}),
        tmp_path / "ew.gpkg",
        driver="GPKG",
        layer="ew",
    )
    record = imported(
        client,
        berlin,
        [("ew.gpkg", (tmp_path / "ew.gpkg").read_bytes())],
        city=CITY,
        layer="neighbourhoods",
        join="code=gebiet",
    )
    assert (record["report"]["format"], record["counts"]["updated"]) == ("gpkg", 1)
    # Points in Sydney: an import would refuse them as far from the city; a join ignores where they lie.
    far = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"code": "0120", "population": 2222},
                "geometry": {"type": "Point", "coordinates": [151.2, -33.9]},
            }
        ],
    }
    record = imported(
        client,
        berlin,
        [("far.geojson", json.dumps(far).encode())],
        city=CITY,
        layer="neighbourhoods",
        join="code=code",
    )
    assert record["counts"]["updated"] == 1
    assert {code: p["population"] for code, p in areas(client).items()} == {
        "0110": 4321,
        "0120": 2222,
        "0130": 1000,
    }
    assert geometries(db, city) == shapes
