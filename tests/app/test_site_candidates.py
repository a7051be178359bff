"""Site suggestion's candidates (ANALYSIS.md (d), "venues"): only places that could host the service, why each
qualifies, the capacity a new site adds, and the share of the gap closed and the sites half and nine tenths of it
would take, checked against an exact count by brute force on a small town."""

from __future__ import annotations

import itertools
import re
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from pyproj import Transformer
from typer.testing import CliRunner

from tests.app.test_analysis_cli import assetmap, invoke  # noqa: F401  (the fixture)
from tests.conftest import Berlin

RADIUS_M = 400.0
# A square town of about 1.4 km x 1.2 km south of Berlin, measured in EPSG:25833.
WEST, SOUTH, EAST, NORTH = 13.000, 52.000, 13.020, 52.011
TOWN = {
    "type": "Polygon",
    "coordinates": [[[WEST, SOUTH], [EAST, SOUTH], [EAST, NORTH], [WEST, NORTH], [WEST, SOUTH]]],
}
# name, category, kind, (lon, lat), extras; the first five could host childcare, the rest could not.
PLACES: list[tuple[str, str, str | None, tuple[float, float], dict[str, Any]]] = [
    ("Familienzentrum Ost", "physical_space", "family_centre", (13.0170, 52.0030), {}),
    ("Gemeindesaal St. Anna", "institution", "place_of_worship", (13.0040, 52.0085), {}),
    ("Nachbarschaftshaus Mitte", "association", "community_centre", (13.0100, 52.0050), {}),
    ("Bürgersaal", "physical_space", "hall", (13.0165, 52.0090), {}),
    (
        "Stadtbibliothek",
        "institution",
        "library",
        (13.0030, 52.0020),
        {"space": {"quantity": 2, "unit": "rooms"}},
    ),
    (
        "Alte Bibliothek",
        "institution",
        "library",
        (13.0120, 52.0095),
        {"space": {"available_until": "2020-12-31"}},
    ),
    ("Leerer Raum", "physical_space", None, (13.0080, 52.0030), {"space": {"quantity": 0, "unit": "rooms"}}),
    ("Spielplatz am Teich", "physical_space", "playground", (13.0110, 52.0070), {}),
    ("Basketball", "physical_space", "sports_pitch", (13.0060, 52.0060), {}),
    ("Musikclub", "culture", "cultural_centre", (13.0140, 52.0040), {}),
    ("Tagesmutter Ana", "individual", "community_centre", (13.0090, 52.0080), {}),
    ("Frauenhaus", "physical_space", "family_centre", (13.0020, 52.0060), {"sensitive": True}),
    (
        "Kita Sonnenschein",
        "institution",
        "kindergarten",
        (13.0010, 52.0100),
        {"service_types": ["childcare"]},
    ),
]
SUITABLE = [p[0] for p in PLACES[:5]]


@pytest.fixture
def town(client: TestClient, berlin: Berlin) -> dict[str, Any]:
    """The town with its one neighbourhood (120 children under 6) and its places; returns ids by name."""
    admin = berlin.headers("admin")
    city = client.post(
        "/api/cities", json={"name": "Kleinfeld", "country": "Germany", "crs": "EPSG:25833"}, headers=admin
    )
    assert city.status_code == 201, city.text
    area = client.post(
        "/api/neighbourhoods",
        json={
            "city": "Kleinfeld",
            "code": "01",
            "name": "Kleinfeld",
            "population": 1000,
            "population_by_group": {"under_6": 120},
            "geometry": TOWN,
        },
        headers=admin,
    )
    assert area.status_code == 201, area.text
    ids = {}
    for name, category, kind, (lon, lat), extras in PLACES:
        body: dict[str, Any] = {
            "city": "Kleinfeld",
            "name": name,
            "category": category,
            "kind": kind,
            "geometry": {"type": "Point", "coordinates": [lon, lat]},
            "sensitive": extras.get("sensitive", False),
            "service_types": extras.get("service_types", []),
        }
        created = client.post("/api/assets", json=body, headers=admin)
        assert created.status_code == 201, created.text
        ids[name] = created.json()["id"]
        if "space" in extras:
            resource = client.post(
                "/api/resources",
                json={"asset_id": ids[name], "kind": "space", **extras["space"]},
                headers=admin,
            )
            assert resource.status_code == 201, resource.text
    return ids


def _run(client: TestClient, berlin: Berlin) -> dict[str, Any]:
    response = client.post(
        "/api/analysis/runs",
        json={
            "city": "Kleinfeld",
            "service_type": "childcare",
            "radius_m": RADIUS_M,
            "resolution": 9,
            "background": False,
        },
        headers=berlin.headers("planner"),
    )
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def _units(client: TestClient, run_id: int) -> tuple[np.ndarray, np.ndarray]:
    """Each demand unit's x/y (metres, EPSG:25833) and the need beyond reach of the kindergarten."""
    features = client.get(f"/api/analysis/runs/{run_id}/cells", params={"limit": 10_000}).json()["features"]
    to_metres = Transformer.from_crs("EPSG:4326", "EPSG:25833", always_xy=True)
    lon = [f["geometry"]["coordinates"][0] for f in features]
    lat = [f["geometry"]["coordinates"][1] for f in features]
    x, y = to_metres.transform(lon, lat)
    weight = [0.0 if f["properties"]["covered"] else f["properties"]["need"] for f in features]
    return np.column_stack([x, y]), np.asarray(weight)


