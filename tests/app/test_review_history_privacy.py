"""Organisers' edit rights, review of contributions, change history with revert and restore, lost-update
protection, and privacy of people (blurred locations, suppressed small counts)."""

from __future__ import annotations

import h3
from fastapi.testclient import TestClient

from tests.app.helpers import MITTE_POINT, SPANDAU_POINT, create_asset
from tests.conftest import Berlin


def test_organiser_edits_only_in_assigned_neighbourhoods(client: TestClient, berlin: Berlin) -> None:
    organiser = berlin.headers("organiser")
    inside = create_asset(client, berlin, role="organiser", name="Mitte reading group")
    assert inside["properties"]["status"] == "approved"
    outside = client.post(
        "/api/assets",
        json={"city": "Berlin", "name": "Spandau choir", "category": "culture", "geometry": SPANDAU_POINT},
        headers=organiser,
    )
    assert outside.status_code == 403 and "assign" in outside.json()["detail"]
    # moving their own entry out of their neighbourhoods is refused too, and changes nothing
    moved = client.patch(
        f"/api/assets/{inside['id']}", json={"geometry": SPANDAU_POINT, "version": 1}, headers=organiser
    )
    assert moved.status_code == 403
    assert client.get(f"/api/assets/{inside['id']}").json()["geometry"] == MITTE_POINT
    # someone else's asset in Spandau
    spandau = create_asset(client, berlin, role="admin", name="Spandau library", geometry=SPANDAU_POINT)
    renamed = client.patch(
        f"/api/assets/{spandau['id']}", json={"name": "mine now", "version": 1}, headers=organiser
    )
    assert renamed.status_code == 403
    assert client.delete(f"/api/assets/{spandau['id']}", headers=organiser).status_code == 403
    assert client.get(f"/api/assets/{spandau['id']}").json()["properties"]["name"] == "Spandau library"


def test_contributions_wait_for_review_by_the_neighbourhoods_organiser(
    client: TestClient, berlin: Berlin
) -> None:
    proposal = create_asset(client, berlin, role="contributor", name="Street library box")
    pid = proposal["id"]
    assert proposal["properties"]["status"] == "pending"
    public_names = lambda: [  # noqa: E731
        f["properties"]["name"]
        for f in client.get("/api/assets", params={"q": "Street library"}).json()["features"]
    ]
    assert public_names() == []
    assert (
        client.get(f"/api/assets/{pid}").status_code == 404
    )  # hidden from the public, existence not revealed
    assert client.get(f"/api/assets/{pid}", headers=berlin.headers("contributor")).status_code == 200
    pending = client.get(
        "/api/assets", params={"status": "pending"}, headers=berlin.headers("organiser")
    ).json()
    assert pid in [f["id"] for f in pending["features"]]
    # a contributor cannot approve (their own or any) entry; contributors cannot edit published data either
    assert (
        client.post(
            f"/api/assets/{pid}/review", json={"decision": "approve"}, headers=berlin.headers("contributor")
        ).status_code
        == 403
    )
    # a rejection needs a reason
    no_reason = client.post(
        f"/api/assets/{pid}/review", json={"decision": "reject"}, headers=berlin.headers("organiser")
    )
    assert no_reason.status_code == 422
    approved = client.post(
        f"/api/assets/{pid}/review", json={"decision": "approve"}, headers=berlin.headers("organiser")
    )
    assert approved.status_code == 200 and approved.json()["properties"]["status"] == "approved"
    assert public_names() == ["Street library box"]
    again = client.post(
        f"/api/assets/{pid}/review", json={"decision": "approve"}, headers=berlin.headers("organiser")
    )
    assert again.status_code == 409


def test_organiser_of_another_neighbourhood_cannot_review(client: TestClient, berlin: Berlin) -> None:
    proposal = create_asset(client, berlin, role="contributor", name="Kiez choir", geometry=SPANDAU_POINT)
    refused = client.post(
        f"/api/assets/{proposal['id']}/review",
        json={"decision": "reject", "reason": "no"},
        headers=berlin.headers("organiser"),
    )
    assert refused.status_code == 403
    rejected = client.post(
        f"/api/assets/{proposal['id']}/review",
        json={"decision": "reject", "reason": "duplicate of 123"},
        headers=berlin.headers("admin"),
    )
    assert rejected.status_code == 200 and rejected.json()["properties"]["status"] == "rejected"
    assert client.get("/api/assets", params={"q": "Kiez choir"}).json()["features"] == []


