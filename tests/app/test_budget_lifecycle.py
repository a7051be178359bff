"""A citizen-budget round through the API: phases and their refusals, review, one changeable ballot per
account or voting code, and who may do what."""

from __future__ import annotations

import datetime as dt

from fastapi.testclient import TestClient
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from app.db.models import BudgetVotingCode
from tests.app.budget_helpers import move_on, new_round, propose, vote
from tests.conftest import Berlin


def test_the_phases_refuse_what_is_not_their_time(client: TestClient, berlin: Berlin) -> None:
    now = dt.datetime.now(dt.UTC)
    later = new_round(client, berlin, proposals_at=(now + dt.timedelta(hours=1)).isoformat())
    assert later["phase"] == "not_open"
    early = client.post(
        f"/api/budget-rounds/{later['id']}/proposals",
        json={"title": "Too early", "cost": 5},
        headers=berlin.headers("contributor"),
    )
    assert early.status_code == 409 and "takes no new proposals" in early.json()["detail"]

    round_ = new_round(client, berlin)
    assert round_["phase"] == "proposals"
    a = propose(client, berlin, round_["id"], title="Bench by the fountain", cost=4000)
    b = propose(client, berlin, round_["id"], title="Kita annex", cost=60_000)
    # no vote before voting opens
    refused = vote(client, berlin, round_["id"], [a["id"]], role="contributor")
    assert refused.status_code == 409 and "voting opens" in refused.json()["detail"]
    # no results before voting closes, for residents
    assert (
        client.get(
            f"/api/budget-rounds/{round_['id']}/results", headers=berlin.headers("contributor")
        ).status_code
        == 409
    )

    move_on(client, berlin, round_["id"], "review")
    late = client.post(
        f"/api/budget-rounds/{round_['id']}/proposals",
        json={"title": "Too late", "cost": 5},
        headers=berlin.headers("contributor"),
    )
    assert late.status_code == 409 and "review" in late.json()["detail"]
    # infeasible needs a reason; residents may not review
    assert (
        client.post(
            f"/api/budget-rounds/{round_['id']}/proposals/{b['id']}/review",
            json={"feasible": False},
            headers=berlin.headers("organiser"),
        ).status_code
        == 422
    )
    assert (
        client.post(
            f"/api/budget-rounds/{round_['id']}/proposals/{b['id']}/review",
            json={"feasible": False, "reason": "the site is a listed building"},
            headers=berlin.headers("contributor"),
        ).status_code
        == 403
    )
    reviewed = client.post(
        f"/api/budget-rounds/{round_['id']}/proposals/{b['id']}/review",
        json={"feasible": False, "reason": "the site is a listed building"},
        headers=berlin.headers("organiser"),
    )
    assert reviewed.status_code == 200 and reviewed.json()["feasible"] is False

    move_on(client, berlin, round_["id"], "voting")
    # phases only move forward
    back = client.post(
        f"/api/budget-rounds/{round_['id']}/phase",
        json={"phase": "proposals"},
        headers=berlin.headers("organiser"),
    )
    assert back.status_code == 409 and "only move forward" in back.json()["detail"]
    # an infeasible proposal is not on the ballot
    off = vote(client, berlin, round_["id"], [b["id"]], role="contributor")
    assert off.status_code == 422 and "not on this round's ballot" in off.json()["detail"]
    cast = vote(client, berlin, round_["id"], [a["id"]], role="contributor")
    assert cast.status_code == 200 and cast.json()["changed"] is False

    move_on(client, berlin, round_["id"], "results")
    closed = vote(client, berlin, round_["id"], [a["id"]], role="contributor")
    assert closed.status_code == 409 and "takes no ballots" in closed.json()["detail"]
    results = client.get(f"/api/budget-rounds/{round_['id']}/results").json()
    assert results["final"] is True and results["greedy"]["funded"] == [a["id"]]
    assert [e["proposal"]["id"] for e in results["excluded"]] == [b["id"]]
    assert "listed building" in results["excluded"][0]["why"]


def test_bad_rounds_and_proposals_are_refused_with_what_to_do(client: TestClient, berlin: Berlin) -> None:
    now = dt.datetime.now(dt.UTC)
    disordered = client.post(
        "/api/budget-rounds",
        json={
            "city": "Berlin",
            "name": "x",
            "amount": 10,
            "proposals_at": now.isoformat(),
            "review_at": (now - dt.timedelta(days=1)).isoformat(),
            "voting_at": (now + dt.timedelta(days=2)).isoformat(),
            "results_at": (now + dt.timedelta(days=3)).isoformat(),
        },
        headers=berlin.headers("organiser"),
    )
    assert disordered.status_code == 422 and "must start after" in disordered.json()["detail"]
    assert (
        client.post(
            "/api/budget-rounds", json={"city": "Berlin"}, headers=berlin.headers("contributor")
        ).status_code
        == 403
    )
    unknown = client.post(
        "/api/budget-rounds",
        json={**{"city": "Berlin", "name": "x", "amount": 10}, "neighbourhoods": ["9999"], **_dates(now)},
        headers=berlin.headers("organiser"),
    )
    assert unknown.status_code == 422 and "9999" in unknown.json()["detail"]

    scoped = new_round(client, berlin, neighbourhoods=["0110"])
    outside = client.post(
        f"/api/budget-rounds/{scoped['id']}/proposals",
        json={
            "title": "In Spandau",
            "cost": 10,
            "point": {"type": "Point", "coordinates": [13.2001, 52.5353]},
        },
        headers=berlin.headers("contributor"),
    )
    assert outside.status_code == 422 and "outside the round's neighbourhoods" in outside.json()["detail"]
    too_dear = client.post(
        f"/api/budget-rounds/{scoped['id']}/proposals",
        json={"title": "Palace", "cost": 10**9},
        headers=berlin.headers("contributor"),
    )
    assert too_dear.status_code == 422 and "whole budget" in too_dear.json()["detail"]
    anonymous = client.post(f"/api/budget-rounds/{scoped['id']}/proposals", json={"title": "x", "cost": 1})
    assert anonymous.status_code == 401
    on_behalf = client.post(
        f"/api/budget-rounds/{scoped['id']}/proposals",
        json={"title": "x", "cost": 1, "for_resident": True},
        headers=berlin.headers("contributor"),
    )
    assert on_behalf.status_code == 403
    assert client.get("/api/budget-rounds/999999").status_code == 404