def _exact(units_xy: np.ndarray, weight: np.ndarray, sites_xy: np.ndarray, p: int) -> dict[str, Any]:
    """By brute force over every subset of the suitable places: the best share p sites close, the share all
    close, and the fewest sites closing half and nine tenths of the gap (None when none does)."""
    reach = np.hypot(*(units_xy[:, None, :] - sites_xy[None, :, :]).transpose(2, 0, 1)) <= RADIUS_M
    total = weight.sum()

    def closed(chosen: tuple[int, ...]) -> float:
        return float(weight[reach[:, list(chosen)].any(axis=1)].sum()) / total

    n = len(sites_xy)
    fewest = {}
    for share in (0.5, 0.9):
        fewest[share] = next(
            (
                k
                for k in range(1, n + 1)
                for c in itertools.combinations(range(n), k)
                if closed(c) >= share - 1e-9
            ),
            None,
        )
    return {
        "share_closed": max(closed(c) for c in itertools.combinations(range(n), p)),
        "max_share": closed(tuple(range(n))),
        "sites_needed": fewest,
    }


def test_only_places_that_could_host_childcare_are_candidates_with_their_reasons(
    client: TestClient, berlin: Berlin, town: dict[str, Any]
) -> None:
    run = _run(client, berlin)
    body = client.post(
        f"/api/analysis/runs/{run['id']}/suggest-sites", json={"p": 5}, headers=berlin.headers("planner")
    ).json()
    assert body["candidates"] == "venues" and body["n_candidates"] == len(SUITABLE)
    assert body["venue_kinds_source"] == "service_type" and "playground" not in body["venue_kinds"]
    proposed = {site["name"]: site for site in body["sites"]}
    assert set(proposed) <= set(SUITABLE) and proposed
    for name, site in proposed.items():
        assert site["asset_id"] == town[name] and site["reasons"]
    if "Stadtbibliothek" in proposed:  # a library does not suit childcare, but it offers two rooms
        assert proposed["Stadtbibliothek"]["reasons"] == ["offers space 2 rooms"]
    if "Familienzentrum Ost" in proposed:
        assert proposed["Familienzentrum Ost"]["reasons"] == [
            "family centre: a room indoors, a kind of place that suits childcare"
        ]
    # No capacity is known and the run has no default: a new site adds 1, and the answer says why.
    assert body["new_site_capacity"] == {
        "value": 1.0,
        "rule": "one",
        "text": "no asset's capacity is known and the run has no default capacity, so 1",
    }
    given = client.post(
        f"/api/analysis/runs/{run['id']}/suggest-sites",
        json={"p": 1, "capacity": 40},
        headers=berlin.headers("planner"),
    ).json()
    assert given["new_site_capacity"]["rule"] == "given" and given["sites"][0]["capacity"] == 40


@pytest.mark.parametrize("p", [1, 2, 3])
def test_the_share_closed_and_the_sites_needed_agree_with_brute_force(
    client: TestClient, berlin: Berlin, town: dict[str, Any], p: int
) -> None:
    run = _run(client, berlin)
    body = client.post(
        f"/api/analysis/runs/{run['id']}/suggest-sites", json={"p": p}, headers=berlin.headers("planner")
    ).json()
    units_xy, weight = _units(client, run["id"])
    to_metres = Transformer.from_crs("EPSG:4326", "EPSG:25833", always_xy=True)
    sites_xy = np.array([to_metres.transform(*place[3]) for place in PLACES[:5]])
    exact = _exact(units_xy, weight, sites_xy, p)
    closed = body["gap_closed"]
    assert closed["measure"] == "uncovered_need" and closed["total"] == pytest.approx(weight.sum())
    assert closed["share_closed"] == pytest.approx(exact["share_closed"]) and closed["share_closed_exact"]
    assert closed["max_share"] == pytest.approx(exact["max_share"])
    needed = {entry["share"]: entry for entry in closed["sites_needed"]}
    assert {share: needed[share]["n_sites"] for share in (0.5, 0.9)} == exact["sites_needed"]
    assert all(entry["exact"] for entry in needed.values() if entry["reachable"])
    # The case is not trivial: half the gap takes more than one site, and not every share is out of reach.
    assert exact["sites_needed"][0.5] is not None and exact["sites_needed"][0.5] > 1


