"""The analysis commands (`assetmap analyse`, `suggest-sites`, `what-if`, `map`) give the API's numbers."""

from __future__ import annotations

import re
import struct
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, func, select, text, update
from typer.testing import CliRunner

from app.cli import cli
from app.db.models import AnalysisCell, AnalysisRun
from tests.app.test_analysis_api import LONE_KINDERGARTEN, TOP_BEYOND_REACH_CODES, asset_id_named, start_run
from tests.app.test_analysis_maps import LEGEND, neighbourhood_layer
from tests.conftest import Berlin


@pytest.fixture
def assetmap(berlin: Berlin) -> Iterator[CliRunner]:
    """Run commands against the session database; the runs they commit are removed afterwards."""
    with berlin.engine.connect() as conn:
        last = conn.execute(select(func.coalesce(func.max(AnalysisRun.id), 0))).scalar_one()
    runner = CliRunner(
        env={
            "ASSETMAP_DATABASE_URL": berlin.url,
            "ASSETMAP_ENVIRONMENT": "test",
            "ASSETMAP_SECRET_KEY": "test-secret-0123456789abcdef",
            "ASSETMAP_TILES_URL": "",
            "COLUMNS": "200",
        }
    )
    yield runner
    with berlin.engine.begin() as conn:
        conn.execute(delete(AnalysisRun).where(AnalysisRun.id > last, AnalysisRun.user_id.is_(None)))


def invoke(runner: CliRunner, *args: str) -> str:
    result = runner.invoke(cli, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_analyse_prints_the_apis_numbers_and_writes_them(
    assetmap: CliRunner, client: TestClient, berlin: Berlin, tmp_path: Path
) -> None:
    out = tmp_path / "results.gpkg"
    text = invoke(
        assetmap,
        "analyse",
        "--city",
        "Berlin",
        "--service",
        "childcare",
        "--radius-m",
        "500",
        "--decay",
        "gaussian",
        "--top",
        "5",
        "--out",
        str(out),
    )
    cli_run = int(re.search(r"run (\d+)", text).group(1))  # type: ignore[union-attr]
    api_run = start_run(client, berlin)
    assert f"covered share: {100 * api_run['totals']['covered_share']:.2f} %" in text
    assert "covered share: 51.18 %" in text
    codes = re.findall(r"│\s+\d\s+│\s+(\d{4})\s+│", text)
    # no kindergarten's capacity is known and no default is set: ranked by children beyond reach
    assert codes == TOP_BEYOND_REACH_CODES
    assert "Most people beyond reach" in text and "unmet need not computed" in text
    # the run the command stored is the API's run: same parameters, data version and numbers
    stored = client.get(f"/api/analysis/runs/{cli_run}").json()
    assert stored["params"] == api_run["params"] and stored["data_version"] == api_run["data_version"]
    assert stored["totals"] == api_run["totals"]
    written = gpd.read_file(out)
    assert len(written) == 58 and written.crs.to_epsg() == 4326
    api_unmet = {
        f["properties"]["code"]: f["properties"]["unmet_need"]
        for f in client.get(f"/api/analysis/runs/{api_run['id']}/neighbourhoods").json()["features"]
    }
    assert dict(zip(written["code"], written["unmet_need"], strict=True)) == pytest.approx(api_unmet)


def test_suggest_sites_and_what_if_agree_with_the_api(
    assetmap: CliRunner, client: TestClient, berlin: Berlin
) -> None:
    text = invoke(assetmap, "suggest-sites", "--city", "Berlin", "--service", "childcare", "--p", "3")
    api_run = start_run(client, berlin)
    api = client.post(
        f"/api/analysis/runs/{api_run['id']}/suggest-sites", json={"p": 3}, headers=berlin.headers("planner")
    ).json()
    assert f"objective {api['objective']:,.1f}" in text and f"LP bound {api['lp_upper_bound']:,.1f}" in text
    for site in api["sites"]:
        assert f"│ {site['rank']} │ {site['name']}" in text.replace("│    ", "│ ")
    kita = asset_id_named(client, LONE_KINDERGARTEN)
    closed = invoke(assetmap, "what-if", "--city", "Berlin", "--service", "childcare", "--close", str(kita))
    api_closed = client.post(
        f"/api/analysis/runs/{api_run['id']}/what-if",
        json={"close": [kita]},
        headers=berlin.headers("planner"),
    ).json()
    people = api_closed["totals"]["population_losing_coverage"]
    assert f"{people:,.0f} people lose coverage" in closed and people > 0
    assert "0950" in closed and LONE_KINDERGARTEN in closed


def test_map_writes_the_gap_page_and_a_png(assetmap: CliRunner, berlin: Berlin, tmp_path: Path) -> None:
    text = invoke(assetmap, "analyse", "--city", "Berlin", "--service", "childcare")
    run_id = re.search(r"run (\d+)", text).group(1)  # type: ignore[union-attr]
    html, png = tmp_path / "gaps.html", tmp_path / "gaps.png"
    invoke(assetmap, "map", "--run", run_id, "--out", str(html), "--png", str(png))
    page = html.read_text(encoding="utf-8")
    assert LEGEND in page and len(neighbourhood_layer(page)) == 58
    header = png.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", header[16:24]) == (1600, 1200)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["analyse", "--city", "Atlantis", "--service", "childcare"], "--city: no city 'Atlantis'"),
        (["analyse", "--city", "Berlin", "--service", "space-travel"], "--service: unknown service type"),
        (["analyse", "--city", "Berlin", "--service", "childcare", "--radius-m", "-5"], "--radius-m:"),
        (["analyse", "--city", "Berlin", "--service", "childcare", "--decay", "linear"], "--decay:"),
        (["suggest-sites", "--p", "3"], "give --run ID, or --city and --service"),
        (["suggest-sites", "--run", "999999", "--p", "3"], "no analysis run 999999"),
        (["suggest-sites", "--city", "Berlin", "--service", "childcare", "--p", "0"], "--p:"),
        (
            ["what-if", "--city", "Berlin", "--service", "childcare", "--close", "999999"],
            "--close: asset(s) 999999",
        ),
    ],
)
def test_errors_are_one_readable_line_and_exit_code_1(
    assetmap: CliRunner, args: list[str], message: str
) -> None:
    result = assetmap.invoke(cli, args)
    assert result.exit_code == 1, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], result.output


