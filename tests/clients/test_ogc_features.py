"""OGC API Features under /ogc read by real clients (GDAL's OAPIF driver, OWSLib, QGIS) and checked against the
standard's abstract tests (Part 1 core/GeoJSON/OAS30, Part 2 CRS, Part 3 filters)."""

from __future__ import annotations

import json
import os
import subprocess
import textwrap
from pathlib import Path
from typing import Any

import httpx
import pytest

from geo.io.gdal_safety import SAFE_GDAL_CONFIG
from tests.browser.conftest import LiveApp

QGIS_PYTHON = "/usr/bin/python3"


def client_env(**extra: str) -> dict[str, str]:
    """The environment for GDAL's and QGIS's processes: without the dead proxy and other network locks the app
    puts on its own GDAL (geo.io.gdal_safety), which these clients must not inherit to reach 127.0.0.1."""
    env = {k: v for k, v in os.environ.items() if k not in SAFE_GDAL_CONFIG and "proxy" not in k.lower()}
    return {**env, **extra}


def get(live: LiveApp, path: str, role: str | None = None, **params: Any) -> httpx.Response:
    return live.api("GET", "/ogc" + path, role=role, params=params)


def all_features(live: LiveApp, cid: str, role: str | None = None, **params: Any) -> list[dict[str, Any]]:
    """Follow the next links to the end."""
    url: str | None = f"{live.base_url}/ogc/collections/{cid}/items"
    headers = {"Authorization": f"Bearer {live.tokens[role]}"} if role else {}
    found: list[dict[str, Any]] = []
    first = True
    while url:
        answer = httpx.get(url, params=params if first else None, headers=headers, timeout=60)
        first = False
        assert answer.status_code == 200, answer.text
        page = answer.json()
        found += page["features"]
        url = next((x["href"] for x in page["links"] if x["rel"] == "next"), None)
    return found


def test_landing_conformance_and_openapi(live_app: LiveApp) -> None:
    """Abstract tests /conf/core/root-op, /conf/core/api-definition-op, /conf/core/conformance-op, /conf/oas30."""
    landing = get(live_app, "").json()
    rels = {x["rel"]: x for x in landing["links"]}
    assert {"self", "alternate", "service-desc", "service-doc", "conformance", "data"} <= set(rels)
    assert rels["service-desc"]["type"] == "application/vnd.oai.openapi+json;version=3.0"
    api = httpx.get(rels["service-desc"]["href"], timeout=30)
    assert api.headers["content-type"].startswith("application/vnd.oai.openapi+json")
    limit = api.json()["components"]["parameters"]["limit"]
    assert limit["schema"]["maximum"] == live_app.settings.page_size_max
    classes = get(live_app, "/conformance").json()["conformsTo"]
    for needed in (
        "ogcapi-features-3/1.0/conf/filter",
        "ogcapi-features-3/1.0/conf/features-filter",
        "cql2/1.0/conf/basic-cql2",
        "cql2/1.0/conf/cql2-text",
    ):
        assert any(c.endswith(needed) for c in classes)
    page = get(live_app, "", f="html")
    assert page.headers["content-type"].startswith("text/html") and "service-desc" in page.text
    assert get(live_app, "", f="xml").status_code == 400


def test_collections_named_and_with_extents(live_app: LiveApp) -> None:
    """/conf/core/fc-md-op and fc-md-items: every collection has an id, title, extent and items link."""
    found = get(live_app, "/collections").json()["collections"]
    ids = {c["id"] for c in found}
    assert {"berlin-neighbourhoods", "berlin-assets", "berlin-links"} <= ids
    assets = next(c for c in found if c["id"] == "berlin-assets")
    assert assets["title"] == "Berlin: assets"
    west, south, east, north = assets["extent"]["spatial"]["bbox"][0]
    assert 13 < west < east < 14 and 52 < south < north < 53
    assert any(x["rel"] == "items" and x["type"] == "application/geo+json" for x in assets["links"])
    assert get(live_app, "/collections/nowhere-assets").status_code == 404