def test_a_city_of_its_own_can_narrow_the_kinds(
    client: TestClient, berlin: Berlin, town: dict[str, Any]
) -> None:
    run = _run(client, berlin)
    narrowed = client.put(
        "/api/cities/Kleinfeld/service-types/childcare/venue-kinds",
        json={"kinds": ["hall"]},
        headers=berlin.headers("planner"),
    )
    assert narrowed.status_code == 200
    body = client.post(
        f"/api/analysis/runs/{run['id']}/suggest-sites", json={"p": 5}, headers=berlin.headers("planner")
    ).json()
    # The hall by its kind, the library by its rooms.
    assert {s["name"] for s in body["sites"]} <= {"Bürgersaal", "Stadtbibliothek"}
    assert body["n_candidates"] == 2 and body["venue_kinds_source"] == "city"
    client.put(
        "/api/cities/Kleinfeld/service-types/childcare/venue-kinds",
        json={"kinds": []},
        headers=berlin.headers("admin"),
    )
    only_space = client.post(
        f"/api/analysis/runs/{run['id']}/suggest-sites", json={"p": 1}, headers=berlin.headers("planner")
    ).json()
    assert [s["name"] for s in only_space["sites"]] == ["Stadtbibliothek"]


def test_the_old_candidate_modes_are_still_there(
    client: TestClient, berlin: Berlin, town: dict[str, Any]
) -> None:
    run = _run(client, berlin)
    spaces = client.post(
        f"/api/analysis/runs/{run['id']}/suggest-sites",
        json={"p": 3, "candidates": "physical_spaces"},
        headers=berlin.headers("planner"),
    ).json()
    assert spaces["candidates"] == "physical_spaces"
    assert all("physical_space" in site["reasons"][0] for site in spaces["sites"])
    cells = client.post(
        f"/api/analysis/runs/{run['id']}/suggest-sites",
        json={"p": 2, "candidates": "h3"},
        headers=berlin.headers("planner"),
    ).json()
    assert (
        cells["candidates"] == "h3" and cells["gap_closed"]["max_share"] >= spaces["gap_closed"]["max_share"]
    )


# Words in the names of Berlin's playgrounds, courts, pitches and music or sports venues.
UNSUITABLE = re.compile(
    r"spielplatz|playground|basketball|court|musik|music|boulder|sport|bowling|kletter", re.I
)


def test_berlin_childcare_proposes_only_places_that_could_host_childcare(
    assetmap: CliRunner,  # noqa: F811
    berlin: Berlin,
) -> None:
    text = " ".join(
        invoke(assetmap, "suggest-sites", "--city", "Berlin", "--service", "childcare", "--p", "5").split()
    )
    rows = re.findall(r"│\s+(\d)\s+│\s+([^│]+?)\s+│\s+([^│]+?)\s+│", text)
    assert [int(r[0]) for r in rows] == [1, 2, 3, 4, 5]
    assert all(not UNSUITABLE.search(name) for _rank, name, _kind in rows), rows
    assert {kind for *_rest, kind in rows} <= {
        "family centre",
        "community centre",
        "place of worship",
        "hall",
    }
    assert re.search(r"the 5 sites close \d+\.\d\d % of the gap", text)
    assert re.search(r"sites needed to close 50 % of the gap: (\d+ sites? \(|not reachable)", text)
    assert re.search(r"sites needed to close 90 % of the gap: (\d+ sites? \(|not reachable)", text)
    assert "each new site adds capacity 1: no asset's capacity is known" in text


def test_the_gap_map_says_why_each_suggested_site_qualifies(
    client: TestClient, berlin: Berlin, town: dict[str, Any]
) -> None:
    from tests.app.test_analysis_maps import map_text_block, text_layers

    run = _run(client, berlin)
    body = client.post(
        f"/api/analysis/runs/{run['id']}/suggest-sites", json={"p": 2}, headers=berlin.headers("planner")
    ).json()
    page = client.get("/maps/gaps", params={"run": run["id"]}).text
    layers = [
        layer
        for layer in text_layers(page)
        if layer["features"] and "reasons" in layer["features"][0]["properties"]
    ]
    assert len(layers) == 1
    shown = [f["properties"] for f in layers[0]["features"]]
    assert [p["name"] for p in shown] == [s["name"] for s in body["sites"]]
    assert [p["reasons"] for p in shown] == ["; ".join(s["reasons"]) for s in body["sites"]]
    closed = body["gap_closed"]
    summary = shown[0]["suggestion"]
    assert summary.startswith(f"these 2 sites close {100 * closed['share_closed']:.1f} % of the gap")
    assert "90 % would take more than all candidates (not reachable)" in summary
    popups = [layer.get("popup") for layer in map_text_block(page)["layers"] if layer.get("popup")]
    assert any(["Why it qualifies", "reasons"] in popup for popup in popups)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--capacity", "0"], "--capacity: Input should be greater than 0"),
        (["--candidates", "playgrounds"], "--candidates:"),
    ],
)
def test_the_terminal_refuses_a_bad_capacity_or_candidate_mode(
    assetmap: CliRunner,  # noqa: F811
    args: list[str],
    message: str,
) -> None:
    from app.cli import cli

    result = assetmap.invoke(
        cli, ["suggest-sites", "--city", "Berlin", "--service", "childcare", "--p", "1", *args]
    )
    assert result.exit_code == 1 and message in " ".join(result.output.split()), result.output