def test_prune_runs_deletes_old_finished_runs_and_their_cells_only(
    assetmap: CliRunner, berlin: Berlin
) -> None:
    first = int(
        re.findall(r"run (\d+)", invoke(assetmap, "analyse", "--city", "Berlin", "--service", "childcare"))[0]
    )
    second = int(
        re.findall(
            r"run (\d+)", invoke(assetmap, "analyse", "--city", "Berlin", "--service", "older-people")
        )[0]
    )
    with berlin.engine.begin() as conn:
        # The first run is 40 days old; a copy of it, as old, is still queued.
        conn.execute(
            update(AnalysisRun)
            .where(AnalysisRun.id == first)
            .values(created_at=func.now() - text("interval '40 days'"))
        )
        queued = conn.execute(
            text(
                "INSERT INTO analysis_run (city_id, service_type_id, status, params, created_at) "
                "SELECT city_id, service_type_id, 'pending', params, created_at FROM analysis_run WHERE id = :r "
                "RETURNING id"
            ),
            {"r": first},
        ).scalar_one()
        cells = conn.execute(
            select(func.count()).select_from(AnalysisCell).where(AnalysisCell.run_id == first)
        ).scalar_one()
    assert cells > 0
    assert "would delete 1 finished analysis runs older than 30 days" in invoke(
        assetmap, "prune-runs", "--older-than-days", "30", "--dry-run"
    )
    assert "deleted 1 finished analysis runs older than 30 days" in invoke(
        assetmap, "prune-runs", "--older-than-days", "30"
    )
    with berlin.engine.begin() as conn:
        left = set(
            conn.execute(select(AnalysisRun.id).where(AnalysisRun.id.in_([first, second, queued]))).scalars()
        )
        assert left == {second, queued}
        assert (
            conn.execute(
                select(func.count()).select_from(AnalysisCell).where(AnalysisCell.run_id == first)
            ).scalar_one()
            == 0
        )
        conn.execute(delete(AnalysisRun).where(AnalysisRun.id == queued))
    refused = assetmap.invoke(cli, ["prune-runs", "--older-than-days", "0"])
    assert refused.exit_code != 0 and "more than zero days" in refused.output