def _dates(now: dt.datetime) -> dict[str, str]:
    return {
        "proposals_at": now.isoformat(),
        "review_at": (now + dt.timedelta(days=1)).isoformat(),
        "voting_at": (now + dt.timedelta(days=2)).isoformat(),
        "results_at": (now + dt.timedelta(days=3)).isoformat(),
    }


def test_one_ballot_per_account_and_per_code_changeable_until_voting_closes(
    client: TestClient, berlin: Berlin, db: Session
) -> None:
    round_ = new_round(client, berlin, limit_to_budget=True, amount=10_000)
    a = propose(client, berlin, round_["id"], title="A", cost=6000)
    b = propose(client, berlin, round_["id"], title="B", cost=5000)
    codes = client.post(
        f"/api/budget-rounds/{round_['id']}/codes", json={"count": 3}, headers=berlin.headers("organiser")
    ).json()["codes"]
    assert len(set(codes)) == 3
    # only hashes are stored
    stored = set(
        db.scalars(select(BudgetVotingCode.code_hash).where(BudgetVotingCode.round_id == round_["id"]))
    )
    assert len(stored) == 3 and not any(c.replace("-", "") in h or c in h for c in codes for h in stored)
    move_on(client, berlin, round_["id"], "review")
    move_on(client, berlin, round_["id"], "voting")

    over = vote(client, berlin, round_["id"], [a["id"], b["id"]], role="contributor")
    assert over.status_code == 422 and "more than the budget" in over.json()["detail"]
    assert vote(client, berlin, round_["id"], [a["id"]], role="contributor").json()["changed"] is False
    changed = vote(client, berlin, round_["id"], [b["id"]], role="contributor")
    assert changed.status_code == 200 and changed.json()["changed"] is True
    # a code votes without an account (lower case and without the dash as typed off paper), and changes its ballot
    assert (
        vote(client, None, round_["id"], [a["id"]], code=codes[0].lower().replace("-", "")).status_code == 200
    )
    assert vote(client, None, round_["id"], [b["id"]], code=codes[0]).json()["changed"] is True
    assert vote(client, None, round_["id"], [a["id"]], code="AAAAA-AAAAA").status_code == 403
    mine = client.get(f"/api/budget-rounds/{round_['id']}/ballot", params={"code": codes[0]}).json()
    assert mine["approvals"] == [b["id"]]
    ballots = db.execute(
        text("SELECT count(*) FROM budget_ballot WHERE round_id = :r"), {"r": round_["id"]}
    ).scalar()
    assert ballots == 2  # one per account, one per code
    assert (
        client.get(f"/api/budget-rounds/{round_['id']}", headers=berlin.headers("organiser")).json()[
            "n_ballots"
        ]
        == 2
    )


def test_dates_move_only_for_phases_not_started_and_organisers_see_a_provisional_count(
    client: TestClient, berlin: Berlin
) -> None:
    round_ = new_round(client, berlin)
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=5)
    moved = client.patch(
        f"/api/budget-rounds/{round_['id']}/dates",
        json={"results_at": later.isoformat()},
        headers=berlin.headers("organiser"),
    )
    assert moved.status_code == 200, moved.text
    assert dt.datetime.fromisoformat(moved.json()["dates"]["results_at"]) == later
    started = client.patch(
        f"/api/budget-rounds/{round_['id']}/dates",
        json={"proposals_at": later.isoformat()},
        headers=berlin.headers("organiser"),
    )
    assert started.status_code == 409 and "has started" in started.json()["detail"]
    disordered = client.patch(
        f"/api/budget-rounds/{round_['id']}/dates",
        json={"voting_at": (later + dt.timedelta(days=1)).isoformat()},
        headers=berlin.headers("organiser"),
    )
    assert disordered.status_code == 422 and "must start after" in disordered.json()["detail"]

    a = propose(client, berlin, round_["id"], title="A", cost=1000)
    move_on(client, berlin, round_["id"], "voting")
    assert vote(client, berlin, round_["id"], [a["id"]], role="contributor").status_code == 200
    provisional = client.get(
        f"/api/budget-rounds/{round_['id']}/results", headers=berlin.headers("organiser")
    )
    assert provisional.status_code == 200 and provisional.json()["final"] is False
    assert client.get(f"/api/budget-rounds/{round_['id']}/results").status_code == 409
    assert client.get(f"/api/budget-rounds/{round_['id']}/export.pb").status_code == 409
    # the results page says when they come, and shows no count to residents
    page = client.get(f"/budgets/{round_['id']}/results", headers=berlin.headers("contributor"))
    assert (
        page.status_code == 200 and 'id="results-not-yet"' in page.text and "results-table" not in page.text
    )