def test_history_records_who_what_and_why_and_revert_restores_a_version(
    client: TestClient, berlin: Berlin
) -> None:
    admin, organiser = berlin.headers("admin"), berlin.headers("organiser")
    feature = create_asset(client, berlin, role="organiser", name="Tool library", capacity=10)
    url = f"/api/assets/{feature['id']}"
    assert (
        client.patch(
            url, json={"name": "Tool & seed library", "version": 1, "message": "seeds too"}, headers=organiser
        ).status_code
        == 200
    )
    history = client.get(f"{url}/history", headers=admin).json()["items"]
    assert [h["action"] for h in history] == ["create", "update"]
    assert history[1]["user"] == "test-organiser" and history[1]["message"] == "seeds too"
    assert (
        history[1]["before"]["name"] == "Tool library"
        and history[1]["after"]["name"] == "Tool & seed library"
    )
    assert (
        client.get(f"{url}/history").status_code == 401
    )  # history shows exact data: not for anonymous visitors
    reverted = client.post(f"{url}/revert", json={"version": 1}, headers=organiser)
    assert reverted.status_code == 200
    assert reverted.json()["properties"]["name"] == "Tool library"
    assert reverted.json()["properties"]["version"] == 3
    assert client.post(f"{url}/revert", json={"version": 42}, headers=admin).status_code == 404
    # an organiser elsewhere may not revert
    spandau = create_asset(client, berlin, role="admin", geometry=SPANDAU_POINT)
    assert (
        client.post(f"/api/assets/{spandau['id']}/revert", json={"version": 1}, headers=organiser).status_code
        == 403
    )


def test_deleted_items_can_be_restored_with_their_id(client: TestClient, berlin: Berlin) -> None:
    admin = berlin.headers("admin")
    feature = create_asset(client, berlin, name="Repair café", service_types=["community-space"])
    url = f"/api/assets/{feature['id']}"
    assert client.delete(url, headers=admin, params={"message": "closed for winter"}).status_code == 204
    assert client.get(url).status_code == 404
    history = client.get(f"{url}/history", headers=admin).json()["items"]
    assert history[-1]["action"] == "delete" and history[-1]["message"] == "closed for winter"
    restored = client.post(f"{url}/restore", headers=admin)
    assert restored.status_code == 201
    props = restored.json()["properties"]
    assert restored.json()["id"] == feature["id"] and props["name"] == "Repair café"
    assert props["service_types"] == ["community-space"]
    assert client.post(f"{url}/restore", headers=admin).status_code == 409


def test_history_covers_neighbourhoods_needs_resources_and_links(client: TestClient, berlin: Berlin) -> None:
    admin = berlin.headers("admin")
    a = create_asset(client, berlin, name="A")
    b = create_asset(client, berlin, name="B")
    link = client.post(
        "/api/links",
        json={"source_asset_id": a["id"], "target_asset_id": b["id"], "kind": "funding"},
        headers=admin,
    ).json()
    assert (
        client.patch(f"/api/links/{link['id']}", json={"weight": 3, "version": 1}, headers=admin).status_code
        == 200
    )
    assert [
        h["action"] for h in client.get(f"/api/links/{link['id']}/history", headers=admin).json()["items"]
    ] == ["create", "update"]
    nb_history = client.get("/api/neighbourhoods/1/history", headers=admin).json()["items"]
    assert nb_history[0]["action"] == "import" and nb_history[0]["after"]["code"]


def test_two_concurrent_editors_the_second_is_refused(client: TestClient, berlin: Berlin) -> None:
    admin = berlin.headers("admin")
    feature = create_asset(client, berlin, name="Shared kitchen")
    url = f"/api/assets/{feature['id']}"
    etag_alice = client.get(url).headers["etag"]
    etag_bob = client.get(url).headers["etag"]
    assert etag_alice == etag_bob == '"1"'
    alice = client.patch(
        url, json={"name": "Shared kitchen (Alice)"}, headers={**admin, "If-Match": etag_alice}
    )
    assert alice.status_code == 200
    bob = client.patch(url, json={"name": "Shared kitchen (Bob)"}, headers={**admin, "If-Match": etag_bob})
    assert bob.status_code == 412
    assert bob.json()["current_version"] == 2
    assert client.get(url).json()["properties"]["name"] == "Shared kitchen (Alice)"


