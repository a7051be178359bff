"""Proposals on the gap map next to the current gaps, their text shown as text on the map, in the API and on the
pages; who may see what of a round (voting codes are never stored or shown again, ballots carry no identity)."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from geo.render.prepare import MISSING_TEXT
from tests.app.budget_helpers import ALEXANDERPLATZ, move_on, new_round, propose, vote
from tests.app.test_analysis_api import set_default_capacity
from tests.app.test_analysis_maps import HOSTILE, text_layers
from tests.conftest import Berlin
from tests.inert_text import assert_map_shows_as_text


def proposal_features(page: str) -> list[dict[str, Any]]:
    return [
        f["properties"]
        for layer in text_layers(page)
        for f in layer["features"]
        if "reach" in f["properties"]
    ]


def test_the_gap_map_shows_proposals_next_to_the_gaps_with_their_results(
    client: TestClient, berlin: Berlin
) -> None:
    set_default_capacity(client, berlin, 60)
    round_ = new_round(client, berlin)
    gap = propose(
        client,
        berlin,
        round_["id"],
        title=HOSTILE,
        cost=50_000,
        service_type="childcare",
        neighbourhood="1010",
    )
    alex = propose(
        client,
        berlin,
        round_["id"],
        title="Kita at Alex",
        cost=60_000,
        service_type="childcare",
        point=ALEXANDERPLATZ,
    )
    propose(
        client,
        berlin,
        round_["id"],
        title="Not childcare",
        cost=1000,
        service_type="food-support",
        point=ALEXANDERPLATZ,
    )
    run = gap["score"]["run"]
    # during proposals, residents see the proposals and their reach, no results
    page = client.get(
        "/maps/gaps", params={"run": run, "budget_round": round_["id"]}, headers=berlin.headers("contributor")
    )
    assert page.status_code == 200, page.text
    shown = proposal_features(page.text)
    assert sorted(p["title"] for p in shown) == sorted([HOSTILE, "Kita at Alex"])  # only this service's
    assert all(p["result"] == MISSING_TEXT for p in shown)
    mine = next(p for p in shown if p["title"] == HOSTILE)
    assert mine["reach"] == f"{gap['score']['people_newly_within_reach']:,.0f} people"
    assert_map_shows_as_text(page.text, HOSTILE)
    # the gaps are still there
    assert any(
        "gap" in layer["features"][0]["properties"] for layer in text_layers(page.text) if layer["features"]
    )

    move_on(client, berlin, round_["id"], "voting")
    assert vote(client, berlin, round_["id"], [gap["id"]], role="contributor").status_code == 200
    assert vote(client, berlin, round_["id"], [gap["id"], alex["id"]], role="organiser").status_code == 200
    move_on(client, berlin, round_["id"], "results")
    page = client.get("/maps/gaps", params={"run": run, "budget_round": round_["id"]})
    by_title = {p["title"]: p for p in proposal_features(page.text)}
    assert by_title[HOSTILE]["result"] == "greedy: funded; equal shares: funded"
    assert by_title["Kita at Alex"]["result"].startswith("greedy: not funded")
    assert "Funded proposals (1)" in page.text and "Budget proposals (1)" in page.text
    assert client.get("/maps/gaps", params={"run": run, "budget_round": 999_999}).status_code == 404


def test_typed_text_is_text_on_the_pages_and_codes_are_shown_once(client: TestClient, berlin: Berlin) -> None:
    round_ = new_round(client, berlin, name=HOSTILE)
    proposal = propose(
        client, berlin, round_["id"], title=HOSTILE, description=HOSTILE + "\nsecond line", cost=10
    )
    # the API gives the text back as it was typed (JSON is data)
    assert client.get(f"/api/budget-rounds/{round_['id']}").json()["proposals"][0]["title"] == HOSTILE
    for path in (
        "/budgets",
        f"/budgets/{round_['id']}",
        f"/budgets/{round_['id']}/ballot",
        f"/budgets/{round_['id']}/results",
    ):
        page = client.get(path, headers=berlin.headers("organiser"))
        assert page.status_code == 200, (path, page.text)
        assert "<img src=x" not in page.text and "<script>alert(2)" not in page.text, path
        assert "&lt;img src=x onerror=alert(1)&gt;" in page.text, path
    codes = client.post(
        f"/api/budget-rounds/{round_['id']}/codes", json={"count": 2}, headers=berlin.headers("organiser")
    ).json()["codes"]
    document = client.get(f"/api/budget-rounds/{round_['id']}", headers=berlin.headers("admin")).text
    assert not any(code in document for code in codes)
    # residents do not see who proposed; organisers do
    assert client.get(f"/api/budget-rounds/{round_['id']}").json()["proposals"][0]["submitted_by"] is None
    by_organiser = client.get(
        f"/api/budget-rounds/{round_['id']}", headers=berlin.headers("organiser")
    ).json()
    assert by_organiser["proposals"][0]["submitted_by"] == berlin.user_ids["contributor"]
    assert proposal["id"] == by_organiser["proposals"][0]["id"]
