"""`assetmap import` and `assetmap export` against the session database (committed, so each test cleans up)."""

from __future__ import annotations

import gc
import json
import secrets
import zipfile
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
import shapely
from sqlalchemy import text
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from app.cli import cli
from app.services.imports import ImportRequest, run_import
from tests.conftest import Berlin


@pytest.fixture
def cli_env(berlin: Berlin) -> dict[str, str]:
    return {
        "ASSETMAP_DATABASE_URL": berlin.url,
        "ASSETMAP_ENVIRONMENT": "test",
        "ASSETMAP_SECRET_KEY": "test-secret-0123456789abcdef",
        "COLUMNS": "200",
    }


@pytest.fixture
def cli_city(berlin: Berlin) -> Iterator[str]:
    """A city created for real (the CLI commits in its own session) and removed with all it holds afterwards."""
    name = f"CLI-{secrets.token_hex(3)}"
    with berlin.engine.begin() as conn:
        city_id = conn.execute(
            text("INSERT INTO city (name) VALUES (:n) RETURNING id"), {"n": name}
        ).scalar_one()
    yield name
    with berlin.engine.begin() as conn:
        conn.execute(text("DELETE FROM change WHERE city_id = :c"), {"c": city_id})
        conn.execute(text("DELETE FROM city WHERE id = :c"), {"c": city_id})


def loose_shapefile(folder: Path, names: list[str]) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    frame = gpd.GeoDataFrame(
        {"id": [f"S{i}" for i in range(len(names))], "name": names, "category": ["culture"] * len(names)},
        geometry=shapely.points([[392_000.0 + 500 * i, 5_820_000.0] for i in range(len(names))]),
        crs="EPSG:25833",
    )
    pyogrio.write_dataframe(frame, folder / "Vereine.shp", encoding="UTF-8")
    return sorted(folder.glob("Vereine.*"))


def assets_of(berlin: Berlin, city: str) -> list[tuple[str, str]]:
    with berlin.engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT a.source, a.name FROM asset a JOIN city c ON c.id = a.city_id WHERE c.name = :n ORDER BY a.source_id"
            ),
            {"n": city},
        )
        return [(r[0], r[1]) for r in rows]


def test_a_loose_shapefile_set_imports_from_the_command_line(
    cli_env: dict[str, str], cli_city: str, berlin: Berlin, tmp_path: Path
) -> None:
    parts = loose_shapefile(tmp_path, ["Gdańsk-Verein", "Rīga-Chor"])
    assert {p.suffix for p in parts} == {".shp", ".shx", ".dbf", ".prj", ".cpg"}
    runner = CliRunner()
    args = ["import", *map(str, parts), "--city", cli_city, "--layer", "assets"]

    dry = runner.invoke(cli, [*args, "--dry-run"], env=cli_env)
    assert dry.exit_code == 0, dry.output
    for words in (
        "Source",
        "shapefile",
        "EPSG:25833",
        "utf-8",
        "Point",
        "Field mapping",
        "source_id",
        "First 2 rows",
        "Gdańsk-Verein",
        "nothing was stored",
    ):
        assert words in dry.output, words
    assert assets_of(berlin, cli_city) == []

    loaded = runner.invoke(cli, [*args, "--user", "test-gis"], env=cli_env)
    assert loaded.exit_code == 0, loaded.output
    assert "2 inserted, 0 updated, 0 unchanged, 0 skipped" in loaded.output
    assert assets_of(berlin, cli_city) == [("Vereine", "Gdańsk-Verein"), ("Vereine", "Rīga-Chor")]
    with berlin.engine.connect() as conn:
        user = conn.execute(
            text(
                "SELECT u.username FROM import_run r JOIN app_user u ON u.id = r.user_id ORDER BY r.id DESC LIMIT 1"
            )
        ).scalar_one()
    assert user == "test-gis"

    again = runner.invoke(cli, args, env=cli_env)
    assert again.exit_code == 0 and "0 inserted, 0 updated, 2 unchanged" in again.output