def _peers(client: TestClient, berlin: Berlin, **fields: object) -> None:
    """Enough other people (or sensitive assets) in 0110 that they are not a suppressed small count."""
    for i in range(berlin.settings.small_count_threshold - 1):
        create_asset(client, berlin, name=f"Peer {i}", **fields)  # type: ignore[arg-type]


def test_people_are_blurred_for_everyone_without_planner_rights(client: TestClient, berlin: Berlin) -> None:
    exact = [13.41321, 52.52191]
    _peers(client, berlin, category="individual")
    person = create_asset(
        client,
        berlin,
        name="Shared Lives carer",
        category="individual",
        geometry={"type": "Point", "coordinates": exact},
        contact="0301234567",
    )
    url = f"/api/assets/{person['id']}"
    cell_centre = h3.cell_to_latlng(h3.latlng_to_cell(exact[1], exact[0], 8))
    blurred = [round(cell_centre[1], 6), round(cell_centre[0], 6)]
    for role in (None, "contributor", "organiser", "gis"):
        seen = client.get(url, headers=berlin.headers(role)).json()
        assert seen["geometry"]["coordinates"] == blurred, role
        assert seen["properties"]["location_blurred"] is True
        assert seen["properties"]["contact"] is None
    for role in ("planner", "admin"):
        seen = client.get(url, headers=berlin.headers(role)).json()
        assert seen["geometry"]["coordinates"] == exact
        assert seen["properties"]["contact"] == "0301234567"
    # a tiny bbox around the exact spot does not find the person for the public (no probing by bbox)
    tiny = f"{exact[0] - 0.0001},{exact[1] - 0.0001},{exact[0] + 0.0001},{exact[1] + 0.0001}"
    public = client.get("/api/assets", params={"bbox": tiny}).json()["features"]
    assert person["id"] not in [f["id"] for f in public]
    planner = client.get("/api/assets", params={"bbox": tiny}, headers=berlin.headers("planner")).json()[
        "features"
    ]
    assert person["id"] in [f["id"] for f in planner]


def test_sensitive_assets_are_blurred_too(client: TestClient, berlin: Berlin) -> None:
    _peers(client, berlin, category="institution", sensitive=True)
    shelter = create_asset(client, berlin, name="Women's refuge", category="institution", sensitive=True)
    seen = client.get(f"/api/assets/{shelter['id']}").json()
    assert seen["properties"]["location_blurred"] is True and seen["geometry"] != MITTE_POINT


def test_neighbourhood_blur_setting_shows_the_representative_point(berlin: Berlin, connection) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy.orm import Session

    from app.deps import get_db
    from app.main import create_app
    from tests.conftest import make_settings

    app = create_app(make_settings(berlin.url, privacy_blur="neighbourhood"))

    def test_db():  # type: ignore[no-untyped-def]
        with Session(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False) as s:
            yield s

    app.dependency_overrides[get_db] = test_db
    with TestClient(app) as client:
        _peers(client, berlin, category="individual")
        person = create_asset(client, berlin, category="individual", name="Peer supporter")
        seen = client.get(f"/api/assets/{person['id']}").json()
        point = connection.exec_driver_sql(
            "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) p FROM neighbourhood WHERE id = %s) q",
            (person["properties"]["neighbourhood_id"],),
        ).one()
        assert seen["geometry"]["coordinates"] == [round(point[0], 6), round(point[1], 6)]


def test_small_counts_of_people_are_suppressed_in_public_summaries(
    client: TestClient, berlin: Berlin
) -> None:
    people = [create_asset(client, berlin, category="individual", name=f"Skills {i}") for i in range(3)]
    nb = people[0]["properties"]["neighbourhood_id"]
    public = client.get(f"/api/neighbourhoods/{nb}/summary").json()
    assert public["assets"]["by_category"]["individual"] is None
    assert public["assets"]["total"] is None  # a total would reveal the hidden count
    planner = client.get(f"/api/neighbourhoods/{nb}/summary", headers=berlin.headers("planner")).json()
    assert planner["assets"]["by_category"]["individual"] == 3
    for i in range(3, 5):
        create_asset(client, berlin, category="individual", name=f"Skills {i}")
    five = client.get(f"/api/neighbourhoods/{nb}/summary").json()
    assert five["assets"]["by_category"]["individual"] == 5
