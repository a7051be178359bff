"""Helpers of the citizen-budget tests: a round in Berlin whose phases start from now."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi.testclient import TestClient

from tests.conftest import Berlin

# Points inside Berlin forecast areas: Mitte 1 (0110, near Alexanderplatz) and Marzahn-Hellersdorf.
ALEXANDERPLATZ = {"type": "Point", "coordinates": [13.4132, 52.5219]}


def new_round(client: TestClient, berlin: Berlin, role: str = "organiser", **fields: Any) -> dict[str, Any]:
    """A round whose proposals are open now; review, voting and results follow a day apart."""
    now = dt.datetime.now(dt.UTC)
    body: dict[str, Any] = {
        "city": "Berlin",
        "name": "Kiezbudget 2027",
        "amount": 100_000,
        "proposals_at": (now - dt.timedelta(hours=1)).isoformat(),
        "review_at": (now + dt.timedelta(days=1)).isoformat(),
        "voting_at": (now + dt.timedelta(days=2)).isoformat(),
        "results_at": (now + dt.timedelta(days=3)).isoformat(),
    }
    body.update(fields)
    response = client.post("/api/budget-rounds", json=body, headers=berlin.headers(role))
    assert response.status_code == 201, response.text
    return response.json()


def propose(
    client: TestClient, berlin: Berlin, round_id: int, role: str = "contributor", **fields: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {"title": "A proposal", "cost": 10_000}
    body.update(fields)
    response = client.post(
        f"/api/budget-rounds/{round_id}/proposals", json=body, headers=berlin.headers(role)
    )
    assert response.status_code == 201, response.text
    return response.json()


def move_on(client: TestClient, berlin: Berlin, round_id: int, phase: str) -> dict[str, Any]:
    response = client.post(
        f"/api/budget-rounds/{round_id}/phase", json={"phase": phase}, headers=berlin.headers("organiser")
    )
    assert response.status_code == 200, response.text
    assert response.json()["phase"] == phase
    return response.json()


def vote(
    client: TestClient,
    berlin: Berlin | None,
    round_id: int,
    approvals: list[int],
    role: str | None = None,
    code: str | None = None,
) -> Any:
    body: dict[str, Any] = {"approvals": approvals}
    if code is not None:
        body["code"] = code
    headers = berlin.headers(role) if berlin is not None and role else {}
    return client.put(f"/api/budget-rounds/{round_id}/ballot", json=body, headers=headers)
