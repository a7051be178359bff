"""Security review findings on privacy and edit rights: history shaped like the item itself, small counts that no
list, export or summary gives away, revert/restore and references within an organiser's neighbourhoods, the
verified mark, and boundaries that move what lies inside them."""

from __future__ import annotations

from typing import Any

import h3
from fastapi.testclient import TestClient

from tests.app.helpers import MITTE_POINT, SPANDAU_POINT, create_asset
from tests.conftest import Berlin

EXACT = [13.41321, 52.52191]  # in forecast area 0110, like MITTE_POINT
MOVED = [13.41402, 52.52233]  # a few metres away, still in 0110
CONTACT = "030 555 0199"


def _blurred(coords: list[float]) -> list[float]:
    lat, lon = h3.cell_to_latlng(h3.latlng_to_cell(coords[1], coords[0], 8))
    return [lon, lat]


def _close(a: Any, b: list[float]) -> bool:
    return abs(a[0] - b[0]) < 1e-6 and abs(a[1] - b[1]) < 1e-6


def _point(coords: list[float]) -> dict[str, Any]:
    return {"type": "Point", "coordinates": coords}


def _other_organiser(client: TestClient, berlin: Berlin, neighbourhood_id: int) -> dict[str, str]:
    """An organiser of another neighbourhood (not the fixture's 0110/0120), signed in."""
    admin = berlin.headers("admin")
    user = client.post(
        "/api/users",
        json={"username": "spandau-org", "password": "long enough pw", "role": "organiser"},
        headers=admin,
    ).json()
    assigned = client.put(
        f"/api/users/{user['id']}/neighbourhoods",
        json={"neighbourhood_ids": [neighbourhood_id]},
        headers=admin,
    )
    assert assigned.status_code == 204
    token = client.post(
        "/api/auth/token", data={"username": "spandau-org", "password": "long enough pw"}
    ).json()["access_token"]
    return {"Authorization": f"Bearer {token}"}


