"""Bounds on analysis work: gap-map views never compute, and runs, suggestions and closures are limited in
resolution, stored cells, time, concurrency, sites and candidates (settings ASSETMAP_ANALYSIS_*)."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import anyio
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, func, select
from sqlalchemy.orm import Session

from app.db.models import AnalysisRun
from app.deps import get_db
from app.main import create_app
from app.policy import Principal
from app.services.analysis import bounds, runs
from app.settings import Settings
from geo.coverage import AnalysisStopped, Deadline
from tests.app.test_analysis_api import CHILDCARE, LONE_KINDERGARTEN, asset_id_named, start_run
from tests.conftest import Berlin, make_settings

GAP_MAP = {"city": "Berlin", "service": "childcare"}


class _Stopped:
    """An executor that drops what it is given: queued runs stay pending until a test computes them."""

    def submit(self, *args: Any) -> None:
        return None


@pytest.fixture(autouse=True)
def no_background_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runs, "_executor", lambda: _Stopped())


@pytest.fixture
def sessions(connection: Connection) -> Callable[[], Session]:
    """Sessions in the test's transaction (what a worker would use)."""
    return lambda: Session(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)


@pytest.fixture
def bounded(berlin: Berlin, sessions: Callable[[], Session]) -> Iterator[Callable[..., TestClient]]:
    """A client of an app built with these setting overrides, inside the test's transaction."""
    opened: list[TestClient] = []

    def make(**overrides: Any) -> TestClient:
        app = create_app(make_settings(berlin.url, **overrides))

        def test_db() -> Iterator[Session]:
            with sessions() as session:
                yield session

        app.dependency_overrides[get_db] = test_db
        client = TestClient(app, raise_server_exceptions=False)
        client.__enter__()
        opened.append(client)
        return client

    yield make
    for client in opened:
        client.__exit__(None, None, None)


def run_rows(connection: Connection) -> list[AnalysisRun]:
    return list(Session(bind=connection).scalars(select(AnalysisRun).order_by(AnalysisRun.id)))


def run_count(connection: Connection) -> int:
    return int(connection.scalar(select(func.count()).select_from(AnalysisRun)) or 0)


def edit_lone_kindergarten(client: TestClient, berlin: Berlin, capacity: int) -> None:
    """An edit: a new data version for childcare in Berlin."""
    kita = asset_id_named(client, LONE_KINDERGARTEN)
    version = client.get(f"/api/assets/{kita}").json()["properties"]["version"]
    response = client.patch(
        f"/api/assets/{kita}",
        json={"capacity": capacity, "version": version},
        headers=berlin.headers("admin"),
    )
    assert response.status_code == 200, response.text


def shown_run(page: str) -> int:
    marker = 'data-run-id="'
    start = page.index(marker) + len(marker)
    return int(page[start : page.index('"', start)])


# --- finding 1: a gap-map view never computes --------------------------------------------------------------------


def test_an_anonymous_gap_map_view_never_computes_a_run(
    client: TestClient, berlin: Berlin, connection: Connection
) -> None:
    before = run_count(connection)
    page = client.get("/maps/gaps", params=GAP_MAP)
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert "No coverage-gap analysis of Childcare in Berlin exists yet" in page.text
    assert "organiser, planner or admin" in page.text
    assert run_count(connection) == before
    run = start_run(client, berlin)
    shown = client.get("/maps/gaps", params=GAP_MAP)
    assert shown.status_code == 200 and shown_run(shown.text) == run["id"]
    assert "assetmap-stale" not in shown.text
    # after an edit the page still shows that run, says it is older than the data, and computes nothing
    edit_lone_kindergarten(client, berlin, 41)
    count = run_count(connection)
    for _ in range(3):
        stale = client.get("/maps/gaps", params=GAP_MAP)
        assert stale.status_code == 200 and shown_run(stale.text) == run["id"]
    assert run_count(connection) == count
    assert "assetmap-stale" in stale.text and run["data_version"] in stale.text
    assert "older than the current data" in stale.text
    assert stale.text.index("<body>") < stale.text.index("assetmap-stale")


