"""Ranking candidates for a need on hand-made cases: distance, dates, network closeness, kind and service fit."""

from __future__ import annotations

import datetime as dt

from fastapi.testclient import TestClient

from app.services.matching.scoring import WEIGHTS
from tests.app.helpers import SPANDAU_POINT, create_asset
from tests.app.matching_helpers import (
    TODAY,
    create_need,
    create_resource,
    distance_to_need_m,
    link,
    matches,
    offering,
    point_at,
)
from tests.conftest import Berlin


def _by_resource(result: dict) -> dict[int, dict]:
    return {c["resource"]["id"]: c for c in result["candidates"]}


def test_nearer_ranks_first_and_the_score_is_the_documented_rule(client: TestClient, berlin: Berlin) -> None:
    need = create_need(client, berlin)
    near_point, far_point = point_at(300), point_at(3000, 500)
    _, near = offering(client, berlin, near_point, name="Near club")
    _, far = offering(client, berlin, far_point, name="Far club")
    result = matches(client, berlin, need["id"])
    assert [c["resource"]["id"] for c in result["candidates"]] == [near, far]
    reach = result["reach_m"]
    for resource_id, point in ((near, near_point), (far, far_point)):
        candidate = _by_resource(result)[resource_id]
        d = distance_to_need_m(point)
        assert abs(candidate["distance_m"] - d) <= 2
        # no links: network 0; available all 28 days: dates 1; 10 hours left, 1 wanted: quantity 1
        expected = WEIGHTS["distance"] * reach / (reach + d) + WEIGHTS["dates"] + WEIGHTS["quantity"]
        assert abs(candidate["score"] - expected) < 0.002
        assert candidate["parts"]["network"]["value"] == 0
        assert any("from the need" in why for why in candidate["why"])
    assert _by_resource(result)[near]["distance_band"] == "under 1 km"
    assert _by_resource(result)[far]["distance_band"] == "2-5 km"


def test_availability_over_the_need_s_days(client: TestClient, berlin: Berlin) -> None:
    need = create_need(client, berlin)
    here = point_at(200)
    start = dt.date(2027, 3, 1)
    end = start + dt.timedelta(days=27)  # 28 days
    _, whole = offering(client, berlin, here)
    _, half = offering(client, berlin, here, available_from=(start + dt.timedelta(days=14)).isoformat())
    _, before = offering(client, berlin, here, available_until=(start - dt.timedelta(days=1)).isoformat())
    result = matches(client, berlin, need["id"], starts_on=start.isoformat(), ends_on=end.isoformat())
    ranked = [c["resource"]["id"] for c in result["candidates"]]
    assert ranked == [whole, half]  # the one that ends before the need starts is no candidate
    assert before not in ranked
    assert _by_resource(result)[half]["parts"]["dates"]["value"] == 0.5  # 14 of 28 days
    assert "available on 14 of the 28 days asked for" in _by_resource(result)[half]["why"]
    assert result["window"] == {"starts_on": start.isoformat(), "ends_on": end.isoformat()}


def test_network_closeness_one_step_before_two(client: TestClient, berlin: Berlin) -> None:
    need = create_need(client, berlin)
    here = point_at(400)
    local = create_asset(client, berlin, name="Local hub", geometry=point_at(100, 100))
    far_friend = create_asset(client, berlin, name="Spandau friend", geometry=SPANDAU_POINT)
    two_steps_asset, two_steps = offering(client, berlin, here, name="Two steps")
    one_step_asset, one_step = offering(client, berlin, here, name="One step")
    _, unlinked = offering(client, berlin, here, name="Unlinked")
    link(client, berlin, one_step_asset, local["id"])
    link(client, berlin, two_steps_asset, far_friend["id"])
    link(client, berlin, far_friend["id"], local["id"])
    result = matches(client, berlin, need["id"])
    ranked = [c["resource"]["id"] for c in result["candidates"]]
    assert ranked == [one_step, two_steps, unlinked]
    by_id = _by_resource(result)
    assert (
        by_id[one_step]["network_hops"],
        by_id[two_steps]["network_hops"],
        by_id[unlinked]["network_hops"],
    ) == (
        1,
        2,
        None,
    )
    assert by_id[one_step]["parts"]["network"]["value"] == 1
    assert abs(by_id[two_steps]["parts"]["network"]["value"] - 0.5) < 1e-9
    assert abs(by_id[one_step]["score"] - by_id[two_steps]["score"] - WEIGHTS["network"] * 0.5) < 0.002
    assert by_id[one_step]["why"][3].startswith("linked directly to an asset in")


def test_only_resources_that_fit_kind_service_and_quantity(client: TestClient, berlin: Berlin) -> None:
    need = create_need(client, berlin)
    here = point_at(250)
    _, fits = offering(client, berlin, here)
    _, space = offering(client, berlin, here, kind="space", quantity=1, unit="rooms")
    other_service = create_asset(client, berlin, name="Kita", service_types=["childcare"], geometry=here)
    wrong_service = create_resource(client, berlin, other_service["id"])["id"]
    _, used_up = offering(client, berlin, here, quantity=0)
    result = matches(client, berlin, need["id"])
    ids = {c["resource"]["id"] for c in result["candidates"]}
    assert {fits, space} <= ids and wrong_service not in ids and used_up not in ids
    only_people = matches(client, berlin, need["id"], kind="volunteers,skills")
    assert {c["resource"]["id"] for c in only_people["candidates"]} == {fits}
    # a neighbourhood's own resource fits every service, located by its area (distance 0: the need is inside)
    nb = need["properties"]["neighbourhood_id"]
    response = client.post(
        "/api/resources",
        json={"kind": "funding", "quantity": 500, "unit": "EUR", "neighbourhood_id": nb},
        headers=berlin.headers("admin"),
    )
    assert response.status_code == 201, response.text
    area = _by_resource(matches(client, berlin, need["id"]))[response.json()["id"]]
    assert area["owner"]["type"] == "neighbourhood" and area["distance_m"] == 0
    assert TODAY.isoformat() == matches(client, berlin, need["id"])["window"]["starts_on"]


def test_bad_match_requests_are_4xx(client: TestClient, berlin: Berlin) -> None:
    need = create_need(client, berlin)
    headers = berlin.headers("organiser")
    assert client.get("/api/needs/999999/matches", headers=headers).status_code == 404
    assert client.get("/api/matches", headers=headers).status_code == 422  # no need named
    bad_kind = client.get("/api/matches", params={"need": need["id"], "kind": "money"}, headers=headers)
    assert bad_kind.status_code == 422 and "unknown resource kind 'money'" in bad_kind.json()["detail"]
    backwards = client.get(
        "/api/matches",
        params={"need": need["id"], "starts_on": "2027-02-01", "ends_on": "2027-01-01"},
        headers=headers,
    )
    assert backwards.status_code == 422 and "before starts_on" in backwards.json()["detail"]
    assert (
        client.get("/api/matches", params={"need": need["id"], "wanted": 0}, headers=headers).status_code
        == 422
    )
    not_a_date = client.get("/api/matches", params={"need": need["id"], "starts_on": "soon"}, headers=headers)
    assert not_a_date.status_code == 422
    pending = client.post(
        "/api/needs",
        json={"city": "Berlin", "service_type": "older-people", "geometry": need["geometry"]},
        headers=berlin.headers("contributor"),
    ).json()
    refused = client.get(f"/api/needs/{pending['id']}/matches", headers=headers)
    assert refused.status_code == 409 and "published" in refused.json()["detail"]