def test_command_line_errors_are_one_readable_line_and_exit_code_1(
    cli_env: dict[str, str], cli_city: str, berlin: Berlin, tmp_path: Path
) -> None:
    parts = [p for p in loose_shapefile(tmp_path, ["A"]) if p.suffix != ".prj"]
    runner = CliRunner()
    cases = [
        (["import", *map(str, parts), "--city", cli_city, "--layer", "assets"], "has no .prj: pass --crs"),
        (["import", str(parts[0]), "--city", "Atlantis", "--layer", "assets"], "no city 'Atlantis'"),
        (
            ["import", str(parts[0]), "--city", cli_city, "--layer", "assets", "--map", "name"],
            "--map takes target=value",
        ),
        (
            ["import", str(tmp_path / "missing.zip"), "--city", cli_city, "--layer", "assets"],
            "is not a readable file",
        ),
        (["import", str(parts[0]), "--city", cli_city, "--layer", "roads"], "unknown layer 'roads'"),
        (
            [
                "export",
                str(tmp_path / "x.geojson"),
                "--city",
                cli_city,
                "--layer",
                "assets",
                "--format",
                "kml",
            ],
            "unknown format 'kml'",
        ),
    ]
    for args, words in cases:
        result = runner.invoke(cli, args, env=cli_env)
        assert result.exit_code == 1, (args, result.output)
        assert "error:" in result.output and words in result.output, (args, result.output)
        assert "Traceback" not in result.output
    assert assets_of(berlin, cli_city) == []


def test_invalid_rows_are_listed_before_the_error(
    cli_env: dict[str, str], cli_city: str, berlin: Berlin, tmp_path: Path
) -> None:
    table = tmp_path / "assets.csv"
    table.write_text(
        "id,name,category,lat,lon\nA,Tafel,association,52.52,13.41\nB,Club,spaceship,52.53,13.42\n"
    )
    result = CliRunner().invoke(
        cli, ["import", str(table), "--city", cli_city, "--layer", "assets"], env=cli_env
    )
    assert result.exit_code == 1
    assert "Problems (1)" in result.output and "spaceship" in result.output
    assert "1 of 2 rows cannot be stored, so nothing was imported" in result.output
    assert assets_of(berlin, cli_city) == []
    ok = CliRunner().invoke(
        cli, ["import", str(table), "--city", cli_city, "--layer", "assets", "--skip-invalid"], env=cli_env
    )
    assert ok.exit_code == 0 and "1 inserted, 0 updated, 0 unchanged, 1 skipped" in ok.output


def test_export_writes_each_format(cli_env: dict[str, str], tmp_path: Path) -> None:
    runner = CliRunner()
    for fmt, name in (
        ("geojson", "areas.geojson"),
        ("gpkg", "areas.gpkg"),
        ("shp", "areas.zip"),
        ("csv", "areas.csv"),
    ):
        out = tmp_path / name
        result = runner.invoke(
            cli,
            [
                "export",
                str(out),
                "--city",
                "Berlin",
                "--layer",
                "neighbourhoods",
                "--format",
                fmt,
                "--neighbourhood",
                "01",
            ],
            env=cli_env,
        )
        assert result.exit_code == 0, result.output
        assert "wrote 5 neighbourhoods" in result.output  # district 01 and its four forecast areas
        assert out.stat().st_size > 0
    with zipfile.ZipFile(tmp_path / "areas.zip") as archive:
        assert {Path(n).suffix for n in archive.namelist()} == {
            ".shp",
            ".shx",
            ".dbf",
            ".prj",
            ".cpg",
            ".txt",
        }


def test_the_import_reports_its_stages_in_order(
    client: object, berlin: Berlin, db: Session, tmp_path: Path
) -> None:
    db.execute(text("INSERT INTO city (name) VALUES ('Stages')"))
    stages: list[str] = []
    run = run_import(
        db,
        berlin.settings,
        ImportRequest(city="Stages", layer="assets"),
        loose_shapefile(tmp_path, ["A", "B"]),
        progress=stages.append,
    )
    assert run.status == "succeeded" and run.inserted == 2
    assert stages == ["read", "validate", "stage", "locate", "write", "update", "history", "commit", "done"]


def test_the_import_runs_with_the_garbage_collector_paused_and_restores_it(
    client: object, berlin: Berlin, db: Session, tmp_path: Path
) -> None:
    db.execute(text("INSERT INTO city (name) VALUES ('Paused')"))
    collecting: dict[str, bool] = {}
    run = run_import(
        db,
        berlin.settings,
        ImportRequest(city="Paused", layer="assets"),
        loose_shapefile(tmp_path, ["A", "B"]),
        progress=lambda stage: collecting.setdefault(stage, gc.isenabled()),
    )
    assert run.status == "succeeded" and run.inserted == 2
    assert collecting and not any(collecting.values())
    assert gc.isenabled()