def test_a_staff_gap_map_view_queues_one_background_run_and_waits(
    client: TestClient, berlin: Berlin, connection: Connection, sessions: Callable[[], Session]
) -> None:
    before = run_count(connection)
    waiting = client.get("/maps/gaps", params=GAP_MAP, headers=berlin.headers("planner"))
    assert waiting.status_code == 202 and 'http-equiv="refresh"' in waiting.text
    queued = run_rows(connection)[before:]
    assert [r.status for r in queued] == ["pending"]
    # more views, by the same or other staff, wait for the same run
    for role in ("planner", "organiser", "admin"):
        again = client.get("/maps/gaps", params=GAP_MAP, headers=berlin.headers(role))
        assert again.status_code == 202 and f"run {queued[0].id}" in again.text
    assert run_count(connection) == before + 1
    # a reader without analysis rights is told, and queues nothing
    gis = client.get("/maps/gaps", params=GAP_MAP, headers=berlin.headers("gis"))
    assert gis.status_code == 404 and run_count(connection) == before + 1
    runs.execute_run(sessions, berlin.settings, queued[0].id)
    ready = client.get("/maps/gaps", params=GAP_MAP, headers=berlin.headers("planner"))
    assert ready.status_code == 200 and shown_run(ready.text) == queued[0].id
    assert client.get("/maps/gaps", params=GAP_MAP).status_code == 200


def test_map_runs_are_pruned_to_the_bound_and_explicit_runs_are_kept(
    bounded: Callable[..., TestClient],
    berlin: Berlin,
    connection: Connection,
    sessions: Callable[[], Session],
) -> None:
    settings = make_settings(berlin.url, analysis_runs_kept=2)
    client = bounded(analysis_runs_kept=2)
    explicit = start_run(client, berlin)
    made: list[int] = []
    for capacity in (41, 42, 43):
        edit_lone_kindergarten(client, berlin, capacity)
        waiting = client.get("/maps/gaps", params=GAP_MAP, headers=berlin.headers("planner"))
        assert waiting.status_code == 202
        made.append(run_rows(connection)[-1].id)
        runs.execute_run(sessions, settings, made[-1])
    left = [r.id for r in run_rows(connection)]
    assert explicit["id"] in left
    assert [i for i in made if i in left] == made[-2:]


# --- finding 2: bounds -------------------------------------------------------------------------------------------


def test_a_resolution_finer_than_the_limit_is_a_422_naming_it(
    client: TestClient, bounded: Callable[..., TestClient], berlin: Berlin, connection: Connection
) -> None:
    before = run_count(connection)
    fine = client.post(
        "/api/analysis/runs", json={**CHILDCARE, "resolution": 11}, headers=berlin.headers("planner")
    )
    assert fine.status_code == 422 and fine.json()["field"] == "resolution"
    assert "10" in fine.json()["detail"]
    coarse_only = bounded(analysis_max_resolution=8)
    refused = coarse_only.post(
        "/api/analysis/runs", json={**CHILDCARE, "resolution": 9}, headers=berlin.headers("planner")
    )
    assert refused.status_code == 422 and "at most 8" in refused.json()["detail"]
    assert run_count(connection) == before


def test_a_run_over_the_cell_cap_is_refused_up_front(
    bounded: Callable[..., TestClient], berlin: Berlin, connection: Connection
) -> None:
    client = bounded(analysis_max_cells_per_run=1000)
    before = run_count(connection)
    for background in (None, True):
        refused = client.post(
            "/api/analysis/runs",
            json={**CHILDCARE, "background": background},
            headers=berlin.headers("planner"),
        )
        assert refused.status_code == 422, refused.text
        assert refused.json()["field"] == "resolution" and "1,000" in refused.json()["detail"]
    assert run_count(connection) == before