def test_items_page_with_next_links_and_same_privacy_as_api(live_app: LiveApp) -> None:
    """/conf/core/fc-limit-response, fc-links, fc-response; the features equal what /api/assets shows."""
    ogc = all_features(live_app, "berlin-assets", limit=50)
    api: list[dict[str, Any]] = []
    after = None
    while True:
        params: dict[str, Any] = {"city": "Berlin", "limit": 500}
        if after:
            params["after"] = after
        page = live_app.api("GET", "/api/assets", params=params).json()
        api += page["features"]
        if not page["next"]:
            break
        after = page["features"][-1]["id"]
    assert len(ogc) == len(api) > 50
    by_id = {f["id"]: f for f in api}
    for feature in ogc:
        assert feature["geometry"] == by_id[feature["id"]]["geometry"]  # blurred where the API blurs
        assert feature["properties"]["contact"] == by_id[feature["id"]]["properties"]["contact"]
    first = get(live_app, "/collections/berlin-assets/items", limit=3)
    assert first.headers["content-type"].startswith("application/geo+json")
    assert first.json()["numberReturned"] == 3
    one = ogc[0]
    single = get(live_app, f"/collections/berlin-assets/items/{one['id']}")
    assert single.status_code == 200 and single.json()["geometry"] == one["geometry"]
    assert get(live_app, "/collections/berlin-assets/items/999999999").status_code == 404


def test_bbox_datetime_and_property_filters(live_app: LiveApp) -> None:
    """/conf/core/fc-bbox-response, fc-time-response; queryables as query parameters (Part 3)."""
    everything = all_features(live_app, "berlin-assets", limit=500)
    box = "13.38,52.50,13.45,52.54"
    inside = all_features(live_app, "berlin-assets", limit=500, bbox=box)
    assert 0 < len(inside) < len(everything)
    cats = all_features(live_app, "berlin-assets", limit=500, category="institution")
    assert cats and all(f["properties"]["category"] == "institution" for f in cats)
    assert all_features(live_app, "berlin-assets", datetime="2999-01-01T00:00:00Z/..") == []
    assert len(all_features(live_app, "berlin-assets", limit=500, datetime="../2999-01-01T00:00:00Z")) == len(
        everything
    )
    bad = get(live_app, "/collections/berlin-assets/items", colour="red")
    assert bad.status_code == 400 and "colour" in bad.json()["detail"]
    assert get(live_app, "/collections/berlin-assets/items", bbox="1,2,3").status_code == 400


def test_cql2_text_and_json_filters(live_app: LiveApp) -> None:
    """Part 3 /conf/filter and CQL2 basic-cql2, cql2-text, cql2-json, basic spatial functions."""
    assoc = all_features(live_app, "berlin-assets", limit=500, category="institution")
    text = all_features(live_app, "berlin-assets", limit=500, filter="category = 'institution'")
    as_json = all_features(
        live_app,
        "berlin-assets",
        limit=500,
        filter=json.dumps({"op": "=", "args": [{"property": "category"}, "institution"]}),
        **{"filter-lang": "cql2-json"},
    )
    assert [f["id"] for f in text] == [f["id"] for f in assoc] == [f["id"] for f in as_json]
    box = all_features(live_app, "berlin-assets", limit=500, bbox="13.38,52.50,13.45,52.54")
    spatial = all_features(
        live_app, "berlin-assets", limit=500, filter="S_INTERSECTS(geometry, BBOX(13.38,52.50,13.45,52.54))"
    )
    polygon = all_features(
        live_app,
        "berlin-assets",
        limit=500,
        filter="S_INTERSECTS(geometry, POLYGON((13.38 52.50, 13.45 52.50, 13.45 52.54, 13.38 52.54, 13.38 52.50)))",
    )
    spatial_json = all_features(
        live_app,
        "berlin-assets",
        limit=500,
        **{"filter-lang": "cql2-json"},
        filter=json.dumps(
            {"op": "s_intersects", "args": [{"property": "geometry"}, {"bbox": [13.38, 52.50, 13.45, 52.54]}]}
        ),
    )
    ids = sorted(f["id"] for f in box)
    assert ids and sorted(f["id"] for f in spatial) == ids == sorted(f["id"] for f in polygon) == sorted(
        f["id"] for f in spatial_json
    )
    for bad, word in (
        ("colour = 'red'", "colour"),
        ("pg_sleep(10) = 1", "pg_sleep"),
        ("name = ", "filter"),
        ("name = 3", "string"),
        ("name = 'x'; drop table asset", "filter"),
    ):
        answer = get(live_app, "/collections/berlin-assets/items", filter=bad)
        assert answer.status_code == 400, (bad, answer.text)
        assert word in answer.json()["detail"], (bad, answer.json())
    assert (
        get(
            live_app, "/collections/berlin-assets/items", filter="{", **{"filter-lang": "cql2-json"}
        ).status_code
        == 400
    )
    queryables = get(live_app, "/collections/berlin-assets/queryables").json()
    assert {"geometry", "category", "name", "updated_at"} <= set(queryables["properties"])
    assert "contact" not in queryables["properties"]


