"""Commitments: stage rules, the remaining quantity that follows them, no over-commitment under concurrent
requests (two connections), their history, and the dashboard's sums worked out independently."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from app.errors import Conflict
from app.policy import Principal
from app.services.matching import create_commitment
from tests.app.matching_helpers import TODAY, create_need, offering, point_at
from tests.conftest import Berlin


def _commit(client: TestClient, berlin: Berlin, role: str = "organiser", **body: Any) -> Any:
    return client.post("/api/commitments", json=body, headers=berlin.headers(role))


def _patch(
    client: TestClient, berlin: Berlin, commitment_id: int, role: str = "organiser", **body: Any
) -> Any:
    return client.patch(f"/api/commitments/{commitment_id}", json=body, headers=berlin.headers(role))


def test_stages_outcome_remaining_and_history(client: TestClient, berlin: Berlin) -> None:
    need = create_need(client, berlin)
    _, resource = offering(client, berlin, point_at(300), quantity=10)
    made = _commit(client, berlin, resource_id=resource, need_id=need["id"], quantity=4)
    assert made.status_code == 201, made.text
    c = made.json()
    assert (c["stage"], c["next_stages"], c["resource"]["remaining"]) == (
        "proposed",
        ["agreed", "cancelled"],
        6,
    )
    # the candidate list follows the remaining quantity
    candidate = next(
        x
        for x in client.get(f"/api/needs/{need['id']}/matches", headers=berlin.headers("organiser")).json()[
            "candidates"
        ]
        if x["resource"]["id"] == resource
    )
    assert candidate["resource"]["remaining"] == 6
    skipped = _patch(client, berlin, c["id"], stage="done")
    assert skipped.status_code == 409
    assert (
        skipped.json()["detail"]
        == f"commitment {c['id']} is proposed: it cannot become done; it can become agreed or cancelled"
    )
    early_outcome = _patch(client, berlin, c["id"], hours_given=3)
    assert early_outcome.status_code == 409 and "once it is active or done" in early_outcome.json()["detail"]
    for stage in ("agreed", "active"):
        assert _patch(client, berlin, c["id"], stage=stage).json()["stage"] == stage
    done = _patch(client, berlin, c["id"], stage="done", hours_given=7.5, people_helped=9).json()
    assert (done["stage"], done["hours_given"], done["people_helped"], done["next_stages"]) == (
        "done",
        7.5,
        9,
        [],
    )
    assert done["done_at"] is not None and done["resource"]["remaining"] == 6  # done keeps what it used
    final = _patch(client, berlin, c["id"], stage="cancelled")
    assert final.status_code == 409 and "it is final" in final.json()["detail"]
    history = client.get(f"/api/commitments/{c['id']}/history", headers=berlin.headers("organiser")).json()[
        "items"
    ]
    assert [(h["action"], h["stage"]) for h in history] == [
        ("create", "proposed"),
        ("update", "agreed"),
        ("update", "active"),
        ("update", "done"),
    ]
    assert history[-1]["before"]["stage"] == "active" and history[-1]["username"] == "test-organiser"


def test_cancelling_gives_the_quantity_back_and_over_commitment_is_refused(
    client: TestClient, berlin: Berlin
) -> None:
    need = create_need(client, berlin)
    _, resource = offering(client, berlin, point_at(300), quantity=5)
    first = _commit(client, berlin, resource_id=resource, need_id=need["id"], quantity=3).json()
    too_much = _commit(client, berlin, resource_id=resource, need_id=need["id"], quantity=3)
    assert too_much.status_code == 409
    assert too_much.json()["detail"].startswith(f"resource {resource} has 2 hours left of 5")
    assert too_much.json()["remaining"] == 2
    assert _patch(client, berlin, first["id"], stage="cancelled").json()["resource"]["remaining"] == 5
    assert _commit(client, berlin, resource_id=resource, need_id=need["id"], quantity=5).status_code == 201
    listed = client.get(
        "/api/commitments", params={"resource": resource}, headers=berlin.headers("planner")
    ).json()
    assert [x["stage"] for x in listed["items"]] == ["cancelled", "proposed"]


def test_bad_commitments_are_4xx(client: TestClient, berlin: Berlin) -> None:
    need = create_need(client, berlin)
    _, resource = offering(client, berlin, point_at(300), available_until="2030-01-31")
    ok = {"resource_id": resource, "need_id": need["id"], "quantity": 1}
    assert _commit(client, berlin, **{**ok, "quantity": 0}).status_code == 422
    assert _commit(client, berlin, **{**ok, "quantity": -1}).status_code == 422
    assert _commit(client, berlin, **{**ok, "resource_id": 99_999_999}).status_code == 404
    assert _commit(client, berlin, **{**ok, "need_id": 99_999_999}).status_code == 404
    assert _commit(client, berlin, **{**ok, "colour": "red"}).status_code == 422
    backwards = _commit(client, berlin, **ok, starts_on="2029-05-02", ends_on="2029-05-01")
    assert backwards.status_code == 422 and "before starts_on" in backwards.json()["detail"]
    beyond = _commit(client, berlin, **ok, starts_on="2029-05-02", ends_on="2030-03-01")
    assert beyond.status_code == 422 and "available until 2030-01-31" in beyond.json()["detail"]
    assert _commit(client, berlin, role="contributor", **ok).status_code == 403
    assert _commit(client, berlin, role="planner", **ok).status_code == 403
    made = _commit(client, berlin, **ok, ends_on="2029-06-01").json()
    assert _patch(client, berlin, made["id"], stage="finished").status_code == 422
    assert _patch(client, berlin, made["id"], people_helped=-2).status_code == 422
    empty = _patch(client, berlin, made["id"])
    assert empty.status_code == 422 and "nothing to change" in empty.json()["detail"]
    assert _patch(client, berlin, 99_999_999, stage="agreed").status_code == 404
    assert client.get("/api/commitments/99999999", headers=berlin.headers("organiser")).status_code == 404


def test_an_organiser_commits_only_to_needs_in_their_neighbourhoods(
    client: TestClient, berlin: Berlin
) -> None:
    from tests.app.helpers import SPANDAU_POINT

    need = create_need(client, berlin, geometry=SPANDAU_POINT)
    _, resource = offering(client, berlin, point_at(300))
    refused = _commit(client, berlin, resource_id=resource, need_id=need["id"], quantity=1)
    assert refused.status_code == 403 and "organiser of neighbourhood" in refused.json()["detail"]
    assert (
        _commit(client, berlin, role="gis", resource_id=resource, need_id=need["id"], quantity=1).status_code
        == 201
    )


@pytest.fixture
def committed(berlin: Berlin) -> Iterator[dict[str, int]]:
    """An asset with a resource of 3 hours and a need, committed (other connections see them), removed after."""
    with berlin.engine.begin() as conn:
        service = conn.execute(text("SELECT id FROM service_type WHERE slug = 'older-people'")).scalar_one()
        asset = conn.execute(
            text(
                "INSERT INTO asset (city_id, category, name, geom, blurred_location) VALUES "
                "(:city, 'association', 'Race club', ST_SetSRID(ST_MakePoint(13.41, 52.52), 4326), "
                "ST_SetSRID(ST_MakePoint(13.41, 52.52), 4326)) RETURNING id"
            ),
            {"city": berlin.city_id},
        ).scalar_one()
        conn.execute(text("INSERT INTO asset_service_type VALUES (:a, :s)"), {"a": asset, "s": service})
        resource = conn.execute(
            text(
                "INSERT INTO resource (city_id, asset_id, kind, quantity, unit) "
                "VALUES (:city, :a, 'volunteers', 3, 'hours') RETURNING id"
            ),
            {"city": berlin.city_id, "a": asset},
        ).scalar_one()
        need = conn.execute(
            text(
                "INSERT INTO need (city_id, service_type_id, geom) VALUES "
                "(:city, :s, ST_SetSRID(ST_MakePoint(13.413, 52.522), 4326)) RETURNING id"
            ),
            {"city": berlin.city_id, "s": service},
        ).scalar_one()
    try:
        yield {"asset": asset, "resource": resource, "need": need}
    finally:
        with berlin.engine.begin() as conn:
            ids = (
                conn.execute(text("SELECT id FROM commitment WHERE resource_id = :r"), {"r": resource})
                .scalars()
                .all()
            )
            conn.execute(
                text("DELETE FROM change WHERE kind = 'commitments' AND item_id = ANY(:ids)"),
                {"ids": list(ids)},
            )
            conn.execute(text("DELETE FROM need WHERE id = :n"), {"n": need})
            conn.execute(text("DELETE FROM asset WHERE id = :a"), {"a": asset})


ADMIN = Principal(user_id=None, username="race-test", role="admin")


def test_concurrent_commitments_never_exceed_the_quantity(berlin: Berlin, committed: dict[str, int]) -> None:
    """Six connections at once each ask for 1 of the 3 hours: exactly three get them."""
    workers = 6
    barrier = threading.Barrier(workers)
    outcomes: list[str] = []
    lock = threading.Lock()

    def ask() -> None:
        with Session(berlin.engine) as db:
            barrier.wait()
            try:
                create_commitment(
                    db,
                    berlin.settings,
                    ADMIN,
                    {"resource_id": committed["resource"], "need_id": committed["need"], "quantity": 1},
                )
                outcome = "made"
            except Conflict as exc:
                outcome = "refused: " + exc.detail
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=ask) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(o.split(":")[0] for o in outcomes) == ["made"] * 3 + ["refused"] * 3
    with berlin.engine.connect() as conn:
        held = conn.execute(
            text("SELECT sum(quantity), count(*) FROM commitment WHERE resource_id = :r"),
            {"r": committed["resource"]},
        ).one()
    assert tuple(held) == (3.0, 3)


def test_a_commitment_waits_for_the_resource_s_lock(berlin: Berlin, committed: dict[str, int]) -> None:
    """While another transaction holds the resource's row, a commitment to it waits (here: until lock_timeout)."""
    with berlin.engine.connect() as holder:
        holder.begin()
        # NO KEY UPDATE: the lock an edit of the resource takes; the foreign key's check alone would not wait for it
        holder.execute(
            text("SELECT id FROM resource WHERE id = :r FOR NO KEY UPDATE"), {"r": committed["resource"]}
        )
        with Session(berlin.engine) as db:
            db.execute(text("SET lock_timeout = '300ms'"))
            with pytest.raises(OperationalError) as waited:
                create_commitment(
                    db,
                    berlin.settings,
                    ADMIN,
                    {"resource_id": committed["resource"], "need_id": committed["need"], "quantity": 1},
                )
            assert isinstance(waited.value.orig, psycopg.errors.LockNotAvailable)
        holder.rollback()


