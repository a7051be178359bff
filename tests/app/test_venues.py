"""The kinds of place that could host each service type: vocabulary, seed, API and `assetmap venues`."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, text, update
from typer.testing import CliRunner

from app.db.models import CityServiceVenueKinds, ServiceType
from app.services.sample import venue_kind
from geo.vocab import DEFAULT_SERVICE_VENUE_KINDS, VENUE_KINDS
from tests.app.test_analysis_cli import assetmap, invoke  # noqa: F401  (the fixture)
from tests.conftest import Berlin

MIGRATION = Path(__file__).parents[2] / "migrations/versions/2026_12_03-0008_service_venue_kinds.py"


def _migration() -> object:
    spec = importlib.util.spec_from_file_location("migration_0008", MIGRATION)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def one_line(output: str) -> str:
    return " ".join(output.split())


def test_the_migration_froze_the_vocabulary_as_it_stands() -> None:
    migration = _migration()
    assert tuple(VENUE_KINDS) == migration.VENUE_KINDS  # type: ignore[attr-defined]
    assert migration.SERVICE_VENUE_KINDS == DEFAULT_SERVICE_VENUE_KINDS  # type: ignore[attr-defined]


def test_every_seeded_service_type_has_kinds_that_suit_it(berlin: Berlin) -> None:
    with berlin.engine.connect() as conn:
        seeded = dict(conn.execute(text("SELECT slug, venue_kinds FROM service_type")).all())
    assert set(seeded) == set(DEFAULT_SERVICE_VENUE_KINDS)
    assert all(seeded[slug] == list(kinds) for slug, kinds in DEFAULT_SERVICE_VENUE_KINDS.items())
    # Rooms indoors for childcare, learning and older people; open spaces for sport and play.
    for slug in ("childcare", "learning", "older-people"):
        assert {VENUE_KINDS[k] for k in seeded[slug]} == {"indoor"}, slug
    assert {"playground", "sports_pitch", "park"} <= set(seeded["sport-and-play"])


def test_the_database_refuses_a_kind_it_does_not_know(berlin: Berlin) -> None:
    from sqlalchemy.exc import IntegrityError

    with berlin.engine.connect() as conn, pytest.raises(IntegrityError, match="kind_known"):
        conn.execute(text("UPDATE asset SET kind = 'castle' WHERE id = (SELECT min(id) FROM asset)"))
    with berlin.engine.connect() as conn, pytest.raises(IntegrityError, match="venue_kinds_known"):
        conn.execute(text("UPDATE service_type SET venue_kinds = '{castle}' WHERE slug = 'childcare'"))


@pytest.mark.parametrize(
    ("stem", "name", "kind"),
    [
        ("community-centers", "Familienzentrum Wattstraße", "family_centre"),
        ("community-centers", "Jugendclub Feuerwache", "youth_centre"),
        ("community-centers", "Seniorenfreizeitstätte Hermsdorf", "senior_centre"),
        ("community-centers", "Gemeindesaal Ev. Kirchengemeinde St. Nikolai", "place_of_worship"),
        ("community-centers", "Musikfabrik.Berlin", "cultural_centre"),
        ("community-centers", "Bürgersaal Zehlendorf", "hall"),
        ("community-centers", "SpVgg Tiergarten 58", "clubhouse"),
        ("community-centers", "Nachbarschaftshaus Urbanstraße", "community_centre"),
        ("sport-centers", "Basketball", "sports_pitch"),
        ("sport-centers", "7aplus Boulderhalle", "sports_centre"),
        ("sport-centers", "Stadtbad Oderberger Straße", "swimming_pool"),
        ("sport-centers", "Karate-Dojo Möckernstraße", "fitness_studio"),
        ("playgrounds", "Playground (no name in OpenStreetMap)", "playground"),
        ("kindergartens", "Nestwärme Kita", "kindergarten"),
    ],
)
def test_berlin_facilities_get_their_kind_from_file_and_name(stem: str, name: str, kind: str) -> None:
    assert venue_kind(stem, name) == kind


def test_the_berlin_sample_has_a_kind_for_every_facility(berlin: Berlin) -> None:
    with berlin.engine.connect() as conn:
        kinds = dict(
            conn.execute(
                text("SELECT kind, count(*) FROM asset WHERE source LIKE 'osm:%' GROUP BY kind")
            ).all()
        )
    assert None not in kinds and set(kinds) <= set(VENUE_KINDS)
    assert kinds["playground"] == 1059 and kinds["kindergarten"] == 1175 and kinds["library"] == 131
    assert kinds["family_centre"] >= 25 and kinds["community_centre"] >= 200


@pytest.fixture
def seeded_lists_after(berlin: Berlin) -> Iterator[None]:
    """The commands commit: the lists they change are seeded again and cities' own lists dropped."""
    yield
    with berlin.engine.begin() as conn:
        conn.execute(delete(CityServiceVenueKinds))
        for slug, kinds in DEFAULT_SERVICE_VENUE_KINDS.items():
            conn.execute(update(ServiceType).where(ServiceType.slug == slug).values(venue_kinds=list(kinds)))


