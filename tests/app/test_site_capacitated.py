"""Capacitated site suggestion through the API and the terminal: each site takes at most its capacity (the
place's own where known, else the new-site capacity) of the demand within reach; the demand assigned to each,
the share of the gap closed and the proof, checked against brute force over every choice on a small town."""

from __future__ import annotations

import itertools
import re
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from pyproj import Transformer
from scipy.optimize import linprog
from typer.testing import CliRunner

from tests.app.test_analysis_cli import assetmap, invoke  # noqa: F401  (the fixture)
from tests.app.test_site_candidates import PLACES, RADIUS_M, SUITABLE, _run, _units, town  # noqa: F401
from tests.conftest import Berlin

NEW_SITE = 9.0  # the capacity of a place whose own is not known
OWN = {"Bürgersaal": 4.0}  # a place whose capacity is known


def _best_assignment(reach: np.ndarray, weight: np.ndarray, capacity: np.ndarray) -> float:
    """The most demand the chosen sites (reach's columns) can take, each at most its capacity (a transport LP)."""
    rows, cols = np.nonzero(reach)
    if len(rows) == 0:
        return 0.0
    n = len(rows)
    a_rows = np.zeros((reach.shape[0], n))
    a_rows[rows, np.arange(n)] = 1
    a_cols = np.zeros((reach.shape[1], n))
    a_cols[cols, np.arange(n)] = 1
    solved = linprog(
        -np.ones(n), A_ub=np.vstack([a_rows, a_cols]), b_ub=np.r_[weight, capacity], bounds=(0, None)
    )
    return float(-solved.fun)


def _brute_force(units_xy: np.ndarray, weight: np.ndarray, p: int) -> dict[frozenset[str], float]:
    """The demand each choice of p suitable places can take within reach and within capacities."""
    to_metres = Transformer.from_crs("EPSG:4326", "EPSG:25833", always_xy=True)
    places = PLACES[:5]
    sites_xy = np.array([to_metres.transform(*place[3]) for place in places])
    capacity = np.array([OWN.get(place[0], NEW_SITE) for place in places])
    reach = np.hypot(*(units_xy[:, None, :] - sites_xy[None, :, :]).transpose(2, 0, 1)) <= RADIUS_M
    return {
        frozenset(places[j][0] for j in chosen): _best_assignment(
            reach[:, list(chosen)], weight, capacity[list(chosen)]
        )
        for chosen in itertools.combinations(range(len(places)), p)
    }


@pytest.fixture
def capacitated_town(client: TestClient, berlin: Berlin, town: dict[str, Any]) -> dict[str, Any]:  # noqa: F811
    for name, capacity in OWN.items():
        admin = berlin.headers("admin")
        etag = client.get(f"/api/assets/{town[name]}", headers=admin).headers["etag"]
        changed = client.patch(
            f"/api/assets/{town[name]}", json={"capacity": capacity}, headers={**admin, "If-Match": etag}
        )
        assert changed.status_code == 200, changed.text
    return town


@pytest.mark.parametrize("p", [1, 2, 3])
def test_capacitated_sites_agree_with_brute_force(
    client: TestClient, berlin: Berlin, capacitated_town: dict[str, Any], p: int
) -> None:
    run = _run(client, berlin)
    response = client.post(
        f"/api/analysis/runs/{run['id']}/suggest-sites",
        json={"p": p, "capacity": NEW_SITE, "capacitated": True},
        headers=berlin.headers("planner"),
    )
    assert response.status_code == 200, response.text
    body = response.json()
    units_xy, weight = _units(client, run["id"])
    every = _brute_force(units_xy, weight, p)
    best = max(every.values())
    assert body["capacitated"] is True and body["exact"] and body["gap"] == 0
    assert body["objective"] == pytest.approx(best, abs=1e-6)
    assert body["upper_bound"] == pytest.approx(best, abs=1e-6)
    chosen = frozenset(site["name"] for site in body["sites"])
    assert chosen <= set(SUITABLE) and every[chosen] == pytest.approx(best, abs=1e-6)
    # Each site's assigned demand is within its capacity; they sum to the objective, most first.
    assigned = [site["assigned"] for site in body["sites"]]
    assert sum(assigned) == pytest.approx(body["objective"]) and assigned == sorted(assigned, reverse=True)
    for site in body["sites"]:
        own = site["name"] in OWN
        assert site["capacity"] == (OWN[site["name"]] if own else NEW_SITE)
        assert site["capacity_source"] == ("candidate" if own else "new_site_capacity")
        assert site["assigned"] <= site["capacity"] + 1e-9
    closed = body["gap_closed"]
    assert closed["share_closed"] == pytest.approx(best / weight.sum())
    # The capacities bind: without them the same p sites would close more.
    plain = client.post(
        f"/api/analysis/runs/{run['id']}/suggest-sites",
        json={"p": p, "capacity": NEW_SITE},
        headers=berlin.headers("planner"),
    ).json()
    assert plain["capacitated"] is False and plain["objective"] > body["objective"] + 1
    assert all(site["assigned"] is None for site in plain["sites"])
    assert any("counted without capacities" in warning for warning in body["warnings"])


def test_a_capacitated_suggestion_refuses_a_bad_flag(
    client: TestClient, berlin: Berlin, capacitated_town: dict[str, Any]
) -> None:
    run = _run(client, berlin)
    response = client.post(
        f"/api/analysis/runs/{run['id']}/suggest-sites",
        json={"p": 1, "capacitated": "sometimes"},
        headers=berlin.headers("planner"),
    )
    assert response.status_code in (400, 422) and "capacitated" in response.text


def test_berlin_capacitated_from_the_terminal(
    assetmap: CliRunner,  # noqa: F811
    berlin: Berlin,
) -> None:
    args = ("suggest-sites", "--city", "Berlin", "--service", "childcare", "--p", "3")
    text = " ".join(invoke(assetmap, *args, "--capacitated", "--capacity", "400").split())
    assert "capacitated)" in text and "assigned" in text
    rows = re.findall(
        r"│\s+(\d)\s+│\s+([^│]+?)\s+│\s+([^│]+?)\s+│\s+([^│]+?)\s+│\s+([\d.,]+)[^│]*│\s+([\d.,]+)\s+│", text
    )
    assert [int(r[0]) for r in rows] == [1, 2, 3], text
    loads = [float(r[5].replace(",", "")) for r in rows]
    capacities = [float(r[4].replace(",", "")) for r in rows]
    assert all(load <= cap + 0.05 for load, cap in zip(loads, capacities, strict=True))
    assert loads == sorted(loads, reverse=True)
    found = re.search(
        r"demand assigned within capacities ([\d.,]+) \(heuristic [\d.,]+\) ≤ bound ([\d.,]+) · (optimal|gap [\d.]+ %)",
        text,
    )
    assert found, text
    assert float(found.group(1).replace(",", "")) == pytest.approx(sum(loads), abs=0.2)
    assert re.search(
        r"the 3 sites close \d+\.\d+ % of the gap .*within its radius, up to its capacity\)", text
    )
    assert "a site whose capacity is not known takes capacity 400: set for this suggestion" in text
