"""Vector tiles: MVT decoded with mapbox-vector-tile, addresses checked, ETags and data versions, privacy."""

from __future__ import annotations

import math
from typing import Any

import h3
import mapbox_vector_tile
from fastapi.testclient import TestClient

from app.schemas.tiles import Style, TileJSON, TileMatrixSet, TileMatrixSets, Tileset, Tilesets
from app.services.ogc.naming import collection_id, parse_layer, slug
from tests.app.helpers import MITTE_POINT, create_asset
from tests.conftest import Berlin

Z = 14
EXACT = (13.41321, 52.52191)  # in forecast area 0110, like MITTE_POINT
MITTE = (13.4132, 52.5219)  # MITTE_POINT
CONTACT = "030 555 0199"


def tile_of(lon: float, lat: float, z: int = Z) -> tuple[int, int]:
    """The column and row of the WebMercatorQuad tile holding a point."""
    n = 2**z
    x = int((lon + 180) / 360 * n)
    rad = math.radians(lat)
    y = int((1 - math.asinh(math.tan(rad)) / math.pi) / 2 * n)
    return x, y


def lonlat_of(px: float, py: float, x: int, y: int, z: int = Z, extent: int = 4096) -> tuple[float, float]:
    """A tile coordinate (y down) back to degrees."""
    n = 2**z
    lon = (x + px / extent) / n * 360 - 180
    lat = math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * (y + py / extent) / n))))
    return lon, lat