def test_a_dry_run_without_a_mapping_shows_the_columns_and_exits_3(
    cli_env: dict[str, str], cli_city: str, berlin: Berlin, tmp_path: Path
) -> None:
    table = tmp_path / "register.csv"
    table.write_text(
        "Nr;Bez;Art;lon;lat\n1;Tafel Mitte;Verein;13.41;52.52\n2;Jugendclub;Verein;13.42;52.53\n"
    )
    args = ["import", str(table), "--city", cli_city, "--layer", "assets"]
    dry = CliRunner().invoke(cli, [*args, "--dry-run"], env=cli_env)
    assert dry.exit_code == 3, dry.output
    assert "Columns of the file" in dry.output
    for row in (
        ("Nr", "integer", "1 | 2"),
        ("Bez", "text", "Tafel Mitte | Jugendclub"),
        ("Art", "text", "Verein"),
    ):
        assert any(all(word in line for word in row) for line in dry.output.splitlines()), row
    assert "the import would fail: required fields name, category of assets are not mapped" in dry.output
    real = CliRunner().invoke(cli, args, env=cli_env)
    assert real.exit_code == 1, real.output
    assert "Columns of the file" in real.output and "Tafel Mitte" in real.output
    mapped = CliRunner().invoke(
        cli, [*args, "--dry-run", "--map", "NAME=bez", "--default", "category=association"], env=cli_env
    )
    assert mapped.exit_code == 0, mapped.output
    assert "2 rows would be imported, 0 have errors" in mapped.output
    assert assets_of(berlin, cli_city) == []


def test_a_dry_run_with_row_errors_exits_3_and_a_clean_one_0(
    cli_env: dict[str, str], cli_city: str, berlin: Berlin, tmp_path: Path
) -> None:
    table = tmp_path / "assets.csv"
    table.write_text(
        "id,name,category,lat,lon\nA,Tafel,association,52.52,13.41\nA,Club,association,52.53,13.42\n"
    )
    args = ["import", str(table), "--city", cli_city, "--layer", "assets", "--dry-run"]
    duplicates = CliRunner().invoke(cli, args, env=cli_env)
    assert duplicates.exit_code == 3, duplicates.output
    assert "2 of 2 rows cannot be stored" in duplicates.output
    assert CliRunner().invoke(cli, [*args, "--skip-invalid"], env=cli_env).exit_code == 0
    table.write_text(
        "id,name,category,lat,lon\nA,Tafel,association,52.52,13.41\nB,Club,association,52.53,13.42\n"
    )
    clean = CliRunner().invoke(cli, args, env=cli_env)
    assert clean.exit_code == 0, clean.output
    assert "would fail" not in clean.output
    assert assets_of(berlin, cli_city) == []


def test_map_names_columns_in_any_case_and_refuses_columns_that_differ_only_by_case(
    cli_env: dict[str, str], cli_city: str, berlin: Berlin, tmp_path: Path
) -> None:
    table = tmp_path / "vereine.csv"
    table.write_text("ID;BEZEICHNUNG;Kategorie;lon;lat\nV1;Chor;association;13.41;52.52\n")
    base = ["import", str(table), "--city", cli_city, "--layer", "assets"]
    done = CliRunner().invoke(cli, [*base, "--map", "NAME=bezeichnung"], env=cli_env)
    assert done.exit_code == 0, done.output
    assert assets_of(berlin, cli_city) == [("vereine", "Chor")]
    # GeoJSON properties may differ only by case (a CSV with such a header is refused when read).
    twins = tmp_path / "twins.geojson"
    feature = {"id": "V2", "Name": "Chor", "NAME": "CHOR", "category": "association"}
    twins.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "properties": feature,
                        "geometry": {"type": "Point", "coordinates": [13.41, 52.52]},
                    }
                ],
            }
        )
    )
    refused = CliRunner().invoke(
        cli,
        ["import", str(twins), "--city", cli_city, "--layer", "assets", "--map", "name=name"],
        env=cli_env,
    )
    assert refused.exit_code == 1, refused.output
    assert "several columns that differ from 'name' only by case ('Name', 'NAME')" in refused.output
    assert assets_of(berlin, cli_city) == [("vereine", "Chor")]