def test_dashboard_sums(client: TestClient, berlin: Berlin) -> None:
    """Three needs in Mitte 1: two met with 7.5 + 2 hours and 9 + 4 people, one open, one more commitment done
    on the first need (3 hours, 1 person); plus a need in Spandau that stays open."""
    from tests.app.helpers import SPANDAU_POINT

    needs = [create_need(client, berlin) for _ in range(3)]
    spandau = create_need(client, berlin, geometry=SPANDAU_POINT)
    _, resource = offering(client, berlin, point_at(300), quantity=100)
    outcomes = [(needs[0], 7.5, 9), (needs[1], 2.0, 4), (needs[0], 3.0, 1)]
    for need, hours, people in outcomes:
        c = _commit(client, berlin, resource_id=resource, need_id=need["id"], quantity=1).json()
        for stage in ("agreed", "active"):
            _patch(client, berlin, c["id"], stage=stage)
        assert (
            _patch(client, berlin, c["id"], stage="done", hours_given=hours, people_helped=people).status_code
            == 200
        )
    # a commitment still active adds no hours
    active = _commit(client, berlin, resource_id=resource, need_id=needs[2]["id"], quantity=1).json()
    _patch(client, berlin, active["id"], stage="agreed")
    _patch(client, berlin, active["id"], stage="active", hours_given=50)
    month = TODAY.strftime("%Y-%m")
    mitte = needs[0]["properties"]["neighbourhood_id"]
    local = client.get(
        "/api/dashboard", params={"city": "Berlin", "neighbourhood": mitte, "period": month}
    ).json()
    # independently: every published older-people need of Mitte 1 that is not one of the two met ones is open
    open_in_mitte = client.get(
        "/api/needs",
        params={"city": "Berlin", "neighbourhood": mitte, "service_type": "older-people", "limit": 1000},
    ).json()["features"]
    expected_open = len([n for n in open_in_mitte if n["id"] not in {needs[0]["id"], needs[1]["id"]}])
    row = next(r for r in local["by_service_type"] if r["service_type"] == "older-people")
    assert row == {
        "service_type": "older-people",
        "needs_met": 2,
        "open_needs": expected_open,
        "volunteer_hours": 12.5,
        "people_helped": 14,
        "commitments_done": 3,
    }
    assert local["by_month"] == [
        {"month": month, "needs_met": 2, "volunteer_hours": 12.5, "people_helped": 14, "commitments_done": 3}
    ]
    city = client.get("/api/dashboard", params={"city": "Berlin", "period": month}).json()
    city_row = next(r for r in city["by_service_type"] if r["service_type"] == "older-people")
    assert city_row["open_needs"] >= expected_open + 1  # Spandau's need too
    assert spandau["id"] not in {n["id"] for n in open_in_mitte}
    assert city["totals"]["volunteer_hours"] >= 12.5
    last_year = client.get(
        "/api/dashboard", params={"city": "Berlin", "neighbourhood": mitte, "period": str(TODAY.year - 1)}
    ).json()
    assert last_year["totals"]["needs_met"] == 0 and last_year["totals"]["volunteer_hours"] == 0
    assert last_year["totals"]["open_needs"] == 0  # every need here was mapped this year
    for bad in ("2026-13", "26", "next month"):
        response = client.get("/api/dashboard", params={"city": "Berlin", "period": bad})
        assert response.status_code == 422 and "YYYY or YYYY-MM" in response.json()["detail"]
    assert client.get("/api/dashboard", params={"city": "Atlantis"}).status_code == 404
    assert (
        client.get("/api/dashboard", params={"city": "Berlin", "neighbourhood": 99_999_999}).status_code
        == 404
    )