def get_tile(
    client: TestClient,
    layer: str,
    lon: float,
    lat: float,
    headers: dict[str, str] | None = None,
    **params: Any,
) -> tuple[int, int, dict[str, Any]]:
    x, y = tile_of(lon, lat)
    response = client.get(f"/tiles/berlin-{layer}/{Z}/{x}/{y}.mvt", headers=headers or {}, params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/vnd.mapbox-vector-tile"
    return x, y, mapbox_vector_tile.decode(response.content, default_options={"y_coord_down": True})


def features(tile: dict[str, Any], layer: str) -> list[dict[str, Any]]:
    return list(tile.get(layer, {}).get("features", []))


def named(tile: dict[str, Any], name: str) -> list[dict[str, Any]]:
    return [f for f in features(tile, "assets") if f["properties"].get("name") == name]


def at(feature: dict[str, Any], x: int, y: int) -> tuple[float, float]:
    px, py = feature["geometry"]["coordinates"]
    return lonlat_of(px, py, x, y)


def near(a: tuple[float, float], b: tuple[float, float], metres: float = 10) -> bool:
    dy = (a[1] - b[1]) * 111_000
    dx = (a[0] - b[0]) * 111_000 * math.cos(math.radians(b[1]))
    return math.hypot(dx, dy) < metres


def blurred(coords: tuple[float, float]) -> tuple[float, float]:
    lat, lon = h3.cell_to_latlng(h3.latlng_to_cell(coords[1], coords[0], 8))
    return lon, lat


def test_collection_ids_fold_names_to_slugs() -> None:
    assert slug("Köln  Süd/Ost") == "koln-sud-ost"
    assert collection_id("Berlin", "assets") == "berlin-assets"
    assert collection_id("São Paulo", "run-7-cells") == "sao-paulo-run-7-cells"
    assert parse_layer("run-7-neighbourhoods") == ("neighbourhoods", 7)
    assert parse_layer("run-x-cells") is None


def test_asset_tile_has_the_asset_with_its_properties(client: TestClient, berlin: Berlin) -> None:
    create_asset(
        client, berlin, name="Tile reading group", geometry={"type": "Point", "coordinates": list(EXACT)}
    )
    x, y, tile = get_tile(client, "assets", *EXACT)
    found = named(tile, "Tile reading group")
    assert len(found) == 1
    props = found[0]["properties"]
    assert props["category"] == "association"
    assert props["status"] == "approved"
    assert props["location_blurred"] is False
    assert isinstance(found[0]["id"], int)
    assert near(at(found[0], x, y), EXACT)


def test_ogc_route_takes_row_before_column(client: TestClient, berlin: Berlin) -> None:
    create_asset(client, berlin, name="Row first", geometry={"type": "Point", "coordinates": list(EXACT)})
    x, y = tile_of(*EXACT)
    ogc = client.get(f"/ogc/collections/berlin-assets/tiles/WebMercatorQuad/{Z}/{y}/{x}")
    xyz = client.get(f"/tiles/berlin-assets/{Z}/{x}/{y}.mvt")
    assert ogc.status_code == 200 and ogc.content == xyz.content
    assert named(mapbox_vector_tile.decode(ogc.content), "Row first")


def test_neighbourhood_tile_has_polygons_with_codes(client: TestClient, berlin: Berlin) -> None:
    _, _, tile = get_tile(client, "neighbourhoods", *EXACT)
    found = features(tile, "neighbourhoods")
    assert found
    assert "0110" in {f["properties"]["code"] for f in found}
    assert {f["geometry"]["type"] for f in found} <= {"Polygon", "MultiPolygon"}


def test_far_out_tile_thins_and_simplifies_yet_draws_the_city(client: TestClient, berlin: Berlin) -> None:
    response = client.get("/tiles/berlin-neighbourhoods/6/34/20.mvt")
    assert response.status_code == 200
    tile = mapbox_vector_tile.decode(response.content)
    assert features(tile, "neighbourhoods")


def test_empty_tile_is_an_empty_body(client: TestClient, berlin: Berlin) -> None:
    response = client.get("/tiles/berlin-assets/10/0/0.mvt")
    assert response.status_code == 200
    assert response.content == b""
    assert mapbox_vector_tile.decode(response.content) == {}


def test_bad_addresses_are_told(client: TestClient, berlin: Berlin) -> None:
    cases = {
        "/tiles/berlin-assets/abc/0/0.mvt": (400, "zoom"),
        "/tiles/berlin-assets/3/-1/0.mvt": (400, "column"),
        "/tiles/berlin-assets/23/0/0.mvt": (404, "0 to 22"),
        "/tiles/berlin-assets/3/8/0.mvt": (404, "columns go from 0 to 7"),
        "/ogc/collections/berlin-assets/tiles/WebMercatorQuad/3/8/0": (404, "rows go from 0 to 7"),
        "/tiles/atlantis-assets/3/0/0.mvt": (404, "/ogc/collections"),
        "/tiles/berlin-parks/3/0/0.mvt": (404, "/ogc/collections"),
        "/ogc/collections/berlin-assets/tiles/WorldCRS84Quad": (404, "WebMercatorQuad"),
        "/tiles/berlin-assets/3/0/0.mvt?status=whatever": (422, "status"),
    }
    for url, (status, words) in cases.items():
        response = client.get(url)
        assert response.status_code == status, (url, response.text)
        assert words in response.text, (url, response.text)


def test_etag_answers_304_and_moves_with_an_edit(client: TestClient, berlin: Berlin) -> None:
    x, y = tile_of(*EXACT)
    url = f"/tiles/berlin-assets/{Z}/{x}/{y}.mvt"
    first = client.get(url)
    tag = first.headers["etag"]
    assert "no-cache" in first.headers["cache-control"]
    assert client.get(url, headers={"If-None-Match": tag}).status_code == 304
    version = client.get("/tiles/berlin-assets/tilejson.json").json()["data_version"]
    versioned = client.get(url, params={"v": version})
    assert "max-age=86400" in versioned.headers["cache-control"]
    assert versioned.headers["cache-control"].startswith("public")

    create_asset(
        client, berlin, name="Moves the version", geometry={"type": "Point", "coordinates": list(EXACT)}
    )
    moved = client.get("/tiles/berlin-assets/tilejson.json").json()
    assert moved["data_version"] != version
    assert f"v={moved['data_version']}" in moved["tiles"][0]
    again = client.get(url, headers={"If-None-Match": tag})
    assert again.status_code == 200
    assert again.headers["etag"] != tag
    assert named(mapbox_vector_tile.decode(again.content), "Moves the version")
    # the old version in the URL is not kept long
    assert "no-cache" in client.get(url, params={"v": version}).headers["cache-control"]


def test_people_only_at_their_blurred_location_and_without_contact(
    client: TestClient, berlin: Berlin
) -> None:
    for i in range(berlin.settings.small_count_threshold):
        create_asset(
            client,
            berlin,
            name=f"Neighbour {i}",
            category="individual",
            contact=CONTACT,
            geometry={"type": "Point", "coordinates": list(EXACT)},
        )
    x, y, tile = get_tile(client, "assets", *blurred(EXACT))
    people = [f for f in features(tile, "assets") if f["properties"]["name"].startswith("Neighbour ")]
    assert len(people) == berlin.settings.small_count_threshold
    for person in people:
        assert person["properties"]["location_blurred"] is True
        assert "contact" not in person["properties"]
        assert near(at(person, x, y), blurred(EXACT))
        assert not near(at(person, x, y), EXACT, metres=5)
    x, y, planner = get_tile(client, "assets", *EXACT, berlin.headers("planner"))
    exact = [f for f in features(planner, "assets") if f["properties"]["name"].startswith("Neighbour ")]
    assert len(exact) == berlin.settings.small_count_threshold
    assert all(near(at(f, x, y), EXACT) for f in exact)
    assert all("contact" not in f["properties"] for f in exact)


def test_small_counts_of_people_are_left_out(client: TestClient, berlin: Berlin) -> None:
    create_asset(
        client,
        berlin,
        name="Lone neighbour",
        category="individual",
        geometry={"type": "Point", "coordinates": list(EXACT)},
    )
    x, y = tile_of(*blurred(EXACT))
    for tx, ty in {(x, y), tile_of(*EXACT)}:
        response = client.get(f"/tiles/berlin-assets/{Z}/{tx}/{ty}.mvt")
        assert not named(mapbox_vector_tile.decode(response.content), "Lone neighbour")
    _, _, planner = get_tile(client, "assets", *EXACT, berlin.headers("planner"))
    assert named(planner, "Lone neighbour")


def test_pending_entries_only_for_those_allowed(client: TestClient, berlin: Berlin) -> None:
    create_asset(client, berlin, role="contributor", name="Proposed garden", geometry=MITTE_POINT)
    lon, lat = MITTE
    assert client.get(f"/tiles/berlin-assets/{Z}/0/0.mvt", params={"status": "all"}).status_code == 403
    _, _, public = get_tile(client, "assets", lon, lat)
    assert not named(public, "Proposed garden")
    _, _, own = get_tile(client, "assets", lon, lat, berlin.headers("contributor"), status="all")
    assert named(own, "Proposed garden")[0]["properties"]["status"] == "pending"
    _, _, staff = get_tile(client, "assets", lon, lat, berlin.headers("admin"), status="pending")
    assert named(staff, "Proposed garden")
    _, _, approved_only = get_tile(client, "assets", lon, lat, berlin.headers("admin"))
    assert not named(approved_only, "Proposed garden")


def test_links_are_lines_between_visible_assets(client: TestClient, berlin: Berlin) -> None:
    a = create_asset(
        client, berlin, name="Link end A", geometry={"type": "Point", "coordinates": list(EXACT)}
    )
    b = create_asset(client, berlin, name="Link end B", geometry=MITTE_POINT)
    made = client.post(
        "/api/links",
        json={"source_asset_id": a["id"], "target_asset_id": b["id"], "kind": "partnership"},
        headers=berlin.headers("admin"),
    )
    assert made.status_code == 201, made.text
    _, _, tile = get_tile(client, "links", *EXACT)
    lines = [f for f in features(tile, "links") if f["id"] == made.json()["id"]]
    assert len(lines) == 1
    assert lines[0]["geometry"]["type"] == "LineString"
    assert lines[0]["properties"]["kind"] == "partnership"


def test_tilejson_and_style_are_valid(client: TestClient, berlin: Berlin) -> None:
    document = client.get("/tiles/berlin-assets/tilejson.json").json()
    assert document["tilejson"] == "3.0.0"
    assert document["tiles"][0].startswith("http://testserver/tiles/berlin-assets/{z}/{x}/{y}.mvt?v=c")
    assert document["vector_layers"][0]["id"] == "assets"
    assert "contact" not in document["vector_layers"][0]["fields"]
    west, south, east, north = document["bounds"]
    assert 13 < west < east < 14 and 52 < south < north < 53
    style = client.get("/tiles/berlin-neighbourhoods/style.json").json()
    TileJSON.model_validate(document)  # the answers are what /openapi.json says they are
    Style.model_validate(style)
    assert style["version"] == 8
    source = style["sources"]["berlin-neighbourhoods"]
    assert source["type"] == "vector" and source["tiles"][0].startswith("http://testserver/tiles/")
    ids = [layer["id"] for layer in style["layers"]]
    assert len(ids) == len(set(ids))
    for layer in style["layers"][1:]:
        assert layer["source"] in style["sources"] and layer["source-layer"] == "neighbourhoods"
        assert layer["type"] in ("fill", "line", "circle")


def test_ogc_tileset_metadata_links_the_tiles(client: TestClient, berlin: Berlin) -> None:
    listed = client.get("/ogc/collections/berlin-assets/tiles").json()
    Tilesets.model_validate(listed)
    sets = listed["tilesets"]
    assert sets[0]["tileMatrixSetURI"].endswith("/WebMercatorQuad")
    item = next(link for link in sets[0]["links"] if link["rel"] == "item")
    assert "{tileMatrix}/{tileRow}/{tileCol}" in item["href"]
    one = client.get("/ogc/collections/berlin-assets/tiles/WebMercatorQuad").json()
    Tileset.model_validate(one)
    assert one["dataType"] == "vector"
    matrix_set = client.get("/ogc/tileMatrixSets/WebMercatorQuad").json()
    TileMatrixSet.model_validate(matrix_set)
    TileMatrixSets.model_validate(client.get("/ogc/tileMatrixSets").json())
    assert matrix_set["id"] == "WebMercatorQuad"
    assert len(matrix_set["tileMatrices"]) == 23
    assert matrix_set["tileMatrices"][1]["matrixWidth"] == 2
    assert client.get("/ogc/tileMatrixSets").json()["tileMatrixSets"][0]["id"] == "WebMercatorQuad"
