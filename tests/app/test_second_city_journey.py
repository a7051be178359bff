"""A GIS officer's second day on real open data: the README's new-city recipe, run on Trafford (data/trafford).

Each step is the command the README shows, run through the real command line against the session database; the
expected figures are worked out from the files themselves here, not taken from assetmap.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from typer.testing import CliRunner

from app.cli import cli
from app.main import create_app
from app.settings import Settings
from tests.conftest import Berlin

DATA = Path(__file__).resolve().parents[2] / "data" / "trafford"
CITY = "Trafford"
OPEN_LIBRARIES = "type in ('LAL', 'CL', 'CRL', 'ICL')"


@pytest.fixture(scope="module")
def env(berlin: Berlin) -> Iterator[dict[str, str]]:
    """The command line's environment; Trafford and everything in it is removed afterwards."""
    yield {
        "ASSETMAP_DATABASE_URL": berlin.url,
        "ASSETMAP_ENVIRONMENT": "test",
        "ASSETMAP_SECRET_KEY": "test-secret-0123456789abcdef",
        "COLUMNS": "200",
    }
    with berlin.engine.begin() as conn:
        for city_id in conn.execute(text("SELECT id FROM city WHERE name = :n"), {"n": CITY}).scalars().all():
            for table in ("analysis_run", "asset", "import_run", "neighbourhood", "change"):
                conn.execute(text(f"DELETE FROM {table} WHERE city_id = :c"), {"c": city_id})
            conn.execute(text("DELETE FROM city WHERE id = :c"), {"c": city_id})


def run(env: dict[str, str], *args: str, code: int = 0) -> str:
    """Run `assetmap ARGS`, check its exit code and return its output with line wrapping undone."""
    result = CliRunner().invoke(cli, list(args), env=env)
    assert result.exit_code == code, result.output
    return " ".join(result.output.split())


def client_summary(env: dict[str, str], neighbourhood_id: int) -> dict[str, Any]:
    """GET /api/neighbourhoods/{id}/summary as an anonymous reader of the same database."""
    settings = Settings(
        database_url=env["ASSETMAP_DATABASE_URL"], environment="test", secret_key=env["ASSETMAP_SECRET_KEY"]
    )
    with TestClient(create_app(settings)) as client:
        response = client.get(f"/api/neighbourhoods/{neighbourhood_id}/summary")
    assert response.status_code == 200, response.text
    return dict(response.json())


def persons() -> pd.DataFrame:
    """The ONS mid-2024 LSOA table, one row per area: the 'Persons' rows."""
    table = pd.read_csv(DATA / "mid-year_2024_population_estimates_lsoa.csv", dtype={"area_code": str})
    return table[table["sex"] == "Persons"]


