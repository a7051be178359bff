"""The analysis map pages: /maps/gaps and /maps/network on the Berlin sample, bad input, hostile names."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.app.helpers import create_asset
from tests.app.test_analysis_api import LONE_KINDERGARTEN, asset_id_named, set_default_capacity, start_run
from tests.conftest import Berlin
from tests.inert_text import assert_map_shows_as_text, map_text_block

LEGEND = 'id="assetmap-legend"'
HOSTILE = "<img src=x onerror=alert(1)> ${document.title=1} `tick` </script><script>alert(2)</script>"


def text_layers(page: str) -> list[dict[str, Any]]:
    """The text a map page shows for each layer's features, as {"features": [{"properties": ...}]}."""
    return [
        {"features": [{"properties": dict(zip(layer["columns"], row, strict=True))} for row in layer["rows"]]}
        for layer in map_text_block(page)["layers"]
    ]


def neighbourhood_layer(page: str) -> list[dict[str, Any]]:
    """The features of the gap-share layer (the one whose features have a 'gap' property)."""
    layers = [
        layer
        for layer in text_layers(page)
        if layer["features"] and "gap" in layer["features"][0]["properties"]
    ]
    assert len(layers) == 1
    return layers[0]["features"]  # type: ignore[no-any-return]


def test_the_gap_map_of_a_run_shows_58_neighbourhoods_and_a_legend(
    client: TestClient, berlin: Berlin
) -> None:
    run = start_run(client, berlin)
    page = client.get("/maps/gaps", params={"run": run["id"]})
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    html = page.text
    text = map_text_block(html)
    # the sample has no kindergarten's capacity and no default is set: shaded by need beyond reach
    assert LEGEND in html
    assert text["legend"][0]["heading"] == "Share of need beyond reach, % (unmet need not computed)"
    assert text["title"]["heading"] == "Coverage gaps: Childcare in Berlin"
    assert [["Catchment radius: 500 m", False]] in text["title"]["lines"]
    assert f'data-run-id="{run["id"]}"' in html and f'href="/api/analysis/runs/{run["id"]}"' in html
    features = neighbourhood_layer(html)
    assert len(features) == 58
    marzahn = next(f["properties"] for f in features if f["properties"]["name"].startswith("Marzahn ("))
    assert marzahn["unmet"] == "not computable (capacity unknown)" and marzahn["nearest"] != "\u2013"
    assert marzahn["gap"] == marzahn["access"] == "not computable (capacity unknown)"
    assert marzahn["covered"] == "15 %"
    # said in the title box and in the legend, as text
    assert [["capacity unknown for 1175 of 1175 assets", True]] in text["title"]["lines"]
    capacity = next(section for section in text["legend"] if section["heading"] == "Capacity")
    assert [row["text"] for row in capacity["rows"]] == [
        "capacity unknown for 1175 of 1175 assets",
        "unmet need not computed: shaded by need beyond reach",
    ]
    # the map loads Leaflet from the application, not from a CDN; no basemap is configured in the tests
    assert "/static/vendor/leaflet/leaflet.js" in html and "cdn.jsdelivr" not in html
    assert "tile.openstreetmap.org" not in html
    # scripts from this origin and the page's own inline scripts (by hash) only
    scripts = next(p for p in page.headers["content-security-policy"].split(";") if "script-src" in p)
    assert "'unsafe-inline'" not in scripts and "'sha256-" in scripts and "http" not in scripts


def test_the_gap_map_with_a_default_capacity_shows_unmet_need_and_says_so(
    client: TestClient, berlin: Berlin
) -> None:
    set_default_capacity(client, berlin, 60)
    run = start_run(client, berlin)
    assert run["params"]["default_capacity"] == 60
    html = client.get("/maps/gaps", params={"run": run["id"]}).text
    text = map_text_block(html)
    assert text["legend"][0]["heading"] == "Share of need unmet, %"
    assert [["default capacity 60 used for them", True]] in text["title"]["lines"]
    legend_texts = [row["text"] for section in text["legend"] for row in section["rows"]]
    assert "capacity unknown for 1175 of 1175 assets" in legend_texts
    assert "default capacity 60 used for them" in legend_texts
    marzahn = next(
        f["properties"] for f in neighbourhood_layer(html) if f["properties"]["name"].startswith("Marzahn (")
    )
    assert marzahn["unmet"] == "6,291 people"