def test_output_crs_of_the_city(live_app: LiveApp) -> None:
    """Part 2 /conf/crs: crs list, Content-Crs, bbox-crs; EPSG:4326 in latitude, longitude order."""
    meta = get(live_app, "/collections/berlin-assets").json()
    projected = next(c for c in meta["crs"] if "EPSG/0/25833" in c)
    plain = get(live_app, "/collections/berlin-assets/items", limit=1).json()["features"][0]
    grid = get(live_app, "/collections/berlin-assets/items", limit=1, crs=projected)
    assert grid.headers["content-crs"] == f"<{projected}>"
    x, y = _first_point(grid.json()["features"][0]["geometry"])
    assert 350_000 < x < 450_000 and 5_780_000 < y < 5_860_000
    lon, lat = _first_point(plain["geometry"])
    latlon = get(
        live_app,
        "/collections/berlin-assets/items",
        limit=1,
        crs="http://www.opengis.net/def/crs/EPSG/0/4326",
    )
    assert _first_point(latlon.json()["features"][0]["geometry"]) == pytest.approx((lat, lon), abs=1e-5)
    by_grid = all_features(
        live_app,
        "berlin-assets",
        limit=500,
        bbox=f"{x - 500},{y - 500},{x + 500},{y + 500}",
        **{"bbox-crs": projected},
    )
    assert plain["id"] in {f["id"] for f in by_grid}
    assert get(live_app, "/collections/berlin-assets/items", crs="EPSG:9999").status_code == 400


def _first_point(geometry: dict[str, Any]) -> tuple[float, float]:
    coords: Any = geometry["coordinates"]
    while isinstance(coords[0], list):
        coords = coords[0]
    return float(coords[0]), float(coords[1])


def test_options_tells_the_methods(live_app: LiveApp) -> None:
    answer = live_app.api("OPTIONS", "/ogc/collections/berlin-assets/items")
    assert answer.status_code == 204 and answer.headers["allow"] == "GET, HEAD, OPTIONS"
    for path in (
        "",
        "/collections",
        "/collections/berlin-assets/items",
        "/collections/berlin-assets/items/1",
    ):
        head = live_app.api("HEAD", "/ogc" + path)
        assert head.status_code == 200 and head.content == b"", path


def _collection_ids(live: LiveApp) -> list[str]:
    return [c["id"] for c in get(live, "/collections").json()["collections"]]


def test_gdal_lists_every_collection(live_app: LiveApp, tmp_path: Path) -> None:
    source = f"OAPIF:{live_app.base_url}/ogc"
    listing = subprocess.run(
        ["ogrinfo", "-ro", "-q", source],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        env=client_env(),
    )
    for cid in _collection_ids(live_app):
        assert cid in listing.stdout


