"""Street networks: `assetmap streets import` (GeoPackage, OSM .osm.pbf), provenance, and runs on foot."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import numpy as np
import osmium
import pytest
import shapely
from fastapi.testclient import TestClient
from sqlalchemy import delete, func, select, text
from typer.testing import CliRunner

from app.cli import cli
from app.db.models import AnalysisRun
from tests.app.test_analysis_api import LONE_KINDERGARTEN, asset_id_named, start_run
from tests.conftest import Berlin
from tests.geo.test_streets import river_grid

ORIGIN = np.array([390_000.0, 5_820_000.0])  # EPSG:25833, in Berlin


@pytest.fixture
def assetmap(berlin: Berlin) -> Iterator[CliRunner]:
    with berlin.engine.connect() as conn:
        last = conn.execute(select(func.coalesce(func.max(AnalysisRun.id), 0))).scalar_one()
    yield CliRunner(
        env={
            "ASSETMAP_DATABASE_URL": berlin.url,
            "ASSETMAP_ENVIRONMENT": "test",
            "ASSETMAP_SECRET_KEY": "test-secret-0123456789abcdef",
            "COLUMNS": "250",
        }
    )
    with berlin.engine.begin() as conn:
        conn.execute(delete(AnalysisRun).where(AnalysisRun.id > last, AnalysisRun.user_id.is_(None)))


@pytest.fixture
def town(berlin: Berlin, assetmap: CliRunner) -> Iterator[str]:
    """A new city measured in EPSG:25833; deleted with its street network afterwards."""
    name = f"Flussdorf-{secrets.token_hex(3)}"
    result = assetmap.invoke(cli, ["city", "add", name, "--country", "DE", "--crs", "EPSG:25833"])
    assert result.exit_code == 0, result.output
    yield name
    with berlin.engine.begin() as conn:
        conn.execute(text("DELETE FROM city WHERE name = :n"), {"n": name})


def grid_file(folder: Path) -> Path:
    lines = [shapely.transform(line, lambda xy: xy + ORIGIN) for line in river_grid()]
    frame = gpd.GeoDataFrame({"name": [f"street {i}" for i in range(len(lines))]}, geometry=lines, crs=25833)
    path = folder / "grid.gpkg"
    frame.to_file(path, driver="GPKG", layer="streets")
    return path


def osm_file(folder: Path) -> Path:
    """Three ways: a street (kept), a motorway (dropped) and a footway crossing the street at a shared node."""
    path = folder / "tiny.osm.pbf"
    writer = osmium.SimpleWriter(str(path))
    nodes = {1: (13.40, 52.50), 2: (13.41, 52.50), 3: (13.42, 52.50), 4: (13.41, 52.51), 5: (13.41, 52.49)}
    for node_id, location in nodes.items():
        writer.add_node(osmium.osm.mutable.Node(id=node_id, location=location))
    writer.add_way(osmium.osm.mutable.Way(id=10, nodes=[1, 2, 3], tags={"highway": "residential"}))
    writer.add_way(osmium.osm.mutable.Way(id=11, nodes=[1, 4], tags={"highway": "motorway"}))
    writer.add_way(osmium.osm.mutable.Way(id=12, nodes=[4, 2, 5], tags={"highway": "footway"}))
    writer.close()
    return path


def invoke(runner: CliRunner, *args: str) -> str:
    result = runner.invoke(cli, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def network_row(berlin: Berlin, city: str) -> dict[str, object]:
    with berlin.engine.connect() as conn:
        row = (
            conn.execute(
                text("SELECT n.* FROM street_network n JOIN city c ON c.id = n.city_id WHERE c.name = :n"),
                {"n": city},
            )
            .mappings()
            .one()
        )
        edges = conn.execute(
            text("SELECT count(*), sum(length_m) FROM street_edge WHERE network_id = :id"), {"id": row["id"]}
        ).one()
    return {**row, "edge_rows": edges[0], "edge_length_m": edges[1]}


def test_import_a_geopackage_keeps_its_provenance(
    assetmap: CliRunner, berlin: Berlin, town: str, tmp_path: Path
) -> None:
    path = grid_file(tmp_path)
    out = invoke(
        assetmap,
        "streets",
        "import",
        str(path),
        "--city",
        town,
        "--licence",
        "CC0",
        "--attribution",
        "test grid",
    )
    assert "imported the street network" in out
    row = network_row(berlin, town)
    assert row["source_name"] == "grid.gpkg" and row["source_format"] == "GPKG"
    assert row["licence"] == "CC0" and row["attribution"] == "test grid"
    assert row["crs"] == "EPSG:25833"
    counts = row["counts"]
    assert counts["features_read"] == len(river_grid()) and counts["kept"] == len(river_grid())
    assert counts["nodes"] == 102 and counts["edges"] == 172
    assert counts["connected_parts"] == 2
    assert row["edge_rows"] == 172
    assert row["edge_length_m"] == pytest.approx(171 * 100 + 1000 * 2**0.5, rel=1e-6)
    shown = invoke(assetmap, "streets", "show", "--city", town)
    assert "grid.gpkg" in shown and "CC0" in shown
    # Importing again replaces the network.
    invoke(assetmap, "streets", "import", str(path), "--city", town)
    with berlin.engine.connect() as conn:
        assert (
            conn.execute(
                text(
                    "SELECT count(*) FROM street_network n JOIN city c ON c.id = n.city_id WHERE c.name = :n"
                ),
                {"n": town},
            ).scalar()
            == 1
        )


def test_import_osm_keeps_walkable_ways_only(
    assetmap: CliRunner, berlin: Berlin, town: str, tmp_path: Path
) -> None:
    invoke(assetmap, "streets", "import", str(osm_file(tmp_path)), "--city", town, "--licence", "ODbL")
    row = network_row(berlin, town)
    assert row["source_format"] == "osm"
    counts = row["counts"]
    assert counts["features_read"] == 3 and counts["not_walkable"] == 1 and counts["kept"] == 2
    # The street and the footway share node 2: four edges meeting there, one connected part.
    assert counts["edges"] == 4 and counts["nodes"] == 5 and counts["connected_parts"] == 1
    with berlin.engine.connect() as conn:
        kinds = set(
            conn.execute(
                text("SELECT highway FROM street_edge WHERE network_id = :i"), {"i": row["id"]}
            ).scalars()
        )
    assert kinds == {"residential", "footway"}


def test_a_bad_file_and_a_city_without_a_network_give_clear_errors(
    assetmap: CliRunner, town: str, tmp_path: Path
) -> None:
    bad = tmp_path / "points.geojson"
    gpd.GeoDataFrame(geometry=[shapely.Point(13.4, 52.5)], crs=4326).to_file(bad, driver="GeoJSON")
    result = assetmap.invoke(cli, ["streets", "import", str(bad), "--city", town])
    assert result.exit_code == 1 and "no walkable street lines" in result.output
    result = assetmap.invoke(cli, ["streets", "show", "--city", town])
    assert result.exit_code == 1 and "no street network" in result.output
    result = assetmap.invoke(
        cli, ["analyse", "--city", town, "--service", "childcare", "--distance", "network"]
    )
    assert result.exit_code == 1
    assert "has no street network" in result.output and "streets import" in result.output


def test_the_sample_carries_berlins_network_with_its_licence(berlin: Berlin) -> None:
    row = network_row(berlin, "Berlin")
    assert row["source_name"] == "berlin-streets-radvorrangsnetz.gpkg"
    assert "dl-de/zero-2.0" in str(row["licence"])
    assert row["counts"]["edges"] == 5285


def test_a_run_on_foot_records_its_distances_and_covers_less(client: TestClient, berlin: Berlin) -> None:
    straight = start_run(client, berlin, resolution=8)
    walking = start_run(client, berlin, resolution=8, distance="network")
    assert straight["params"]["distance"] == "straight"
    assert walking["params"]["distance"] == "network"
    assert walking["totals"]["distance"] == "network"
    assert walking["totals"]["network_source"] == "berlin-streets-radvorrangsnetz.gpkg"
    assert walking["totals"]["unit_snap_m_median"] > 0
    # A walk is never shorter than the straight line, so no more need is within reach on foot.
    assert walking["totals"]["covered_need"] < straight["totals"]["covered_need"]


def test_a_run_on_foot_in_a_city_without_a_network_is_a_422(
    client: TestClient, berlin: Berlin, town: str
) -> None:
    response = client.post(
        "/api/analysis/runs",
        json={"city": town, "service_type": "childcare", "distance": "network"},
        headers=berlin.headers("planner"),
    )
    assert response.status_code == 422, response.text
    assert "has no street network" in response.text
    assert response.json()["errors"][0]["field"] == "distance"


def test_the_gap_map_on_foot_shows_where_the_straight_line_misleads_and_walking_times(
    client: TestClient, berlin: Berlin
) -> None:
    walking = start_run(client, berlin, resolution=8, distance="network")
    alone = client.get(f"/maps/gaps?run={walking['id']}", headers=berlin.headers("planner"))
    assert alone.status_code == 200, alone.text
    assert "Distances: on foot along the streets (80 m a minute)" in alone.text
    assert "To see where the straight line misleads" in alone.text
    straight = start_run(client, berlin, resolution=8)
    kita = asset_id_named(client, LONE_KINDERGARTEN)
    page = client.get(f"/maps/gaps?run={walking['id']}&walk_from={kita}", headers=berlin.headers("planner"))
    assert page.status_code == 200, page.text
    html = page.text
    assert "Covered by the straight line but not on foot" in html
    assert f"(run {straight['id']}) are farther on foot" in html
    for minutes in (5, 10, 15):
        assert f"{minutes} min on foot" in html
    assert "Walking time, 5, 10, 15 min" in html and "min on foot from Der Friedrichshagener" in html
    plain = client.get(f"/maps/gaps?run={straight['id']}", headers=berlin.headers("planner"))
    assert "Distances: straight line" in plain.text
    assert "Covered by the straight line but not on foot" not in plain.text
    missing = client.get(
        f"/maps/gaps?run={walking['id']}&walk_from=2147483647", headers=berlin.headers("planner")
    )
    assert missing.status_code == 404


def test_the_command_line_runs_on_foot(assetmap: CliRunner, client: TestClient) -> None:
    out = invoke(assetmap, "analyse", "--city", "Berlin", "--service", "childcare", "--distance", "network")
    assert "network distances" in out
    kita = asset_id_named(client, LONE_KINDERGARTEN)
    closing = invoke(
        assetmap,
        "what-if",
        "--city",
        "Berlin",
        "--service",
        "childcare",
        "--distance",
        "network",
        "--close",
        str(kita),
    )
    assert "people lose coverage" in closing
    sites = invoke(
        assetmap,
        "suggest-sites",
        "--city",
        "Berlin",
        "--service",
        "childcare",
        "--distance",
        "network",
        "--p",
        "2",
    )
    assert "Suggested sites" in sites
    result = assetmap.invoke(
        cli, ["analyse", "--city", "Berlin", "--service", "childcare", "--distance", "crow"]
    )
    assert result.exit_code != 0


def test_the_command_line_writes_the_walking_map(
    assetmap: CliRunner, client: TestClient, tmp_path: Path
) -> None:
    kita = asset_id_named(client, LONE_KINDERGARTEN)
    out = tmp_path / "walk.html"
    invoke(
        assetmap,
        "map",
        "--city",
        "Berlin",
        "--service",
        "childcare",
        "--distance",
        "network",
        "--walk-from",
        str(kita),
        "--out",
        str(out),
    )
    html = out.read_text(encoding="utf-8")
    assert "Distances: on foot along the streets" in html
    assert "15 min on foot from Der Friedrichshagener Kinderladen" in html