def test_a_run_over_its_time_limit_stops_and_is_marked_failed(
    bounded: Callable[..., TestClient],
    berlin: Berlin,
    connection: Connection,
    sessions: Callable[[], Session],
) -> None:
    client = bounded(analysis_run_time_limit_s=0.001)
    now = client.post("/api/analysis/runs", json=CHILDCARE, headers=berlin.headers("planner"))
    assert now.status_code == 503, now.text
    assert "took longer than 0.001 s" in now.json()["detail"] and "background" in now.json()["detail"]
    failed = run_rows(connection)[-1]
    assert failed.status == "failed" and "took longer than 0.001 s" in (failed.error or "")
    queued = client.post(
        "/api/analysis/runs", json={**CHILDCARE, "background": True}, headers=berlin.headers("planner")
    )
    assert queued.status_code == 202
    runs.execute_run(
        sessions, make_settings(berlin.url, analysis_run_time_limit_s=0.001), queued.json()["id"]
    )
    run = client.get(f"/api/analysis/runs/{queued.json()['id']}").json()
    assert run["status"] == "failed" and "took longer than 0.001 s" in run["error"]


def test_a_suggestion_over_its_time_limit_is_stopped_and_recorded(
    bounded: Callable[..., TestClient], berlin: Berlin, caplog: pytest.LogCaptureFixture
) -> None:
    client = bounded(analysis_scenario_time_limit_s=0.05)
    run = start_run(client, berlin)
    planner = berlin.headers("planner")
    begin = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="assetmap.analysis"):
        stopped = client.post(
            f"/api/analysis/runs/{run['id']}/suggest-sites",
            json={"p": 3, "candidates": "h3"},
            headers=planner,
        )
    assert time.monotonic() - begin < 10
    assert stopped.status_code == 503, stopped.text
    assert "took longer than 0.05 s" in stopped.json()["detail"]
    assert any("suggest-sites" in r.getMessage() and "stopped" in r.getMessage() for r in caplog.records)
    assert bounds.active_work(berlin.user_ids["planner"]) == 0  # the worker has let go
    closure = client.post(
        f"/api/analysis/runs/{run['id']}/what-if",
        json={"close": [asset_id_named(client, LONE_KINDERGARTEN)]},
        headers=planner,
    )
    assert closure.status_code == 503 and "took longer than 0.05 s" in closure.json()["detail"]
    # nothing was stored with the run
    assert client.get(f"/api/analysis/runs/{run['id']}").json()["suggestions"] == []


def test_concurrent_runs_per_user_are_limited_with_retry_after(
    bounded: Callable[..., TestClient], berlin: Berlin, db: Session
) -> None:
    client = bounded(analysis_concurrent_runs_per_user=1)
    planner = berlin.headers("planner")
    queued = client.post("/api/analysis/runs", json={**CHILDCARE, "background": True}, headers=planner)
    assert queued.status_code == 202
    busy = client.post("/api/analysis/runs", json=CHILDCARE, headers=planner)
    assert busy.status_code == 429, busy.text
    assert int(busy.headers["retry-after"]) > 0 and "1 analysis" in busy.json()["detail"]
    # another user is not held up
    assert (
        client.post("/api/analysis/runs", json=CHILDCARE, headers=berlin.headers("admin")).status_code == 201
    )
    # work computing now in this process counts too
    admin = Principal(user_id=berlin.user_ids["admin"], username="test-admin", role="admin")
    settings: Settings = make_settings(berlin.url, analysis_concurrent_runs_per_user=1)
    with bounds.work_slot(db, settings, admin):
        held = client.post("/api/analysis/runs", json=CHILDCARE, headers=berlin.headers("admin"))
        assert held.status_code == 429 and "retry-after" in held.headers
    assert bounds.active_work(admin.user_id) == 0


