"""`assetmap city add`, `city list` and `city show`, and `assetmap import` into a city that does not exist yet.

The CLI commits in its own session against the session database, so each test removes the cities it added.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from typer.testing import CliRunner

from app.cli import cli
from tests.conftest import Berlin


@pytest.fixture
def cli_env(berlin: Berlin) -> dict[str, str]:
    return {
        "ASSETMAP_DATABASE_URL": berlin.url,
        "ASSETMAP_ENVIRONMENT": "test",
        "ASSETMAP_SECRET_KEY": "test-secret-0123456789abcdef",
        "COLUMNS": "250",
    }


@pytest.fixture
def new_name(berlin: Berlin) -> Iterator[str]:
    """A city name no city has; whatever city gets it during the test is deleted with all it holds afterwards."""
    name = f"Neustadt-{secrets.token_hex(3)}"
    yield name
    with berlin.engine.begin() as conn:
        ids = (
            conn.execute(text("SELECT id FROM city WHERE lower(name) = lower(:n)"), {"n": name})
            .scalars()
            .all()
        )
        for city_id in ids:
            conn.execute(text("DELETE FROM neighbourhood WHERE city_id = :c"), {"c": city_id})
            conn.execute(text("DELETE FROM change WHERE city_id = :c"), {"c": city_id})
            conn.execute(text("DELETE FROM city WHERE id = :c"), {"c": city_id})


def stored_city(berlin: Berlin, name: str) -> tuple[str, str | None, str | None] | None:
    with berlin.engine.connect() as conn:
        row = conn.execute(text("SELECT name, country, crs FROM city WHERE name = :n"), {"n": name}).first()
    return None if row is None else (row[0], row[1], row[2])


def boundaries(folder: Path) -> Path:
    """Two neighbourhoods in Leipzig (EPSG:4326), 1,200 and 800 residents."""
    features = [
        {
            "type": "Feature",
            "properties": {"code": code, "name": name, "population": population},
            "geometry": {
                "type": "Polygon",
                "coordinates": [[[x, 51.33], [x + 0.01, 51.33], [x + 0.01, 51.34], [x, 51.34], [x, 51.33]]],
            },
        }
        for code, name, population, x in (("01", "Zentrum", 1200, 12.37), ("02", "Zentrum-Ost", 800, 12.38))
    ]
    path = folder / "ortsteile.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8")
    return path


def test_a_city_added_from_the_terminal_is_listed_shown_and_takes_imports(
    cli_env: dict[str, str], new_name: str, berlin: Berlin, tmp_path: Path
) -> None:
    runner = CliRunner()
    added = runner.invoke(
        cli, ["city", "add", new_name, "--country", "DE", "--crs", "EPSG:25833"], env=cli_env
    )
    assert added.exit_code == 0, added.output
    assert "added city" in added.output and new_name in added.output
    assert f"assetmap import boundaries.zip --city {new_name} --layer neighbourhoods" in added.output
    assert stored_city(berlin, new_name) == (new_name, "DE", "EPSG:25833")

    imported = runner.invoke(
        cli,
        ["import", str(boundaries(tmp_path)), "--city", new_name, "--layer", "neighbourhoods"],
        env=cli_env,
    )
    assert imported.exit_code == 0, imported.output

    listed = runner.invoke(cli, ["city", "list"], env=cli_env)
    assert listed.exit_code == 0, listed.output
    rows = {line.split("│")[2].strip(): line for line in listed.output.splitlines() if line.count("│") >= 7}
    assert "Berlin" in rows and new_name in rows
    cells = [c.strip() for c in rows[new_name].split("│")[1:-1]]
    # id, city, country, CRS, neighbourhoods, assets, last import
    assert cells[2:6] == ["DE", "EPSG:25833", "2", "0"]
    assert cells[6].endswith("UTC")

    shown = runner.invoke(cli, ["city", "show", new_name.lower()], env=cli_env)
    assert shown.exit_code == 0, shown.output
    lines = [" ".join(line.replace("│", " ").split()) for line in shown.output.splitlines()]
    assert "population 2,000 (finest areas)" in lines  # 1,200 + 800
    assert "neighbourhood 2 2,000" in lines  # the level, its count and population
    assert any(line.endswith("neighbourhoods ortsteile.geojson succeeded 2 0 0") for line in lines), lines


def test_city_show_counts_each_resident_once_across_levels(cli_env: dict[str, str], berlin: Berlin) -> None:
    with berlin.engine.connect() as conn:
        finest = conn.execute(
            text(
                "SELECT sum(population) FROM neighbourhood n WHERE city_id = :c AND id NOT IN "
                "(SELECT parent_id FROM neighbourhood WHERE parent_id IS NOT NULL)"
            ),
            {"c": berlin.city_id},
        ).scalar_one()
        per_level = dict(
            conn.execute(
                text("SELECT level, count(*) FROM neighbourhood WHERE city_id = :c GROUP BY level"),
                {"c": berlin.city_id},
            ).all()
        )
    shown = CliRunner().invoke(cli, ["city", "show", "Berlin"], env=cli_env)
    assert shown.exit_code == 0, shown.output
    lines = [" ".join(line.replace("│", " ").split()) for line in shown.output.splitlines()]
    assert f"population {finest:,} (finest areas)" in lines
    for level, count in per_level.items():
        assert any(line.startswith(f"{level} {count:,} ") for line in lines), (level, lines)


def test_a_duplicate_name_is_refused_in_any_case_by_the_terminal_and_the_api(
    cli_env: dict[str, str], new_name: str, berlin: Berlin, client: TestClient
) -> None:
    runner = CliRunner()
    assert runner.invoke(cli, ["city", "add", new_name, "--country", "DE"], env=cli_env).exit_code == 0
    again = runner.invoke(cli, ["city", "add", new_name.upper(), "--country", "DE"], env=cli_env)
    assert again.exit_code == 1
    message = f"a city with this name exists already ({new_name!r}): choose another name"
    assert message in " ".join(again.output.split())
    assert stored_city(berlin, new_name.upper()) is None
    berlin_again = runner.invoke(cli, ["city", "add", "berlin", "--country", "DE"], env=cli_env)
    assert berlin_again.exit_code == 1 and "exists already ('Berlin')" in berlin_again.output

    renamed = client.patch(
        f"/api/cities/{berlin.city_id}", json={"name": new_name.lower()}, headers=berlin.headers("gis")
    )
    assert renamed.status_code == 409 and renamed.json()["field"] == "name"
    same_city = client.patch(
        f"/api/cities/{berlin.city_id}", json={"name": "BERLIN"}, headers=berlin.headers("gis")
    )
    assert same_city.status_code == 200 and same_city.json()["name"] == "BERLIN"  # its own name, another case
    assert (
        client.patch(
            f"/api/cities/{berlin.city_id}", json={"name": "Berlin"}, headers=berlin.headers("gis")
        ).status_code
        == 200
    )
    api = client.post("/api/cities", json={"name": "BERLIN"}, headers=berlin.headers("gis"))
    assert api.status_code == 409 and api.json()["detail"] == (
        "a city with this name exists already ('Berlin'): choose another name"
    )


@pytest.mark.parametrize(
    ("crs", "problem"),
    [
        ("EPSG:4326", "is geographic (degrees, not metres)"),
        ("EPSG:3857", "world Mercator"),
        ("EPSG:0000", "not a CRS pyproj understands"),
        ("25833", "String should match pattern"),
        ("http://example.org/crs", "String should match pattern"),
    ],
)
def test_a_crs_that_cannot_measure_metres_is_refused_alike_by_the_terminal_and_the_api(
    cli_env: dict[str, str], new_name: str, berlin: Berlin, client: TestClient, crs: str, problem: str
) -> None:
    result = CliRunner().invoke(cli, ["city", "add", new_name, "--country", "DE", "--crs", crs], env=cli_env)
    assert result.exit_code == 1
    said = " ".join(result.output.split())
    assert said.startswith("error: --crs: ") and problem in said, said
    assert stored_city(berlin, new_name) is None

    api = client.post("/api/cities", json={"name": new_name, "crs": crs}, headers=berlin.headers("gis"))
    assert api.status_code == 422 and api.json()["field"] == "crs"
    # The same words, whichever way the city was asked for.
    assert said.removeprefix("error: --crs: ") == api.json()["errors"][0]["problem"]


def test_city_show_of_an_unknown_city_says_so(cli_env: dict[str, str], new_name: str) -> None:
    result = CliRunner().invoke(cli, ["city", "show", new_name], env=cli_env)
    assert result.exit_code == 1 and f"no city {new_name!r}" in result.output


def test_importing_into_a_missing_city_says_how_to_create_it(
    cli_env: dict[str, str], new_name: str, berlin: Berlin, tmp_path: Path
) -> None:
    result = CliRunner().invoke(
        cli,
        ["import", str(boundaries(tmp_path)), "--city", new_name, "--layer", "neighbourhoods"],
        env=cli_env,
    )
    assert result.exit_code == 1
    said = " ".join(result.output.split())
    assert f"no city {new_name!r}: create it first: assetmap city add {new_name} --country CC" in said
    assert stored_city(berlin, new_name) is None
