"""People are assets too: matching uses a volunteer's exact location, but readers without planner rights see only
a distance band, never coordinates or contact details, in the API, the CSV export, the page, commitments and the
command line. The data is committed (the command line opens its own connection) and removed afterwards."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from typer.testing import CliRunner

from app.cli import cli
from app.main import create_app
from app.services.matching.scoring import BAND_SCORED_M, WEIGHTS
from tests.app.matching_helpers import NEED_LAT, NEED_LON, distance_to_need_m, point_at
from tests.conftest import Berlin, make_settings

NON_PLANNERS = (None, "contributor", "organiser", "gis")
# (east, north) offsets (m) of five volunteers near the need, and their bands. Volunteers 0, 1 and 3 live in the
# need's area (Mitte 1, 0110); 2 and 4 each alone in a neighbouring one. With a small-count threshold of 2, readers
# who may not count people there see only the three (and GIS staff, who may, see all).
VOLUNTEERS_M = ((250.0, 200.0), (-300.0, 500.0), (1000.0, -700.0), (-1200.0, -1000.0), (2000.0, 1500.0))
BANDS = ("under 1 km", "under 1 km", "1-2 km", "1-2 km", "2-5 km")
LISTED = (0, 1, 3)
THRESHOLD = 2
CONTACT = "volunteer-{}@example.org, +49 30 5550{}"


def _coords(east_m: float, north_m: float) -> tuple[float, float]:
    lon, lat = point_at(east_m, north_m)["coordinates"]
    return lon, lat


@pytest.fixture(scope="module")
def people(berlin: Berlin) -> Iterator[dict[str, Any]]:
    """Five volunteers (individual assets offering older-people support) near a need in Mitte 1, each with 8 hours
    of befriending, and one lone volunteer in Spandau."""
    made: dict[str, Any] = {"assets": [], "resources": [], "points": [], "areas": []}
    with berlin.engine.begin() as conn:
        service = conn.execute(text("SELECT id FROM service_type WHERE slug = 'older-people'")).scalar_one()

        def volunteer(name: str, lon: float, lat: float, index: int) -> int:
            asset = conn.execute(
                text(
                    "INSERT INTO asset (city_id, category, name, contact, geom, blurred_location) VALUES "
                    "(:city, 'individual', :name, :contact, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), "
                    "ST_SetSRID(ST_MakePoint(13.40, 52.50), 4326)) RETURNING id"
                ),
                {
                    "city": berlin.city_id,
                    "name": name,
                    "contact": CONTACT.format(index, index),
                    "lon": lon,
                    "lat": lat,
                },
            ).scalar_one()
            conn.execute(text("INSERT INTO asset_service_type VALUES (:a, :s)"), {"a": asset, "s": service})
            # the neighbourhood is set by location, as the API does
            conn.execute(
                text(
                    "UPDATE asset SET neighbourhood_id = (SELECT n.id FROM neighbourhood n WHERE n.city_id = :city "
                    "AND ST_Covers(n.geom, asset.geom) ORDER BY ST_Area(n.geom) LIMIT 1) WHERE id = :a"
                ),
                {"city": berlin.city_id, "a": asset},
            )
            resource = conn.execute(
                text(
                    "INSERT INTO resource (city_id, asset_id, kind, quantity, unit, description) "
                    "VALUES (:city, :a, 'skills', 8, 'hours', 'befriending visits') RETURNING id"
                ),
                {"city": berlin.city_id, "a": asset},
            ).scalar_one()
            made["assets"].append(asset)
            made["resources"].append(resource)
            made["points"].append((lon, lat))
            made["areas"].append(
                conn.execute(
                    text("SELECT neighbourhood_id FROM asset WHERE id = :a"), {"a": asset}
                ).scalar_one()
            )
            return int(resource)

        for index, (east_m, north_m) in enumerate(VOLUNTEERS_M):
            volunteer(f"Volunteer {index}", *_coords(east_m, north_m), index)
        made["lone"] = volunteer("Lone volunteer", 13.2001, 52.5353, 9)
        made["need"] = conn.execute(
            text(
                "INSERT INTO need (city_id, service_type_id, geom, description, neighbourhood_id) VALUES "
                "(:city, :s, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), 'lonely older neighbours', "
                "(SELECT n.id FROM neighbourhood n WHERE n.city_id = :city "
                "AND ST_Covers(n.geom, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)) ORDER BY ST_Area(n.geom) LIMIT 1)) "
                "RETURNING id"
            ),
            {"city": berlin.city_id, "s": service, "lon": NEED_LON, "lat": NEED_LAT},
        ).scalar_one()
        made["need_area"] = conn.execute(
            text("SELECT neighbourhood_id FROM need WHERE id = :n"), {"n": made["need"]}
        ).scalar_one()
    try:
        yield made
    finally:
        with berlin.engine.begin() as conn:
            ids = list(
                conn.execute(
                    text("SELECT id FROM commitment WHERE need_id = :n"), {"n": made["need"]}
                ).scalars()
            )
            conn.execute(
                text("DELETE FROM change WHERE kind = 'commitments' AND item_id = ANY(:ids)"), {"ids": ids}
            )
            conn.execute(text("DELETE FROM need WHERE id = :n"), {"n": made["need"]})
            conn.execute(text("DELETE FROM asset WHERE id = ANY(:a)"), {"a": made["assets"]})


@pytest.fixture(scope="module")
def web(berlin: Berlin, people: dict[str, Any]) -> Iterator[TestClient]:
    """A client on the committed data (not inside a rolled-back transaction)."""
    settings = make_settings(berlin.url, small_count_threshold=THRESHOLD)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield client


def _leaks(body: str, people: dict[str, Any]) -> list[str]:
    """Coordinates (to 4 decimals, about 10 m) or contact details of a volunteer found in an answer."""
    found = []
    for index, (lon, lat) in enumerate(people["points"]):
        for value in (f"{lon:.4f}", f"{lat:.4f}"):
            if value in body:
                found.append(value)
        if f"volunteer-{index}@example.org" in body or f"5550{index}" in body:
            found.append(f"contact {index}")
    return found


@pytest.mark.parametrize("role", NON_PLANNERS, ids=lambda r: r or "anonymous")
def test_the_api_gives_non_planners_bands_only(
    web: TestClient, berlin: Berlin, people: dict[str, Any], role: str | None
) -> None:
    response = web.get(
        f"/api/needs/{people['need']}/matches", params={"limit": 100}, headers=berlin.headers(role)
    )
    assert response.status_code == 200, response.text
    result = response.json()
    mine = {
        c["resource"]["id"]: c for c in result["candidates"] if c["resource"]["id"] in people["resources"]
    }
    resources = people["resources"]
    assert people["areas"][0] == people["areas"][1] == people["areas"][3] == people["need_area"]
    assert len({people["areas"][2], people["areas"][4], people["areas"][5], people["need_area"]}) == 4
    for index in LISTED:
        candidate = mine[resources[index]]
        band = BANDS[index]
        assert candidate["owner"]["private"] is True and candidate["distance_m"] is None
        assert candidate["distance_band"] == band
        assert candidate["why"][0] == f"{band} from the need"
        # the score is that of the band's middle, so it tells no more than the band
        reach = result["reach_m"]
        scored_m = BAND_SCORED_M[("under 1 km", "1-2 km", "2-5 km").index(band)]
        assert abs(candidate["parts"]["distance"]["value"] - reach / (reach + scored_m)) < 0.001
    # the two volunteers in the same band score alike: their order follows the resource id, not the distance
    assert mine[resources[0]]["score"] == mine[resources[1]]["score"]
    # alone in their areas, the others are left out for those who may not count people there
    alone = {resources[2], resources[4], people["lone"]}
    assert alone <= set(mine) if role == "gis" else not alone & set(mine)
    assert _leaks(response.text, people) == []


def test_a_planner_sees_exact_distances(web: TestClient, berlin: Berlin, people: dict[str, Any]) -> None:
    result = web.get(
        f"/api/needs/{people['need']}/matches", params={"limit": 100}, headers=berlin.headers("planner")
    ).json()
    mine = {c["resource"]["id"]: c for c in result["candidates"]}
    for resource_id, point in zip(people["resources"], people["points"], strict=False):
        if resource_id == people["lone"]:
            continue
        expected = distance_to_need_m({"coordinates": list(point)})
        assert abs(mine[resource_id]["distance_m"] - expected) <= 2
    assert people["lone"] in mine
    assert WEIGHTS["distance"] > 0


@pytest.mark.parametrize("role", NON_PLANNERS, ids=lambda r: r or "anonymous")
def test_the_export_and_the_page_give_non_planners_bands_only(
    web: TestClient, berlin: Berlin, people: dict[str, Any], role: str | None
) -> None:
    csv_answer = web.get(
        "/api/matches/export.csv", params={"need": people["need"]}, headers=berlin.headers(role)
    )
    assert csv_answer.status_code == 200 and csv_answer.headers["content-type"].startswith("text/csv")
    rows = [line.split(",") for line in csv_answer.text.splitlines()[1:]]
    volunteer_rows = [r for r in rows if r[7].startswith("Volunteer")]
    assert len(volunteer_rows) == (len(VOLUNTEERS_M) if role == "gis" else len(LISTED))
    assert all(r[9] == "" for r in volunteer_rows)  # distance_m empty
    assert _leaks(csv_answer.text, people) == []
    page = web.get("/matches", params={"need": people["need"]}, headers=berlin.headers(role))
    assert page.status_code == 200, page.text
    assert "Volunteer 0" in page.text and "under 1 km" in page.text
    assert _leaks(page.text, people) == []
    # the page lists no exact distance for a person (a "NNN m" figure in a volunteer's row)
    for row in re.findall(r'<tr id="candidate-\d+".*?</tr>', page.text, flags=re.S):
        if "(person)" in row:
            assert re.search(r'class="distance">\d+ m<', row) is None


def test_commitments_name_a_person_but_never_locate_them(
    web: TestClient, berlin: Berlin, people: dict[str, Any]
) -> None:
    made = web.post(
        "/api/commitments",
        json={"resource_id": people["resources"][0], "need_id": people["need"], "quantity": 2},
        headers=berlin.headers("organiser"),
    )
    assert made.status_code == 201, made.text
    assert made.json()["owner"] == {
        "type": "asset",
        "id": people["assets"][0],
        "name": "Volunteer 0",
        "category": "individual",
        "private": True,
    }
    for role in ("contributor", "organiser"):
        listed = web.get("/api/commitments", params={"need": people["need"]}, headers=berlin.headers(role))
        assert listed.status_code == 200 and _leaks(listed.text, people) == []
    history = web.get(f"/api/commitments/{made.json()['id']}/history", headers=berlin.headers("organiser"))
    assert history.status_code == 200 and _leaks(history.text, people) == []


@pytest.fixture
def assetmap(berlin: Berlin) -> CliRunner:
    return CliRunner(
        env={
            "ASSETMAP_DATABASE_URL": berlin.url,
            "ASSETMAP_ENVIRONMENT": "test",
            "ASSETMAP_SECRET_KEY": "test-secret-0123456789abcdef",
            "COLUMNS": "250",
            "ASSETMAP_SMALL_COUNT_THRESHOLD": str(THRESHOLD),
        }
    )


def test_the_command_line_shows_people_as_the_api_does(assetmap: CliRunner, people: dict[str, Any]) -> None:
    for how in (["--public"], ["--as", "test-contributor"], ["--as", "test-organiser"]):
        shown = assetmap.invoke(cli, ["match", str(people["need"]), "--top", "100", *how])
        assert shown.exit_code == 0, shown.output
        assert "Volunteer 0" in shown.output and "under 1 km" in shown.output
        assert _leaks(shown.output, people) == []
        assert re.search(r"Volunteer 0\s*│\s*\d+ m", shown.output) is None
    exact = assetmap.invoke(cli, ["match", str(people["need"]), "--top", "100", "--as", "test-planner"])
    assert exact.exit_code == 0 and re.search(r"Volunteer 0\s*│\s*\d+ m", exact.output)
    unknown = assetmap.invoke(cli, ["match", str(people["need"]), "--as", "nobody-here"])
    assert unknown.exit_code == 1 and "no active user 'nobody-here'" in unknown.output


def test_commitments_and_dashboard_from_the_command_line(assetmap: CliRunner, people: dict[str, Any]) -> None:
    resource = people["resources"][2]
    added = assetmap.invoke(
        cli,
        ["commitment", "add", "--resource", str(resource), "--need", str(people["need"]), "--quantity", "3"],
    )
    assert added.exit_code == 0, added.output
    commitment_id = re.search(r"commitment (\d+):", added.output).group(1)  # type: ignore[union-attr]
    assert "(5 hours left)" in added.output and "proposed" in added.output
    refused = assetmap.invoke(cli, ["commitment", "stage", commitment_id, "done"])
    assert refused.exit_code == 1 and "it can become agreed or cancelled" in refused.output
    for stage in ("agreed", "active"):
        assert assetmap.invoke(cli, ["commitment", "stage", commitment_id, stage]).exit_code == 0
    done = assetmap.invoke(
        cli, ["commitment", "outcome", commitment_id, "--hours", "4", "--people", "2", "--done"]
    )
    assert done.exit_code == 0 and "done; 4 hours given, 2 people helped" in done.output
    board = assetmap.invoke(cli, ["dashboard", "--city", "Berlin"])
    assert board.exit_code == 0, board.output
    line = next(row for row in board.output.splitlines() if "older-people" in row)
    cells = [cell.strip() for cell in line.split("│") if cell.strip()]
    assert cells[0] == "older-people" and cells[1] == "1" and float(cells[3]) >= 4
    not_a_city = assetmap.invoke(cli, ["dashboard", "--city", "Atlantis"])
    assert not_a_city.exit_code == 1 and "no city 'Atlantis'" in not_a_city.output


def test_imported_people_alone_in_their_area_stay_unlisted_for_signed_in_readers(
    web: TestClient, berlin: Berlin, people: dict[str, Any]
) -> None:
    """People without an author (imported, as here) fall under small-count suppression like any other: before
    app/db/visibility.py's fix a NULL author let them through for every signed-in reader."""
    alone = {people["assets"][2], people["assets"][4], people["assets"][5]}
    for role, expected in (("contributor", set()), ("organiser", set()), ("gis", alone)):
        listed = web.get(
            "/api/assets",
            params={"city": "Berlin", "category": "individual", "limit": 1000},
            headers=berlin.headers(role),
        )
        assert listed.status_code == 200, listed.text
        assert {f["id"] for f in listed.json()["features"]} & alone == expected, role