def test_suggest_sites_bounds_p_and_candidates(bounded: Callable[..., TestClient], berlin: Berlin) -> None:
    client = bounded(analysis_max_sites=2, analysis_max_candidates=50)
    run = start_run(client, berlin)
    url, planner = f"/api/analysis/runs/{run['id']}/suggest-sites", berlin.headers("planner")
    many = client.post(url, json={"p": 3}, headers=planner)
    assert many.status_code == 422 and many.json()["field"] == "p" and "at most 2" in many.json()["detail"]
    cells = client.post(url, json={"p": 1, "candidates": "h3"}, headers=planner)
    assert cells.status_code == 422 and cells.json()["field"] == "candidates"
    assert "50" in cells.json()["detail"]
    points = [{"lon": 13.4 + i / 1000, "lat": 52.52} for i in range(51)]
    assert client.post(url, json={"p": 1, "candidates": points}, headers=planner).status_code == 422
    assert client.post(url, json={"p": 1, "candidates": points[:50]}, headers=planner).status_code == 200


def test_work_whose_client_has_gone_is_stopped() -> None:
    checks: list[float] = []

    def work(cancel: threading.Event) -> str:
        deadline = Deadline.after(60, cancel=cancel)
        while True:  # a long computation that checks its deadline between steps
            checks.append(time.monotonic())
            deadline.check()
            time.sleep(0.01)

    begin = time.monotonic()

    async def gone_after_a_moment() -> dict[str, str]:
        await anyio.sleep(0.2)
        return {"type": "http.disconnect"}

    with pytest.raises(AnalysisStopped, match="no longer waits") as stopped:
        anyio.run(bounds.off_the_loop, gone_after_a_moment, work)
    assert stopped.value.cancelled and time.monotonic() - begin < 5
    assert threading.active_count() < 100 and checks[-1] - begin < 5


def test_a_suggestion_whose_client_leaves_is_stopped_and_recorded(
    berlin: Berlin,
    client: TestClient,
    sessions: Callable[[], Session],
    caplog: pytest.LogCaptureFixture,
) -> None:
    run = start_run(client, berlin)
    app = create_app(berlin.settings)

    def test_db() -> Iterator[Session]:
        with sessions() as session:
            yield session

    app.dependency_overrides[get_db] = test_db
    body = json.dumps({"p": 3, "candidates": "h3"}).encode()
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": f"/api/analysis/runs/{run['id']}/suggest-sites",
        "raw_path": f"/api/analysis/runs/{run['id']}/suggest-sites".encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"testserver"),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"authorization", berlin.headers("planner")["Authorization"].encode()),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    sent: list[dict[str, Any]] = []
    delivered = False

    async def receive() -> dict[str, Any]:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        await anyio.sleep(0.05)  # then the client goes away (closes the connection)
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    with caplog.at_level(logging.WARNING, logger="assetmap.analysis"):
        anyio.run(app, scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    assert start["status"] == 503
    assert any("client went away" in r.getMessage() for r in caplog.records)
    assert bounds.active_work(berlin.user_ids["planner"]) == 0
    assert client.get(f"/api/analysis/runs/{run['id']}").json()["suggestions"] == []


def test_a_failed_gap_map_run_is_not_queued_again_on_the_same_data(
    client: TestClient, berlin: Berlin, connection: Connection, sessions: Callable[[], Session]
) -> None:
    city = client.post("/api/cities", json={"name": "Emptyville"}, headers=berlin.headers("gis"))
    assert city.status_code == 201, city.text
    params = {"city": "Emptyville", "service": "childcare"}
    assert client.get("/maps/gaps", params=params, headers=berlin.headers("planner")).status_code == 202
    queued = run_rows(connection)[-1]
    runs.execute_run(sessions, berlin.settings, queued.id)
    count = run_count(connection)
    for _ in range(2):
        failed = client.get("/maps/gaps", params=params, headers=berlin.headers("planner"))
        assert failed.status_code == 409 and "Emptyville has no neighbourhoods" in failed.text
    assert run_count(connection) == count