def test_the_gap_map_of_a_city_and_service_reuses_the_run_on_current_data(
    client: TestClient, berlin: Berlin
) -> None:
    # A view never computes a run (tests/app/test_analysis_bounds.py has the rest): it shows the latest one.
    made = start_run(client, berlin)
    first = client.get("/maps/gaps", params={"city": "Berlin", "service": "childcare"})
    assert first.status_code == 200 and LEGEND in first.text and f'data-run-id="{made["id"]}"' in first.text
    runs_after_first = client.get(
        "/api/analysis/runs", params={"city": "Berlin", "service_type": "childcare"}
    ).json()
    again = client.get("/maps/gaps", params={"city": "Berlin", "service": "childcare"})
    assert again.status_code == 200
    runs_after_again = client.get(
        "/api/analysis/runs", params={"city": "Berlin", "service_type": "childcare"}
    ).json()
    assert [r["id"] for r in runs_after_again["items"]] == [r["id"] for r in runs_after_first["items"]]
    latest = runs_after_first["items"][0]
    assert latest["params"]["radius_m"] == 500 and latest["status"] == "succeeded"
    # after an edit the page still shows that run and says it is older than the data; a planner's view queues
    # a new run on the new data version
    kita = asset_id_named(client, LONE_KINDERGARTEN)
    client.patch(f"/api/assets/{kita}", json={"capacity": 40, "version": 1}, headers=berlin.headers("admin"))
    stale = client.get("/maps/gaps", params={"city": "Berlin", "service": "childcare"})
    assert stale.status_code == 200 and "assetmap-stale" in stale.text
    waiting = client.get(
        "/maps/gaps", params={"city": "Berlin", "service": "childcare"}, headers=berlin.headers("planner")
    )
    assert waiting.status_code == 202
    newest = client.get("/api/analysis/runs", params={"city": "Berlin"}).json()["items"][0]
    assert newest["id"] != latest["id"] and newest["data_version"] != latest["data_version"]


def test_the_gap_map_shows_suggested_sites(client: TestClient, berlin: Berlin) -> None:
    run = start_run(client, berlin)
    suggestion = client.post(
        f"/api/analysis/runs/{run['id']}/suggest-sites", json={"p": 3}, headers=berlin.headers("planner")
    ).json()
    html = client.get("/maps/gaps", params={"run": run["id"]}).text
    assert "Suggested sites (3)" in html
    sites = [
        layer
        for layer in text_layers(html)
        if layer["features"] and "gain" in layer["features"][0]["properties"]
    ]
    assert [f["properties"]["name"] for f in sites[0]["features"]] == [s["name"] for s in suggestion["sites"]]


def test_bad_map_requests_are_4xx(client: TestClient, berlin: Berlin) -> None:
    assert client.get("/maps/gaps").status_code == 422
    assert client.get("/maps/gaps", params={"city": "Berlin"}).status_code == 422
    assert client.get("/maps/gaps", params={"city": "Atlantis", "service": "childcare"}).status_code == 404
    unknown_service = client.get("/maps/gaps", params={"city": "Berlin", "service": "space-travel"})
    assert unknown_service.status_code == 422 and unknown_service.json()["field"] == "service"
    assert client.get("/maps/gaps", params={"run": 999999}).status_code == 404
    assert client.get("/maps/gaps", params={"run": "x"}).status_code == 422
    assert client.get("/maps/network").status_code == 422
    assert client.get("/maps/network", params={"city": "Atlantis"}).status_code == 404


def test_the_network_map_marks_brokers_and_isolated_assets(client: TestClient, berlin: Berlin) -> None:
    a, b, c = (create_asset(client, berlin, name=f"Network member {i}")["id"] for i in range(3))
    for source, target in ((b, a), (b, c)):
        created = client.post(
            "/api/links",
            json={"source_asset_id": source, "target_asset_id": target, "kind": "referral"},
            headers=berlin.headers("admin"),
        )
        assert created.status_code == 201
    page = client.get("/maps/network", params={"city": "Berlin"})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    html = page.text
    text = map_text_block(html)
    legend_texts = [row["text"] for section in text["legend"] for row in section["rows"]]
    assert (
        LEGEND in html
        and "Broker (high betweenness)" in legend_texts
        and "Isolated (no links)" in legend_texts
    )
    assert "assetmap-broker" in html and text["title"]["lines"][1][0][0].startswith("1 brokers")
    nodes = [
        layer
        for layer in text_layers(html)
        if layer["features"] and "degree" in layer["features"][0]["properties"]
    ]
    degrees = {f["properties"]["name"]: f["properties"]["degree"] for f in nodes[0]["features"]}
    assert degrees["Network member 1"] == "2" and degrees["Network member 0"] == "1"
    assert len(nodes[0]["features"]) == 3243  # every published asset of the sample and the three new ones


def test_hostile_asset_names_are_only_text_on_the_gap_map(client: TestClient, berlin: Berlin) -> None:
    create_asset(
        client,
        berlin,
        name=HOSTILE,
        category="institution",
        service_types=["childcare"],
        geometry={"type": "Point", "coordinates": [13.5450, 52.5440]},
    )
    start_run(client, berlin)  # a view of the map shows the latest run, it makes none
    page = client.get("/maps/gaps", params={"city": "Berlin", "service": "childcare"})
    assert page.status_code == 200
    html = page.text
    assert_map_shows_as_text(html, HOSTILE)  # only in the page's text block, which the page shows as text
    for raw in ("<img src=x", "</script><script>alert(2)"):
        assert raw not in html, raw
    # drawn, as text: in its catchment ring's tooltip ...
    names = {f["properties"].get("name") for layer in text_layers(html) for f in layer["features"]}
    assert HOSTILE in names
    # ... and as the kindergarten nearest to most children of Marzahn, in the area's popup
    marzahn = next(
        f["properties"] for f in neighbourhood_layer(html) if f["properties"]["name"].startswith("Marzahn (")
    )
    assert HOSTILE in marzahn["nearest"]
