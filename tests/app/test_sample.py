"""The Berlin sample: what it loads, the data's known defects handled in the open, and idempotence."""

from __future__ import annotations

import os
import subprocess
import sys

from sqlalchemy import text
from sqlalchemy.orm import Session

from app.services.sample import load_berlin
from tests.conftest import Berlin


def _count(db: Session, sql: str) -> int:
    return int(db.execute(text(sql)).scalar_one())


def test_sample_has_districts_forecast_areas_and_facilities(db: Session, berlin: Berlin) -> None:
    assert _count(db, "SELECT count(*) FROM neighbourhood WHERE level = 'district'") == 12
    assert _count(db, "SELECT count(*) FROM neighbourhood WHERE level = 'neighbourhood'") == 58
    # every forecast area hangs under the district its code starts with
    assert (
        _count(
            db,
            """SELECT count(*) FROM neighbourhood n JOIN neighbourhood p ON p.id = n.parent_id
                         WHERE n.level = 'neighbourhood' AND left(n.code, 2) = p.code""",
        )
        == 58
    )
    # population totals from the 2024 tables (PROVENANCE: both sum to 3,897,145)
    assert _count(db, "SELECT sum(population) FROM neighbourhood WHERE level = 'neighbourhood'") == 3_897_145
    assert _count(db, "SELECT sum(population) FROM neighbourhood WHERE level = 'district'") == 3_897_145
    assert (
        _count(
            db,
            "SELECT sum((population_by_group->>'under_6')::int) FROM neighbourhood WHERE level = 'neighbourhood'",
        )
        > 150_000
    )
    assert _count(db, "SELECT count(*) FROM asset") == 3240
    by_source = dict(db.execute(text("SELECT source, count(*) FROM asset GROUP BY source")).all())
    assert by_source == {
        "osm:libraries": 131,
        "osm:community-centers": 444,
        "osm:schools": 117,
        "osm:kindergartens": 1175,
        "osm:clinics": 132,
        "osm:playgrounds": 1059,
        "osm:sport-centers": 182,
    }
    # points outside Berlin stay assets without a neighbourhood (PROVENANCE: 23+15+10+39+5+172+17 = 281)
    assert _count(db, "SELECT count(*) FROM asset WHERE neighbourhood_id IS NULL") == 281
    # located in forecast areas, not in districts
    assert (
        _count(
            db,
            """SELECT count(*) FROM asset a JOIN neighbourhood n ON n.id = a.neighbourhood_id
                         WHERE n.level <> 'neighbourhood'""",
        )
        == 0
    )
    # leading zeros survive, exteriors are counter-clockwise (the source rings are clockwise)
    assert _count(db, "SELECT count(*) FROM neighbourhood WHERE code = '0110'") == 1
    assert _count(db, "SELECT count(*) FROM neighbourhood WHERE NOT ST_IsPolygonCCW(geom)") == 0
    assert _count(db, "SELECT count(*) FROM neighbourhood WHERE NOT ST_IsValid(geom)") == 0
    # unnamed OSM playgrounds say so rather than being dropped
    assert (
        _count(db, "SELECT count(*) FROM asset WHERE name = 'Playground (no name in OpenStreetMap)'") == 1005
    )
    names = set(db.execute(text("SELECT name FROM neighbourhood WHERE level = 'district'")).scalars())
    assert {"Treptow-Köpenick", "Tempelhof-Schöneberg", "Neukölln"} <= names


def test_loading_again_changes_nothing(db: Session, berlin: Berlin) -> None:
    before = db.execute(text("SELECT count(*), max(id), sum(version) FROM asset")).one()
    changes_before = _count(db, "SELECT count(*) FROM change")
    report = load_berlin(db, berlin.settings)
    assert report.counts["assets inserted or changed"] == 0
    assert report.counts["neighbourhoods inserted or changed"] == 0
    assert db.execute(text("SELECT count(*), max(id), sum(version) FROM asset")).one() == before
    assert _count(db, "SELECT count(*) FROM change") == changes_before


def test_cli_help_lists_the_commands() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "app.cli", "--help"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0
    for command in ("db", "load-sample", "serve", "user"):
        assert command in result.stdout
    db_help = subprocess.run(
        [sys.executable, "-m", "app.cli", "db", "--help"], capture_output=True, text=True, timeout=60
    )
    for command in ("up", "upgrade", "downgrade"):
        assert command in db_help.stdout


def test_cli_user_commands_manage_accounts(berlin: Berlin) -> None:
    env = {**os.environ, "ASSETMAP_DATABASE_URL": berlin.url}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "app.cli", *args], env=env, capture_output=True, text=True, timeout=120
        )

    added = run("user", "add", "cli-organiser", "--role", "organiser", "--password", "a long password")
    assert added.returncode == 0, added.stderr
    assert run("user", "assign", "cli-organiser", "0930", "0110", "--city", "Berlin").returncode == 0
    listed = run("user", "list")
    line = next(ln for ln in listed.stdout.splitlines() if "cli-organiser" in ln)
    assert "organiser" in line and "0110" in line and "0930" in line
    assert run("user", "set-role", "cli-organiser", "planner").returncode == 0
    assert "planner" in next(ln for ln in run("user", "list").stdout.splitlines() if "cli-organiser" in ln)
    bad = run("user", "set-role", "cli-organiser", "emperor")
    assert bad.returncode == 1 and "unknown role" in bad.stderr
    missing = run("user", "assign", "cli-organiser", "9999", "--city", "Berlin")
    assert missing.returncode == 1 and "9999" in missing.stderr
    assert "revoked 0 key(s)" in run("user", "revoke-key", "cli-organiser").stdout