def test_a_second_city_from_the_terminal(env: dict[str, str], berlin: Berlin, tmp_path: Path) -> None:
    # 1. The city.
    assert "added city" in run(env, "city", "add", CITY, "--country", "GB", "--crs", "EPSG:27700")

    # 2. Its boundaries: 28 MSOAs as districts, 139 LSOAs inside them; area_code and area_name are suggested as
    # code and name. The LSOA file has no parent code: an output-area lookup for all of Greater Manchester has it,
    # each LSOA's row repeated once per output area.
    msoa = str(DATA / "trafford_msoa_generalised.geojson")
    out = run(env, "import", msoa, "--city", CITY, "--layer", "neighbourhoods", "--default", "level=district")
    assert "28 inserted" in out
    lsoa = str(DATA / "trafford_lsoa_generalised.geojson")
    out = run(
        env, "import", lsoa, "--city", CITY, "--layer", "neighbourhoods", "--default", "level=neighbourhood"
    )
    assert "139 inserted" in out
    lookup = str(DATA / "statistical_lookup.csv")
    out = run(
        env,
        *("import", lookup, "--city", CITY, "--layer", "neighbourhoods", "--join", "code=lsoa21cd"),
        *("--map", "parent_code=msoa21cd", "--map", "name=", "--where", "lad22nm = 'Trafford'"),
    )
    assert "139 updated" in out and "139 matched" in out

    # 3. The population table, one row per area and sex, single years of age: narrowed to Persons and joined.
    table = str(DATA / "mid-year_2024_population_estimates_lsoa.csv")
    join = ["import", table, "--city", CITY, "--layer", "neighbourhoods", "--join", "code=area_code"]
    assert "more than once" in run(env, *join, "--dry-run", code=1)
    out = run(env, *join, "--where", "sex = 'Persons'")
    assert "139 updated" in out and "139 matched, 0 rows unmatched" in out
    expected = persons()
    under_6 = int(expected[[str(age) for age in range(6)]].sum().sum())
    with berlin.engine.connect() as conn:
        stored = conn.execute(
            text(
                "SELECT sum(n.population), sum((n.population_by_group ->> 'under_6')::int) "
                "FROM neighbourhood n JOIN city c ON c.id = n.city_id WHERE c.name = :n"
            ),
            {"n": CITY},
        ).one()
    assert (stored[0], stored[1]) == (int(expected["all_ages"].sum()), under_6) == (241_025, 15_587)
    # A district (MSOA) has no figure of its own: its summary adds up its LSOAs, as the lookup groups them.
    lookup_rows = pd.read_csv(DATA / "statistical_lookup.csv", dtype=str).drop_duplicates("lsoa21cd")
    in_025 = set(lookup_rows.loc[lookup_rows["msoa21nm"] == "Trafford 025", "lsoa21cd"])
    with berlin.engine.connect() as conn:
        district_id = conn.execute(
            text(
                "SELECT n.id FROM neighbourhood n JOIN city c ON c.id = n.city_id "
                "WHERE c.name = :n AND n.name = 'Trafford 025'"
            ),
            {"n": CITY},
        ).scalar_one()
    district = client_summary(env, district_id)
    assert district["population_source"] == "children"
    assert district["includes_children"]["areas"] == len(in_025)
    assert district["population"] == int(expected.loc[expected["area_code"].isin(in_025), "all_ages"].sum())

    # 4. A register of all of England's libraries (2016): refused as it is, with the way out in the message ...
    register = str(DATA / "england_libraries_2016.csv")
    assets = ["import", register, "--city", CITY, "--layer", "assets", "--source", "england-libraries-2016"]
    assets += ["--default", "category=institution", "--default", "service_types=learning,digital-inclusion"]
    refused = run(env, *assets, "--dry-run", code=1)
    assert "lie outside the city" in refused and "--clip city" in refused
    assert "Columns of the file" in refused
    # ... then the open libraries within 1,500 m of the borough (the learning radius), the numeric 'services'
    # deprivation score kept out of service_types by its values.
    out = run(env, *assets, "--where", OPEN_LIBRARIES, "--clip", "city", "--clip-buffer-m", "1500")
    kept = re.search(r"kept (\d+) of 3,238 rows: 252 dropped by --where, ([\d,]+) outside the clip area", out)
    assert kept, out
    assert int(kept.group(1)) + int(kept.group(2).replace(",", "")) == 3_238 - 252
    assert f"{kept.group(1)} inserted" in out
    # 12 open libraries in the borough in 2016 and 14 within 1,500 m of it (PROVENANCE.md).
    assert int(kept.group(1)) == 26

    # 5. The analysis: distance coverage, and no unmet-need ranking while every capacity is unknown.
    out = run(env, "analyse", "--city", CITY, "--service", "learning", "--top", "3")
    covered = re.search(r"covered share: ([\d.]+) % of 241,025 people within 1,500 m", out)
    assert covered, out
    # A rough hand check (even spread per area, straight lines, no decay) gives 86.5 %.
    assert 84.0 < float(covered.group(1)) < 89.0
    assert "capacity unknown for 26 of 26 assets: unmet need not computed" in out
    assert "Most people beyond reach" in out

    # 6. The gap map says the same, in its title box and legend (the text block), and so does its PNG's title.
    page, png = tmp_path / "trafford.html", tmp_path / "trafford.png"
    run(env, "map", "--city", CITY, "--service", "learning", "--out", str(page), "--png", str(png))
    html = page.read_text(encoding="utf-8")
    assert "capacity unknown for 26 of 26 assets" in html
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