def test_gdal_copies_every_feature(live_app: LiveApp, tmp_path: Path) -> None:
    source = f"OAPIF:{live_app.base_url}/ogc"
    for cid in _collection_ids(live_app):
        target = tmp_path / f"{cid}.gpkg"
        copy = subprocess.run(
            ["ogr2ogr", "-f", "GPKG", str(target), source, cid],
            capture_output=True,
            text=True,
            timeout=300,
            env=client_env(),
        )
        assert copy.returncode == 0, copy.stderr[-2000:]
        counted = subprocess.run(
            ["ogrinfo", "-ro", "-so", str(target), cid], capture_output=True, text=True, env=client_env()
        )
        assert counted.returncode == 0, counted.stderr[-2000:]
        count = int(
            next(line for line in counted.stdout.splitlines() if "Feature Count" in line).split(":")[1]
        )
        assert count == len(all_features(live_app, cid, limit=1000)), cid


def test_owslib_reads_every_collection(live_app: LiveApp) -> None:
    from owslib.ogcapi.features import Features

    client = Features(f"{live_app.base_url}/ogc")
    ids = [c["id"] for c in client.collections()["collections"]]
    assert set(ids) == set(_collection_ids(live_app))
    for cid in ids:
        page = client.collection_items(cid, limit=1000)
        assert page["type"] == "FeatureCollection"
        assert len(page["features"]) == min(1000, len(all_features(live_app, cid, limit=1000)))
    assert client.collection_queryables("berlin-assets")["properties"]["category"]["type"] == "string"


QGIS_SCRIPT = textwrap.dedent(
    """
    import json, os, sys
    from qgis.core import QgsApplication, QgsVectorLayer, QgsFeatureRequest, QgsRectangle
    app = QgsApplication([], False)
    app.initQgis()
    base, ids = sys.argv[1], json.loads(sys.argv[2])
    out = {}
    for cid in ids:
        layer = QgsVectorLayer(f"url='{base}' typename='{cid}' pagingEnabled='true' preferCoordinatesForWfsT11='false'", cid, "OAPIF")
        if not layer.isValid():
            out[cid] = {"valid": False}
            continue
        count = sum(1 for _ in layer.getFeatures())
        box = sum(1 for _ in layer.getFeatures(QgsFeatureRequest().setFilterRect(QgsRectangle(13.38, 52.50, 13.45, 52.54))))
        out[cid] = {"valid": True, "count": count, "bbox": box}
    sub = QgsVectorLayer(f"url='{base}' typename='berlin-assets'", "sub", "OAPIF")
    sub.setSubsetString("category = 'institution'")
    out["subset"] = sum(1 for _ in sub.getFeatures())
    print(json.dumps(out), flush=True)
    os._exit(0)  # exitQgis() crashes headless 3.22 on the way out
    """
)


@pytest.mark.skipif(not Path(QGIS_PYTHON).exists(), reason="the system python is needed for QGIS")
def test_qgis_adds_every_collection_as_a_layer(live_app: LiveApp, tmp_path: Path) -> None:
    probe = subprocess.run([QGIS_PYTHON, "-c", "import qgis.core"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip("python3-qgis is not installed (scripts/setup.sh --with-qgis)")
    script = tmp_path / "qgis_read.py"
    script.write_text(QGIS_SCRIPT)
    ids = _collection_ids(live_app)
    env = client_env(QT_QPA_PLATFORM="offscreen", XDG_RUNTIME_DIR=str(tmp_path), HOME=str(tmp_path))
    env.pop("PYTHONPATH", None)
    run = subprocess.run(
        [QGIS_PYTHON, str(script), f"{live_app.base_url}/ogc", json.dumps(ids)],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    result = json.loads(run.stdout.strip().splitlines()[-1])
    for cid in ids:
        assert result[cid]["valid"], cid
        assert result[cid]["count"] == len(all_features(live_app, cid, limit=1000)), cid
    needs_box = all_features(live_app, "berlin-assets", limit=1000, bbox="13.38,52.50,13.45,52.54")
    assert result["berlin-assets"]["bbox"] == len(needs_box)
    assert result["subset"] == len(
        all_features(live_app, "berlin-assets", limit=1000, category="institution")
    )