def _snapshots(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [s for item in items for s in (item["before"], item["after"]) if s is not None]


# Finding 1: history shows what the item itself hides


def test_history_of_a_person_is_blurred_and_hidden_exactly_like_the_person(
    client: TestClient, berlin: Berlin
) -> None:
    admin = berlin.headers("admin")
    person = create_asset(
        client,
        berlin,
        name="Shared Lives carer",
        category="individual",
        geometry=_point(EXACT),
        contact=CONTACT,
    )
    url = f"/api/assets/{person['id']}"
    moved = client.patch(url, json={"geometry": _point(MOVED), "version": 1}, headers=admin)
    assert moved.status_code == 200
    spandau_nb = create_asset(client, berlin, geometry=SPANDAU_POINT)["properties"]["neighbourhood_id"]
    elsewhere = _other_organiser(client, berlin, spandau_nb)

    # the organiser of 0110 and GIS staff see the person blurred: so every snapshot is, contact removed
    for headers in (berlin.headers("organiser"), berlin.headers("gis")):
        item = client.get(url, headers=headers).json()
        assert item["properties"]["location_blurred"] is True
        history = client.get(f"{url}/history", headers=headers)
        assert history.status_code == 200
        snapshots = _snapshots(history.json()["items"])
        assert len(snapshots) == 3  # create's after, update's before and after
        for snap in snapshots:
            assert snap["contact"] is None
            assert not _close(snap["geom"]["coordinates"], EXACT)
            assert not _close(snap["geom"]["coordinates"], MOVED)
        update = history.json()["items"][1]
        assert _close(update["before"]["geom"]["coordinates"], _blurred(EXACT))
        assert _close(update["after"]["geom"]["coordinates"], item["geometry"]["coordinates"])
        assert (
            CONTACT not in history.text and "13.41321" not in history.text and "13.41402" not in history.text
        )
    # an organiser elsewhere gets 404 for this person (one person in 0110 is a suppressed count): so for history
    assert client.get(url, headers=elsewhere).status_code == 404
    assert client.get(f"{url}/history", headers=elsewhere).status_code == 404
    # a planner sees the exact history
    planner = client.get(f"{url}/history", headers=berlin.headers("planner")).json()["items"]
    assert planner[1]["before"]["geom"]["coordinates"] == EXACT and planner[1]["before"]["contact"] == CONTACT

    # deleted: the last snapshot stays blurred, and still 404 where the item was
    assert client.delete(url, headers=admin).status_code == 204
    gone = client.get(f"{url}/history", headers=berlin.headers("gis"))
    assert gone.status_code == 200 and gone.json()["items"][-1]["action"] == "delete"
    assert gone.json()["items"][-1]["before"]["contact"] is None
    assert CONTACT not in gone.text and "13.41402" not in gone.text
    assert client.get(f"{url}/history", headers=elsewhere).status_code == 404
    # restore by someone who may not see it is a 404 too, and it stays deleted
    assert client.post(f"{url}/restore", headers=elsewhere).status_code in (403, 404)
    assert client.get(url, headers=admin).status_code == 404


def test_an_asset_made_sensitive_blurs_its_whole_history_including_the_import_row(
    client: TestClient, berlin: Berlin
) -> None:
    admin = berlin.headers("admin")
    imported = client.get(
        "/api/assets", params={"neighbourhood": berlin.mitte_ids[0], "limit": 1}, headers=admin
    ).json()["features"][0]
    url = f"/api/assets/{imported['id']}"
    exact = imported["geometry"]["coordinates"]
    made_sensitive = client.patch(
        url, json={"sensitive": True, "version": imported["properties"]["version"]}, headers=admin
    )
    assert made_sensitive.status_code == 200
    history = client.get(f"{url}/history", headers=berlin.headers("gis")).json()["items"]
    assert history[0]["action"] == "import" and history[0]["after"] is not None
    for snap in _snapshots(history):
        assert not _close(snap["geom"]["coordinates"], exact), snap
        assert snap["contact"] is None


# Finding 2: small-count suppression holds across lists, exports and the summary


def _listed(client: TestClient, headers: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    return client.get("/api/assets", params={"limit": 1000, **params}, headers=headers).json()["features"]


def test_lists_exports_and_summary_never_give_away_a_suppressed_count(
    client: TestClient, berlin: Berlin
) -> None:
    nb = berlin.mitte_ids[0]
    threshold = berlin.settings.small_count_threshold
    people = [
        create_asset(
            client,
            berlin,
            name=f"Skills swap {i}",
            category="individual",
            service_types=["childcare"],
            geometry=_point([EXACT[0] + i * 1e-4, EXACT[1]]),
        )
        for i in range(threshold - 2)
    ]
    ids = {p["id"] for p in people}
    box = f"{EXACT[0] - 0.01},{EXACT[1] - 0.01},{EXACT[0] + 0.01},{EXACT[1] + 0.01}"
    for role in (None, "contributor"):
        headers = berlin.headers(role)
        for params in (
            {"neighbourhood": nb, "category": "individual"},
            {"neighbourhood": nb},
            {"bbox": box},
            {"q": "Skills swap"},
            {"service_type": "childcare", "neighbourhood": nb},
        ):
            assert ids.isdisjoint(f["id"] for f in _listed(client, headers, **params)), (role, params)
        exported = client.get(
            "/api/exports/assets",
            params={"city": "Berlin", "format": "geojson", "neighbourhood": "0110"},
            headers=headers,
        ).json()["features"]
        assert not [f for f in exported if f["properties"]["name"].startswith("Skills swap")]
        assert client.get(f"/api/assets/{people[0]['id']}", headers=headers).status_code == 404

        summary = client.get(f"/api/neighbourhoods/{nb}/summary", headers=headers).json()["assets"]
        assert summary["by_category"]["individual"] is None and summary["total"] is None
        # every count the summary does show is exactly what the list shows: no difference reveals the people
        for category, count in summary["by_category"].items():
            if count is not None:
                assert count == len(_listed(client, headers, neighbourhood=nb, category=category))
        for slug, count in summary["by_service_type"].items():
            if count is not None:
                assert count == len(_listed(client, headers, neighbourhood=nb, service_type=slug)), slug
        assert summary["by_service_type"]["childcare"] is None  # kindergartens plus hidden people
    # planners see and count them all
    planner = berlin.headers("planner")
    assert ids <= {f["id"] for f in _listed(client, planner, neighbourhood=nb, category="individual")}
    planned = client.get(f"/api/neighbourhoods/{nb}/summary", headers=planner).json()["assets"]
    assert planned["by_category"]["individual"] == threshold - 2

    # at the threshold they are listed (blurred) and counted for everyone
    for i in range(2):
        create_asset(client, berlin, name=f"Skills swap {10 + i}", category="individual")
    public = _listed(client, {}, neighbourhood=nb, category="individual")
    assert len(public) == threshold and all(f["properties"]["location_blurred"] for f in public)
    summary = client.get(f"/api/neighbourhoods/{nb}/summary").json()["assets"]
    assert summary["by_category"]["individual"] == threshold


# Finding 3: revert and restore check where the item ends up


def test_revert_cannot_move_an_item_into_a_neighbourhood_the_organiser_may_not_edit(
    client: TestClient, berlin: Berlin
) -> None:
    admin, organiser = berlin.headers("admin"), berlin.headers("organiser")
    asset = create_asset(client, berlin, name="Wandering choir", geometry=SPANDAU_POINT)
    url = f"/api/assets/{asset['id']}"
    assert client.patch(url, json={"geometry": MITTE_POINT, "version": 1}, headers=admin).status_code == 200
    refused = client.post(f"{url}/revert", json={"version": 1}, headers=organiser)
    assert refused.status_code == 403
    now = client.get(url, headers=admin).json()
    assert now["geometry"] == MITTE_POINT and now["properties"]["version"] == 2
    assert client.post(f"{url}/revert", json={"version": 1}, headers=admin).status_code == 200


def test_restore_checks_where_the_item_falls_now(client: TestClient, berlin: Berlin) -> None:
    admin, organiser, gis = berlin.headers("admin"), berlin.headers("organiser"), berlin.headers("gis")
    asset = create_asset(client, berlin, name="Seasonal market")
    url = f"/api/assets/{asset['id']}"
    assert asset["properties"]["neighbourhood_id"] == berlin.mitte_ids[0]
    assert client.delete(url, headers=admin).status_code == 204
    # 0110 shrinks to a square that leaves the market's spot out
    nb_url = f"/api/neighbourhoods/{berlin.mitte_ids[0]}"
    version = client.get(nb_url).json()["properties"]["version"]
    shrunk = client.patch(nb_url, json={"geometry": _SMALL_SQUARE, "version": version}, headers=gis)
    assert shrunk.status_code == 200
    # the snapshot says 0110, but the spot is no longer the organiser's
    assert client.post(f"{url}/restore", headers=organiser).status_code == 403
    assert client.get(url, headers=admin).status_code == 404
    restored = client.post(f"{url}/restore", headers=admin)
    assert restored.status_code == 201
    assert restored.json()["properties"]["neighbourhood_id"] != berlin.mitte_ids[0]


# Finding 4: every reference an organiser writes is within their rights


def test_organiser_cannot_attach_resources_or_links_to_assets_elsewhere(
    client: TestClient, berlin: Berlin
) -> None:
    organiser = berlin.headers("organiser")
    mine = create_asset(client, berlin, role="organiser", name="Mitte tool library")
    theirs = create_asset(client, berlin, name="Spandau hall", geometry=SPANDAU_POINT)
    both = client.post(
        "/api/resources",
        json={"kind": "space", "asset_id": theirs["id"], "neighbourhood_id": berlin.mitte_ids[0]},
        headers=organiser,
    )
    assert both.status_code == 403, both.text
    resource = client.post(
        "/api/resources", json={"kind": "space", "asset_id": mine["id"]}, headers=organiser
    ).json()
    moved = client.patch(
        f"/api/resources/{resource['id']}", json={"asset_id": theirs["id"], "version": 1}, headers=organiser
    )
    assert moved.status_code == 403
    assert client.get(f"/api/resources/{resource['id']}").json()["asset_id"] == mine["id"]
    link = client.post(
        "/api/links",
        json={"source_asset_id": mine["id"], "target_asset_id": theirs["id"], "kind": "partnership"},
        headers=organiser,
    )
    assert link.status_code == 403
    assert client.get("/api/links", params={"neighbourhood": berlin.mitte_ids[0]}).json()["items"] == []


# Finding 6: only reviewers mark entries verified


def test_contributors_cannot_mark_their_entries_verified(client: TestClient, berlin: Berlin) -> None:
    body = {"city": "Berlin", "name": "Self-verified café", "category": "economy", "geometry": MITTE_POINT}
    refused = client.post(
        "/api/assets", json={**body, "verified": True}, headers=berlin.headers("contributor")
    )
    assert refused.status_code == 403 and "verified" in refused.json()["detail"]
    staff = client.get(
        "/api/assets", params={"q": "Self-verified", "status": "all"}, headers=berlin.headers("admin")
    )
    assert staff.json()["features"] == []
    proposal = create_asset(client, berlin, role="contributor", name="Self-verified café")
    assert proposal["properties"]["verified"] is False
    # the neighbourhood's organiser, a reviewer, may
    marked = client.patch(
        f"/api/assets/{proposal['id']}",
        json={"verified": True, "version": 1},
        headers=berlin.headers("organiser"),
    )
    assert marked.status_code == 200 and marked.json()["properties"]["verified"] is True


# Finding 9: a new boundary relocates what lies inside it


_SMALL_SQUARE = {
    "type": "Polygon",
    "coordinates": [
        [[13.395, 52.515], [13.397, 52.515], [13.397, 52.517], [13.395, 52.517], [13.395, 52.515]]
    ],
}


def test_a_new_boundary_relocates_assets_and_needs_with_history_and_rights_follow(
    client: TestClient, berlin: Berlin
) -> None:
    gis, organiser = berlin.headers("gis"), berlin.headers("organiser")
    asset = create_asset(client, berlin, role="organiser", name="Corner bakery")
    need = client.post(
        "/api/needs",
        json={"city": "Berlin", "service_type": "childcare", "geometry": MITTE_POINT, "people_affected": 12},
        headers=organiser,
    ).json()
    assert (
        need["properties"]["neighbourhood_id"]
        == asset["properties"]["neighbourhood_id"]
        == berlin.mitte_ids[0]
    )
    nb_url = f"/api/neighbourhoods/{berlin.mitte_ids[0]}"
    version = client.get(nb_url).json()["properties"]["version"]
    assert (
        client.patch(nb_url, json={"geometry": _SMALL_SQUARE, "version": version}, headers=gis).status_code
        == 200
    )

    moved = client.get(f"/api/assets/{asset['id']}").json()["properties"]
    assert moved["neighbourhood_id"] != berlin.mitte_ids[0] and moved["version"] == 2
    assert (
        client.get(f"/api/needs/{need['id']}").json()["properties"]["neighbourhood_id"] != berlin.mitte_ids[0]
    )
    last = client.get(f"/api/assets/{asset['id']}/history", headers=gis).json()["items"][-1]
    assert last["before"]["neighbourhood_id"] == berlin.mitte_ids[0]
    assert last["after"]["neighbourhood_id"] == moved["neighbourhood_id"] and "boundary" in last["message"]
    # edit rights follow the new place: the organiser of 0110 may no longer change it
    refused = client.patch(
        f"/api/assets/{asset['id']}", json={"name": "mine", "version": 2}, headers=organiser
    )
    assert refused.status_code == 403
    # and the summary of 0110 no longer counts it
    summary = client.get(f"{nb_url}/summary").json()
    assert summary["needs"].get("childcare", {"needs": 0})["needs"] == 0


def test_a_deleted_neighbourhood_hands_its_assets_to_the_area_around_them(
    client: TestClient, berlin: Berlin
) -> None:
    gis = berlin.headers("gis")
    nid = berlin.mitte_ids[1]
    inside = client.get("/api/assets", params={"neighbourhood": nid, "limit": 1}).json()["features"][0]
    assert client.delete(f"/api/neighbourhoods/{nid}", headers=gis).status_code == 204
    now = client.get(f"/api/assets/{inside['id']}").json()["properties"]
    assert now["neighbourhood_id"] not in (None, nid)  # the district that contains the forecast area
    last = client.get(f"/api/assets/{inside['id']}/history", headers=gis).json()["items"][-1]
    assert (
        last["before"]["neighbourhood_id"] == nid
        and last["after"]["neighbourhood_id"] == now["neighbourhood_id"]
    )


def test_resources_and_links_of_a_suppressed_person_do_not_give_them_away(
    client: TestClient, berlin: Berlin
) -> None:
    admin = berlin.headers("admin")
    nb = berlin.mitte_ids[0]
    person = create_asset(client, berlin, name="Lone skills swap", category="individual")
    hall = create_asset(client, berlin, name="Kiez hall", category="physical_space")
    resource = client.post(
        "/api/resources", json={"kind": "skills", "asset_id": person["id"], "quantity": 7}, headers=admin
    ).json()
    link = client.post(
        "/api/links",
        json={"source_asset_id": hall["id"], "target_asset_id": person["id"], "kind": "volunteers"},
        headers=admin,
    ).json()
    for kind, item in (("resources", resource), ("links", link)):
        listed = client.get(f"/api/{kind}", params={"neighbourhood": nb, "limit": 1000}).json()["items"]
        assert item["id"] not in [i["id"] for i in listed]
        assert client.get(f"/api/{kind}/{item['id']}").status_code == 404
        assert client.get(f"/api/{kind}/{item['id']}", headers=berlin.headers("planner")).status_code == 200
    exported = client.get(
        "/api/exports/resources", params={"city": "Berlin", "format": "geojson", "neighbourhood": "0110"}
    ).json()["features"]
    assert resource["id"] not in [f["properties"]["id"] for f in exported]
    summary = client.get(f"/api/neighbourhoods/{nb}/summary").json()
    assert "skills" not in summary["resources"]
    planner = client.get(f"/api/neighbourhoods/{nb}/summary", headers=berlin.headers("planner")).json()
    assert planner["resources"]["skills"]["resources"] >= 1
