"""Parent areas add up their children: summaries, the profile page, exports and a run's totals of a district include
everything in the areas inside it at any depth, say so, follow a change of parent, and hide small counts safely.

The city is built through the API: district D (no population of its own) holds neighbourhoods N1 and N2, and N1 holds
area A1 (a grandchild); district E (its own population) holds N3.

    lat 50.02 +---------------+---------------+
              | N1 (1000)     | N2 (1500)     |   D = N1 + N2 (+ A1 inside N1)
              |  +------+     |               |
              |  | A1   |     |               |
    lat 50.00 +--+------+-----+---------------+
              | N3 (2000)                     |   E (9999 of its own) = N3
    lat 49.98 +-------------------------------+
           lon 10.00        10.02           10.04
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from tests.conftest import Berlin

CITY = "Parentville"


def _box(west: float, south: float, east: float, north: float) -> dict[str, Any]:
    ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
    return {"type": "Polygon", "coordinates": [ring]}


def _point(lon: float, lat: float) -> dict[str, Any]:
    return {"type": "Point", "coordinates": [lon, lat]}


# places inside each area (A1 is 10.000-10.010 x 50.000-50.010)
IN_A1 = (10.005, 50.005)
IN_N1 = (10.015, 50.015)  # in N1 but outside A1
IN_N2 = (10.030, 50.010)
IN_N3 = (10.020, 49.990)


@dataclass
class Town:
    """The ids of the test city's areas and items."""

    ids: dict[str, int]  # area name -> neighbourhood id
    assets: dict[str, int]
    headers: dict[str, str]


