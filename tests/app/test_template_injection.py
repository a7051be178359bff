"""Template syntax typed into every community field is shown as typed on every page, map and output, never run.

The critical finding of the security review: a name holding `{{ ... }}` was computed on the server when a map
page was opened, and `{% ... %}` made pages fail. Here the payloads arrive through the API, an import and an
approved contribution, then every page and map is opened while every compiled Jinja template source is
recorded: none may hold community text.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import pytest
import shapely
from fastapi.testclient import TestClient
from sqlalchemy import text
from typer.testing import CliRunner

from app.cli import cli
from geo.escape import escape_text
from tests.app.test_imports import post_import
from tests.conftest import Berlin
from tests.inert_text import (
    EVALUATED,
    assert_map_shows_as_text,
    assert_not_in_templates,
    compiled_template_sources,
    map_text_block,
    strings_in,
)

# Every kind of template syntax, short enough for any field (names hold 200 characters).
PAYLOAD = (
    "{{ 'evaluated'|upper }} {% raw %} {% if 1 %} {# c #} ${'evalu'+'ated'.toUpperCase()} "
    "<%= 1 %> {0.__class__} %(x)s [bold]b[/bold] :smile: $x^2$"
)
CODE = "{{ 'evaluated'|upper }}{% raw %}"  # codes hold 64 characters
LON, LAT = 11.0, 51.0


def square(lon: float, lat: float, half: float = 0.01) -> dict[str, Any]:
    ring = [
        [lon - half, lat - half],
        [lon + half, lat - half],
        [lon + half, lat + half],
        [lon - half, lat + half],
    ]
    return {"type": "Polygon", "coordinates": [[*ring, ring[0]]]}


def point(dx: float = 0.0, dy: float = 0.0) -> dict[str, Any]:
    return {"type": "Point", "coordinates": [LON + dx, LAT + dy]}


@dataclass
class Hostile:
    """A city whose every typed field carries template syntax, and the ids the pages need."""

    city_id: int
    neighbourhood_id: int
    service: str
    pending_asset_id: int


def created(response: Any) -> dict[str, Any]:
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


@pytest.fixture
def hostile(client: TestClient, berlin: Berlin) -> Hostile:
    """Payloads through the API, an import and a contribution that a reviewer approved (rolled back after)."""
    admin = berlin.headers("admin")
    city = created(
        client.post(
            "/api/cities",
            json={"name": f"City {PAYLOAD}", "country": PAYLOAD[:100], "data_date": CODE},
            headers=admin,
        )
    )
    service = created(
        client.post(
            "/api/service-types",
            json={"slug": "hostile-help", "name": f"Help {PAYLOAD}", "default_radius_m": 800},
            headers=admin,
        )
    )["slug"]
    hood = created(
        client.post(
            "/api/neighbourhoods",
            json={
                "city": city["id"],
                "code": CODE,
                "name": f"Area {PAYLOAD}",
                "population": 900,
                "population_by_group": {"under_6": 40},
                "geometry": square(LON, LAT),
            },
            headers=admin,
        )
    )
    first = created(
        client.post(
            "/api/assets",
            json={
                "city": city["id"],
                "name": f"Asset {PAYLOAD}",
                "category": "association",
                "description": PAYLOAD,
                "service_types": [service],
                "contact": PAYLOAD,
                "opening_hours": PAYLOAD,
                "capacity_unit": PAYLOAD[:50],
                "geometry": point(0.002),
            },
            headers=admin,
        )
    )
    created(
        client.post(
            "/api/needs",
            json={
                "city": city["id"],
                "service_type": service,
                "people_affected": 12,
                "description": PAYLOAD,
                "geometry": point(-0.002),
            },
            headers=admin,
        )
    )
    created(
        client.post(
            "/api/resources",
            json={
                "kind": "volunteers",
                "quantity": 3,
                "unit": PAYLOAD[:50],
                "description": PAYLOAD,
                "asset_id": first["id"],
            },
            headers=admin,
        )
    )
    # An import: a register whose names carry the payload.
    register = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [LON + 0.004 * i, LAT + 0.003]},
                "properties": {"id": f"R{i}", "name": f"Imported {i} {PAYLOAD}", "category": "culture"},
            }
            for i in range(3)
        ],
    }
    record = post_import(
        client,
        berlin,
        [("register.geojson", json.dumps(register).encode())],
        city=str(city["id"]),
        layer="assets",
        defaults={"service_types": service},
    )
    assert record.status_code == 201, record.text
    # A contribution, approved by a reviewer, and one still pending.
    contributor = berlin.headers("contributor")
    proposed = created(
        client.post(
            "/api/assets",
            json={
                "city": city["id"],
                "name": f"Proposed {PAYLOAD}",
                "category": "culture",
                "description": PAYLOAD,
                "service_types": [service],
                "geometry": point(0.001, 0.004),
            },
            headers=contributor,
        )
    )
    review = client.post(f"/api/assets/{proposed['id']}/review", json={"decision": "approve"}, headers=admin)
    assert review.status_code == 200, review.text
    pending = created(
        client.post(
            "/api/assets",
            json={
                "city": city["id"],
                "name": f"Pending {PAYLOAD}",
                "category": "economy",
                "service_types": [service],
                "geometry": point(-0.003, 0.004),
            },
            headers=contributor,
        )
    )
    for source, target in ((first["id"], proposed["id"]),):
        created(
            client.post(
                "/api/links",
                json={
                    "source_asset_id": source,
                    "target_asset_id": target,
                    "kind": "partnership",
                    "description": PAYLOAD,
                },
                headers=admin,
            )
        )
    return Hostile(city["id"], hood["id"], service, pending["id"])


def shown(page: str) -> set[str]:
    """Every text a map page shows (its JSON text block)."""
    return set(strings_in(map_text_block(page)))


def assert_page_is_inert(response: Any) -> str:
    assert response.status_code == 200, response.text[:500]
    assert response.headers["content-type"].startswith("text/html")
    for product in EVALUATED:
        assert product not in response.text, f"{product!r} on {response.url}: a template ran"
    return response.text  # type: ignore[no-any-return]


def test_every_page_and_map_shows_template_syntax_as_typed(
    client: TestClient, berlin: Berlin, hostile: Hostile
) -> None:
    admin = berlin.headers("admin")
    public_run = created(
        client.post(
            "/api/analysis/runs",
            json={"city": hostile.city_id, "service_type": hostile.service, "radius_m": 800},
            headers=admin,
        )
    )
    staff_run = created(
        client.post(
            "/api/analysis/runs",
            json={
                "city": hostile.city_id,
                "service_type": hostile.service,
                "radius_m": 600,
                "include_pending": True,
            },
            headers=admin,
        )
    )
    with compiled_template_sources() as sources:
        pages = {
            "start": client.get("/"),
            "profile": client.get(f"/maps/neighbourhoods/{hostile.neighbourhood_id}"),
            "network": client.get("/maps/network", params={"city": hostile.city_id}),
            "gaps": client.get("/maps/gaps", params={"run": public_run["id"]}),
            "staff gaps": client.get("/maps/gaps", params={"run": staff_run["id"]}, headers=admin),
            "editor": client.get("/map/edit", params={"city": hostile.city_id}, headers=admin),
            "import": client.get("/maps/import", headers=berlin.headers("gis")),
        }
        error_page = client.get(
            "/maps/network", params={"city": f"x {PAYLOAD}"}, headers={"accept": "text/html"}
        )
    texts = {name: assert_page_is_inert(response) for name, response in pages.items()}
    assert_not_in_templates(sources, [PAYLOAD, CODE, f"Asset {PAYLOAD}", f"Area {PAYLOAD}"])

    for name in ("network", "gaps", "staff gaps"):
        assert_map_shows_as_text(texts[name], PAYLOAD)
    staff, public = shown(texts["staff gaps"]), shown(texts["gaps"])
    assert f"Pending {PAYLOAD}" in staff and f"Pending {PAYLOAD}" not in public
    assert f"Imported 0 {PAYLOAD}" in public and f"Proposed {PAYLOAD}" in public
    assert f"Help {PAYLOAD}" in {
        segment[0] for line in map_text_block(texts["gaps"])["title"]["lines"] for segment in line
    }
    # The profile page shows the name as text (escaped by the page's template) and its map as data.
    assert "Area {{ &#39;evaluated&#39;|upper }}" in texts["profile"]
    assert escape_text(f"City {PAYLOAD}") in texts["start"]
    # An error page repeats what was asked for as text.
    assert error_page.status_code == 404 and error_page.headers["content-type"].startswith("text/html")
    for product in EVALUATED:
        assert product not in error_page.text


def test_exports_and_the_api_give_template_syntax_back_as_typed(
    client: TestClient, berlin: Berlin, hostile: Hostile
) -> None:
    listed = client.get("/api/assets", params={"city": hostile.city_id, "limit": 50}).json()
    names = {feature["properties"]["name"] for feature in listed["features"]}
    assert f"Asset {PAYLOAD}" in names and f"Imported 2 {PAYLOAD}" in names
    exported = client.get("/api/exports/assets", params={"city": hostile.city_id, "format": "csv"})
    assert exported.status_code == 200
    assert f"Asset {PAYLOAD}" in exported.content.decode("utf-8")
    summary = client.get(f"/api/neighbourhoods/{hostile.neighbourhood_id}/summary")
    assert summary.status_code == 200 and summary.json()["name"] == f"Area {PAYLOAD}"


# Rich markup ("[/x]" alone stops a careless print with an error), emoji codes and Jinja, short enough that a
# terminal table keeps it on one line.
CLI_PAYLOAD = "[bold]b[/bold] [/x] :smile: {{ 'evaluated'|upper }} {% raw %}"


@pytest.fixture
def cli_city(berlin: Berlin) -> Iterator[str]:
    """A committed city named with the payload, removed with everything in it afterwards."""
    name = f"CLI {CLI_PAYLOAD} {secrets.token_hex(3)}"
    with berlin.engine.begin() as conn:
        city_id = conn.execute(
            text("INSERT INTO city (name) VALUES (:n) RETURNING id"), {"n": name}
        ).scalar_one()
    yield name
    with berlin.engine.begin() as conn:
        conn.execute(text("DELETE FROM analysis_run WHERE city_id = :c"), {"c": city_id})
        conn.execute(text("DELETE FROM change WHERE city_id = :c"), {"c": city_id})
        conn.execute(text("DELETE FROM city WHERE id = :c"), {"c": city_id})


def run_cli(env: dict[str, str], *args: str) -> str:
    result = CliRunner().invoke(cli, list(args), env=env)
    assert result.exit_code == 0, result.output
    for product in EVALUATED:
        assert product not in result.output, f"{product!r} printed by {args}: a template ran"
    return result.output


def test_the_command_line_prints_and_writes_template_syntax_as_typed(
    berlin: Berlin, cli_city: str, tmp_path: Path
) -> None:
    env = {
        "ASSETMAP_DATABASE_URL": berlin.url,
        "ASSETMAP_ENVIRONMENT": "test",
        "ASSETMAP_SECRET_KEY": "test-secret-0123456789abcdef",
        "ASSETMAP_TILES_URL": "",
        "COLUMNS": "250",
    }
    hoods = gpd.GeoDataFrame(
        {
            "code": ["H1", "H2"],
            "name": [f"Area {CLI_PAYLOAD}", "Plain"],
            "population": [900, 800],
            "pop_under_6": [60, 50],
        },
        geometry=[
            shapely.box(LON - 0.01, LAT - 0.01, LON, LAT + 0.01),
            shapely.box(LON, LAT - 0.01, LON + 0.01, LAT + 0.01),
        ],
        crs="EPSG:4326",
    )
    assets = gpd.GeoDataFrame(
        {
            "id": ["A1", "A2"],
            "name": [f"Kita {CLI_PAYLOAD}", "Kita plain"],
            "category": ["institution"] * 2,
            "service_types": ["childcare"] * 2,
        },
        geometry=shapely.points([[LON - 0.008, LAT], [LON + 0.008, LAT + 0.008]]),
        crs="EPSG:4326",
    )
    hoods.to_file(tmp_path / "areas.geojson", driver="GeoJSON")
    assets.to_file(tmp_path / "kitas.geojson", driver="GeoJSON")

    dry = run_cli(
        env,
        "import",
        str(tmp_path / "areas.geojson"),
        "--city",
        cli_city,
        "--layer",
        "neighbourhoods",
        "--dry-run",
    )
    assert "Area [bold]b[/bold] [/x] :smile: {{" in dry  # the preview cuts long cells
    run_cli(env, "import", str(tmp_path / "areas.geojson"), "--city", cli_city, "--layer", "neighbourhoods")
    loaded = run_cli(env, "import", str(tmp_path / "kitas.geojson"), "--city", cli_city, "--layer", "assets")
    assert cli_city in loaded  # the success line names the city as typed

    analysed = run_cli(env, "analyse", "--city", cli_city, "--service", "childcare", "--radius-m", "500")
    assert f"Area {CLI_PAYLOAD}" in analysed and f"in {cli_city}" in analysed
    run_id = re.search(r"run (\d+)", analysed).group(1)  # type: ignore[union-attr]
    suggested = run_cli(env, "suggest-sites", "--run", run_id, "--p", "1", "--candidates", "h3")
    assert "Suggested sites" in suggested

    with compiled_template_sources() as sources:
        run_cli(
            env,
            "map",
            "--run",
            run_id,
            "--out",
            str(tmp_path / "gaps.html"),
            "--png",
            str(tmp_path / "gaps.png"),
        )
    page = (tmp_path / "gaps.html").read_text(encoding="utf-8")
    assert_map_shows_as_text(page, f"Kita {CLI_PAYLOAD}")
    assert_not_in_templates(sources, [CLI_PAYLOAD])
    assert (tmp_path / "gaps.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    run_cli(
        env, "export", "--city", cli_city, "--layer", "assets", "--format", "csv", str(tmp_path / "out.csv")
    )
    assert f"Kita {CLI_PAYLOAD}" in (tmp_path / "out.csv").read_text(encoding="utf-8")