def test_the_api_lists_sets_and_resets_kinds(client: TestClient, berlin: Berlin) -> None:
    planner, admin = berlin.headers("planner"), berlin.headers("admin")
    listed = client.get("/api/venue-kinds").json()
    assert {"kind": "playground", "space": "open"} in listed["kinds"] and len(listed["kinds"]) == len(
        VENUE_KINDS
    )
    childcare = next(r for r in listed["items"] if r["service_type"] == "childcare")
    assert childcare["city"] is None and childcare["venue_kinds"] == list(
        DEFAULT_SERVICE_VENUE_KINDS["childcare"]
    )

    changed = client.put(
        "/api/service-types/childcare/venue-kinds",
        json={"kinds": ["family_centre", "hall", "family_centre"]},
        headers=planner,
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["venue_kinds"] == ["family_centre", "hall"]

    own = client.put(
        "/api/cities/Berlin/service-types/childcare/venue-kinds", json={"kinds": ["library"]}, headers=admin
    )
    assert own.status_code == 200 and own.json()["source"] == "city" and own.json()["city"] == "Berlin"
    in_berlin = client.get("/api/venue-kinds", params={"city": "berlin"}).json()["items"]
    assert next(r for r in in_berlin if r["service_type"] == "childcare")["venue_kinds"] == ["library"]
    assert next(r for r in in_berlin if r["service_type"] == "health")["source"] == "service_type"

    reset = client.delete("/api/cities/Berlin/service-types/childcare/venue-kinds", headers=planner)
    assert reset.status_code == 200
    assert reset.json() == {
        "service_type": "childcare",
        "city": "Berlin",
        "city_id": berlin.city_id,
        "venue_kinds": ["family_centre", "hall"],
        "source": "service_type",
    }


@pytest.mark.parametrize(
    ("method", "url", "body", "role", "status", "says"),
    [
        ("PUT", "/api/service-types/childcare/venue-kinds", {"kinds": ["castle"]}, "planner", 422, "castle"),
        ("PUT", "/api/service-types/childcare/venue-kinds", {"kinds": "hall"}, "planner", 422, "kinds"),
        ("PUT", "/api/service-types/childcare/venue-kinds", {}, "planner", 422, "kinds"),
        ("PUT", "/api/service-types/nursing/venue-kinds", {"kinds": ["hall"]}, "planner", 404, "nursing"),
        (
            "PUT",
            "/api/cities/Atlantis/service-types/childcare/venue-kinds",
            {"kinds": ["hall"]},
            "admin",
            404,
            "Atlantis",
        ),
        ("DELETE", "/api/cities/Berlin/service-types/nursing/venue-kinds", None, "admin", 404, "nursing"),
        (
            "PUT",
            "/api/service-types/childcare/venue-kinds",
            {"kinds": ["hall"]},
            "organiser",
            403,
            "your role",
        ),
        ("PUT", "/api/service-types/childcare/venue-kinds", {"kinds": ["hall"]}, "gis", 403, "your role"),
        (
            "DELETE",
            "/api/cities/Berlin/service-types/childcare/venue-kinds",
            None,
            "contributor",
            403,
            "your role",
        ),
        ("PUT", "/api/service-types/childcare/venue-kinds", {"kinds": ["hall"]}, None, 401, "sign in"),
        ("GET", "/api/venue-kinds?city=Atlantis", None, None, 404, "Atlantis"),
    ],
)
def test_the_api_refuses_with_a_reason(
    client: TestClient,
    berlin: Berlin,
    method: str,
    url: str,
    body: object,
    role: str | None,
    status: int,
    says: str,
) -> None:
    response = client.request(method, url, json=body, headers=berlin.headers(role))
    assert response.status_code == status, response.text
    assert says.lower() in response.text.lower()
    items = client.get("/api/venue-kinds").json()["items"]
    childcare = next(r for r in items if r["service_type"] == "childcare")
    assert childcare["venue_kinds"] == list(DEFAULT_SERVICE_VENUE_KINDS["childcare"])  # nothing changed


def test_the_terminal_lists_sets_and_resets_kinds(
    assetmap: CliRunner,  # noqa: F811
    seeded_lists_after: None,
) -> None:
    listed = one_line(invoke(assetmap, "venues", "list"))
    assert "childcare │ family_centre, kindergarten, community_centre" in listed
    assert "playground (open)" in listed
    said = one_line(
        invoke(assetmap, "venues", "set", "--service", "older-people", "--kinds", "senior_centre, hall")
    )
    assert "kinds of place for older-people (every city): senior_centre, hall" in said
    invoke(assetmap, "venues", "set", "--service", "older-people", "--kinds", "library", "--city", "Berlin")
    in_berlin = one_line(invoke(assetmap, "venues", "list", "--city", "Berlin"))
    assert "older-people │ library │ the city's own" in in_berlin
    reset = one_line(invoke(assetmap, "venues", "reset", "--service", "older-people", "--city", "Berlin"))
    assert "Berlin uses the service type's list for older-people again: senior_centre, hall" in reset


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["set", "--service", "childcare", "--kinds", "castle"], "--kinds: unknown venue kind 'castle'"),
        (["set", "--service", "nursing", "--kinds", "hall"], "no service type 'nursing'"),
        (["set", "--service", "childcare", "--kinds", "hall", "--city", "Atlantis"], "no city 'Atlantis'"),
        (["reset", "--service", "childcare", "--city", "Atlantis"], "no city 'Atlantis'"),
        (["list", "--city", "Atlantis"], "no city 'Atlantis'"),
    ],
)
def test_the_terminal_refuses_with_a_reason(
    assetmap: CliRunner,  # noqa: F811
    args: list[str],
    message: str,
) -> None:
    from app.cli import cli

    result = assetmap.invoke(cli, ["venues", *args])
    assert result.exit_code == 1 and message in one_line(result.output), result.output