def _post(client: TestClient, headers: dict[str, str], path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post(path, json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def _area(
    client: TestClient,
    headers: dict[str, str],
    code: str,
    level: str,
    geometry: dict[str, Any],
    **fields: Any,
) -> int:
    body = {
        "city": CITY,
        "code": code,
        "name": f"Area {code}",
        "level": level,
        "geometry": geometry,
        **fields,
    }
    return int(_post(client, headers, "/api/neighbourhoods", body)["id"])


def _asset(
    client: TestClient, headers: dict[str, str], name: str, at: tuple[float, float], **fields: Any
) -> int:
    body = {"city": CITY, "name": name, "category": "association", "geometry": _point(*at), **fields}
    return int(_post(client, headers, "/api/assets", body)["id"])


@pytest.fixture
def town(client: TestClient, berlin: Berlin) -> Town:
    admin = berlin.headers("admin")
    _post(client, admin, "/api/cities", {"name": CITY, "country": "Germany", "crs": "EPSG:25832"})
    ids: dict[str, int] = {}
    ids["D"] = _area(client, admin, "D", "district", _box(10.00, 50.00, 10.04, 50.02))
    ids["E"] = _area(client, admin, "E", "district", _box(10.00, 49.98, 10.04, 50.00), population=9999)
    groups_n1 = {"under_6": 50, "over_65": 200}
    ids["N1"] = _area(
        client, admin, "N1", "neighbourhood", _box(10.00, 50.00, 10.02, 50.02),
        parent_id=ids["D"], population=1000, population_by_group=groups_n1,
    )  # fmt: skip
    groups_n2 = {"under_6": 70, "over_65": 300, "female": 800}
    ids["N2"] = _area(
        client, admin, "N2", "neighbourhood", _box(10.02, 50.00, 10.04, 50.02),
        parent_id=ids["D"], population=1500, population_by_group=groups_n2,
    )  # fmt: skip
    ids["A1"] = _area(
        client, admin, "A1", "area", _box(10.00, 50.00, 10.01, 50.01), parent_id=ids["N1"], population=400
    )
    ids["N3"] = _area(
        client, admin, "N3", "neighbourhood", _box(10.00, 49.98, 10.04, 50.00),
        parent_id=ids["E"], population=2000, population_by_group={"under_6": 90},
    )  # fmt: skip

    assets = {
        "a1_club": _asset(client, admin, "A1 club", IN_A1, service_types=["childcare"], capacity=40),
        "n1_school": _asset(
            client,
            admin,
            "N1 school",
            IN_N1,
            category="institution",
            service_types=["childcare"],
            capacity=25,
        ),
        "n2_choir": _asset(client, admin, "N2 choir", IN_N2, category="culture"),
        "n2_union": _asset(client, admin, "N2 union", (IN_N2[0] + 0.002, IN_N2[1])),
        "n3_library": _asset(client, admin, "N3 library", IN_N3, category="institution"),
    }
    for at, slug, people in (
        (IN_A1, "childcare", 10),
        (IN_N2, "food-support", 25),
        (IN_N3, "food-support", 7),
    ):
        need = {"city": CITY, "service_type": slug, "geometry": _point(*at), "people_affected": people}
        _post(client, admin, "/api/needs", need)
    for owner in (
        {"asset_id": assets["a1_club"], "kind": "volunteers", "quantity": 3},
        {"neighbourhood_id": ids["N2"], "kind": "space", "quantity": 2},
        {"asset_id": assets["n3_library"], "kind": "space", "quantity": 5},
    ):
        _post(client, admin, "/api/resources", owner)
    for source, target in (("a1_club", "n1_school"), ("n2_choir", "n2_union"), ("n1_school", "n3_library")):
        link = {"source_asset_id": assets[source], "target_asset_id": assets[target], "kind": "referral"}
        _post(client, admin, "/api/links", link)
    return Town(ids, assets, admin)


def _summary(client: TestClient, nb_id: int, headers: dict[str, str] | None = None) -> dict[str, Any]:
    response = client.get(f"/api/neighbourhoods/{nb_id}/summary", headers=headers or {})
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def _inside(client: TestClient, nb_id: int) -> set[int]:
    """The area and every area inside it, walked in the test through the neighbourhood list's parent filter."""
    found, todo = {nb_id}, [nb_id]
    while todo:
        children = client.get("/api/neighbourhoods", params={"neighbourhood": todo.pop(), "limit": 1000})
        for feature in children.json()["features"]:
            if feature["id"] not in found:
                found.add(feature["id"])
                todo.append(feature["id"])
    return found


def _items(client: TestClient, kind: str, headers: dict[str, str] | None = None) -> list[dict[str, Any]]:
    body = client.get(f"/api/{kind}", params={"city": CITY, "limit": 1000}, headers=headers or {}).json()
    return body["features"] if "features" in body else body["items"]  # type: ignore[no-any-return]


def _add(total: dict[str, Any], part: dict[str, Any]) -> None:
    for key, value in part.items():
        if isinstance(value, dict):
            _add(total.setdefault(key, {}), value)
        else:
            total[key] = total.get(key, 0) + value


def test_a_districts_summary_is_the_sum_of_its_childrens_and_of_the_items_inside_it(
    client: TestClient, town: Town
) -> None:
    district = _summary(client, town.ids["D"])
    # 1. the children's own summaries, added up here (N1's already holds its grandchild A1)
    expected: dict[str, Any] = {}
    for child in ("N1", "N2"):
        summary = _summary(client, town.ids[child])
        _add(expected, {"assets": summary["assets"]["by_category"], "needs": summary["needs"]})
        _add(expected, {"services": summary["assets"]["by_service_type"], "resources": summary["resources"]})
    assert (
        district["assets"]["by_category"]
        == expected["assets"]
        == {"association": 2, "culture": 1, "institution": 1}
    )
    assert district["assets"]["by_service_type"] == expected["services"] == {"childcare": 2}
    assert district["needs"] == expected["needs"]
    assert district["resources"] == expected["resources"]
    assert district["assets"]["total"] == 4

    # 2. the published items, located in the test: everything whose area lies in D at any depth
    inside = _inside(client, town.ids["D"])
    assert inside == {town.ids[n] for n in ("D", "N1", "N2", "A1")}
    assets = [a for a in _items(client, "assets") if a["properties"]["neighbourhood_id"] in inside]
    assert district["assets"]["by_category"] == dict(Counter(a["properties"]["category"] for a in assets))
    needs = [n for n in _items(client, "needs") if n["properties"]["neighbourhood_id"] in inside]
    assert district["needs"] == {
        "childcare": {"needs": 1, "people_affected": 10},
        "food-support": {"needs": 1, "people_affected": 25},
    }
    assert sum(v["people_affected"] for v in district["needs"].values()) == sum(
        n["properties"]["people_affected"] for n in needs
    )
    place = {a["id"]: a["properties"]["neighbourhood_id"] for a in _items(client, "assets")}
    resources = [
        r for r in _items(client, "resources")
        if (r["neighbourhood_id"] or place[r["asset_id"]]) in inside
    ]  # fmt: skip
    assert sum(v["resources"] for v in district["resources"].values()) == len(resources) == 2
    assert district["resources"] == {
        "space": {"resources": 1, "quantity": 2.0},
        "volunteers": {"resources": 1, "quantity": 3.0},
    }
    # and it says what it includes
    assert district["includes_children"]["areas"] == 3
    assert district["includes_children"]["levels"] == ["neighbourhood", "area"]
    assert district["includes_children"]["depth"] == 2
    assert _summary(client, town.ids["A1"])["includes_children"]["areas"] == 0


def test_links_inside_and_across_a_parents_border(client: TestClient, town: Town) -> None:
    place = {a["id"]: a["properties"]["neighbourhood_id"] for a in _items(client, "assets")}
    links = _items(client, "links")
    for name in ("D", "N1", "E", "A1"):
        inside = _inside(client, town.ids[name])
        ends = [(place[k["source_asset_id"]] in inside, place[k["target_asset_id"]] in inside) for k in links]
        expected = {"inside": ends.count((True, True)), "crossing_border": sum(a != b for a, b in ends)}
        assert _summary(client, town.ids[name])["links"] == expected, name
    # A1-N1 and N2-N2 lie inside D; N1-N3 crosses D's border (and E's); inside N1 only A1-N1
    assert _summary(client, town.ids["D"])["links"] == {"inside": 2, "crossing_border": 1}
    assert _summary(client, town.ids["E"])["links"] == {"inside": 0, "crossing_border": 1}
    assert _summary(client, town.ids["N1"])["links"] == {"inside": 1, "crossing_border": 1}
    assert _summary(client, town.ids["A1"])["links"] == {"inside": 0, "crossing_border": 1}


def test_population_own_figure_or_the_sum_of_the_children(client: TestClient, town: Town) -> None:
    district = _summary(client, town.ids["D"])
    # D has none: N1 (1000, its own figure, not A1's 400) + N2 (1500)
    assert district["population"] == 2500 and district["population_source"] == "children"
    # only the groups both children count are summed ('female' is unknown for N1)
    assert district["population_by_group"] == {"over_65": 500, "under_6": 120}
    assert district["population_by_group_source"] == "children"
    # E keeps its own figure (the statistics office's), not N3's 2000; its groups come from N3
    own = _summary(client, town.ids["E"])
    assert own["population"] == 9999 and own["population_source"] == "own"
    assert own["population_by_group"] == {"under_6": 90} and own["population_by_group_source"] == "children"
    leaf = _summary(client, town.ids["N2"])
    assert leaf["population"] == 1500 and leaf["population_source"] == "own"


def test_moving_a_child_to_another_parent_changes_both_summaries(client: TestClient, town: Town) -> None:
    before_d, before_e = _summary(client, town.ids["D"]), _summary(client, town.ids["E"])
    version = client.get(f"/api/neighbourhoods/{town.ids['N2']}").json()["properties"]["version"]
    moved = client.patch(
        f"/api/neighbourhoods/{town.ids['N2']}",
        json={"parent_id": town.ids["E"], "version": version},
        headers=town.headers,
    )
    assert moved.status_code == 200, moved.text
    after_d, after_e = _summary(client, town.ids["D"]), _summary(client, town.ids["E"])
    assert before_d["assets"]["total"] == 4 and after_d["assets"]["total"] == 2
    assert before_e["assets"]["total"] == 1 and after_e["assets"]["total"] == 3
    assert after_e["assets"]["by_category"] == {"association": 1, "culture": 1, "institution": 1}
    assert "food-support" not in after_d["needs"]
    assert after_e["needs"]["food-support"] == {"needs": 2, "people_affected": 32}
    assert after_d["population"] == 1000 and after_e["population"] == 9999
    assert after_e["includes_children"]["areas"] == 2 and after_d["includes_children"]["areas"] == 2
    # the N2 link now lies inside E
    assert after_e["links"] == {"inside": 1, "crossing_border": 1}


def test_a_parent_cannot_be_put_inside_itself_and_a_loop_written_by_hand_still_answers(
    client: TestClient, town: Town, db: Session
) -> None:
    refused = client.patch(
        f"/api/neighbourhoods/{town.ids['D']}",
        json={"parent_id": town.ids["A1"], "version": 1},
        headers=town.headers,
    )
    assert refused.status_code == 422, refused.text
    assert "inside this neighbourhood" in refused.text
    # an import can still write a loop (D in A1, A1 in N1, N1 in D): the walk stops and counts each area once
    db.execute(
        text("UPDATE neighbourhood SET parent_id = :a1 WHERE id = :d"),
        {"a1": town.ids["A1"], "d": town.ids["D"]},
    )
    db.commit()
    looped = _summary(client, town.ids["D"])
    assert looped["assets"]["total"] == 4 and looped["includes_children"]["areas"] == 3
    assert _summary(client, town.ids["A1"])["assets"]["total"] == 4


def test_the_profile_page_shows_the_totals_and_says_what_they_include(client: TestClient, town: Town) -> None:
    page = client.get(f"/maps/neighbourhoods/{town.ids['D']}")
    assert page.status_code == 200
    body = page.text
    assert "Figures include the 3 areas inside Area D." in body
    assert "Residents: the sum over the areas inside Area D." in body
    assert '<dd id="population">2,500</dd>' in body
    assert '<dd id="assets-total">4</dd>' in body
    assert '<dd id="links-inside">2</dd>' in body and '<dd id="links-crossing">1</dd>' in body
    # the map draws the children's assets: their names are in the map's text block
    assert "A1 club" in body and "N2 choir" in body
    own = client.get(f"/maps/neighbourhoods/{town.ids['E']}").text
    assert "Figures include the one neighbourhood inside Area E." in own
    assert "Residents: the figure recorded for Area E itself." in own
    assert "Figures include" not in client.get(f"/maps/neighbourhoods/{town.ids['A1']}").text


def test_small_counts_are_hidden_on_the_parent_when_any_child_hides_them(
    client: TestClient, town: Town, berlin: Berlin
) -> None:
    threshold = berlin.settings.small_count_threshold
    assert threshold == 5
    for i in range(2):  # 2 people in A1: under the threshold there
        _asset(client, town.headers, f"Carer {i}", (IN_A1[0] + i * 1e-4, IN_A1[1]), category="individual")
    for i in range(5):  # 5 in N2: counted for everyone there
        _asset(
            client,
            town.headers,
            f"Helper {i}",
            (IN_N2[0] + i * 1e-4, IN_N2[1] + 0.003),
            category="individual",
        )
    anonymous = _summary(client, town.ids["D"])
    assert _summary(client, town.ids["A1"])["assets"]["by_category"]["individual"] is None
    assert _summary(client, town.ids["N2"])["assets"]["by_category"]["individual"] == 5
    # 7 people in D, at least 5: yet A1's 2 are hidden, so D's count (and total) is hidden too, not 7 and not 5:
    # D minus N2 would give A1's 2 away
    assert anonymous["assets"]["by_category"]["individual"] is None
    assert anonymous["assets"]["total"] is None
    # every count D shows is what the public list of the areas inside D shows
    inside = _inside(client, town.ids["D"])
    listed = Counter(
        a["properties"]["category"]
        for a in _items(client, "assets")
        if a["properties"]["neighbourhood_id"] in inside
    )
    for category, count in anonymous["assets"]["by_category"].items():
        if count is not None:
            assert count == listed[category], category
    assert listed["individual"] == 5  # A1's two are not listed
    # planners count them all
    assert (
        _summary(client, town.ids["D"], berlin.headers("planner"))["assets"]["by_category"]["individual"] == 7
    )
    # three more in A1 reach the threshold there: now D shows all 10
    for i in range(3):
        _asset(
            client,
            town.headers,
            f"Carer {2 + i}",
            (IN_A1[0], IN_A1[1] + (i + 1) * 1e-4),
            category="individual",
        )
    assert _summary(client, town.ids["D"])["assets"]["by_category"]["individual"] == 10
    assert _summary(client, town.ids["D"])["assets"]["total"] == 14


def test_an_export_of_a_district_holds_the_items_of_its_areas_at_any_depth(
    client: TestClient, town: Town
) -> None:
    _asset(client, town.headers, "Carer", IN_A1, category="individual")  # alone in A1: hidden from the public

    def names(layer: str, code: str, headers: dict[str, str] | None = None) -> set[str]:
        response = client.get(
            f"/api/exports/{layer}",
            params={"city": CITY, "format": "geojson", "neighbourhood": code},
            headers=headers or {},
        )
        assert response.status_code == 200, response.text
        features = json.loads(response.content)["features"]
        return {f["properties"].get("name") or f["properties"].get("code") for f in features}

    assert names("assets", "D") == {"A1 club", "N1 school", "N2 choir", "N2 union"}  # A1 is a grandchild
    assert names("assets", "D", town.headers) == {"A1 club", "N1 school", "N2 choir", "N2 union", "Carer"}
    assert names("assets", "N1") == {"A1 club", "N1 school"}
    assert names("neighbourhoods", "D") == {"Area D", "Area N1", "Area N2", "Area A1"}
    needs = client.get(
        "/api/exports/needs", params={"city": CITY, "format": "geojson", "neighbourhood": "D"}
    ).json()["features"]
    assert sorted(n["properties"]["people_affected"] for n in needs) == [10, 25]
    resources = client.get(
        "/api/exports/resources", params={"city": CITY, "format": "geojson", "neighbourhood": "D"}
    ).json()["features"]
    assert sorted(r["properties"]["kind"] for r in resources) == ["space", "volunteers"]


def test_a_runs_totals_for_a_district_are_the_sums_over_its_areas_in_each_readers_view(
    client: TestClient, town: Town, berlin: Berlin
) -> None:
    # a childminder in N2: readers without planner rights get the run computed with her blurred place
    _asset(
        client,
        town.headers,
        "Childminder",
        IN_N2,
        category="individual",
        service_types=["childcare"],
        capacity=5,
    )
    run = client.post(
        "/api/analysis/runs",
        json={"city": CITY, "service_type": "childcare", "radius_m": 800, "resolution": 9},
        headers=town.headers,
    )
    assert run.status_code == 201, run.text
    url = f"/api/analysis/runs/{run.json()['id']}/neighbourhoods"
    views = []
    for headers in ({}, berlin.headers("planner")):
        leaves = {f["id"]: f["properties"] for f in client.get(url, headers=headers).json()["features"]}
        assert set(leaves) == {town.ids["N1"], town.ids["N2"], town.ids["N3"]}
        response = client.get(url, params={"level": "district"}, headers=headers)
        assert response.status_code == 200, response.text
        districts = {f["id"]: f for f in response.json()["features"]}
        assert set(districts) == {town.ids["D"], town.ids["E"]}
        d = districts[town.ids["D"]]["properties"]
        children = [leaves[town.ids["N1"]], leaves[town.ids["N2"]]]
        for key in ("population", "need", "covered_need", "uncovered_need", "unmet_need", "n_units"):
            assert d[key] == pytest.approx(sum(c[key] for c in children)), key
        assert d["covered_share"] == pytest.approx(d["covered_need"] / d["need"])
        assert d["gap_share"] == pytest.approx(d["unmet_need"] / d["need"])
        for key in ("mean_distance_m", "access_score"):
            weighted = sum(c[key] * c["need"] for c in children) / d["need"]
            assert d[key] == pytest.approx(weighted), key
        assert d["population"] == pytest.approx(50 + 70)  # children under 6 in N1 and N2
        assert d["assets_within_radius"] is None  # an asset near both children would be counted twice
        assert d["includes_children"] == {"areas": 2, "levels": ["neighbourhood"]}
        assert districts[town.ids["D"]]["geometry"]["type"] == "MultiPolygon"
        e = districts[town.ids["E"]]["properties"]
        assert e["need"] == pytest.approx(leaves[town.ids["N3"]]["need"])
        views.append((leaves, d))
    (public_leaves, public_d), (exact_leaves, exact_d) = views
    # the two views differ, and each district row follows its own view's children
    assert public_leaves[town.ids["N2"]]["mean_distance_m"] != exact_leaves[town.ids["N2"]]["mean_distance_m"]
    assert public_d["mean_distance_m"] != exact_d["mean_distance_m"]
    bad = client.get(url, params={"level": "county"})
    assert bad.status_code == 422


def test_lists_filtered_by_a_district_take_in_the_areas_inside_it(client: TestClient, town: Town) -> None:
    def listed(kind: str, nb: str) -> list[dict[str, Any]]:
        body = client.get(f"/api/{kind}", params={"neighbourhood": town.ids[nb], "limit": 1000}).json()
        return body["features"] if "features" in body else body["items"]  # type: ignore[no-any-return]

    assert {a["properties"]["name"] for a in listed("assets", "D")} == {
        "A1 club",
        "N1 school",
        "N2 choir",
        "N2 union",
    }
    assert {a["properties"]["name"] for a in listed("assets", "N1")} == {"A1 club", "N1 school"}
    assert sorted(n["properties"]["people_affected"] for n in listed("needs", "D")) == [10, 25]
    assert sorted(r["kind"] for r in listed("resources", "D")) == ["space", "volunteers"]
    assert len(listed("links", "D")) == 3 and len(listed("links", "E")) == 1
    # the neighbourhood list still gives the areas directly inside
    assert {f["id"] for f in listed("neighbourhoods", "D")} == {town.ids["N1"], town.ids["N2"]}


def test_reinickendorf_counts_what_lies_in_its_forecast_areas(client: TestClient, berlin: Berlin) -> None:
    found = client.get("/api/neighbourhoods", params={"city": "Berlin", "q": "Reinickendorf", "limit": 1000})
    district = next(f for f in found.json()["features"] if f["properties"]["level"] == "district")
    areas = client.get("/api/neighbourhoods", params={"neighbourhood": district["id"], "limit": 1000}).json()
    summary = _summary(client, district["id"])
    assert summary["population"] == 274_098 and summary["population_source"] == "own"
    assert summary["includes_children"]["areas"] == len(areas["features"]) > 0
    totals = [_summary(client, f["id"])["assets"]["total"] for f in areas["features"]]
    assert summary["assets"]["total"] == sum(totals) > 0
    page = client.get(f"/maps/neighbourhoods/{district['id']}").text
    assert f"Figures include the {len(totals)} neighbourhoods inside Reinickendorf." in page


def test_an_organiser_counts_people_of_their_own_area_but_not_a_small_group_next_door(
    client: TestClient, town: Town, berlin: Berlin
) -> None:
    user = _post(
        client,
        town.headers,
        "/api/users",
        {"username": "n2-org", "password": "long enough pw", "role": "organiser"},
    )
    assigned = client.put(
        f"/api/users/{user['id']}/neighbourhoods",
        json={"neighbourhood_ids": [town.ids["N2"]]},
        headers=town.headers,
    )
    assert assigned.status_code == 204
    token = client.post("/api/auth/token", data={"username": "n2-org", "password": "long enough pw"})
    organiser = {"Authorization": f"Bearer {token.json()['access_token']}"}
    for i in range(2):
        _asset(
            client,
            town.headers,
            f"N2 carer {i}",
            (IN_N2[0], IN_N2[1] + (i + 1) * 1e-3),
            category="individual",
        )
    assert _summary(client, town.ids["N2"], organiser)["assets"]["by_category"]["individual"] == 2
    assert _summary(client, town.ids["D"], organiser)["assets"]["by_category"]["individual"] == 2
    # two more in A1, which the organiser does not look after: too few there, so D's count hides them all
    for i in range(2):
        _asset(
            client,
            town.headers,
            f"A1 carer {i}",
            (IN_A1[0], IN_A1[1] + (i + 1) * 1e-4),
            category="individual",
        )
    assert _summary(client, town.ids["D"], organiser)["assets"]["by_category"]["individual"] is None
    assert _summary(client, town.ids["N2"], organiser)["assets"]["by_category"]["individual"] == 2
    assert (
        _summary(client, town.ids["D"], berlin.headers("planner"))["assets"]["by_category"]["individual"] == 4
    )
